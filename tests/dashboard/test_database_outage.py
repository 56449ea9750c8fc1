"""While the database is briefly unavailable (a PostgreSQL restart), pages, the live partial and
forms answer 503 "temporarily unavailable, retrying" with Retry-After, never a 500; nothing is
bought half-way; the next request once it is back works."""

import logging
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

import activations.views
from activations.models import Activation, Reservation
from tests.dashboard.database_switch import DatabaseSwitch
from tests.fixtures.activations import buy_form

HTMX = {"HX-Request": "true"}


@pytest.fixture
def database(db, monkeypatch):
    switch = DatabaseSwitch(monkeypatch)
    yield switch
    switch.down = False  # back for the test's own clean-up


@pytest.fixture
def fails_in_the_view(database, monkeypatch):
    """The database goes away after the session and the user loaded, inside the view."""
    original = activations.views.membership_for

    def membership_for(*args, **kwargs):
        database.down = True
        return original(*args, **kwargs)

    monkeypatch.setattr(activations.views, "membership_for", membership_for)


def detail_url(activation) -> str:
    return f"/t/{activation.team.slug}/activations/{activation.pk}/"


def buy_url(team) -> str:
    return f"/t/{team.slug}/buy/"


def assert_unavailable(response) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "no-store" in response["Cache-Control"]
    content = response.content.decode()
    assert "temporarily unavailable" in content
    assert "Retrying" in content
    assert "Traceback" not in content
    return content


def test_a_page_says_temporarily_unavailable_and_works_again_after(
    client, alice, make_activation, database
):
    activation = make_activation()
    client.force_login(alice)
    database.down = True
    content = assert_unavailable(client.get(detail_url(activation)))
    assert "<title>Temporarily unavailable · SMS Desk</title>" in content
    assert '<meta http-equiv="refresh" content="5">' in content  # retries without JavaScript
    assert f'<a href="{detail_url(activation)}">Try now</a>' in content
    assert "<script" not in content

    database.down = False
    response = client.get(detail_url(activation))
    assert response.status_code == 200  # still signed in, nothing to do
    assert activation.phone in response.content.decode()


def test_the_live_partial_gets_a_short_fragment_and_polls_again_after(
    client, alice, make_activation, database
):
    activation = make_activation()
    client.force_login(alice)
    database.down = True
    content = assert_unavailable(client.get(f"{detail_url(activation)}?seen=0", headers=HTMX))
    # htmx does not swap an error answer: the page keeps its status section and its polling.
    assert "<html" not in content and "<title" not in content
    assert 'id="database-unavailable"' in content
    assert len(content) < 500

    database.down = False
    response = client.get(f"{detail_url(activation)}?seen=0", headers=HTMX)
    assert response.status_code == 200
    assert 'id="activation-status"' in response.content.decode()
    assert "hx-trigger=" in response.content.decode()  # and it polls on


def test_a_failure_inside_the_view_is_answered_the_same(
    client, alice, make_activation, fails_in_the_view
):
    activation = make_activation()
    client.force_login(alice)
    assert_unavailable(client.get(detail_url(activation)))


def test_a_purchase_sent_during_the_outage_is_not_made(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server, database
):
    client.force_login(alice)
    client.get(buy_url(alice_team))  # the form, while the database answered
    database.down = True
    response = client.post(
        buy_url(alice_team),
        buy_form(sandbox_offer, token="outage-token-01"),
        headers={"Referer": f"http://testserver{buy_url(alice_team)}"},
    )
    content = assert_unavailable(response)
    assert "What you just submitted may not have been done" in content
    assert f'<a href="http://testserver{buy_url(alice_team)}">Back to the page</a>' in content
    assert "http-equiv" not in content  # a reload would not send the form again anyway
    assert not sandbox_server.sandbox.activations

    database.down = False
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    response = client.post(buy_url(alice_team), buy_form(sandbox_offer, token="outage-token-02"))
    assert response.status_code == 302
    assert response.url == detail_url(Activation.objects.get())


def test_a_purchase_failing_inside_the_view_is_not_made(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server, fails_in_the_view
):
    client.force_login(alice)
    content = assert_unavailable(
        client.post(buy_url(alice_team), buy_form(sandbox_offer, token="outage-token-03"))
    )
    assert "What you just submitted may not have been done" in content
    assert not sandbox_server.sandbox.activations


def test_a_sign_in_whose_session_cannot_be_saved_is_a_503_not_a_500(
    client, alice, database, monkeypatch
):
    """The view worked (the password was right) but the database went away before the new
    session was saved: the answer says so, and nobody is signed in."""
    from django.contrib.sessions.backends.db import SessionStore

    created = SessionStore.save

    def save(session, must_create=False):
        if must_create:  # the view's new session key (login cycles it)
            return created(session, must_create=True)
        database.down = True  # gone after the view, as the session's content is written
        raise OperationalError(database.error)

    client.get("/accounts/login/")
    with monkeypatch.context() as patch:
        patch.setattr(SessionStore, "save", save)
        response = client.post(
            "/accounts/login/",
            {"username": "alice", "password": "password"},
            headers={"Referer": "http://testserver/accounts/login/"},
        )
    content = assert_unavailable(response)
    assert "What you just submitted may not have been done" in content
    assert "script-src" in response["Content-Security-Policy"]  # the page's usual headers
    assert response["X-Frame-Options"] == "DENY"

    database.down = False
    assert client.get("/").status_code == 302  # not signed in: to the sign-in page


def test_a_number_sold_as_the_database_goes_away_is_cancelled_not_kept(
    transactional_db,  # as in production: no test transaction around the purchase's own
    client,
    alice,
    alice_team,
    sandbox_account,
    sandbox_offer,
    sandbox_server,
    database,
    monkeypatch,
):
    sandbox = sandbox_server.sandbox
    sell = sandbox._get_number

    def sell_then_database_goes_away(params):
        answer = sell(params)
        database.down = True
        return answer

    monkeypatch.setattr(sandbox, "_get_number", sell_then_database_goes_away)
    client.force_login(alice)
    client.get(buy_url(alice_team))
    response = client.post(buy_url(alice_team), buy_form(sandbox_offer, token="outage-token-04"))

    # The purchase could not be recorded, so the number went back to the provider at once.
    (sold,) = sandbox.activations.values()
    assert sold.state == "cancelled" and sold.refunded
    assert sandbox.balance(sandbox_server.api_key) == 1000
    database.down = False
    assert not Activation.objects.exists()
    page = client.get(response.url)
    assert "cannot record, so it was cancelled" in page.content.decode()


def test_an_outage_is_logged_once_as_a_warning_without_the_password(
    client, alice, make_activation, database, caplog, monkeypatch
):
    activation = make_activation()
    client.force_login(alice)
    monkeypatch.setitem(connection.settings_dict, "PASSWORD", "pg-Secret-42")
    database.error = "connection to postgres://desk:pg-Secret-42@db/desk refused\nsecond line"
    database.down = True
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert client.get(detail_url(activation)).status_code == 503
        database.down = False
        assert client.get(detail_url(activation)).status_code == 200

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "Database unavailable (OperationalError: connection to postgres://desk:***@db/desk "
        "refused); answering 503 with Retry-After until it is back."
    ]
    (back,) = [r.getMessage() for r in caplog.records if "available again" in r.getMessage()]
    assert back.startswith("Database available again; 3 requests were answered 503 over ")
    assert "pg-Secret-42" not in caplog.text


# --- On PostgreSQL: a persistent connection the server drops ---------------------------------


def serve(path: str, cookie: str) -> int:
    """One request through Django's WSGI handler, as gunicorn sends it (with the request
    signals that close broken connections, which the test client leaves out)."""
    environ = {"PATH_INFO": path, "HTTP_COOKIE": cookie}
    setup_testing_defaults(environ)
    statuses = []
    body = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    b"".join(body)
    body.close()
    return int(statuses[0].split()[0])


def terminate_backend_of(database_connection) -> None:
    """What a PostgreSQL restart does to every open connection."""
    pid = database_connection.connection.info.backend_pid
    killer = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="pg_terminate_backend is PostgreSQL's"
)


@postgresql_only
def test_a_dropped_persistent_connection_is_replaced_on_the_next_request(
    transactional_db, client, alice, make_activation
):
    activation = make_activation()
    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert connection.settings_dict["CONN_MAX_AGE"] > 0  # kept between requests
    assert serve(detail_url(activation), cookie) == 200
    dropped = connection.connection.info.backend_pid
    terminate_backend_of(connection)

    assert serve(detail_url(activation), cookie) == 200  # its health check found it dropped
    assert connection.connection.info.backend_pid != dropped


@postgresql_only
def test_a_connection_dropped_during_a_request_is_a_503_then_replaced(
    transactional_db, client, alice, make_activation, monkeypatch
):
    activation = make_activation()
    client.force_login(alice)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    original = activations.views.membership_for

    def membership_for(*args, **kwargs):
        terminate_backend_of(connection)
        return original(*args, **kwargs)

    monkeypatch.setattr(activations.views, "membership_for", membership_for)
    assert serve(detail_url(activation), cookie) == 503
    monkeypatch.setattr(activations.views, "membership_for", original)
    assert serve(detail_url(activation), cookie) == 200

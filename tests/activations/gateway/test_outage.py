"""While the database is unavailable the gateway answers programs `ERROR_SQL` as text, never the
dashboard's HTML 503 page, whether or not the program sends a session cookie; and a cookie
costs a polling program no session or user query."""

import pytest

from tests.activations.gateway.helpers import ask
from tests.dashboard.database_switch import DatabaseSwitch

pytestmark = pytest.mark.django_db


@pytest.fixture
def database(db, monkeypatch):
    switch = DatabaseSwitch(monkeypatch)
    yield switch
    switch.down = False


@pytest.mark.parametrize("signed_in", [False, True], ids=["no cookie", "with a session cookie"])
def test_an_outage_is_error_sql_as_text(client, alice, alice_token, database, signed_in):
    if signed_in:
        client.force_login(alice)
    database.down = True
    for method in ("get", "post"):
        response = ask(client, alice_token, method=method, action="getStatus", id="1")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content == b"ERROR_SQL"
    database.down = False
    assert ask(client, alice_token, action="getStatus", id="1").content == b"NO_ACTIVATION"


def test_a_session_cookie_costs_get_status_no_query(
    client, alice, alice_token, make_activation, django_assert_max_num_queries
):
    activation = make_activation()
    client.force_login(alice)
    ask(client, alice_token, action="getBalance")  # stamps "last used" (once a minute)
    with django_assert_max_num_queries(2):
        response = ask(client, alice_token, action="getStatus", id=str(activation.pk))
    assert response.content == b"STATUS_WAIT_CODE"

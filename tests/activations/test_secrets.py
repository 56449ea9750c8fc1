"""A team's API key never shows up outside its ciphertext: not in a page, a log line, the
audit log, a session or any table of a full database dump."""

import logging
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection

from activations.models import Activation
from activations.states import record_code
from catalog.models import ProviderAccount
from tests.fixtures.activations import buy_form


@pytest.fixture
def pages(client):
    """Every response the test gets, to search them all at the end."""
    seen = []

    def get(url, **kwargs):
        response = client.get(url, **kwargs)
        seen.append(response)
        return response

    def post(url, data=None, **kwargs):
        response = client.post(url, data or {}, **kwargs)
        seen.append(response)
        return response

    get.seen = seen
    return get, post


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode() + "".join(f"{k}: {v}" for k, v in response.items())


def test_the_key_never_leaves_its_ciphertext(
    client,
    alice,
    alice_team,
    sandbox_provider,
    sandbox_offer,
    sandbox_server,
    caplog,
    capfd,
    pages,
):
    caplog.set_level(logging.DEBUG)
    key = sandbox_server.api_key
    get, post = pages
    team = f"/t/{alice_team.slug}"
    client.force_login(alice)

    # Attach: first a wrong key, then through a provider failure, then the right one.
    post(f"{team}/provider-accounts/", {"provider": sandbox_provider.pk, "api_key": key + "x"})
    sandbox_server.sandbox.set_fault("http_500")
    post(f"{team}/provider-accounts/", {"provider": sandbox_provider.pk, "api_key": key})
    sandbox_server.sandbox.clear_faults()
    post(f"{team}/provider-accounts/", {"provider": sandbox_provider.pk, "api_key": key})
    account = ProviderAccount.objects.get()

    # Buy, including failures on the way.
    choice = buy_form(sandbox_offer)
    for fault in ("garbage", "http_500", "error_sql", "timeout"):
        sandbox_server.sandbox.set_fault(fault, seconds=0.01)
        post(f"{team}/buy/", {**choice, "token": f"secret-test-{fault}"}, follow=True)
        sandbox_server.sandbox.clear_faults()
    post(f"{team}/buy/", {**choice, "token": "secret-test-first"}, follow=True)
    post(f"{team}/buy/", {**choice, "token": "secret-test-second"}, follow=True)
    first, second = Activation.objects.order_by("pk")
    record_code(second, sandbox_server.sandbox.deliver_code(second.provider_activation_id))

    post(f"{team}/activations/{first.pk}/cancel/", {"confirmed": "1"}, follow=True)
    post(f"{team}/activations/{second.pk}/retry/", follow=True)
    post(f"{team}/activations/{second.pk}/complete/", follow=True)
    post(f"{team}/provider-accounts/{account.pk}/refresh/", follow=True)

    for url in (
        f"{team}/",
        f"{team}/activations/",
        f"{team}/activations/{first.pk}/",
        f"{team}/activations/{second.pk}/",
        f"{team}/buy/",
        f"{team}/provider-accounts/",
        f"{team}/budgets/",
        f"{team}/audit/",
    ):
        get(url)
    get(f"{team}/activations/{second.pk}/", headers={"HX-Request": "true"})
    get(f"{team}/activations/open/", headers={"HX-Request": "true"})
    alice.is_staff = alice.is_superuser = True
    alice.save()
    for url in (
        "/admin/catalog/provideraccount/",
        f"/admin/catalog/provideraccount/{account.pk}/change/",
        "/admin/dashboard/auditevent/",
        "/admin/activations/activation/",
    ):
        get(url)

    assert len(get.seen) > 20
    for response in get.seen:
        assert response.status_code < 500
        assert key not in body(response), response.request["PATH_INFO"]

    assert key not in caplog.text
    out, err = capfd.readouterr()
    assert key not in out and key not in err

    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    assert account.key_ciphertext in dump.getvalue()  # the dump did include the accounts
    assert key not in dump.getvalue()
    assert key[-12:] not in dump.getvalue()
    for session in Session.objects.all():
        assert key not in str(session.get_decoded())

    with connection.cursor() as cursor:
        cursor.execute("SELECT key_ciphertext FROM activations_provideraccount")
        (stored,) = cursor.fetchone()
    assert key not in stored

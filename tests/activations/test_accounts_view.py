"""The provider accounts page: attach (checked), replace, remove, refresh; keys never shown."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from activations.models import Activation
from catalog.models import ProviderAccount
from dashboard.encryption import decrypt_key
from dashboard.models import AuditEvent


def url(team, rest=""):
    return f"/t/{team.slug}/provider-accounts/{rest}"


def attach(client, team, provider, key):
    return client.post(url(team), {"provider": provider.pk, "api_key": key})


def test_it_attaches_a_checked_key_encrypted(
    client, alice, alice_team, sandbox_provider, sandbox_server
):
    client.force_login(alice)
    response = attach(client, alice_team, sandbox_provider, sandbox_server.api_key)
    assert response.status_code == 302
    account = ProviderAccount.objects.get()
    assert account.team == alice_team
    assert sandbox_server.api_key not in account.key_ciphertext
    assert decrypt_key(account.key_ciphertext) == sandbox_server.api_key
    assert account.key_last4 == sandbox_server.api_key[-4:]
    assert account.balance == Decimal("1000")
    event = AuditEvent.objects.get(kind="action")
    assert (event.action, event.user, event.params["masked_key"]) == (
        "key_added",
        alice,
        account.masked_key,
    )
    assert AuditEvent.objects.get(kind="call").action == "getBalance"


def test_the_page_shows_the_key_masked_and_the_balance(
    client, alice, alice_team, sandbox_account, sandbox_server
):
    client.force_login(alice)
    content = client.get(url(alice_team)).content.decode()
    assert f"••••{sandbox_server.api_key[-4:]}" in content
    assert sandbox_server.api_key not in content
    assert '<strong class="balance">$1,000.00</strong>' in content


def test_a_wrong_key_is_a_form_error_and_nothing_is_stored(
    client, alice, alice_team, sandbox_provider
):
    client.force_login(alice)
    response = attach(client, alice_team, sandbox_provider, "wrong-key-123456")
    assert response.status_code == 200
    assert "rejected this key" in response.context["form"].errors["api_key"][0]
    assert b"wrong-key-123456" not in response.content  # never rendered back
    assert not ProviderAccount.objects.exists()
    assert AuditEvent.objects.get(kind="call").outcome == "BAD_KEY"


def test_an_unavailable_provider_stores_nothing(
    client, alice, alice_team, sandbox_provider, sandbox_server
):
    sandbox_server.sandbox.set_fault("http_500")
    client.force_login(alice)
    response = attach(client, alice_team, sandbox_provider, sandbox_server.api_key)
    assert "could not be checked" in response.context["form"].errors["api_key"][0]
    assert not ProviderAccount.objects.exists()


def test_it_replaces_a_key(client, alice, alice_team, sandbox_account, sandbox_server):
    new_key = "sandbox-replacement-key-9876"
    sandbox_server.sandbox.add_account(new_key, 50)
    client.force_login(alice)
    attach(client, alice_team, sandbox_account.provider, new_key)
    account = ProviderAccount.objects.get()
    assert decrypt_key(account.key_ciphertext) == new_key
    assert account.key_last4 == "9876"
    assert account.balance == Decimal("50")
    assert AuditEvent.objects.filter(action="key_replaced").count() == 1


def test_it_removes_a_key(client, alice, alice_team, sandbox_account):
    client.force_login(alice)
    response = client.post(
        url(alice_team, f"{sandbox_account.pk}/remove/"), {"confirmed": "1"}, follow=True
    )
    assert b"was removed" in response.content
    assert not ProviderAccount.objects.exists()
    assert AuditEvent.objects.filter(action="key_removed").count() == 1


def test_removing_a_key_with_past_activations_keeps_the_account_without_its_key(
    client, alice, alice_team, alice_account, make_activation
):
    make_activation(state=Activation.State.COMPLETED)
    client.force_login(alice)
    client.post(url(alice_team, f"{alice_account.pk}/remove/"), {"confirmed": "1"})
    alice_account.refresh_from_db()
    assert alice_account.key_ciphertext == ""
    assert not alice_account.has_key
    assert b"No keys yet" in client.get(url(alice_team)).content


def test_a_key_with_open_activations_is_not_removed(
    client, alice, alice_team, alice_account, make_activation
):
    make_activation()
    client.force_login(alice)
    response = client.post(url(alice_team, f"{alice_account.pk}/remove/"), follow=True)
    assert b"still open" in response.content
    alice_account.refresh_from_db()
    assert alice_account.has_key


def test_it_refreshes_the_balance(client, alice, alice_team, sandbox_account, sandbox_server):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "123.45")
    client.force_login(alice)
    response = client.post(url(alice_team, f"{sandbox_account.pk}/refresh/"), follow=True)
    assert b"Balance at" in response.content
    sandbox_account.refresh_from_db()
    assert sandbox_account.balance == Decimal("123.45")
    assert sandbox_account.balance_checked_at is not None


def test_a_failed_refresh_is_a_message(client, alice, alice_team, sandbox_account, sandbox_server):
    sandbox_server.sandbox.set_fault("http_500")
    client.force_login(alice)
    response = client.post(url(alice_team, f"{sandbox_account.pk}/refresh/"), follow=True)
    assert b"is not answering" in response.content


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_members_and_viewers_cannot_change_keys(
    client, request, alice_team, sandbox_account, sandbox_server, person
):
    client.force_login(request.getfixturevalue(person))
    assert client.get(url(alice_team)).status_code == 403
    assert attach(client, alice_team, sandbox_account.provider, "x-key-1234").status_code == 403
    assert client.post(url(alice_team, f"{sandbox_account.pk}/remove/")).status_code == 403
    assert ProviderAccount.objects.get().has_key


def test_it_checks_membership(client, charlie, alice_team, sandbox_account):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404
    assert client.post(url(alice_team, f"{sandbox_account.pk}/remove/")).status_code == 404
    # Through his own team, Alice's account is simply not there.
    assert (
        client.post(f"/t/charlies-team/provider-accounts/{sandbox_account.pk}/remove/").status_code
        == 404
    )
    assert (
        client.post(f"/t/charlies-team/provider-accounts/{sandbox_account.pk}/refresh/").status_code
        == 404
    )
    content = client.get("/t/charlies-team/provider-accounts/").content.decode()
    assert sandbox_account.masked_key not in content


# --- The balance asked for as the page loads --------------------------------------------------

HTMX = {"HTTP_HX_REQUEST": "true"}


def refresh_url(team, account):
    return url(team, f"{account.pk}/refresh/")


def test_a_balance_never_checked_is_asked_for_as_the_page_loads(
    client, alice, alice_team, sandbox_account
):
    client.force_login(alice)
    body = client.get(url(alice_team)).content.decode()
    assert f'hx-post="{refresh_url(alice_team, sandbox_account)}" hx-trigger="load"' in body
    assert "checking…" in body
    assert "not checked" not in body


def test_a_fresh_balance_is_not_asked_for_again(client, alice, alice_team, sandbox_account):
    ProviderAccount.objects.filter(pk=sandbox_account.pk).update(
        balance_checked_at=timezone.now() - timedelta(minutes=9)
    )
    client.force_login(alice)
    body = client.get(url(alice_team)).content.decode()
    assert 'hx-trigger="load"' not in body
    assert "checked <time" in body and "9 min ago</time>" in body


def test_an_old_balance_is_asked_for_again(client, alice, alice_team, sandbox_account):
    ProviderAccount.objects.filter(pk=sandbox_account.pk).update(
        balance_checked_at=timezone.now() - timedelta(minutes=11)
    )
    client.force_login(alice)
    assert 'hx-trigger="load"' in client.get(url(alice_team)).content.decode()


def test_a_viewer_is_not_made_to_ask(client, victor, alice_team, sandbox_account):
    client.force_login(victor)  # refreshing is refused to a viewer: the page does not try
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert 'hx-trigger="load"' not in body
    assert "not checked yet" in body


def test_from_htmx_the_refresh_answers_the_balance_in_place(
    client, bob, alice_team, sandbox_account, sandbox_server
):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "123.45")
    client.force_login(bob)
    response = client.post(refresh_url(alice_team, sandbox_account), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert '<strong class="balance">$123.45</strong>' in body
    assert "checked <time" in body
    assert "hx-trigger" not in body  # asked once: the answer does not ask again
    # No message left for the next page: it was said in place.
    assert "Balance at" not in client.get(f"/t/{alice_team.slug}/").content.decode()


def test_from_htmx_a_failed_refresh_is_said_in_place_and_not_retried(
    client, alice, alice_team, sandbox_account, sandbox_server
):
    sandbox_server.sandbox.set_fault("http_500")
    client.force_login(alice)
    response = client.post(refresh_url(alice_team, sandbox_account), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "is not answering" in body
    assert "hx-trigger" not in body

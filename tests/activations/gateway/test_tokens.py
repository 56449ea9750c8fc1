"""A token acts as its member at each request: revoked, its member removed or made a viewer,
it is refused at once; its own limits (services, highest price, numbers per day) hold."""

from decimal import Decimal

import pytest

from activations.gateway import recent_tokens
from activations.models import Activation
from dashboard.models import ApiToken, AuditEvent, Membership, Role
from dashboard.tokens import revoke_token
from tests.activations.acting import acting
from tests.activations.gateway.helpers import said

pytestmark = pytest.mark.django_db


def test_a_revoked_token_is_refused_at_once(client, alice, alice_team, alice_token):
    assert said(client, alice_token, action="getBalance") == "1000.00"
    token = ApiToken.objects.get(name="alice bot")
    assert revoke_token(acting=acting(alice_team, alice), token=token)
    assert said(client, alice_token, action="getBalance") == "BAD_KEY"
    assert said(client, alice_token, action="getNumber", service="tg") == "BAD_KEY"
    assert not Activation.objects.exists()


def test_get_status_keeps_a_token_at_most_a_second_other_actions_not_at_all(
    client, alice, alice_team, alice_token, make_activation, monkeypatch
):
    """The issue allows getStatus's token lookup a brief cache, revocation taking effect
    within a second; money and moves see the revocation at once."""
    now = [100.0]
    monkeypatch.setattr(recent_tokens, "clock", lambda: now[0])
    activation_id = str(make_activation().pk)
    assert said(client, alice_token, action="getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    token = ApiToken.objects.get(name="alice bot")
    assert revoke_token(acting=acting(alice_team, alice), token=token)

    assert said(client, alice_token, action="getBalance") == "BAD_KEY"
    assert said(client, alice_token, action="getNumber", service="tg") == "BAD_KEY"
    now[0] += 0.9
    assert said(client, alice_token, action="getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    now[0] += 0.1
    assert said(client, alice_token, action="getStatus", id=activation_id) == "BAD_KEY"
    assert not Activation.objects.exclude(pk=activation_id).exists()


def test_a_removed_members_token_is_refused_at_once(client, bob, bob_token, sandbox_server):
    assert said(client, bob_token, action="getBalance") == "1000.00"
    Membership.objects.get(user=bob).delete()
    assert said(client, bob_token, action="getBalance") == "BAD_KEY"
    assert said(client, bob_token, action="getNumber", service="tg") == "BAD_KEY"
    assert len(sandbox_server.sandbox.activations) == 0


def test_a_token_whose_member_became_a_viewer_is_refused_at_once(
    client, bob, bob_token, sandbox_server
):
    activation_id = said(client, bob_token, action="getNumber", service="tg").split(":")[1]
    Membership.objects.filter(user=bob).update(role=Role.VIEWER)
    for params in (
        {"action": "getBalance"},
        {"action": "getStatus", "id": activation_id},
        {"action": "setStatus", "id": activation_id, "status": "8"},
        {"action": "getNumber", "service": "tg"},
    ):
        assert said(client, bob_token, **params) == "BAD_KEY"
    assert Activation.objects.get().state == Activation.State.WAITING
    assert len(sandbox_server.sandbox.activations) == 1
    # Back to a member: the same token works again (it acts with the role as stored now).
    Membership.objects.filter(user=bob).update(role=Role.MEMBER)
    assert said(client, bob_token, action="getStatus", id=activation_id) == "STATUS_WAIT_CODE"


def test_a_tokens_services_hold(client, bob, make_token, sandbox_account, sandbox_offer):
    secret = make_token(bob, services=["wa"])
    assert said(client, secret, action="getNumber", service="tg") == "BAD_SERVICE"
    assert said(client, secret, action="getServicesAndCost") == "[]"
    assert not Activation.objects.exists()


def test_a_tokens_highest_price_holds(
    client, bob, make_token, sandbox_account, sandbox_offer, sandbox_server
):
    cheap = make_token(bob, max_price=sandbox_offer.price - Decimal("0.01"))
    assert said(client, cheap, action="getNumber", service="tg") == "NO_NUMBERS"
    # A maxPrice above the token's does not lift it.
    assert said(client, cheap, action="getNumber", service="tg", maxPrice="1000") == "NO_NUMBERS"
    exact = make_token(bob, max_price=sandbox_offer.price)
    assert said(client, exact, action="getNumber", service="tg").startswith("ACCESS_NUMBER:")
    assert len(sandbox_server.sandbox.activations) == 1


@pytest.mark.parametrize(("max_price", "bought"), [("0", False), ("abc", True), ("-1", True)])
def test_max_price_below_the_offer_finds_none_and_a_non_number_is_ignored(
    client, bob, bob_token, sandbox_server, max_price, bought
):
    answer = said(client, bob_token, action="getNumber", service="tg", maxPrice=max_price)
    assert answer.startswith("ACCESS_NUMBER:") is bought
    assert answer == "NO_NUMBERS" or bought


def test_a_tokens_daily_limit_holds(client, bob, make_token, sandbox_account, sandbox_offer):
    secret = make_token(bob, daily_limit=2)
    answers = [said(client, secret, action="getNumber", service="tg") for _ in range(3)]
    assert [a.split(":")[0] for a in answers] == ["ACCESS_NUMBER", "ACCESS_NUMBER", "NO_BALANCE"]
    assert Activation.objects.count() == 2
    # Another token of the same member has its own count.
    assert said(client, make_token(bob), action="getNumber", service="tg").startswith("ACCESS_")


def test_purchases_are_marked_with_their_token_and_the_token_is_stamped(
    client, bob, bob_token, sandbox_server
):
    activation_id = said(client, bob_token, action="getNumber", service="tg").split(":")[1]
    token = ApiToken.objects.get(name="bob bot")
    assert Activation.objects.get(pk=activation_id).api_token == token
    assert token.last_used_at is not None
    assert token.last_used_ip == "127.0.0.1"
    # The purchase's audit row and the provider call it made both name the token.
    events = AuditEvent.objects.filter(api_token=token)
    assert set(events.values_list("kind", flat=True)) == {
        AuditEvent.Kind.ACTION,
        AuditEvent.Kind.CALL,
    }

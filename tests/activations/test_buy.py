"""buy_number against the sandbox over HTTP: every answer, budgets, double submits."""

from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from activations.budgets import month_budget
from activations.buying import buy_number
from activations.models import Activation, Reservation
from catalog.models import ProviderAccount
from dashboard.encryption import encrypt_key
from dashboard.models import AuditEvent, Membership
from tests.activations.acting import acting
from tests.fixtures.activations import buy_form

TOKEN = "token-aaaaaaaaaaaa"


def buy(team, user, offer, token=TOKEN):
    return buy_number(acting=acting(team, user), offer=offer, request_token=token, ip="127.0.0.1")


def test_it_buys_a_number(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server, settings
):
    settings.ACTIVATION_LIFETIME_MINUTES = 20
    outcome = buy(alice_team, alice, sandbox_offer)
    assert outcome.ok, outcome.message
    activation = Activation.objects.get()
    assert outcome.activation == activation
    assert activation.team == alice_team
    assert activation.user == alice
    assert activation.account == sandbox_account
    assert activation.service == sandbox_offer.service
    assert activation.country == sandbox_offer.country
    assert activation.operator == sandbox_offer.operator
    assert activation.price == sandbox_offer.price
    assert activation.state == Activation.State.WAITING
    assert activation.request_token == TOKEN
    remote = sandbox_server.sandbox.activation(activation.provider_activation_id)
    assert remote.phone == activation.phone
    lifetime = activation.expires_at - activation.created_at
    assert timedelta(minutes=19) < lifetime <= timedelta(minutes=20)
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == 1000 - sandbox_offer.price
    sandbox_account.refresh_from_db()
    assert sandbox_account.balance == Decimal("1000.00") - sandbox_offer.price
    assert not Reservation.objects.exists()


def test_it_audits_the_purchase_and_the_call(alice, alice_team, sandbox_account, sandbox_offer):
    activation = buy(alice_team, alice, sandbox_offer).activation
    action = AuditEvent.objects.get(kind="action")
    assert action.action == "bought"
    assert action.user == alice
    assert action.ip == "127.0.0.1"
    assert action.object_id == str(activation.pk)
    assert action.params["phone"] == activation.phone
    call = AuditEvent.objects.get(kind="call")
    assert call.action == "getNumber"
    assert call.answer.startswith("ACCESS_NUMBER:")
    assert call.http_status == 200
    assert call.outcome == "ok"
    assert "api_key" not in call.params


def test_two_clicks_buy_one_number(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    first = buy(alice_team, alice, sandbox_offer)
    second = buy(alice_team, alice, sandbox_offer)
    assert first.ok and second.ok
    assert second.duplicate
    assert second.activation == first.activation
    assert Activation.objects.count() == 1
    assert len(sandbox_server.sandbox.activations) == 1


def test_a_new_token_buys_another_number(alice, alice_team, sandbox_account, sandbox_offer):
    buy(alice_team, alice, sandbox_offer, "token-1111111111")
    buy(alice_team, alice, sandbox_offer, "token-2222222222")
    assert Activation.objects.count() == 2


def test_a_missing_or_odd_token_is_refused(alice, alice_team, sandbox_account, sandbox_offer):
    for token in ("", "short", "x" * 65, "has spaces in it"):
        assert not buy(alice_team, alice, sandbox_offer, token).ok
    assert not Activation.objects.exists()


def assert_nothing_bought():
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()


def test_no_numbers_is_a_clear_message(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox_server.sandbox.set_offer("tg", 0, "any", quantity=0)
    outcome = buy(alice_team, alice, sandbox_offer)
    assert not outcome.ok
    assert "No numbers available" in outcome.message
    assert_nothing_bought()
    assert AuditEvent.objects.get(kind="call").outcome == "NO_NUMBERS"
    assert AuditEvent.objects.get(kind="action").outcome == "NO_NUMBERS"


def test_no_balance_is_a_clear_message(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, 0)
    outcome = buy(alice_team, alice, sandbox_offer)
    assert "balance" in outcome.message and "too low" in outcome.message
    assert_nothing_bought()


def test_a_rejected_key_is_a_clear_message(alice, alice_team, sandbox_account, sandbox_offer):
    ProviderAccount.objects.filter(pk=sandbox_account.pk).update(
        key_ciphertext=encrypt_key("not-a-sandbox-key")
    )
    outcome = buy(alice_team, alice, sandbox_offer)
    assert "rejected the team's API key" in outcome.message
    assert_nothing_bought()


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("http_500", "is not answering"),
        ("garbage", "cannot read"),
        ("error_sql", "database failed"),
    ],
)
def test_provider_faults_leave_nothing_half_made(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server, fault, words
):
    sandbox_server.sandbox.set_fault(fault)
    outcome = buy(alice_team, alice, sandbox_offer)
    assert not outcome.ok
    assert words in outcome.message
    assert_nothing_bought()


def test_an_unreachable_provider_is_a_clear_message(alice, alice_team, alice_account, tg_offer):
    outcome = buy(alice_team, alice, tg_offer)
    assert "is not answering" in outcome.message
    assert_nothing_bought()


def test_a_rate_limited_provider_is_a_clear_message(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox_server.sandbox.rate_limit = 0.0001
    sandbox_server.sandbox.handle({"api_key": sandbox_server.api_key, "action": "getBalance"})
    outcome = buy(alice_team, alice, sandbox_offer)
    assert "limiting requests" in outcome.message
    assert_nothing_bought()


def test_an_unreadable_stored_key_is_a_clear_message(
    alice, alice_team, sandbox_account, sandbox_offer, settings
):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    outcome = buy(alice_team, alice, sandbox_offer)
    assert "cannot be read" in outcome.message
    assert_nothing_bought()


def test_a_team_without_a_key_is_told_so(alice, alice_team, sandbox_offer):
    outcome = buy(alice_team, alice, sandbox_offer)
    assert "no API key" in outcome.message
    assert_nothing_bought()


def test_a_disabled_provider_sells_nothing(alice, alice_team, sandbox_account, sandbox_offer):
    sandbox_offer.provider.enabled = False
    sandbox_offer.provider.save()
    assert "switched off" in buy(alice_team, alice, sandbox_offer).message
    assert_nothing_bought()


def test_a_viewer_cannot_buy(victor, alice_team, sandbox_account, sandbox_offer):
    with pytest.raises(PermissionDenied):
        buy(alice_team, victor, sandbox_offer)
    assert_nothing_bought()


def test_charlie_cannot_buy_for_alices_team(
    client, charlie, alice_team, sandbox_account, sandbox_offer
):
    """Services act only for a membership, and Charlie has none in Alice's team: the buy
    page (where a membership comes from) does not exist for him."""
    client.force_login(charlie)
    response = client.post(
        f"/t/{alice_team.slug}/buy/",
        buy_form(sandbox_offer, token=TOKEN),
    )
    assert response.status_code == 404
    assert_nothing_bought()


def test_a_member_can_buy(bob, alice_team, sandbox_account, sandbox_offer):
    assert buy(alice_team, bob, sandbox_offer).ok


def test_the_team_budget_is_never_exceeded(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    alice_team.monthly_budget = sandbox_offer.price * 2
    alice_team.save()
    assert buy(alice_team, alice, sandbox_offer, "token-1111111111").ok
    assert buy(alice_team, alice, sandbox_offer, "token-2222222222").ok
    third = buy(alice_team, alice, sandbox_offer, "token-3333333333")
    assert not third.ok
    assert "team's monthly budget" in third.message
    assert Activation.objects.count() == 2
    assert len(sandbox_server.sandbox.activations) == 2  # the provider was not asked
    assert AuditEvent.objects.filter(action="bought", outcome="over_budget").count() == 1


def test_a_members_monthly_limit_is_never_exceeded(
    alice, bob, alice_team, sandbox_account, sandbox_offer
):
    Membership.objects.filter(user=bob).update(monthly_limit=sandbox_offer.price)
    assert buy(alice_team, bob, sandbox_offer, "token-1111111111").ok
    outcome = buy(alice_team, bob, sandbox_offer, "token-2222222222")
    assert "your monthly limit" in outcome.message
    # Alice has no limit of her own.
    assert buy(alice_team, alice, sandbox_offer, "token-3333333333").ok


def test_an_empty_budget_means_unlimited_and_zero_means_nothing(
    alice, alice_team, sandbox_account, sandbox_offer
):
    assert buy(alice_team, alice, sandbox_offer, "token-1111111111").ok
    alice_team.monthly_budget = Decimal("0")
    alice_team.save()
    assert not buy(alice_team, alice, sandbox_offer, "token-2222222222").ok


def test_cancelled_and_expired_activations_cost_nothing(
    alice, alice_team, make_activation, sandbox_account
):
    make_activation(price=Decimal("5.00"))
    make_activation(price=Decimal("7.00"), state=Activation.State.CANCELLED)
    make_activation(price=Decimal("9.00"), state=Activation.State.EXPIRED)
    make_activation(price=Decimal("11.00"), state=Activation.State.COMPLETED)
    assert month_budget(alice_team).team.spent == Decimal("16.00")


def test_last_months_spending_does_not_count(alice, alice_team, make_activation):
    make_activation(price=Decimal("5.00"), created_at=timezone.now() - timedelta(days=40))
    assert month_budget(alice_team).team.spent == 0


def test_purchases_in_flight_count_until_they_are_stale(alice, bob, alice_team):
    Reservation.objects.create(team=alice_team, user=bob, amount=3, request_token="a" * 10)
    Reservation.objects.create(
        team=alice_team,
        user=bob,
        amount=4,
        request_token="b" * 10,
        created_at=timezone.now() - timedelta(hours=1),
    )
    assert month_budget(alice_team).team.spent == 3
    assert month_budget(alice_team).of(bob.pk).spent == 3
    assert month_budget(alice_team).of(alice.pk).spent == 0


def test_a_refused_purchase_releases_its_reservation_for_the_next(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    alice_team.monthly_budget = sandbox_offer.price
    alice_team.save()
    sandbox_server.sandbox.set_fault("http_500")
    assert not buy(alice_team, alice, sandbox_offer, "token-1111111111").ok
    sandbox_server.sandbox.clear_faults()
    assert buy(alice_team, alice, sandbox_offer, "token-2222222222").ok


def test_spending_is_in_cents_on_every_database(alice, alice_team, make_activation):
    make_activation(price=Decimal("0.10"))
    make_activation(price=Decimal("0.20"))
    assert str(month_budget(alice_team).team.spent) == "0.30"

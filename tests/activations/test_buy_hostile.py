"""Buying from a provider whose answers cannot be recorded (issue 12, findings 2 and 5): the
number is recorded or cancelled, never neither; a negative price is never bought."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError
from django.utils import timezone

from activations import budgets, buying
from activations.budgets import month_budget
from activations.buying import buy_number
from activations.models import Activation, Reservation
from catalog.models import ProviderAccount
from dashboard.models import AuditEvent
from provider import client as protocol
from provider.sandbox.rules import Answer
from tests.activations.acting import acting
from tests.fixtures.activations import buy_form

CANCELLED = "cannot record, so it was cancelled there: nothing is charged"
NOT_CANCELLED = "could not be cancelled automatically"

# getNumber answers whose number the activation's columns cannot hold, made from the real
# one (the sandbox sells the number first). Only the first names an id the provider knows.
HOSTILE_ANSWERS = {
    "a 40-digit phone": (lambda id_, phone: f"ACCESS_NUMBER:{id_}:{'7' * 40}", CANCELLED),
    "a 100-character id": (lambda id_, phone: f"ACCESS_NUMBER:{'9' * 100}:{phone}", NOT_CANCELLED),
    "a NUL in the id": (lambda id_, phone: f"ACCESS_NUMBER:{id_}\x00:{phone}", NOT_CANCELLED),
}


def buy(team, user, offer, token="token-hostile-0001"):
    return buy_number(acting=acting(team, user), offer=offer, request_token=token, ip="127.0.0.1")


def answer_get_number_with(sandbox, monkeypatch, make_answer) -> None:
    real = sandbox._get_number

    def hostile(params):
        answer = real(params)
        _, id_, phone = answer.body.split(":")
        return Answer(200, make_answer(id_, phone))

    monkeypatch.setattr(sandbox, "_get_number", hostile)


def the_only_sandbox_activation(sandbox):
    (remote,) = sandbox.activations.values()
    return remote


@pytest.fixture
def budget_of_one_number(alice_team, sandbox_offer):
    alice_team.monthly_budget = sandbox_offer.price
    alice_team.save()


def assert_nothing_left(alice_team, alice, sandbox_offer, sandbox_account):
    """No activation, no reservation, the stored balance untouched, the budget usable again."""
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()
    assert ProviderAccount.objects.get(pk=sandbox_account.pk).balance == Decimal("1000.00")
    assert month_budget(alice_team).team.spent == 0
    again = buy(alice_team, alice, sandbox_offer, token="token-honest-0002")
    assert again.ok, again.message


@pytest.mark.parametrize("hostile", HOSTILE_ANSWERS, ids=list(HOSTILE_ANSWERS))
def test_a_number_that_cannot_be_recorded_is_cancelled_or_reported(
    hostile,
    alice,
    alice_team,
    sandbox_account,
    sandbox_offer,
    sandbox_server,
    budget_of_one_number,
    monkeypatch,
):
    make_answer, message = HOSTILE_ANSWERS[hostile]
    sandbox = sandbox_server.sandbox
    with monkeypatch.context() as patch:
        answer_get_number_with(sandbox, patch, make_answer)
        outcome = buy(alice_team, alice, sandbox_offer)

    assert not outcome.ok
    assert message in outcome.message
    remote = the_only_sandbox_activation(sandbox)
    if message == CANCELLED:
        assert remote.state == "cancelled"
        assert remote.refunded
        assert sandbox.balance(sandbox_server.api_key) == 1000
        cancel = AuditEvent.objects.get(action="setStatus")
        assert (cancel.params["status"], cancel.outcome) == ("8", "ok")
    else:
        assert "Check your activations at" in outcome.message
    assert AuditEvent.objects.get(action="bought").outcome.startswith("not_recorded")
    assert_nothing_left(alice_team, alice, sandbox_offer, sandbox_account)


def test_the_buy_page_says_so_instead_of_failing(
    client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server, monkeypatch
):
    make_answer, message = HOSTILE_ANSWERS["a 40-digit phone"]
    answer_get_number_with(sandbox_server.sandbox, monkeypatch, make_answer)
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/buy/",
        buy_form(sandbox_offer, token="view-token-hostile-1"),
        follow=True,
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Activation.objects.exists()
    assert the_only_sandbox_activation(sandbox_server.sandbox).state == "cancelled"


@pytest.mark.parametrize("error", [DataError, IntegrityError, ValueError])
def test_a_recording_the_database_refuses_is_cancelled_at_the_provider(
    error,
    alice,
    alice_team,
    sandbox_account,
    sandbox_offer,
    sandbox_server,
    budget_of_one_number,
    monkeypatch,
):
    def refused(*args):
        raise error("value too long for type character varying(32)")

    with monkeypatch.context() as patch:
        patch.setattr(buying, "_record_purchase", refused)
        outcome = buy(alice_team, alice, sandbox_offer)
    assert not outcome.ok
    assert CANCELLED in outcome.message
    assert the_only_sandbox_activation(sandbox_server.sandbox).state == "cancelled"
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == 1000
    assert_nothing_left(alice_team, alice, sandbox_offer, sandbox_account)


@pytest.mark.parametrize("usable_id", [True, False], ids=["with its id", "without an id"])
def test_a_number_the_client_calls_invalid_is_cancelled_when_it_has_an_id(
    usable_id,
    alice,
    alice_team,
    sandbox_account,
    sandbox_offer,
    sandbox_server,
    budget_of_one_number,
    monkeypatch,
):
    real = protocol.ProviderClient.get_number

    def invalid(self, *args):
        number = real(self, *args)  # sold at the provider
        activation_id = number.activation_id if usable_id else None
        raise protocol.InvalidNumber("phone too long", activation_id=activation_id)

    with monkeypatch.context() as patch:
        patch.setattr(protocol.ProviderClient, "get_number", invalid)
        outcome = buy(alice_team, alice, sandbox_offer)
    remote = the_only_sandbox_activation(sandbox_server.sandbox)
    if usable_id:
        assert CANCELLED in outcome.message
        assert remote.state == "cancelled"
        assert sandbox_server.sandbox.balance(sandbox_server.api_key) == 1000
    else:
        assert NOT_CANCELLED in outcome.message
        assert remote.state != "cancelled"
        assert not AuditEvent.objects.filter(action="setStatus").exists()
    assert_nothing_left(alice_team, alice, sandbox_offer, sandbox_account)


def test_an_offer_listed_below_zero_is_not_bought(
    alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    sandbox_offer.price = Decimal("-50.00")  # the catalog refuses such rows: in memory only
    outcome = buy(alice_team, alice, sandbox_offer)
    assert not outcome.ok
    assert "below zero" in outcome.message
    assert month_budget(alice_team).team.spent == 0
    assert ProviderAccount.objects.get(pk=sandbox_account.pk).balance == Decimal("1000.00")
    assert not sandbox_server.sandbox.activations
    assert not Reservation.objects.exists()


def test_the_database_holds_no_negative_price(alice, alice_team, make_activation):
    with pytest.raises(IntegrityError):
        make_activation(price=Decimal("-50.00"))


def test_the_database_holds_no_negative_reservation(alice, alice_team):
    with pytest.raises(IntegrityError):
        Reservation.objects.create(
            team=alice_team, user=alice, amount=Decimal("-50.00"), request_token="t" * 12
        )


def test_a_reservation_outlives_the_slowest_purchase(alice, alice_team, settings):
    """An operator who allows slow providers a minute per call: a purchase can take two
    minutes, so its reservation still counts after the old five."""
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 60
    Reservation.objects.create(
        team=alice_team,
        user=alice,
        amount=3,
        request_token="r" * 12,
        created_at=timezone.now() - timedelta(minutes=6),
    )
    assert month_budget(alice_team).team.spent == 3
    assert budgets.reservation_ttl() >= timedelta(seconds=10 * 2 * 60)

"""Parallel getNumber requests, each in its own thread with its own database connection
(Django's test client through the whole request stack, as `tests/activations/test_parallel.py`
buys): the team's budget and a token's daily limit hold however many programs buy at once,
on PostgreSQL and SQLite. (The live server is not used here: on the in-memory SQLite test
database its threads share one connection.)"""

import pytest
from django.test import Client

from activations.models import Activation, Reservation
from dashboard.models import Team
from tests.activations.gateway.conftest import GATEWAY_PATH
from tests.fixtures.activations import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

# The in-memory SQLite test database answers "locked" at once instead of waiting; the gateway
# answers ERROR_SQL then (nothing bought, the family's "try again"), and a program retries.
RETRIES = 200


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """The retries above must not meet the per-token rate (its own tests are elsewhere)."""
    settings.GATEWAY_REQUESTS_PER_SECOND = 10_000


def get_number(secret: str) -> str:
    client = Client()
    for _ in range(RETRIES):
        answer = client.post(
            GATEWAY_PATH, {"api_key": secret, "action": "getNumber", "service": "tg"}
        ).content.decode()
        if answer != "ERROR_SQL":
            return answer
    return answer


def buy_all(secrets: list[str]) -> list[str]:
    """One getNumber per secret, all released at once; each answer's text."""
    answers = run_in_threads(get_number, [(secret,) for secret in secrets])
    errors = [answer for answer in answers if isinstance(answer, Exception)]
    assert not errors, errors
    return answers


def test_twenty_parallel_getnumber_through_two_tokens_against_a_budget_for_five_buy_five(
    alice_token, bob_token, alice_team, sandbox_offer, sandbox_server
):
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=sandbox_offer.price * 5)

    answers = buy_all([alice_token, bob_token] * 10)

    bought = [a for a in answers if a.startswith("ACCESS_NUMBER:")]
    assert len(bought) == 5, answers
    assert sorted(set(answers) - set(bought)) == ["NO_BALANCE"]
    assert Activation.objects.count() == 5
    assert len(sandbox_server.sandbox.activations) == 5  # the provider sold five, not more
    assert not Reservation.objects.exists()
    ids = {int(a.split(":")[1]) for a in bought}
    assert ids == set(Activation.objects.values_list("pk", flat=True))


def test_a_tokens_daily_limit_holds_under_parallel_requests(
    bob, make_token, sandbox_account, sandbox_offer, sandbox_server
):
    secret = make_token(bob, daily_limit=3)

    answers = buy_all([secret] * 10)

    assert sum(a.startswith("ACCESS_NUMBER:") for a in answers) == 3, answers
    assert {a for a in answers if not a.startswith("ACCESS_NUMBER:")} == {"NO_BALANCE"}
    assert Activation.objects.count() == 3
    assert len(sandbox_server.sandbox.activations) == 3
    assert not Reservation.objects.exists()

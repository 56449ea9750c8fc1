"""Parallel getNumber over real HTTP (the live server's threads, each with its own database
connection): the team's budget and a token's daily limit hold however many programs buy at
once, on PostgreSQL and SQLite."""

import threading

import httpx
import pytest

from activations.models import Activation, Reservation
from dashboard.models import Team
from tests.activations.gateway.conftest import GATEWAY_PATH

pytestmark = pytest.mark.django_db(transaction=True)

# The in-memory SQLite test database answers "locked" at once instead of waiting; the gateway
# answers ERROR_SQL then (nothing bought, the family's "try again"), and a program retries.
RETRIES = 50


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    """The retries above must not meet the per-token rate (its own tests are elsewhere)."""
    settings.GATEWAY_REQUESTS_PER_SECOND = 10_000


def buy_all(url: str, secrets: list[str]) -> list[str]:
    """One getNumber per secret, all released at once; each answer's text."""
    barrier = threading.Barrier(len(secrets))
    answers: list[str] = [""] * len(secrets)

    def buy(index: int, secret: str) -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            for _ in range(RETRIES):
                answer = http.post(
                    url, data={"api_key": secret, "action": "getNumber", "service": "tg"}
                ).text
                if answer != "ERROR_SQL":
                    break
            answers[index] = answer

    threads = [threading.Thread(target=buy, args=pair) for pair in enumerate(secrets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_twenty_parallel_getnumber_through_two_tokens_against_a_budget_for_five_buy_five(
    live_server, alice_token, bob_token, alice_team, sandbox_offer, sandbox_server
):
    Team.objects.filter(pk=alice_team.pk).update(monthly_budget=sandbox_offer.price * 5)

    answers = buy_all(live_server.url + GATEWAY_PATH, [alice_token, bob_token] * 10)

    bought = [a for a in answers if a.startswith("ACCESS_NUMBER:")]
    assert len(bought) == 5, answers
    assert sorted(set(answers) - set(bought)) == ["NO_BALANCE"]
    assert Activation.objects.count() == 5
    assert len(sandbox_server.sandbox.activations) == 5  # the provider sold five, not more
    assert not Reservation.objects.exists()
    ids = {int(a.split(":")[1]) for a in bought}
    assert ids == set(Activation.objects.values_list("pk", flat=True))


def test_a_tokens_daily_limit_holds_under_parallel_requests(
    live_server, bob, make_token, sandbox_account, sandbox_offer, sandbox_server
):
    secret = make_token(bob, daily_limit=3)

    answers = buy_all(live_server.url + GATEWAY_PATH, [secret] * 10)

    assert sum(a.startswith("ACCESS_NUMBER:") for a in answers) == 3, answers
    assert {a for a in answers if not a.startswith("ACCESS_NUMBER:")} == {"NO_BALANCE"}
    assert Activation.objects.count() == 3
    assert len(sandbox_server.sandbox.activations) == 3
    assert not Reservation.objects.exists()

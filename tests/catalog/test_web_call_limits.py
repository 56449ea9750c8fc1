"""A stuck provider cannot hold the web: each call a page waits on ends within
PROVIDER_WEB_DEADLINE_SECONDS, and at most PROVIDER_WEB_CONCURRENCY of them per provider and
process reach it (the others are refused within about a second); other providers go on."""

import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from activations.models import Activation
from catalog.models import Provider
from catalog.provider_slots import SLOT_WAIT_SECONDS, SLOW_SECONDS, ProviderSlots
from catalog.upstream import provider_client
from provider import client as protocol
from tests.fixtures.activations import buy_form, make_account, run_in_threads
from tests.provider.client_support import trickling_server

DEADLINE = 1.0
# Room for a busy machine on top of a bound the code promises.
SLACK = 1.0


@pytest.fixture
def stuck_provider(settings, sandbox_server):
    """Every answer to the test's key is held until the test ends (the sandbox's "timeout")."""
    settings.PROVIDER_WEB_DEADLINE_SECONDS = DEADLINE
    sandbox_server.sandbox.set_fault("timeout", api_key=sandbox_server.api_key)
    return sandbox_server


def post_buy(client, team, offer, token):
    return client.post(f"/t/{team.slug}/buy/", buy_form(offer, token=token), follow=True)


def test_a_purchase_at_a_stuck_provider_ends_at_the_deadline_with_a_message(
    client, alice, alice_team, sandbox_account, sandbox_offer, stuck_provider
):
    client.force_login(alice)
    started = time.monotonic()
    response = post_buy(client, alice_team, sandbox_offer, "stuck-provider-token-01")
    assert time.monotonic() - started < DEADLINE + SLACK
    assert response.status_code == 200
    # The request went out: the page cannot promise that nothing was sold.
    assert b"did not answer in time. Nothing was recorded here" in response.content
    assert not Activation.objects.exists()


def test_a_purchase_whose_answer_trickles_past_the_deadline_says_where_to_look(
    settings, client, alice, alice_team, sandbox_account, sandbox_offer, sandbox_server
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = DEADLINE
    sandbox = sandbox_server.sandbox
    sandbox.set_fault("trickle", api_key=sandbox_server.api_key, seconds=1.0)
    client.force_login(alice)
    started = time.monotonic()
    response = post_buy(client, alice_team, sandbox_offer, "trickled-answer-token-01")
    sandbox.clear_faults()
    assert time.monotonic() - started < DEADLINE + SLACK
    # The provider sold a number whose answer never arrived whole: the user is sent to it.
    assert len(sandbox.activations) == 1
    assert not Activation.objects.exists()
    assert b"if it sold a number anyway, look for it in your activations at" in (response.content)


def test_a_balance_refresh_at_a_stuck_provider_ends_at_the_deadline_with_a_message(
    client, alice, alice_team, sandbox_account, stuck_provider
):
    client.force_login(alice)
    started = time.monotonic()
    response = client.post(
        f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/", follow=True
    )
    assert time.monotonic() - started < DEADLINE + SLACK
    assert response.status_code == 200
    assert b"is not answering. Nothing changed; try again" in response.content


@pytest.mark.django_db(transaction=True)
def test_a_stuck_provider_gets_its_slots_only_and_other_providers_are_not_affected(
    settings, alice_team, sandbox_account, sandbox_server
):
    settings.PROVIDER_WEB_CONCURRENCY = 2
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 10.0  # the held calls keep their slots
    held_for = 3.0
    sandbox = sandbox_server.sandbox
    sandbox.set_fault("timeout", api_key=sandbox_server.api_key, seconds=held_for)
    honest_key = "sandbox-test-0123456789abcdef"
    sandbox.add_account(honest_key, 500)
    honest_provider = Provider.objects.create(
        name="Honest", handler_url=sandbox_server.url, max_requests_per_second=1000
    )
    honest_account = make_account(alice_team, honest_provider, api_key=honest_key)

    def balance(account):
        started = time.monotonic()
        try:
            with provider_client(account) as client:
                outcome = client.get_balance()
        except protocol.ProviderError as error:
            outcome = error
        return outcome, time.monotonic() - started

    results = run_in_threads(balance, [(sandbox_account,)] * 6 + [(honest_account,)])

    stuck, (honest, honest_seconds) = results[:6], results[6]
    assert sandbox.request_counts["getBalance"] == 2 + 1  # two stuck calls, the honest one
    refused = [seconds for outcome, seconds in stuck if seconds < held_for]
    assert len(refused) == 4
    assert all(isinstance(outcome, protocol.ProviderUnavailable) for outcome, _ in stuck)
    assert max(refused) < SLOT_WAIT_SECONDS + SLACK
    assert honest == 500
    assert honest_seconds < SLACK


def test_the_check_refuses_a_deadline_that_is_not_positive(settings, db):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 0
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "sms_desk.E002" in str(caught.value)
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 5.0
    call_command("check", fail_level="ERROR")


def test_the_check_refuses_a_provider_without_a_slot(settings, db):
    settings.PROVIDER_WEB_CONCURRENCY = 0
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "sms_desk.E003" in str(caught.value)


def test_a_burst_at_a_provider_that_answers_waits_for_a_slot_instead_of_failing():
    slots = ProviderSlots(2)
    held = [slots.acquire(0), slots.acquire(0)]
    threading.Timer(0.1, slots.release, [held[0]]).start()
    started = time.monotonic()

    third = slots.acquire(SLOT_WAIT_SECONDS)

    assert third is not None
    assert time.monotonic() - started < SLOW_SECONDS


def test_a_call_is_refused_at_once_when_every_slot_is_slow():
    now = [100.0]
    slots = ProviderSlots(2, clock=lambda: now[0])
    slots.acquire(0), slots.acquire(0)
    now[0] += SLOW_SECONDS + 0.1  # both calls have been at the provider that long
    started = time.monotonic()

    assert slots.acquire(SLOT_WAIT_SECONDS) is None
    assert time.monotonic() - started < 0.1


def test_a_page_call_to_a_provider_trickling_its_headers_ends_at_the_deadline(
    settings, sandbox_account
):
    """The web clients' transport is the one whose sockets the deadline bounds: headers sent
    one byte at a time (each read well within its timeout) cannot hold the page."""
    settings.PROVIDER_WEB_DEADLINE_SECONDS = DEADLINE
    headers = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 5000 + b"\r\n\r\n463.02"
    with trickling_server(headers) as url:
        provider = sandbox_account.provider
        provider.handler_url = url
        provider.save()
        started = time.monotonic()
        with provider_client(sandbox_account) as client, pytest.raises(protocol.ProviderUnanswered):
            client.get_balance()
    assert time.monotonic() - started < DEADLINE + SLACK

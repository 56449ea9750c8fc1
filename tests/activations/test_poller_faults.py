"""The poller under faults: nothing is lost, the activation stays open and is polled again."""

import os
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from activations import states
from activations.models import Activation
from activations.poller import loop
from activations.poller.claims import Claims
from activations.poller.flush import Flusher
from catalog.models import ProviderAccount
from dashboard.models import AuditEvent
from tests.activations.poller_support import one_pass, poller

State = Activation.State


def make_due(*activations) -> None:
    Activation.objects.filter(pk__in=[a.pk for a in activations]).update(
        next_poll_at=timezone.now()
    )


@pytest.mark.parametrize(
    ("fault", "message", "outcome"),
    [
        ("timeout", "Provider not answering, retrying", "unavailable"),
        ("http_500", "Provider not answering, retrying", "unavailable"),
        ("garbage", "Provider sent an answer we cannot read, retrying", "protocol_error"),
        ("error_sql", "Provider answered ERROR_SQL, retrying", "ERROR_SQL"),
    ],
)
def test_a_fault_leaves_the_activation_open_and_it_is_polled_again(
    buy, sandbox_server, poll_account, fault, message, outcome
):
    activation = buy()
    sandbox = sandbox_server.sandbox
    sandbox.deliver_code(activation.provider_activation_id, "606060")
    sandbox.set_fault(fault, seconds=2 if fault == "timeout" else None)

    _, summary = one_pass(interval=10)
    activation.refresh_from_db()
    assert activation.state == State.WAITING
    assert activation.codes == []
    assert activation.poll_failures == 1
    assert activation.last_poll_error == message
    assert activation.next_poll_at > timezone.now()
    assert activation.claimed_by == ""
    assert summary.errors == 1
    error = AuditEvent.objects.get(kind=AuditEvent.Kind.CALL, action="getStatus")
    assert error.outcome == outcome
    poll_account.refresh_from_db()
    assert poll_account.poll_errors == 1

    sandbox.clear_faults()
    make_due(activation)
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.CODE_RECEIVED
    assert activation.codes == ["606060"]
    assert activation.poll_failures == 0
    assert activation.last_poll_error == ""


def test_failures_back_off_further_each_time(buy, sandbox_server):
    activation = buy()
    sandbox_server.sandbox.set_fault("http_500")
    waits = []
    for _ in range(4):
        make_due(activation)
        started = timezone.now()
        one_pass(interval=1)
        activation.refresh_from_db()
        waits.append((activation.next_poll_at - started).total_seconds())
    assert activation.poll_failures == 4
    # 2 x interval, jittered down to half, counted from the failure in the pass (which may
    # come half a second after the pass began on a loaded machine).
    assert 1 <= waits[0] <= 2.5
    assert 8 <= waits[3] <= 16.5
    assert waits[3] > waits[0]


def test_a_5xx_storm_loses_nothing(buy, sandbox_server, poll_account):
    activations = [buy() for _ in range(10)]
    sandbox = sandbox_server.sandbox
    for activation in activations[:5]:
        sandbox.deliver_code(activation.provider_activation_id)
    sandbox.set_fault("http_500")
    for _ in range(3):
        make_due(*activations)
        one_pass()
    assert Activation.objects.filter(state=State.WAITING).count() == 10
    sandbox.clear_faults()
    make_due(*activations)
    one_pass()
    assert Activation.objects.filter(state=State.CODE_RECEIVED).count() == 5
    for activation in activations[:5]:
        activation.refresh_from_db()
        assert activation.codes == sandbox.activation(activation.provider_activation_id).codes
    poll_account.refresh_from_db()
    assert poll_account.poll_errors == 30
    assert poll_account.poll_changes == 5


def test_a_code_delivered_while_the_provider_is_flaky_is_stored(buy, sandbox_server):
    activation = buy()
    sandbox = sandbox_server.sandbox
    sandbox.set_fault("http_500", probability=0.4)
    sandbox.set_fault("garbage", probability=0.2)
    sandbox.set_code_delay(activation.provider_activation_id, 0.3)
    worker = poller(interval=0.05)
    stopper = threading.Thread(target=_stop_when_stored, args=(worker, activation.pk))
    stopper.start()
    worker.run(3.0)
    stopper.join()
    activation.refresh_from_db()
    assert activation.codes == sandbox.activation(activation.provider_activation_id).codes
    assert activation.state == State.CODE_RECEIVED


def _stop_when_stored(worker, pk) -> None:
    """Reads through its own connection: only committed rows (the code is committed at once).
    SQLite's shared in-memory test database answers "table is locked" while the poller
    writes; that read is simply tried again."""
    from django.db import connection

    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                stored = Activation.objects.filter(pk=pk, state=State.CODE_RECEIVED).exists()
            except OperationalError:
                stored = False
            if stored:
                worker.stop()
                return
            time.sleep(0.05)
    finally:
        connection.close()


def test_http_429_backs_off_the_provider(buy, sandbox_server, poll_account):
    activations = [buy() for _ in range(6)]
    sandbox_server.sandbox.rate_limit = 2  # our budget thinks 1000/s: the provider disagrees
    _, summary = one_pass(interval=10)
    assert summary.errors >= 3
    limited = Activation.objects.filter(last_poll_error="Provider is limiting requests, retrying")
    assert limited.count() == summary.errors
    assert all(a.next_poll_at > timezone.now() for a in limited)
    assert Activation.objects.filter(state=State.WAITING).count() == len(activations)


def test_a_worker_killed_mid_poll_loses_its_claim_and_another_takes_over(buy, sandbox_server):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "808080")
    dead = poller(claim_seconds=60)
    assert [a.pk for a in dead.claims.claim(activation.provider_id, 10)] == [activation.pk]
    # ... and the worker dies here, holding the claim.

    _, summary = one_pass()
    assert summary.polls == 0  # still claimed
    activation.refresh_from_db()
    claimed_until = activation.claimed_until
    Activation.objects.filter(pk=activation.pk).update(  # the minute passes
        claimed_until=claimed_until - timedelta(seconds=61)
    )
    _, summary = one_pass()
    assert summary.codes == 1
    activation.refresh_from_db()
    assert activation.codes == ["808080"]
    assert activation.claimed_by == ""


def test_the_loop_survives_the_database_being_briefly_unavailable(buy, sandbox_server, monkeypatch):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "171717")
    original = Flusher.flush
    failures = {"left": 2}

    def flaky_flush(self, results, now):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return original(self, results, now)

    monkeypatch.setattr(Flusher, "flush", flaky_flush)
    monkeypatch.setattr(loop, "_reset_connection", lambda: None)
    _, summary = one_pass()
    assert summary.db_errors == 2
    activation.refresh_from_db()
    assert activation.codes == ["171717"]
    assert activation.state == State.CODE_RECEIVED
    assert ProviderAccount.objects.get(pk=activation.account_id).poll_changes == 1


def test_the_loop_survives_claims_failing(buy, sandbox_server, monkeypatch):
    buy()
    original = Claims.claim
    failures = {"left": 1}

    def flaky_claim(self, *args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Claims, "claim", flaky_claim)
    monkeypatch.setattr(loop, "_reset_connection", lambda: None)
    _, summary = one_pass()
    assert summary.db_errors == 1
    assert summary.polls == 1


def test_a_bug_storing_one_result_does_not_block_the_others(buy, sandbox_server, monkeypatch):
    broken, fine = buy(), buy()
    for activation in (broken, fine):
        sandbox_server.sandbox.deliver_code(activation.provider_activation_id)
    original = states.record_code

    def record_code(activation, code):
        if activation.pk == broken.pk:
            raise RuntimeError("bug")
        return original(activation, code)

    monkeypatch.setattr(states, "record_code", record_code)
    _, summary = one_pass()
    fine.refresh_from_db()
    broken.refresh_from_db()
    assert fine.state == State.CODE_RECEIVED
    assert broken.state == State.WAITING
    assert broken.poll_failures == 1
    assert summary.errors == 1


def test_an_unreadable_key_is_shown_and_retried(buy, poll_account):
    activation = buy()
    ProviderAccount.objects.filter(pk=poll_account.pk).update(key_ciphertext="not-fernet")
    _, summary = one_pass()
    activation.refresh_from_db()
    assert summary.errors == 1
    assert activation.last_poll_error == "The team's stored key cannot be read; attach it again"
    assert activation.state == State.WAITING


def test_it_stops_cleanly_on_sigterm(buy):
    activations = [buy() for _ in range(3)]
    worker = poller(interval=0.05)
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    started = time.monotonic()
    timer.start()
    summary = worker.run(20)
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGTERM) == previous
    assert summary.polls >= 3
    assert not Activation.objects.exclude(claimed_by="").exists()
    for activation in activations:
        activation.refresh_from_db()
        assert activation.state == State.WAITING


def test_an_expired_activation_whose_provider_is_down_is_not_hammered(buy, sandbox_server):
    activation = buy(age=timedelta(minutes=25))
    sandbox_server.sandbox.set_fault("http_500")
    worker = poller(interval=0.05)
    worker.run(1.0)
    # Backoff doubles from 0.1 s: about 4 tries in a second, not one per tick.
    assert sandbox_server.sandbox.request_counts["getStatus"] <= 6
    activation.refresh_from_db()
    assert activation.state == State.WAITING

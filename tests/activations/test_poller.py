"""The poller: codes stored at once, states forward only, counting, scheduling, expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from activations.models import Activation, WorkerHeartbeat
from activations.poller.schedule import age_multiplier, backoff_seconds
from catalog.models import ProviderAccount
from dashboard.models import AuditEvent
from provider.client import ProviderClient
from tests.activations.poller_support import one_pass, poller

State = Activation.State


def calls(action=None, **filters):
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.CALL, **filters)
    return events.filter(action=action) if action else events


def test_it_stores_a_code_seen_at_the_provider(buy, sandbox_server):
    activation = buy()
    code = sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "012345")
    _, summary = one_pass()
    activation.refresh_from_db()
    assert activation.state == State.CODE_RECEIVED
    assert activation.codes == [code] == ["012345"]
    assert activation.first_code_at is not None
    assert summary.codes == 1
    event = calls("getStatus").get()
    assert event.outcome == "code_received"
    assert event.answer == "STATUS_OK:012345"
    assert event.object_id == str(activation.pk)


def test_polls_that_change_nothing_are_counted_not_logged(buy, poll_account):
    first, second = buy(), buy()
    _, summary = one_pass(interval=10)
    assert summary.polls == 2
    assert summary.unchanged == 2
    assert not calls().exists()
    poll_account.refresh_from_db()
    assert (poll_account.polls, poll_account.poll_changes, poll_account.poll_errors) == (2, 0, 0)
    assert poll_account.last_polled_at is not None
    for activation in (first, second):
        activation.refresh_from_db()
        assert activation.state == State.WAITING
        assert activation.last_polled_at is not None
        assert activation.next_poll_at > timezone.now()
        assert activation.claimed_by == ""
        assert activation.claimed_until is None


def test_a_pass_polls_each_due_activation_once(buy, sandbox_server):
    for _ in range(5):
        buy()
    one_pass()
    assert sandbox_server.sandbox.request_counts["getStatus"] == 5


def test_it_polls_nothing_that_is_not_due(buy, sandbox_server):
    buy(next_poll_at=timezone.now() + timedelta(minutes=1))
    _, summary = one_pass()
    assert summary.polls == 0
    assert sandbox_server.sandbox.request_counts["getStatus"] == 0


def test_closed_activations_are_never_polled(buy, sandbox_server):
    buy(state=State.COMPLETED, codes=["1"])
    buy(state=State.CANCELLED)
    buy(state=State.EXPIRED)
    one_pass()
    assert sandbox_server.sandbox.request_counts["getStatus"] == 0


def test_young_activations_are_polled_more_often_than_old_ones():
    now = timezone.now()
    assert age_multiplier(State.WAITING, now - timedelta(seconds=30), now) == 1
    assert age_multiplier(State.WAITING, now - timedelta(seconds=110), now) == 1
    assert age_multiplier(State.WAITING, now - timedelta(minutes=2), now) == 2
    assert age_multiplier(State.WAITING, now - timedelta(minutes=3), now) == 3
    assert age_multiplier(State.WAITING, now - timedelta(minutes=5), now) == 5
    assert age_multiplier(State.WAITING, now - timedelta(minutes=15), now) == 5
    assert age_multiplier(State.WAITING_RETRY, now - timedelta(minutes=15), now) == 1
    assert age_multiplier(State.CODE_RECEIVED, now - timedelta(seconds=30), now) == 10


def test_the_next_poll_follows_the_age(buy):
    young = buy()
    old = buy(age=timedelta(minutes=15), lifetime=timedelta(minutes=30))
    started = timezone.now()
    one_pass(interval=10)
    young.refresh_from_db()
    old.refresh_from_db()
    assert 8 <= (young.next_poll_at - started).total_seconds() <= 12
    assert 44 <= (old.next_poll_at - started).total_seconds() <= 56


def test_the_next_poll_is_never_after_the_expiry(buy):
    activation = buy(age=timedelta(minutes=19, seconds=58))
    one_pass(interval=10)
    activation.refresh_from_db()
    # At the expiry (rounded up to a tenth of a second): the next poll expires it.
    assert 0 <= (activation.next_poll_at - activation.expires_at).total_seconds() < 0.1


def test_errors_back_off_exponentially_with_jitter():
    assert 3 <= backoff_seconds(1, 3) <= 6
    assert 6 <= backoff_seconds(2, 3) <= 12
    assert 60 <= backoff_seconds(20, 3) <= 120
    assert len({backoff_seconds(3, 3) for _ in range(20)}) > 1


def test_a_retry_requested_since_the_last_poll_does_not_wait_for_the_slow_schedule(
    buy, sandbox_server
):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "111111")
    one_pass(interval=10)
    activation.refresh_from_db()
    assert activation.next_poll_at > timezone.now()  # code received: polled rarely
    with sandbox_server.client() as client:
        client.set_status(activation.provider_activation_id, 3)
    # The user asked for another SMS a second ago, after the last poll.
    now = timezone.now()
    Activation.objects.filter(pk=activation.pk).update(
        state=State.WAITING_RETRY,
        last_polled_at=now - timedelta(seconds=5),
        updated_at=now - timedelta(seconds=1),
    )
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "222222")
    one_pass()
    activation.refresh_from_db()
    assert activation.codes == ["111111", "222222"]
    assert activation.state == State.CODE_RECEIVED


def test_the_provider_cancelling_closes_it_as_cancelled_and_it_costs_nothing(
    buy, sandbox_server, poll_account
):
    activation = buy()
    with sandbox_server.client() as client:
        client.set_status(activation.provider_activation_id, 8)  # cancelled elsewhere
    _, summary = one_pass()
    activation.refresh_from_db()
    assert activation.state == State.CANCELLED
    assert activation.closed_at is not None
    assert summary.cancelled == 1
    poll_account.refresh_from_db()
    assert poll_account.balance == Decimal("1000") + activation.price
    assert calls("getStatus").get().outcome == "cancelled_by_provider"


def test_a_code_is_never_overwritten(buy, sandbox_server):
    activation = buy(state=State.CODE_RECEIVED, codes=["999999"], first_code_at=timezone.now())
    # The provider has lost track and says it is still waiting: nothing moves back.
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.CODE_RECEIVED
    assert activation.codes == ["999999"]


def test_a_second_different_code_is_added_not_replacing_the_first(buy, sandbox_server):
    activation = buy(state=State.CODE_RECEIVED, codes=["999999"], first_code_at=timezone.now())
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "123123")
    one_pass()
    activation.refresh_from_db()
    assert activation.codes == ["999999", "123123"]
    assert activation.state == State.CODE_RECEIVED


def test_the_same_code_seen_again_is_not_stored_twice(buy, sandbox_server):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "555555")
    one_pass()
    Activation.objects.filter(pk=activation.pk).update(next_poll_at=timezone.now())
    _, summary = one_pass()
    activation.refresh_from_db()
    assert activation.codes == ["555555"]
    assert summary.unchanged == 1
    assert calls("getStatus").count() == 1


def test_a_code_for_an_activation_closed_meanwhile_is_kept_and_it_stays_closed(
    buy, sandbox_server, monkeypatch
):
    """The user cancels while a poll is in flight that brings a code: closed stays closed, and
    the code is still stored."""
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "777777")
    from activations.poller.flush import Flusher

    original = Flusher.flush

    def close_first(self, results, now):
        Activation.objects.filter(pk=activation.pk).update(state=State.COMPLETED)
        return original(self, results, now)

    monkeypatch.setattr(Flusher, "flush", close_first)
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.COMPLETED
    assert activation.codes == ["777777"]


# --- Expiry --------------------------------------------------------------------------------


def test_an_activation_without_a_code_is_cancelled_at_its_expiry(buy, sandbox_server, poll_account):
    activation = buy(age=timedelta(minutes=21))
    balance_before = sandbox_server.sandbox.balance(sandbox_server.api_key)
    _, summary = one_pass()
    activation.refresh_from_db()
    assert activation.state == State.EXPIRED
    assert summary.expired == 1
    remote = sandbox_server.sandbox.activation(activation.provider_activation_id)
    assert remote.state == "cancelled"
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == (
        balance_before + activation.price
    )
    assert calls("setStatus").get().params == {
        "id": activation.provider_activation_id,
        "status": "8",
        "lang": "en",
    }
    action = AuditEvent.objects.get(kind=AuditEvent.Kind.ACTION)
    assert (action.action, action.object_id, action.user) == ("expired", str(activation.pk), None)


def test_an_activation_with_a_code_is_completed_at_its_expiry(buy, sandbox_server):
    activation = buy(age=timedelta(minutes=21))
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "424242")
    Activation.objects.filter(pk=activation.pk).update(state=State.CODE_RECEIVED, codes=["424242"])
    _, summary = one_pass()
    activation.refresh_from_db()
    assert activation.state == State.COMPLETED
    assert summary.completed == 1
    assert sandbox_server.sandbox.activation(activation.provider_activation_id).state == (
        "completed"
    )
    assert AuditEvent.objects.get(kind=AuditEvent.Kind.ACTION).action == "completed_at_expiry"


def test_a_code_arriving_at_the_last_moment_is_kept_and_completed(buy, sandbox_server):
    activation = buy(age=timedelta(minutes=21))
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "000123")
    one_pass()
    activation.refresh_from_db()
    assert activation.codes == ["000123"]
    assert activation.state == State.COMPLETED


def test_an_expiry_the_provider_fails_stays_open_and_is_tried_again(buy, sandbox_server):
    activation = buy(age=timedelta(minutes=21))
    sandbox_server.sandbox.set_fault("http_500")
    one_pass(interval=10)
    activation.refresh_from_db()
    assert activation.state == State.WAITING
    assert activation.poll_failures == 1
    assert activation.last_poll_error == "Provider not answering, retrying"
    assert activation.next_poll_at > timezone.now()  # backed off, not hammered

    sandbox_server.sandbox.clear_faults()
    Activation.objects.filter(pk=activation.pk).update(next_poll_at=timezone.now())
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.EXPIRED
    assert activation.last_poll_error == ""
    assert activation.poll_failures == 0


def test_an_expiry_refused_because_a_code_just_arrived_completes_next_time(
    buy, sandbox_server, monkeypatch
):
    activation = buy(age=timedelta(minutes=21))
    sandbox = sandbox_server.sandbox
    original = sandbox._set_status

    def code_arrives_first(params):
        if activation.codes == [] and sandbox.activation(params["id"]).state == "wait_code":
            sandbox.deliver_code(params["id"], "314159")
        return original(params)

    monkeypatch.setattr(sandbox, "_set_status", code_arrives_first)
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.WAITING  # BAD_STATUS: still open
    Activation.objects.filter(pk=activation.pk).update(next_poll_at=timezone.now())
    one_pass()
    activation.refresh_from_db()
    assert activation.codes == ["314159"]
    assert activation.state == State.COMPLETED


def test_an_activation_the_provider_forgot_is_closed_at_expiry(buy, sandbox_server):
    activation = buy(age=timedelta(minutes=21), provider_activation_id="123")
    one_pass()
    activation.refresh_from_db()
    assert activation.state == State.EXPIRED


# --- Operability ---------------------------------------------------------------------------


def test_each_pass_updates_the_heartbeat(buy):
    buy()
    worker, _ = one_pass()
    beat = WorkerHeartbeat.objects.get(name="poller")
    assert (timezone.now() - beat.last_seen_at).total_seconds() < 5
    assert beat.details["worker"] == worker.worker_id
    assert beat.details["polls"] == 1


def test_poll_once_prints_what_it_did(buy, sandbox_server, capsys, settings):
    settings.POLL_INTERVAL = 0.05
    activation = buy()
    buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "246810")
    call_command("poll_once")
    out = capsys.readouterr().out
    assert "Open activations: 2" in out
    assert "polled 2 (1 unchanged), new codes 1" in out
    assert f"activation {activation.pk} ({activation.phone}): new code" in out


def test_poll_once_all_polls_activations_not_yet_due(buy, sandbox_server, capsys):
    buy(next_poll_at=timezone.now() + timedelta(minutes=5))
    call_command("poll_once", "--all")
    assert sandbox_server.sandbox.request_counts["getStatus"] == 1


def test_the_account_counters_add_up_over_passes(buy, sandbox_server):
    activation = buy()
    one_pass()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id)
    Activation.objects.filter(pk=activation.pk).update(next_poll_at=timezone.now())
    one_pass()
    account = ProviderAccount.objects.get(pk=activation.account_id)
    assert (account.polls, account.poll_changes, account.poll_errors) == (2, 1, 0)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_works_with_the_provider_document_answers_only(buy, sandbox_server, method):
    # Sanity: the sandbox speaks the document's protocol, whichever way one asks.
    activation = buy()
    with ProviderClient(sandbox_server.url, sandbox_server.api_key, method=method) as client:
        assert client.get_status(activation.provider_activation_id).code is None


def test_a_brand_new_activation_is_first_polled_one_interval_after_its_purchase(
    buy, sandbox_server
):
    buy(age=timedelta(seconds=1))
    _, summary = one_pass(interval=10)
    assert summary.polls == 0  # no code is there a second after buying
    _, summary = one_pass(interval=0.5)
    assert summary.polls == 1


def test_a_retry_is_first_polled_one_interval_after_it_was_requested(buy, sandbox_server):
    now = timezone.now()
    buy(
        state=State.WAITING_RETRY,
        codes=["1"],
        last_polled_at=now - timedelta(seconds=5),
        updated_at=now - timedelta(seconds=1),
        next_poll_at=now + timedelta(minutes=1),
    )
    _, summary = one_pass(interval=10)
    assert summary.polls == 0
    _, summary = one_pass(interval=0.5)
    assert summary.polls == 1


def test_when_the_budget_binds_spare_requests_go_to_the_next_due(buy, poll_provider):
    poll_provider.max_requests_per_second = 5
    poll_provider.save()
    now = timezone.now()
    for _ in range(40):  # 40 young ones every 3 s would want 13 requests a second
        buy(last_polled_at=now - timedelta(seconds=10), next_poll_at=now + timedelta(minutes=1))
    summary = poller(interval=3).run(1.0)
    assert summary.polls >= 2  # none was due, yet the budget was used


def test_without_a_binding_budget_nothing_is_polled_early(buy):
    now = timezone.now()
    for _ in range(5):
        buy(last_polled_at=now - timedelta(seconds=1), next_poll_at=now + timedelta(minutes=1))
    summary = poller(interval=3).run(0.5)
    assert summary.polls == 0


def test_spare_budget_never_asks_about_one_activation_twice_within_an_interval(buy, poll_provider):
    poll_provider.max_requests_per_second = 5
    poll_provider.save()
    now = timezone.now()
    for _ in range(40):
        buy(last_polled_at=now - timedelta(seconds=1), next_poll_at=now + timedelta(minutes=1))
    summary = poller(interval=3).run(1.0)
    assert summary.polls == 0  # all were asked about a second ago


def test_spare_budget_leaves_a_brand_new_activation_alone_for_an_interval(buy, poll_provider):
    poll_provider.max_requests_per_second = 5
    poll_provider.save()
    now = timezone.now()
    for _ in range(40):
        buy(last_polled_at=now - timedelta(seconds=10), next_poll_at=now + timedelta(minutes=1))
    brand_new = buy(age=timedelta(seconds=0.5))
    summary = poller(interval=3).run(1.0)
    assert summary.polls >= 2
    brand_new.refresh_from_db()
    assert brand_new.last_polled_at is None


def test_each_poll_is_stamped_with_when_its_request_reached_the_provider(
    buy, poll_provider, sandbox_server, monkeypatch
):
    """Requests of one batch wait their turn for the budget: a row stamped with when its poll
    began (or with the batch's first request) would look rested early and be polled again
    too soon (seen as 0.1 s gaps with two clusters sharing a tight budget)."""
    poll_provider.max_requests_per_second = 2
    poll_provider.save()
    activations = [buy() for _ in range(6)]
    arrived = {}
    handle = sandbox_server.sandbox.handle

    def stamp_arrival(params):
        if params.get("action") == "getStatus":
            arrived[params["id"]] = timezone.now()
        return handle(params)

    monkeypatch.setattr(sandbox_server.sandbox, "handle", stamp_arrival)
    one_pass(interval=3)
    assert len(arrived) == 6
    assert max(arrived.values()) - min(arrived.values()) > timedelta(seconds=1.5)
    for activation in activations:
        activation.refresh_from_db()
        arrival = arrived[activation.provider_activation_id]
        # Kept to a tenth of a second, rounded down, plus loopback transit (milliseconds, more
        # on a busy machine); the old stamp was a second or more off.
        assert timedelta(0) <= arrival - activation.last_polled_at < timedelta(seconds=0.5)

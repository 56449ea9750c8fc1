"""Several pollers at once never act on one activation twice; the provider's rate is kept."""

import itertools
import time

import pytest
from django.db import connection

from activations.models import Activation
from tests.activations.poller_support import poller
from tests.fixtures.activations import run_in_threads

State = Activation.State


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_share_an_activation(buy, poll_provider):
    activations = [buy() for _ in range(40)]
    workers = [poller(worker_id=f"worker-{n}") for n in range(4)]
    claimed = run_in_threads(
        lambda worker: [a.pk for a in worker.claims.claim(poll_provider.pk, 40)],
        [(worker,) for worker in workers],
    )
    for result in claimed:
        assert not isinstance(result, Exception), result
    flat = [pk for result in claimed for pk in result]
    assert len(flat) == len(set(flat))  # nobody got a row another got
    assert sorted(flat) == sorted(a.pk for a in activations)
    for worker, pks in zip(workers, claimed, strict=True):
        assert set(
            Activation.objects.filter(claimed_by=worker.worker_id).values_list("pk", flat=True)
        ) == set(pks)


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_poll_each_activation_once(buy, sandbox_server):
    activations = [buy() for _ in range(30)]
    for activation in activations[::3]:
        sandbox_server.sandbox.deliver_code(activation.provider_activation_id)
    # (A long interval: a poll done is not due again within the test.)
    workers = [poller(worker_id="pass-a", interval=10), poller(worker_id="pass-b", interval=10)]
    summaries = run_in_threads(lambda worker: worker.run_once(), [(w,) for w in workers])
    for summary in summaries:
        assert not isinstance(summary, Exception), summary
    # Every activation was asked about exactly once, by one of the two.
    assert sandbox_server.sandbox.request_counts["getStatus"] == 30
    assert sum(s.polls for s in summaries) == 30
    assert sum(s.codes for s in summaries) == 10
    assert Activation.objects.filter(state=State.CODE_RECEIVED).count() == 10
    assert not Activation.objects.exclude(claimed_by="").exists()


@pytest.mark.django_db(transaction=True)
def test_two_loops_at_once_store_each_code_once(buy, sandbox_server):
    activations = [buy() for _ in range(20)]
    for activation in activations:
        sandbox_server.sandbox.set_code_delay(activation.provider_activation_id, 0.3)
    workers = [poller(worker_id="loop-a", interval=0.1), poller(worker_id="loop-b", interval=0.1)]
    summaries = run_in_threads(lambda worker: worker.run(1.5), [(w,) for w in workers])
    for summary in summaries:
        assert not isinstance(summary, Exception), summary
    assert sum(s.codes for s in summaries) == 20  # each code stored once, by one of them
    for activation in activations:
        activation.refresh_from_db()
        assert len(activation.codes) == 1


@pytest.mark.django_db(transaction=True)
def test_the_providers_rate_is_kept(buy, sandbox_server, poll_provider):
    poll_provider.max_requests_per_second = 10
    poll_provider.save()
    for _ in range(40):
        buy()
    sandbox_server.sandbox.rate_limit = 10  # the provider enforces it too (HTTP 429)
    started = time.monotonic()
    summary = poller(interval=0.05).run(2.0)
    elapsed = time.monotonic() - started
    requests = sandbox_server.sandbox.request_counts["getStatus"]
    # The budget's burst (half a second's worth) plus 10 a second, never more.
    assert requests <= 5 + 10 * elapsed + 1
    assert requests >= 10
    assert summary.errors == 0  # the provider never had to say 429
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_loops_on_a_tight_budget_never_ask_about_one_activation_twice_in_an_interval(
    buy, sandbox_server, poll_provider, monkeypatch
):
    """The budget binds (12 activations wanting a poll a second, 4 requests a second), so
    both loops hand out spare budget early and polls wait for their tokens: the provider
    still never hears about one activation twice within an interval."""
    poll_provider.max_requests_per_second = 4
    poll_provider.save()
    activations = [buy() for _ in range(12)]
    arrivals = {a.provider_activation_id: [] for a in activations}
    handle = sandbox_server.sandbox.handle

    def log_arrival(params):
        if params.get("action") == "getStatus":
            arrivals[params["id"]].append(time.monotonic())
        return handle(params)

    monkeypatch.setattr(sandbox_server.sandbox, "handle", log_arrival)
    interval = 1.0
    workers = [poller(worker_id=name, interval=interval) for name in ("loop-a", "loop-b")]
    summaries = run_in_threads(lambda worker: worker.run(5.0), [(w,) for w in workers])
    for summary in summaries:
        assert not isinstance(summary, Exception), summary
    assert all(summary.polls for summary in summaries)  # both loops polled
    gaps = [
        later - earlier
        for times in arrivals.values()
        for earlier, later in itertools.pairwise(times)
    ]
    assert len(gaps) >= 6
    assert min(gaps) >= 0.9 * interval - 0.05, sorted(gaps)[:5]
    connection.close()

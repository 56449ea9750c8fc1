"""The polling schedule exists once: the next poll the poller writes (Python), the demand it
counts against a provider's budget and the due time the database computes when the budget
binds (SQL) all follow `activations.poller.schedule.SCHEDULE`, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from activations.models import Activation
from activations.poller.load import POLL_SHARE, measure_load
from activations.poller.schedule import (
    SCHEDULE,
    age_multiplier,
    demand,
    demand_counts,
    due_at,
)

State = Activation.State
INTERVAL = 10.0
FACTOR = 2.0
# Ages (seconds) on both sides of every step, and one bought a moment from now.
WAITING_AGES = [-5, 0, 30, 119.9, 120, 149.999, 150, 179, 180, 209, 210, 239, 240, 269]
WAITING_AGES += [270, 299.5, 300, 900]
SAMPLES = [(State.WAITING, age) for age in WAITING_AGES] + [
    (State.WAITING_RETRY, 10),
    (State.WAITING_RETRY, 600),
    (State.CODE_RECEIVED, 30),
    (State.CODE_RECEIVED, 600),
]


@pytest.fixture
def samples(make_activation):
    """{pk: (state, created_at)} for each sample, polled a second ago, its next poll a minute
    ahead (so only the schedule decides when it is due: no first poll, no retry request)."""
    now = timezone.now()
    made = {}
    for state, age in SAMPLES:
        created = now - timedelta(seconds=age)
        activation = make_activation(state=state, expires_at=now + timedelta(minutes=30))
        Activation.objects.filter(pk=activation.pk).update(
            created_at=created,
            updated_at=min(created, now - timedelta(seconds=2)),
            last_polled_at=now - timedelta(seconds=1),
            next_poll_at=now + timedelta(minutes=1),
        )
        made[activation.pk] = (state, created)
    return now, made


def test_the_database_stretches_each_wait_by_the_python_schedule(samples):
    now, made = samples
    rows = (
        Activation.objects.filter(pk__in=made)
        .annotate(due=due_at(now, INTERVAL, FACTOR))
        .values_list("pk", "due", "next_poll_at")
    )
    seen = set()
    for pk, due, next_poll in rows:
        state, created = made[pk]
        multiplier = age_multiplier(state, created, now)
        stretched = (due - next_poll).total_seconds()
        assert stretched == pytest.approx((FACTOR - 1) * INTERVAL * multiplier), (state, created)
        seen.add(multiplier)
    assert seen == {step.multiplier for step in SCHEDULE}  # every step was tried


def test_without_a_binding_budget_the_database_keeps_the_written_schedule(samples):
    now, made = samples
    rows = Activation.objects.filter(pk__in=made).annotate(due=due_at(now, INTERVAL))
    assert all(row.due == row.next_poll_at for row in rows)


def test_the_demand_weighs_each_activation_by_the_python_schedule(samples):
    now, made = samples
    counted = Activation.objects.filter(pk__in=made).aggregate(**demand_counts(now))
    expected = sum(1 / age_multiplier(state, created, now) for state, created in made.values())
    assert demand(counted) == pytest.approx(expected)


def test_the_load_stretches_waits_by_the_python_schedule(samples, act_provider):
    now, made = samples
    act_provider.max_requests_per_second = 0.1
    act_provider.save()
    bought = [(state, created) for state, created in made.values() if created <= now]
    wanted = sum(1 / age_multiplier(state, created, now) for state, created in bought) / INTERVAL
    (load,) = measure_load(now, INTERVAL, {act_provider.pk})
    assert load.factor == pytest.approx(wanted / (0.1 * POLL_SHARE))
    assert load.factor > 1

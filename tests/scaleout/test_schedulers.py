"""Scale-out: the schedulers of several qcluster processes ticking at once fire every due
schedule once (django-q2 locks the due rows with SELECT ... FOR UPDATE; PostgreSQL re-checks
`next_run` once the first scheduler commits, so the others find nothing due).

`make scale-out` proves the same end to end with two real clusters; this is the quick proof
that runs with every `make test` on PostgreSQL.
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler

from dashboard.schedules import declared_schedules, ensure_schedules
from tests.fixtures.activations import run_in_threads

CLUSTERS = 4


class RecordingBroker:
    """Stands in for the Redis broker: remembers the tasks a scheduler enqueued."""

    list_key = "scale-out-test"

    def __init__(self) -> None:
        self.enqueued: list[str] = []
        self._lock = threading.Lock()

    def enqueue(self, pack: str) -> str:
        with self._lock:
            self.enqueued.append(pack)
            return str(len(self.enqueued))


def fired_names(broker: RecordingBroker) -> Counter:
    from django_q.signing import SignedPackage

    return Counter(SignedPackage.loads(pack)["group"] for pack in broker.enqueued)


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("several clusters need PostgreSQL (SQLite: one machine, one cluster)")


def make_all_due() -> None:
    Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_each_due_schedule_fires_once_when_clusters_tick_at_once(postgresql):
    ensure_schedules()
    names = {spec["name"] for spec in declared_schedules()}
    assert names  # the apps declare their periodic jobs
    make_all_due()
    broker = RecordingBroker()

    results = run_in_threads(scheduler, [(broker,)] * CLUSTERS)

    assert not [r for r in results if isinstance(r, Exception)]
    assert fired_names(broker) == Counter(dict.fromkeys(names, 1))
    now = timezone.now()
    assert not Schedule.objects.filter(name__in=names, next_run__lte=now).exists()


@pytest.mark.django_db(transaction=True)
def test_every_period_fires_once_over_several_ticks(postgresql):
    ensure_schedules()
    names = {spec["name"] for spec in declared_schedules()}
    broker = RecordingBroker()

    for _period in range(3):
        make_all_due()
        run_in_threads(scheduler, [(broker,)] * CLUSTERS)
        # A tick that comes before the next period fires nothing.
        run_in_threads(scheduler, [(broker,)] * CLUSTERS)

    assert fired_names(broker) == Counter(dict.fromkeys(names, 3))

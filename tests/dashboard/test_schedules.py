"""The periodic jobs every app declares are stored once, and follow the code when it changes."""

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from dashboard import schedules
from dashboard.schedules import declared_schedules, ensure_schedules

JOB = {
    "name": "dashboard: test job",
    "func": "dashboard.schedules.ensure_schedules",
    "schedule_type": Schedule.MINUTES,
    "minutes": 5,
}


@pytest.fixture
def test_job(monkeypatch):
    job = dict(JOB)
    monkeypatch.setattr(schedules, "SCHEDULES", [job])
    return job


def test_it_collects_the_schedules_of_local_apps(test_job):
    names = [spec["name"] for spec in declared_schedules()]
    assert "dashboard: test job" in names
    assert all(not name.startswith("django") for name in names)


def test_running_it_twice_makes_no_duplicates(db, test_job):
    ensure_schedules()
    ensure_schedules()
    for spec in declared_schedules():
        assert Schedule.objects.filter(name=spec["name"]).count() == 1
    job = Schedule.objects.get(name="dashboard: test job")
    assert job.func == "dashboard.schedules.ensure_schedules"
    assert job.minutes == 5
    assert job.repeats == -1


def test_it_updates_a_changed_interval(db, test_job):
    ensure_schedules()
    Schedule.objects.filter(name="dashboard: test job").update(next_run="2099-01-01T00:00:00Z")
    test_job["minutes"] = 1
    ensure_schedules()
    job = Schedule.objects.get(name="dashboard: test job")
    assert job.minutes == 1
    assert job.next_run.year < 2099  # worked out again from now


def test_it_keeps_one_row_when_a_name_was_doubled(db, test_job):
    Schedule.objects.create(name="dashboard: test job", func="x.y", minutes=9)
    Schedule.objects.create(name="dashboard: test job", func="x.y", minutes=9)
    ensure_schedules()
    assert Schedule.objects.filter(name="dashboard: test job").count() == 1


def test_it_refuses_a_name_declared_twice(test_job, monkeypatch):
    monkeypatch.setattr(schedules, "SCHEDULES", [JOB, JOB])
    with pytest.raises(ValueError, match="declared twice: dashboard: test job"):
        declared_schedules()


def test_migrate_stores_them(db, test_job):
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)
    assert Schedule.objects.filter(name="dashboard: test job").count() == 1


def test_every_declared_job_can_be_found():
    for spec in declared_schedules():
        assert callable(import_string(spec["func"])), spec["name"]
        assert spec.get("schedule_type", Schedule.ONCE) in dict(Schedule.TYPE), spec["name"]

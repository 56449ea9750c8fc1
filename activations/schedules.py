"""The activations app's periodic jobs (stored by dashboard.schedules.ensure_schedules)."""

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "activations: poller",
        "func": "activations.tasks.poll_for_a_minute",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
        "repeats": -1,
    },
]

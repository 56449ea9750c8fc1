"""The catalog's periodic jobs, created idempotently by dashboard.schedules.ensure_schedules()."""

from django.conf import settings
from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "catalog: countries and operators",
        "func": "catalog.tasks.sync_all_countries",
        "schedule_type": Schedule.MINUTES,
        "minutes": settings.CATALOG_COUNTRIES_INTERVAL_MINUTES,
        "repeats": -1,
    },
    {
        "name": "catalog: prices and stock",
        "func": "catalog.tasks.sync_all_prices",
        "schedule_type": Schedule.MINUTES,
        "minutes": settings.CATALOG_PRICES_INTERVAL_MINUTES,
        "repeats": -1,
    },
]

"""The catalog's periodic jobs, stored idempotently by dashboard.schedules.ensure_schedules()
(after every migrate): countries daily and prices every 15 minutes, both from settings."""

from typing import Any

from django.conf import settings
from django_q.models import Schedule


def catalog_schedules() -> list[dict[str, Any]]:
    return [
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


def __getattr__(name: str):
    # SCHEDULES is read when asked for, so the intervals follow the settings in force.
    if name == "SCHEDULES":
        return catalog_schedules()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

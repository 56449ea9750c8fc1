"""Periodic jobs: every local app lists its django-q2 schedules; `ensure_schedules` stores them.

An app declares its jobs in ``<app>/schedules.py``::

    SCHEDULES = [
        dict(name="catalog: prices", func="catalog.tasks.sync_all_prices",
             schedule_type=Schedule.MINUTES, minutes=15),
    ]

Each dict holds `Schedule` fields; ``name`` identifies the row. `ensure_schedules` runs after
every ``migrate`` (see DashboardConfig.ready) and creates or updates one row per name, so the
database always matches the code and running it again changes nothing. Rows whose name no
app declares are left alone (an operator may add their own in admin). Missed runs are not
caught up (Q_CLUSTER["catch_up"] is False).
"""

import importlib
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django_q.models import Schedule

# The dashboard's own periodic jobs: none today (the weekly email is the reports app's).
SCHEDULES: list[dict[str, Any]] = []

# Fields whose change means the next run must be worked out again.
TIMING_FIELDS = ("schedule_type", "minutes", "cron")


def is_local_app(app_config) -> bool:
    """An app of this project (not Django's own or an installed package)."""
    path = Path(app_config.path).resolve()
    return path.parent == Path(settings.BASE_DIR).resolve()


def declared_schedules() -> list[dict[str, Any]]:
    """Every local app's SCHEDULES, in app order."""
    declared: list[dict[str, Any]] = []
    for app_config in apps.get_app_configs():
        if not is_local_app(app_config):
            continue
        module_name = f"{app_config.name}.schedules"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                continue
            raise
        declared.extend(getattr(module, "SCHEDULES", []))
    names = [spec["name"] for spec in declared]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Schedules declared twice: {', '.join(duplicates)}")
    return declared


def ensure_schedules(using: str = DEFAULT_DB_ALIAS) -> list[Schedule]:
    """Create or update one Schedule row per declared schedule; return them."""
    stored = []
    with transaction.atomic(using=using):
        for spec in declared_schedules():
            fields = {"repeats": -1, **spec}
            name = fields.pop("name")
            rows = list(Schedule.objects.using(using).filter(name=name).order_by("pk"))
            # Name is not unique in django-q2's table; keep the oldest row if someone doubled it.
            for extra in rows[1:]:
                extra.delete(using=using)
            if not rows:
                stored.append(Schedule.objects.using(using).create(name=name, **fields))
                continue
            row = rows[0]
            changed = [field for field, value in fields.items() if getattr(row, field) != value]
            if changed:
                for field in changed:
                    setattr(row, field, fields[field])
                if any(field in TIMING_FIELDS for field in changed):
                    row.next_run = timezone.now()
                    changed.append("next_run")
                row.save(using=using, update_fields=changed)
            stored.append(row)
    return stored

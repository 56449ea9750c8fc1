"""How the reports' values read: on the page, in CSV files and in the weekly email.

On the page and in the email, in the current language (percentages "12.5 %" / "12,5 %",
dates in a translated date format). In CSV files always machine-readable, whatever the
language: ``plain`` is ``str()``, so a Decimal is "12.50" (a dot, no grouping, no currency
sign) and a date is ISO; nothing here goes through Django's localization for CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import dateformat, formats
from django.utils.translation import gettext, pgettext

from dashboard.display import NOTHING
from dashboard.teams import TENTH


def plain(value: Any) -> str:
    return "" if value is None else str(value)


def text(value: Any) -> str:
    """A name for CSV; one that a spreadsheet would run as a formula is quoted."""
    value = plain(value)
    return "'" + value if value[:1] in {"=", "+", "-", "@", "\t", "\r"} else value


def dash(value: Any) -> str:
    return NOTHING if value is None else str(value)


def count_shown(value: int | None) -> str:
    """A count in the current language (Django's number format)."""
    return NOTHING if value is None else formats.number_format(value)


def percent_shown(value: Decimal | None) -> str:
    """ "12.5 %" in English, "12,5 %" in Russian (a no-break space before the sign)."""
    return NOTHING if value is None else f"{formats.number_format(value)}\u00a0%"


def day_shown(day: date, shape: str) -> str:
    return dateformat.format(day, shape)


def period_label(grain: str) -> Callable[[date], str]:
    """A period's label on the page and the charts, in the current language."""

    def label(day: date) -> str:
        if grain == "month":
            # Translators: Django's date format (docs: the "date" template filter) of a month
            # in the reports: "Mar 2026".
            return day_shown(day, pgettext("report month", "M Y"))
        if grain == "week":
            # Translators: Django's date format of a week's first day in the reports.
            shown = day_shown(day, pgettext("report week", "d M Y"))
            return gettext("Week of %(day)s") % {"day": shown}
        return day_label(day)

    return label


def day_label(day: date) -> str:
    """A day row of the reports: "Mon 02 Mar 2026"."""
    # Translators: Django's date format (docs: the "date" template filter) of a day row in
    # the reports: "Mon 02 Mar 2026".
    return day_shown(day, pgettext("report day", "D d M Y"))


def short_day(day: date) -> str:
    """A day on a chart's axis: "02 Mar"."""
    # Translators: Django's date format of a day on a chart's axis: "02 Mar".
    return day_shown(day, pgettext("report chart day", "d M"))


def format_wait(wait: timedelta | None) -> str:
    """A wait as people read it: 45 s, 2 min 05 s, 1 h 03 min."""
    if wait is None:
        return NOTHING
    seconds = int(wait.total_seconds() + 0.5)
    if seconds < 60:
        # Translators: a wait in seconds ("45 s"); a short unit.
        return gettext("%(seconds)s s") % {"seconds": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        # Translators: a wait ("2 min 05 s"); short units.
        return gettext("%(minutes)s min %(seconds)s s") % {
            "minutes": minutes,
            "seconds": f"{seconds:02d}",
        }
    hours, minutes = divmod(minutes, 60)
    # Translators: a wait ("1 h 03 min"); short units.
    return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": f"{minutes:02d}"}


def wait_seconds(wait: timedelta | None) -> str:
    """A wait in seconds with one decimal, for CSV files."""
    if wait is None:
        return ""
    return str(Decimal(wait.total_seconds()).quantize(TENTH, ROUND_HALF_UP))

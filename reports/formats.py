"""How the reports' values read: on the page, in CSV files and in the weekly email."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

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


def percent_shown(value: Decimal | None) -> str:
    return NOTHING if value is None else f"{value}\u00a0%"


def period_label(grain: str) -> Callable[[date], str]:
    def label(day: date) -> str:
        if grain == "month":
            return day.strftime("%b %Y")
        if grain == "week":
            return f"Week of {day:%d %b %Y}"
        return day.strftime("%a %d %b %Y")

    return label


def format_wait(wait: timedelta | None) -> str:
    """A wait as people read it: 45 s, 2 min 05 s, 1 h 03 min."""
    if wait is None:
        return NOTHING
    seconds = int(wait.total_seconds() + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def wait_seconds(wait: timedelta | None) -> str:
    """A wait in seconds with one decimal, for CSV files."""
    if wait is None:
        return ""
    return str(Decimal(wait.total_seconds()).quantize(TENTH, ROUND_HALF_UP))

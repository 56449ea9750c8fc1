"""What every app needs of a team beyond its rows: its clock, its money and its lock.

One place for each meaning, so that the buy rule, the budgets page, the home page and the
reports cannot disagree on when a team's month starts or how an amount is rounded.

- Time: a team's days and months start at midnight in its own time zone
  (``Team.time_zone``; an unknown name falls back to UTC rather than failing a page).
- Money: amounts are Decimal to the cent, rounded half up (SQLite hands sums back as floats
  without their two decimals; PostgreSQL keeps them).
- Locking: `lock_team` serializes everything that reads and then changes a team's money or
  members, until the end of the current transaction.
"""

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import F
from django.utils import timezone

from dashboard.models import Team

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
UTC = ZoneInfo("UTC")


# --- Time ------------------------------------------------------------------------------------


def zone_named(name: str) -> ZoneInfo | None:
    """The time zone of that name; None for an empty or unknown name."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def team_zone(team: Team) -> ZoneInfo:
    return zone_named(team.time_zone) or UTC


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of a day in a time zone (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def team_day_start(team: Team, day: date) -> datetime:
    return day_start(day, team_zone(team))


def local_date(value: datetime | date, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    return value


def team_today(team: Team, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(team_zone(team)).date()


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_bounds(team: Team, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The calendar month around `now` in the team's time zone, as [start, end) instants."""
    zone = team_zone(team)
    first = team_today(team, now).replace(day=1)
    return day_start(first, zone), day_start(next_month(first), zone)


def month_start(team: Team, now: datetime | None = None) -> datetime:
    """The start of the current calendar month in the team's time zone."""
    return month_bounds(team, now)[0]


# --- Money -----------------------------------------------------------------------------------


def money(value: Decimal | float | int | str | None) -> Decimal:
    """An amount to the cent, rounded half up; nothing is zero."""
    if value is None or value == "":
        return ZERO
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole in percent with one decimal (half up); None when whole is zero."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(TENTH, ROUND_HALF_UP)


# --- Locking ---------------------------------------------------------------------------------


def lock_team(team: Team) -> Team:
    """The team row, locked until the end of the current transaction (which must be open).

    PostgreSQL: a row lock (SELECT ... FOR UPDATE). SQLite has no row locks: the settings open
    every transaction IMMEDIATE (the database's write lock), and a no-op update of the team row
    takes that lock under any transaction mode, which serializes the same way.
    """
    if connection.features.has_select_for_update:
        return Team.objects.select_for_update().get(pk=team.pk)
    Team.objects.filter(pk=team.pk).update(monthly_budget=F("monthly_budget"))
    return Team.objects.get(pk=team.pk)

"""The grouped-query machinery under both reports: what a report covers (``Scope``), its
periods, the grouping of activations by dimensions in one pass, medians and sorting.

What the reports show (their rows, dimensions and totals) lives in ``series``,
``breakdowns``, ``spending`` and ``usage``; nothing here knows about money or codes.

Medians are computed by PostgreSQL (``percentile_cont`` in the grouped query itself). SQLite
has no such aggregate, so there the values come back as one list ordered by group and value,
and each group's median is read off its middle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connections
from django.db.models import Aggregate, Expression, QuerySet
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from activations.forms import filter_by_source
from activations.models import Activation
from dashboard.models import Team
from dashboard.teams import day_start, team_zone

GRAINS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


# Periods ---------------------------------------------------------------------------------


def period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def next_period(start: date, grain: str) -> date:
    if grain == "week":
        return start + timedelta(days=7)
    if grain == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def periods(start: date, end: date, grain: str) -> list[date]:
    """Every period (its first day) that overlaps start..end, both days included."""
    out = []
    current = period_start(start, grain)
    while current <= end:
        out.append(current)
        current = next_period(current, grain)
    return out


def auto_grain(start: date, end: date) -> str:
    days = (end - start).days + 1
    if days <= 62:
        return "day"
    if days <= 190:
        return "week"
    return "month"


# What a report covers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """One team's activations bought between two local days (both included), maybe filtered."""

    team: Team
    start: date
    end: date
    user_id: int | None = None
    service_id: int | None = None
    country_id: int | None = None
    # Where the purchases came from (`activations.forms.filter_by_source`): "" any, "browser",
    # or one personal API token's id.
    source: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return team_zone(self.team)

    @property
    def start_at(self) -> datetime:
        return day_start(self.start, self.tz)

    @property
    def end_at(self) -> datetime:
        return day_start(self.end + timedelta(days=1), self.tz)

    def activations(self) -> QuerySet[Activation]:
        qs = Activation.objects.filter(
            team=self.team, created_at__gte=self.start_at, created_at__lt=self.end_at
        )
        if self.user_id:
            qs = qs.filter(user_id=self.user_id)
        if self.service_id:
            qs = qs.filter(service_id=self.service_id)
        if self.country_id:
            qs = qs.filter(country_id=self.country_id)
        return filter_by_source(qs, self.source).order_by()


# Sorting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sorting:
    """The row attributes a breakdown may be sorted by ("-spent": descending) and the sort
    used when none, or one not allowed, is asked for."""

    keys: tuple[str, ...]
    default: str

    def chosen(self, sort: str | None) -> str:
        return sort if sort and sort.lstrip("-") in self.keys else self.default

    def apply(self, rows: list, sort: str | None) -> list:
        """The rows sorted as chosen; empty values last, ties by label."""
        sort = self.chosen(sort)
        name = sort.lstrip("-")
        descending = sort.startswith("-")
        rows = sorted(rows, key=lambda row: row.label.casefold())
        present = [row for row in rows if getattr(row, name) is not None]
        missing = [row for row in rows if getattr(row, name) is None]
        if name == "label":
            present.sort(key=lambda row: row.label.casefold(), reverse=descending)
        else:
            present.sort(key=lambda row: getattr(row, name), reverse=descending)
        return present + missing


# Grouping ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """What a breakdown groups by: ids only (cheap to group); names are looked up after."""

    name: str
    title: str  # translated (lazy)
    keys: tuple[str, ...]
    names: tuple[Callable[[Iterable[int]], dict[int, str]], ...]  # one per key
    joiner: str = ""  # may be translated (lazy)

    def labels(self, keys: Iterable[tuple]) -> dict[tuple, str]:
        keys = list(keys)
        found = [names({key[i] for key in keys}) for i, names in enumerate(self.names)]
        return {
            key: str(self.joiner).join(found[i].get(part, "?") for i, part in enumerate(key))
            for key in keys
        }


def grouped_rows(
    scope: Scope,
    dimensions: Iterable[Dimension],
    aggregates: dict,
    total: bool = False,
    grain: str | None = None,
) -> dict[str, list[dict]]:
    """The rows of several breakdowns with the same aggregates, by dimension name; with total,
    the whole scope under ""; with a grain, the rows per period under "period".

    PostgreSQL computes them all in one pass over the team's range (GROUPING SETS); other
    databases run one grouped query each.
    """
    dimensions = list(dimensions)
    qs = scope.activations()
    if grain:
        qs = qs.annotate(period=GRAINS[grain]("created_at", tzinfo=scope.tz))
    if connections[qs.db].vendor == "postgresql" and len(dimensions) + total + bool(grain) > 1:
        found = grouping_sets(qs, dimensions, aggregates, total, grain)
        if found is not None:
            return found
    out = {dim.name: list(qs.values(*dim.keys).annotate(**aggregates)) for dim in dimensions}
    if total:
        out[""] = [qs.aggregate(**aggregates)]
    if grain:
        out["period"] = list(qs.values("period").annotate(**aggregates))
    return out


def grouping_sets(
    qs: QuerySet, dimensions: list[Dimension], aggregates: dict, total: bool, grain: str | None
) -> dict[str, list[dict]] | None:
    """One query grouped by every dimension's ids (and the period) at once; None if Django's
    SQL is not the expected "... GROUP BY 1, 2, 3" (then the caller runs one query each)."""
    sets = {frozenset(dim.keys): dim.name for dim in dimensions}
    if total:
        sets[frozenset()] = ""
    if grain:
        sets[frozenset({"period"})] = "period"
    keys = list(dict.fromkeys(k for group in sets for k in sorted(group)))
    sql, params = qs.values(*keys).annotate(**aggregates).query.sql_with_params()
    plain = " GROUP BY " + ", ".join(str(i) for i in range(1, len(keys) + 1))
    if not sql.endswith(plain):
        return None
    position = {key: str(i) for i, key in enumerate(keys, 1)}
    spec = ", ".join("(" + ", ".join(position[k] for k in keys if k in s) + ")" for s in sets)
    sql = sql[: -len(plain)] + f" GROUP BY GROUPING SETS ({spec})"
    out: dict[str, list[dict]] = {name: [] for name in sets.values()}
    names = [*keys, *aggregates]
    with connections[qs.db].cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            # Ids and periods are never NULL, so the NULLs tell which set a row belongs to.
            out[sets[frozenset(k for k in keys if row[k] is not None)]].append(row)
    return out


# Medians -----------------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's exact median; NULLs are left out, as by every aggregate."""

    function = "percentile_cont"
    name = "Median"
    arity = 1
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"


def medians_in_database(qs: QuerySet) -> bool:
    return connections[qs.db].vendor == "postgresql"


def median(values: list[timedelta]) -> timedelta | None:
    """The median of sorted values, halfway between the middle two (as percentile_cont)."""
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


def medians_by(qs: QuerySet, keys: tuple[str, ...], value: Expression) -> dict[tuple, timedelta]:
    """Each group's median of value from one list ordered by group and value (SQLite)."""
    values = (
        qs.annotate(value=value)
        .order_by(*keys, "value")
        .values_list(*keys, "value")
        .iterator(chunk_size=5000)
    )
    return {
        key: median([row[-1] for row in group])
        for key, group in itertools.groupby(values, key=lambda row: tuple(row[:-1]))
    }

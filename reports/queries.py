"""The reports' numbers, each table one grouped query in the database.

Money stays Decimal from the database to the page. A cancelled or expired activation costs
nothing (``Activation.FREE_STATES``), the same rule as the activations list, so the totals agree
with it to the cent. Days, weeks and months start at midnight in the team's time zone.

The median time to the first code is computed by PostgreSQL (``percentile_cont`` in the grouped
query itself). SQLite has no such aggregate, so there the waits come back as one list ordered
by group and wait, and each group's median is read off its middle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek

from activations.models import Activation
from catalog.models import Country, Operator, PriceChange, Service
from dashboard.models import Team
from dashboard.teams import CENT, TENTH, ZERO, day_start, local_date, money, percent, team_zone

NOTHING = "\u2013"  # an en dash where there is no value (no code yet, no limit)

# Activations that cost money: everything but cancelled and expired ones.
CHARGED = ~Q(state__in=Activation.FREE_STATES)
WITH_CODE = Q(first_code_at__isnull=False)
WAIT = ExpressionWrapper(F("first_code_at") - F("created_at"), output_field=DurationField())

GRAINS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


class Median(Aggregate):
    """PostgreSQL's exact median; NULLs (no code yet) are left out, as by every aggregate."""

    function = "percentile_cont"
    name = "Median"
    arity = 1
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"


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
        return qs.order_by()


# Breakdown dimensions ------------------------------------------------------------------------


def usernames(ids: Iterable[int]) -> dict[int, str]:
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "username"))


def service_names(ids: Iterable[int]) -> dict[int, str]:
    rows = Service.objects.filter(pk__in=ids).values_list("pk", "name", "code")
    return {pk: f"{name} ({code})" for pk, name, code in rows}


def country_names(ids: Iterable[int]) -> dict[int, str]:
    return dict(Country.objects.filter(pk__in=ids).values_list("pk", "name"))


def operator_names(ids: Iterable[int]) -> dict[int, str]:
    rows = Operator.objects.filter(pk__in=ids).values_list("pk", "code", "country__name")
    return {pk: f"{code} ({country})" for pk, code, country in rows}


@dataclass(frozen=True)
class Dimension:
    """What a breakdown groups by: ids only (cheap to group); names are looked up after."""

    name: str
    title: str
    keys: tuple[str, ...]
    names: tuple[Callable[[Iterable[int]], dict[int, str]], ...]  # one per key
    joiner: str = ""

    def labels(self, keys: Iterable[tuple]) -> dict[tuple, str]:
        keys = list(keys)
        found = [names({key[i] for key in keys}) for i, names in enumerate(self.names)]
        return {
            key: self.joiner.join(found[i].get(part, "?") for i, part in enumerate(key))
            for key in keys
        }


DIMENSIONS = {
    d.name: d
    for d in [
        Dimension("member", "Member", ("user_id",), (usernames,)),
        Dimension("service", "Service", ("service_id",), (service_names,)),
        Dimension("country", "Country", ("country_id",), (country_names,)),
        Dimension("operator", "Operator", ("operator_id",), (operator_names,)),
        Dimension(
            "service_operator",
            "Service through operator",
            ("service_id", "operator_id"),
            (service_names, operator_names),
            joiner=" through ",
        ),
    ]
}
SPENDING_DIMENSIONS = ("member", "service", "country", "operator")
USAGE_DIMENSIONS = ("service", "country", "operator", "service_operator")


def chosen_sort(sort: str | None, allowed: Iterable[str], default: str) -> str:
    """The sort asked for when it is one of the allowed ones, else the default."""
    return sort if sort and sort.lstrip("-") in allowed else default


def sort_rows(rows: list, sort: str | None, allowed: Iterable[str], default: str) -> list:
    """Rows sorted by one attribute ("-spent": descending); empty values last, then by label."""
    sort = chosen_sort(sort, allowed, default)
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


def grouped_rows(
    scope: Scope,
    dimensions: Iterable[str],
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
    out = {
        name: list(qs.values(*DIMENSIONS[name].keys).annotate(**aggregates)) for name in dimensions
    }
    if total:
        out[""] = [qs.aggregate(**aggregates)]
    if grain:
        out["period"] = list(qs.values("period").annotate(**aggregates))
    return out


def grouping_sets(
    qs: QuerySet, dimensions: list[str], aggregates: dict, total: bool, grain: str | None
) -> dict[str, list[dict]] | None:
    """One query grouped by every dimension's ids (and the period) at once; None if Django's
    SQL is not the expected "... GROUP BY 1, 2, 3" (then the caller runs one query each)."""
    sets = {frozenset(DIMENSIONS[name].keys): name for name in dimensions}
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


# Spending ------------------------------------------------------------------------------------


@dataclass
class PeriodRow:
    start: date
    bought: int = 0
    charged: int = 0
    spent: Decimal = ZERO
    with_code: int = 0

    @property
    def success_rate(self) -> Decimal | None:
        return percent(self.with_code, self.bought)


@dataclass
class Totals:
    bought: int
    charged: int
    spent: Decimal


PERIOD_AGGREGATES = {
    "bought": Count("id"),
    "charged": Count("id", filter=CHARGED),
    "spent": Sum("price", filter=CHARGED, default=ZERO),
    "with_code": Count("id", filter=WITH_CODE),
}


def period_series(scope: Scope, grain: str) -> list[PeriodRow]:
    """Bought, charged, spent and with a code per period, every period present (zeros too)."""
    rows = grouped_rows(scope, [], PERIOD_AGGREGATES, grain=grain)["period"]
    return series_of(scope, grain, rows)


def series_of(scope: Scope, grain: str, rows: Iterable[dict]) -> list[PeriodRow]:
    """Grouped period rows as a series with every period of the scope, empty ones too."""
    tz = scope.tz
    found = {local_date(row["period"], tz): row for row in rows}
    series = []
    for start in periods(scope.start, scope.end, grain):
        row = found.get(start)
        if row is None:
            series.append(PeriodRow(start))
        else:
            series.append(
                PeriodRow(
                    start, row["bought"], row["charged"], money(row["spent"]), row["with_code"]
                )
            )
    return series


def totals_of(series: Iterable[PeriodRow]) -> Totals:
    series = list(series)
    return Totals(
        bought=sum(row.bought for row in series),
        charged=sum(row.charged for row in series),
        spent=sum((row.spent for row in series), ZERO),
    )


@dataclass
class SpendRow:
    key: tuple
    label: str
    bought: int
    charged: int
    spent: Decimal
    share: Decimal | None = None  # percent of everything spent in the scope


SPEND_SORTS = ("label", "bought", "charged", "spent", "share")


SPEND_AGGREGATES = PERIOD_AGGREGATES


def spending_breakdowns(
    scope: Scope,
    dimensions: Iterable[str],
    sorts: Mapping[str, str | None] | None = None,
    grain: str | None = None,
) -> dict[str, list]:
    """Spending by each dimension (member, service, ...), each sorted as asked; with a grain,
    the series (PeriodRow) too, under "period"."""
    sorts = sorts or {}
    out: dict[str, list] = {}
    for name, rows in grouped_rows(scope, dimensions, SPEND_AGGREGATES, grain=grain).items():
        if name == "period":
            out[name] = series_of(scope, grain, rows)
            continue
        dim = DIMENSIONS[name]
        labels = dim.labels(tuple(row[k] for k in dim.keys) for row in rows)
        spend_rows = []
        for row in rows:
            key = tuple(row[k] for k in dim.keys)
            spend_rows.append(
                SpendRow(
                    key=key,
                    label=labels[key],
                    bought=row["bought"],
                    charged=row["charged"],
                    spent=money(row["spent"]),
                )
            )
        total = sum((row.spent for row in spend_rows), ZERO)
        for row in spend_rows:
            row.share = percent(row.spent, total)
        out[name] = sort_rows(spend_rows, sorts.get(name), SPEND_SORTS, "-spent")
    return out


def spending_breakdown(scope: Scope, dimension: str, sort: str | None = None) -> list[SpendRow]:
    return spending_breakdowns(scope, [dimension], {dimension: sort})[dimension]


# Usage ---------------------------------------------------------------------------------------


@dataclass
class UsageRow:
    key: tuple
    label: str
    bought: int
    with_code: int
    cancelled: int
    expired: int
    spent: Decimal
    median_wait: timedelta | None = None

    @property
    def success_rate(self) -> Decimal | None:
        """Percent of the activations bought that received a code."""
        return percent(self.with_code, self.bought)

    @property
    def cost_per_success(self) -> Decimal | None:
        if not self.with_code:
            return None
        return (self.spent / self.with_code).quantize(CENT, ROUND_HALF_UP)

    @property
    def median_display(self) -> str:
        return format_wait(self.median_wait)


USAGE_SORTS = (
    "label",
    "bought",
    "with_code",
    "cancelled",
    "expired",
    "success_rate",
    "median_wait",
    "spent",
    "cost_per_success",
)

USAGE_AGGREGATES = {
    **PERIOD_AGGREGATES,
    "cancelled": Count("id", filter=Q(state=Activation.State.CANCELLED)),
    "expired": Count("id", filter=Q(state=Activation.State.EXPIRED)),
}


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


def medians_by(qs: QuerySet, keys: tuple[str, ...]) -> dict[tuple, timedelta]:
    """Each group's median wait from one list ordered by group and wait (SQLite)."""
    waits = (
        qs.filter(WITH_CODE)
        .annotate(wait=WAIT)
        .order_by(*keys, "wait")
        .values_list(*keys, "wait")
        .iterator(chunk_size=5000)
    )
    return {
        key: median([row[-1] for row in group])
        for key, group in itertools.groupby(waits, key=lambda row: tuple(row[:-1]))
    }


def usage_breakdowns(
    scope: Scope,
    dimensions: Iterable[str],
    sorts: Mapping[str, str | None] | None = None,
    total: bool = False,
    grain: str | None = None,
) -> dict[str, list]:
    """Usage by each dimension, each sorted as asked; with total, the whole scope under "";
    with a grain, the series (PeriodRow) under "period"."""
    sorts = sorts or {}
    qs = scope.activations()
    aggregates = dict(USAGE_AGGREGATES)
    in_db = medians_in_database(qs)
    if in_db:
        aggregates["median_wait"] = Median(WAIT)
    out: dict[str, list] = {}
    for name, rows in grouped_rows(scope, dimensions, aggregates, total, grain).items():
        if name == "period":
            out[name] = series_of(scope, grain, rows)
            continue
        keys = DIMENSIONS[name].keys if name else ()
        labels = DIMENSIONS[name].labels(tuple(r[k] for k in keys) for r in rows) if name else {}
        medians = {} if in_db else medians_by(qs, keys)
        usage_rows = []
        for row in rows:
            key = tuple(row[k] for k in keys)
            usage_rows.append(
                UsageRow(
                    key=key,
                    label=labels.get(key, "All activations"),
                    bought=row["bought"],
                    with_code=row["with_code"],
                    cancelled=row["cancelled"],
                    expired=row["expired"],
                    spent=money(row["spent"]),
                    median_wait=row["median_wait"] if in_db else medians.get(key),
                )
            )
        out[name] = sort_rows(usage_rows, sorts.get(name), USAGE_SORTS, "-bought")
    return out


def usage_breakdown(scope: Scope, dimension: str, sort: str | None = None) -> list[UsageRow]:
    return usage_breakdowns(scope, [dimension], {dimension: sort})[dimension]


def usage_totals(scope: Scope) -> UsageRow:
    return usage_breakdowns(scope, [], total=True)[""][0]


# Catalog price trend ---------------------------------------------------------------------


@dataclass
class PricePoint:
    day: date
    changes: int
    lowest: Decimal
    average: Decimal
    highest: Decimal


def trend_service(scope: Scope, usage_by_service: list[UsageRow]) -> Service | None:
    """The filtered service; else, of the services bought, the one bought most that has a
    price history in the period (else the one bought most)."""
    service_id = scope.service_id
    if not service_id and usage_by_service:
        bought = {row.key[0]: row.bought for row in usage_by_service}
        with_history = set(
            PriceChange.objects.filter(
                offer__service_id__in=bought,
                recorded_at__gte=scope.start_at,
                recorded_at__lt=scope.end_at,
            )
            .order_by()
            .values_list("offer__service_id", flat=True)
            .distinct()
        )
        candidates = with_history or set(bought)
        service_id = max(candidates, key=lambda pk: (bought[pk], -pk))
    if not service_id:
        return None
    return Service.objects.filter(pk=service_id).first()


def price_trend(scope: Scope, service: Service) -> list[PricePoint]:
    """Recorded catalog prices of one service per local day (lowest, average, highest)."""
    tz = scope.tz
    changes = PriceChange.objects.filter(
        offer__service=service, recorded_at__gte=scope.start_at, recorded_at__lt=scope.end_at
    )
    if scope.country_id:
        changes = changes.filter(offer__country_id=scope.country_id)
    rows = (
        changes.order_by()
        .annotate(day=TruncDay("recorded_at", tzinfo=tz))
        .values("day")
        .annotate(
            changes=Count("id"), lowest=Min("price"), average=Avg("price"), highest=Max("price")
        )
        .order_by("day")
    )
    return [
        PricePoint(
            day=local_date(row["day"], tz),
            changes=row["changes"],
            lowest=money(row["lowest"]),
            average=money(row["average"]),
            highest=money(row["highest"]),
        )
        for row in rows
    ]

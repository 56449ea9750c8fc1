"""The usage report's breakdowns: how many activations received a code, were cancelled or
expired, the median time to the first code and the cost per success, by provider (where
routing sent the purchases and how well each delivered), service, country, operator and
service through operator, and for the whole scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q

from activations.models import Activation
from dashboard.teams import money, percent
from reports.breakdowns import Group, breakdowns, keys_of
from reports.engine import Median, Scope, Sorting, medians_by, medians_in_database
from reports.formats import format_wait
from reports.series import PERIOD_AGGREGATES, WITH_CODE

USAGE_DIMENSIONS = ("provider", "service", "country", "operator", "service_operator")
USAGE_SORTING = Sorting(
    (
        "label",
        "bought",
        "with_code",
        "cancelled",
        "expired",
        "success_rate",
        "median_wait",
        "spent",
        "cost_per_success",
    ),
    "-bought",
)

WAIT = ExpressionWrapper(F("first_code_at") - F("created_at"), output_field=DurationField())
USAGE_AGGREGATES = {
    **PERIOD_AGGREGATES,
    "cancelled": Count("id", filter=Q(state=Activation.State.CANCELLED)),
    "expired": Count("id", filter=Q(state=Activation.State.EXPIRED)),
}


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
        return money(self.spent / self.with_code)

    @property
    def median_display(self) -> str:
        return format_wait(self.median_wait)


def usage_row(group: Group, median_wait: timedelta | None) -> UsageRow:
    counts = [group.values[name] for name in ("bought", "with_code", "cancelled", "expired")]
    return UsageRow(group.key, group.label, *counts, money(group.values["spent"]), median_wait)


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
    in_db = medians_in_database(qs)
    aggregates = {**USAGE_AGGREGATES, "median_wait": Median(WAIT)} if in_db else USAGE_AGGREGATES
    groups, series = breakdowns(scope, dimensions, aggregates, total, grain)
    out: dict[str, list] = {}
    for name, found in groups.items():
        medians = {} if in_db else medians_by(qs.filter(WITH_CODE), keys_of(name), WAIT)
        rows = [
            usage_row(group, group.values["median_wait"] if in_db else medians.get(group.key))
            for group in found
        ]
        out[name] = USAGE_SORTING.apply(rows, sorts.get(name))
    if grain:
        out["period"] = series
    return out


def usage_breakdown(scope: Scope, dimension: str, sort: str | None = None) -> list[UsageRow]:
    return usage_breakdowns(scope, [dimension], {dimension: sort})[dimension]


def usage_totals(scope: Scope) -> UsageRow:
    return usage_breakdowns(scope, [], total=True)[""][0]

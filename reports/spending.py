"""The spending report's breakdowns: bought, charged and spent by member, provider, service,
country and operator, each with its share of everything spent in the scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from dashboard.teams import ZERO, money, percent
from reports.breakdowns import Group, breakdowns
from reports.engine import Scope, Sorting
from reports.series import PERIOD_AGGREGATES

SPENDING_DIMENSIONS = ("member", "provider", "service", "country", "operator")
SPEND_SORTING = Sorting(("label", "bought", "charged", "spent", "share"), "-spent")


@dataclass
class SpendRow:
    key: tuple
    label: str
    bought: int
    charged: int
    spent: Decimal
    share: Decimal | None = None  # percent of everything spent in the scope


def spend_row(group: Group) -> SpendRow:
    found = group.values
    return SpendRow(
        group.key, group.label, found["bought"], found["charged"], money(found["spent"])
    )


def spend_rows(groups: list[Group], sort: str | None) -> list[SpendRow]:
    """A breakdown's rows, each with its share of the breakdown's total, sorted as asked."""
    rows = [spend_row(group) for group in groups]
    total = sum((row.spent for row in rows), ZERO)
    for row in rows:
        row.share = percent(row.spent, total)
    return SPEND_SORTING.apply(rows, sort)


def spending_breakdowns(
    scope: Scope,
    dimensions: Iterable[str],
    sorts: Mapping[str, str | None] | None = None,
    grain: str | None = None,
) -> dict[str, list]:
    """Spending by each dimension (member, service, ...), each sorted as asked; with a grain,
    the series (PeriodRow) too, under "period"."""
    sorts = sorts or {}
    groups, series = breakdowns(scope, dimensions, PERIOD_AGGREGATES, grain=grain)
    out: dict[str, list] = {
        name: spend_rows(rows, sorts.get(name)) for name, rows in groups.items()
    }
    if grain:
        out["period"] = series
    return out


def spending_breakdown(scope: Scope, dimension: str, sort: str | None = None) -> list[SpendRow]:
    return spending_breakdowns(scope, [dimension], {dimension: sort})[dimension]

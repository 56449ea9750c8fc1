"""Bought, charged, spent and with a code per period: the series both reports chart, and the
spending totals.

Money stays Decimal from the database to the page. A cancelled or expired activation costs
nothing (``Activation.FREE_STATES``), the same rule as the activations list, so the totals agree
with it to the cent. Days, weeks and months start at midnight in the team's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum

from activations.models import Activation
from dashboard.teams import ZERO, local_date, money, percent
from reports.engine import Scope, grouped_rows, periods

# Activations that cost money: everything but cancelled and expired ones.
CHARGED = ~Q(state__in=Activation.FREE_STATES)
WITH_CODE = Q(first_code_at__isnull=False)

PERIOD_AGGREGATES = {
    "bought": Count("id"),
    "charged": Count("id", filter=CHARGED),
    "spent": Sum("price", filter=CHARGED, default=ZERO),
    "with_code": Count("id", filter=WITH_CODE),
}


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

"""Every table of the two reports, defined once for the page and for its CSV export.

A table is a list of columns (title, how a value shows on the page, how it goes into CSV) and
the rows from one query of the report (``series``, ``spending``, ``usage``, ``price_trend``).
The page and the CSV of a table always hold the same rows in the same order, because both
come from the same builder with the same filters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from activations.budgets import month_budget
from dashboard import display
from reports.breakdowns import DIMENSIONS
from reports.engine import Scope, Sorting
from reports.formats import (
    dash,
    format_wait,
    percent_shown,
    period_label,
    plain,
    text,
    wait_seconds,
)
from reports.price_trend import price_trend
from reports.series import period_series, totals_of
from reports.spending import (
    SPEND_SORTING,
    SPENDING_DIMENSIONS,
    spending_breakdown,
    spending_breakdowns,
)
from reports.usage import (
    USAGE_DIMENSIONS,
    USAGE_SORTING,
    UsageRow,
    usage_breakdown,
    usage_breakdowns,
)

PAGE_ROWS = 100  # rows of a table shown on its page, in its order; its CSV has every row


@dataclass(frozen=True)
class Column:
    key: str  # the row attribute, also the sort key
    title: str
    csv_title: str = ""
    numeric: bool = True
    show: Callable[[Any], str] = dash
    export: Callable[[Any], str] = plain
    sortable: bool = True
    money: bool = False  # shown with the table's currency, which its CSV title names

    def shown(self, value: Any, currency: str) -> str:
        if self.money and value is not None:
            return display.money(value, currency)
        return self.show(value)

    def csv_heading(self, currency: str) -> str:
        heading = self.csv_title or self.title
        return f"{heading} ({currency})" if self.money else heading

    def value(self, row: Any) -> Any:
        return getattr(row, self.key)


@dataclass
class Header:
    title: str
    numeric: bool
    href: str = ""
    sort: str = ""  # "ascending", "descending" or ""


@dataclass
class Cell:
    text: str
    numeric: bool


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list
    currency: str  # of its money columns: the team's (a catalog price: its provider's)
    sort: str = ""
    footer: list[str] | None = None
    headers: list[Header] = field(default_factory=list)
    csv_href: str = ""

    @property
    def body(self) -> list[list[Cell]]:
        return [
            [
                Cell(column.shown(column.value(row), self.currency), column.numeric)
                for column in self.columns
            ]
            for row in self.rows[:PAGE_ROWS]
        ]

    @property
    def body_html(self) -> str:
        """The page's <tr> rows, built here: a template loop per cell is slow for big tables."""
        lines = []
        for cells in self.body:
            parts = [format_html('<th scope="row">{}</th>', cells[0].text)]
            parts += [
                format_html('<td class="num">{}</td>', cell.text)
                if cell.numeric
                else format_html("<td>{}</td>", cell.text)
                for cell in cells[1:]
            ]
            lines.append(format_html("<tr>{}</tr>", SafeString("".join(parts))))
        return SafeString("\n".join(lines))

    @property
    def shown_rows(self) -> int:
        return min(len(self.rows), PAGE_ROWS)

    @property
    def hidden_rows(self) -> int:
        """Rows left off the page (the CSV has them all)."""
        return max(0, len(self.rows) - PAGE_ROWS)

    @property
    def footer_cells(self) -> list[Cell]:
        return [
            Cell(text, column.numeric)
            for text, column in zip(self.footer or [], self.columns, strict=False)
        ]

    def csv_header(self) -> list[str]:
        return [column.csv_heading(self.currency) for column in self.columns]

    def csv_rows(self) -> list[list[str]]:
        return [[column.export(column.value(row)) for column in self.columns] for row in self.rows]


# Column sets -------------------------------------------------------------------------------


def spend_columns(title: str) -> list[Column]:
    return [
        Column("label", title, numeric=False, show=str, export=text),
        Column("bought", "Bought"),
        Column("charged", "Charged", csv_title="Charged (not cancelled or expired)"),
        Column("spent", "Spent", money=True),
        Column("share", "Share", csv_title="Share (%)", show=percent_shown),
    ]


def usage_columns(title: str) -> list[Column]:
    return [
        Column("label", title, numeric=False, show=str, export=text),
        Column("bought", "Bought"),
        Column("with_code", "Codes received"),
        Column("cancelled", "Cancelled"),
        Column("expired", "Expired"),
        Column("success_rate", "Success rate", csv_title="Success rate (%)", show=percent_shown),
        Column(
            "median_wait",
            "Median time to first code",
            csv_title="Median seconds to first code",
            show=format_wait,
            export=wait_seconds,
        ),
        Column("spent", "Spent", money=True),
        Column("cost_per_success", "Cost per success", money=True),
    ]


def period_columns(grain: str) -> list[Column]:
    """The first columns of both reports' tables by period: when, and how many were bought."""
    return [
        Column(
            "start",
            "Period",
            csv_title="Period starting",
            numeric=False,
            show=period_label(grain),
            export=date.isoformat,
            sortable=False,
        ),
        Column("bought", "Bought", sortable=False),
    ]


def spend_period_columns(grain: str) -> list[Column]:
    return [
        *period_columns(grain),
        Column("charged", "Charged", sortable=False),
        Column("spent", "Spent", sortable=False, money=True),
    ]


def usage_period_columns(grain: str) -> list[Column]:
    return [
        *period_columns(grain),
        Column("with_code", "Codes received", sortable=False),
        Column(
            "success_rate",
            "Success rate",
            csv_title="Success rate (%)",
            show=percent_shown,
            sortable=False,
        ),
    ]


BUDGET_COLUMNS = [
    Column(
        "label", "Member", csv_title="Name", numeric=False, show=str, export=text, sortable=False
    ),
    Column("role", "Role", numeric=False, show=str, export=text, sortable=False),
    Column("spent", "Spent this month", sortable=False, money=True),
    Column(
        "limit",
        "Monthly limit",
        show=lambda v: "No limit" if v is None else str(v),
        sortable=False,
        money=True,
    ),
    Column("used", "Used", csv_title="Used (%)", show=percent_shown, sortable=False),
    Column("left", "Left", sortable=False, money=True),
]

TREND_COLUMNS = [
    Column(
        "day",
        "Day",
        numeric=False,
        show=lambda d: d.strftime("%a %d %b %Y"),
        export=date.isoformat,
        sortable=False,
    ),
    Column("changes", "Price changes", sortable=False),
    Column("lowest", "Lowest", sortable=False, money=True),
    Column("average", "Average", sortable=False, money=True),
    Column("highest", "Highest", sortable=False, money=True),
]


# Builders: (scope, grain, sort) -> Table ----------------------------------------------------


@dataclass(frozen=True)
class Breakdowns:
    """The tables of one report's breakdowns: their columns, sorts and rows."""

    columns: Callable[[str], list[Column]]
    sorting: Sorting
    rows: Callable[[Scope, str, str | None], list]  # (scope, dimension, sort) -> sorted rows

    def table(self, dimension: str, rows: list, sort: str | None, currency: str) -> Table:
        dim = DIMENSIONS[dimension]
        title = dim.title
        return Table(
            dimension,
            f"By {title.lower()}",
            self.columns(title),
            rows,
            currency,
            self.sorting.chosen(sort),
        )

    def builder(self, dimension: str) -> Callable[..., Table]:
        def build(scope: Scope, grain: str, sort: str | None = None) -> Table:
            rows = self.rows(scope, dimension, sort)
            return self.table(dimension, rows, sort, scope.team.currency)

        return build


SPENDING_BREAKDOWNS = Breakdowns(spend_columns, SPEND_SORTING, spending_breakdown)
USAGE_BREAKDOWNS = Breakdowns(usage_columns, USAGE_SORTING, usage_breakdown)


def spending_by_period(scope: Scope, grain: str, sort: str | None = None) -> Table:
    return spend_period_table(grain, period_series(scope, grain), scope.team.currency)


def spend_period_table(grain: str, series: list, currency: str) -> Table:
    totals = totals_of(series)
    return Table(
        "by_period",
        "Spending by " + grain,
        spend_period_columns(grain),
        series,
        currency,
        footer=[
            "Total",
            str(totals.bought),
            str(totals.charged),
            display.money(totals.spent, currency),
        ],
    )


def spending_tables(scope: Scope, grain: str, sorts: Mapping[str, str | None]) -> dict:
    """Every table of the spending page but the budget: one query on PostgreSQL."""
    found = spending_breakdowns(scope, SPENDING_DIMENSIONS, sorts, grain)
    currency = scope.team.currency
    built = {"by_period": spend_period_table(grain, found.pop("period"), currency)}
    for name, rows in found.items():
        built[name] = SPENDING_BREAKDOWNS.table(name, rows, sorts.get(name), currency)
    return built


def budget_table(team, now: datetime) -> Table:
    budget = month_budget(team, now)
    currency = team.currency
    return Table(
        "budget",
        f"Budget use in {budget.month:%B %Y}",
        BUDGET_COLUMNS,
        [*budget.members],
        currency,
        footer=[
            "Whole team",
            "",
            display.money(budget.team.spent, currency),
            "No budget"
            if budget.team.limit is None
            else display.money(budget.team.limit, currency),
            percent_shown(budget.team.used),
            display.money(budget.team.left, currency),
        ],
    )


def usage_by_period(scope: Scope, grain: str, sort: str | None = None) -> Table:
    return usage_period_table(grain, period_series(scope, grain), scope.team.currency)


def usage_period_table(grain: str, series: list, currency: str) -> Table:
    return Table(
        "by_period", "Activations by " + grain, usage_period_columns(grain), series, currency
    )


def usage_tables(
    scope: Scope, grain: str, sorts: Mapping[str, str | None]
) -> tuple[dict, UsageRow]:
    """Every table of the usage page but the price trend, and the totals: one query on
    PostgreSQL."""
    found = usage_breakdowns(scope, USAGE_DIMENSIONS, sorts, True, grain)
    currency = scope.team.currency
    built = {"by_period": usage_period_table(grain, found.pop("period"), currency)}
    totals = found.pop("")[0]
    for name, rows in found.items():
        built[name] = USAGE_BREAKDOWNS.table(name, rows, sorts.get(name), currency)
    return built, totals


def trend_table(scope: Scope, service) -> Table:
    rows = price_trend(scope, service) if service else []
    return Table(
        "price_trend",
        f"Catalog price of {service}" if service else "Catalog price",
        TREND_COLUMNS,
        rows,
        trend_currency(scope, service),
    )


def trend_currency(scope: Scope, service) -> str:
    """A catalog price is in its provider's currency (the service is one provider's)."""
    return service.provider.currency if service else scope.team.currency


SPENDING_TABLES: dict[str, Callable[..., Table]] = {
    "by_period": spending_by_period,
    **{name: SPENDING_BREAKDOWNS.builder(name) for name in SPENDING_DIMENSIONS},
}
USAGE_TABLES: dict[str, Callable[..., Table]] = {
    "by_period": usage_by_period,
    **{name: USAGE_BREAKDOWNS.builder(name) for name in USAGE_DIMENSIONS},
}

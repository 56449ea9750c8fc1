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

from django.utils import dateformat
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from activations.budgets import month_budget
from dashboard import display
from reports.breakdowns import DIMENSIONS
from reports.engine import Scope, Sorting
from reports.formats import (
    count_shown,
    day_label,
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

# The titles of the tables by dimension and by period (whole titles: word order differs).
BY_TITLES = {
    "member": _("By member"),
    "provider": _("By provider"),
    "service": _("By service"),
    "country": _("By country"),
    "operator": _("By operator"),
    "service_operator": _("By service through operator"),
}
SPENDING_BY = {
    "day": _("Spending by day"),
    "week": _("Spending by week"),
    "month": _("Spending by month"),
}
ACTIVATIONS_BY = {
    "day": _("Activations by day"),
    "week": _("Activations by week"),
    "month": _("Activations by month"),
}


@dataclass(frozen=True)
class Column:
    key: str  # the row attribute, also the sort key
    title: str  # translated (lazy): the page and the CSV header are in the user's language
    csv_title: str = ""
    numeric: bool = True
    show: Callable[[Any], str] = count_shown
    export: Callable[[Any], str] = plain
    sortable: bool = True
    money: bool = False  # shown with the table's currency, which its CSV title names

    def shown(self, value: Any, currency: str) -> str:
        if self.money and value is not None:
            return display.money(value, currency)
        return self.show(value)

    def csv_heading(self, currency: str) -> str:
        heading = str(self.csv_title or self.title)
        if self.money:
            # Translators: a money column's CSV title with its currency: "Spent (USD)".
            return gettext("%(title)s (%(currency)s)") % {"title": heading, "currency": currency}
        return heading

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
        Column("bought", _("Bought")),
        Column("charged", _("Charged"), csv_title=_("Charged (not cancelled or expired)")),
        Column("spent", _("Spent"), money=True),
        Column("share", _("Share"), csv_title=_("Share (%)"), show=percent_shown),
    ]


def usage_columns(title: str) -> list[Column]:
    return [
        Column("label", title, numeric=False, show=str, export=text),
        Column("bought", _("Bought")),
        Column("with_code", _("Codes received")),
        Column("cancelled", _("Cancelled")),
        Column("expired", _("Expired")),
        Column(
            "success_rate",
            _("Success rate"),
            csv_title=_("Success rate (%)"),
            show=percent_shown,
        ),
        Column(
            "median_wait",
            _("Median time to first code"),
            csv_title=_("Median seconds to first code"),
            show=format_wait,
            export=wait_seconds,
        ),
        Column("spent", _("Spent"), money=True),
        Column("cost_per_success", _("Cost per success"), money=True),
    ]


def period_columns(grain: str) -> list[Column]:
    """The first columns of both reports' tables by period: when, and how many were bought."""
    return [
        Column(
            "start",
            _("Period"),
            csv_title=_("Period starting"),
            numeric=False,
            show=period_label(grain),
            export=date.isoformat,
            sortable=False,
        ),
        Column("bought", _("Bought"), sortable=False),
    ]


def spend_period_columns(grain: str) -> list[Column]:
    return [
        *period_columns(grain),
        Column("charged", _("Charged"), sortable=False),
        Column("spent", _("Spent"), sortable=False, money=True),
    ]


def usage_period_columns(grain: str) -> list[Column]:
    return [
        *period_columns(grain),
        Column("with_code", _("Codes received"), sortable=False),
        Column(
            "success_rate",
            _("Success rate"),
            csv_title=_("Success rate (%)"),
            show=percent_shown,
            sortable=False,
        ),
    ]


BUDGET_COLUMNS = [
    Column(
        "label",
        _("Member"),
        csv_title=_("Name"),
        numeric=False,
        show=str,
        export=text,
        sortable=False,
    ),
    Column("role", _("Role"), numeric=False, show=str, export=text, sortable=False),
    Column("spent", _("Spent this month"), sortable=False, money=True),
    Column(
        "limit",
        _("Monthly limit"),
        show=lambda v: gettext("No limit") if v is None else str(v),
        sortable=False,
        money=True,
    ),
    Column("used", _("Used"), csv_title=_("Used (%)"), show=percent_shown, sortable=False),
    Column("left", pgettext_lazy("budget", "Left"), sortable=False, money=True),
]

TREND_COLUMNS = [
    Column(
        "day",
        pgettext_lazy("report", "Day"),
        numeric=False,
        show=day_label,
        export=date.isoformat,
        sortable=False,
    ),
    Column("changes", _("Price changes"), sortable=False),
    Column("lowest", _("Lowest"), sortable=False, money=True),
    Column("average", _("Average"), sortable=False, money=True),
    Column("highest", _("Highest"), sortable=False, money=True),
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
            str(BY_TITLES[dimension]),
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
        str(SPENDING_BY[grain]),
        spend_period_columns(grain),
        series,
        currency,
        footer=[
            gettext("Total"),
            count_shown(totals.bought),
            count_shown(totals.charged),
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
        # Translators: %(month)s is a month and year: "March 2026".
        gettext("Budget use in %(month)s")
        % {"month": dateformat.format(budget.month, pgettext("report budget month", "F Y"))},
        BUDGET_COLUMNS,
        [*budget.members],
        currency,
        footer=[
            gettext("Whole team"),
            "",
            display.money(budget.team.spent, currency),
            gettext("No budget")
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
        "by_period", str(ACTIVATIONS_BY[grain]), usage_period_columns(grain), series, currency
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
        gettext("Catalog price of %(service)s") % {"service": service}
        if service
        else gettext("Catalog price"),
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

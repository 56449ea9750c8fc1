"""The spending and usage report pages and the CSV export of each of their tables.

Who sees a team's reports is ``Membership.sees_reports`` (owners, managers and viewers;
members when the team allows it); anyone else gets 404 from ``membership_for``.
"""

import csv

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.models import Membership
from dashboard.teams import team_zone
from reports import tables
from reports.formats import short_day
from reports.forms import ReportFilterForm, default_form
from reports.price_trend import trend_service
from reports.series import totals_of
from reports.spending import SPENDING_DIMENSIONS
from reports.tables import Header, Table
from reports.usage import USAGE_DIMENSIONS, usage_breakdown

REPORTS = {"spending": tables.SPENDING_TABLES, "usage": tables.USAGE_TABLES}
EXTRA_TABLES = {"spending": ("budget",), "usage": ("price_trend",)}
CHART_TOP = 10  # bars in a breakdown chart; the table beside it has every row


def report_membership(request: AuthenticatedHttpRequest, team_slug: str) -> Membership:
    membership = membership_for(request, team_slug)
    if not membership.sees_reports:
        raise PermissionDenied(gettext("This team shows its reports to managers and viewers only."))
    return membership


def filter_form(request: AuthenticatedHttpRequest, membership: Membership) -> ReportFilterForm:
    """The filters from the query string; with errors, the form still says what it shows."""
    team = membership.team
    today = timezone.localdate(timezone=team_zone(team))
    form = ReportFilterForm(request.GET, team=team, today=today)
    if not form.is_valid():
        fallback = default_form(team, today)
        form.shown = fallback
        return form
    form.shown = form
    # Show the preset's days in the date inputs too.
    form.data = form.data.copy()
    form.data["start"], form.data["end"] = form.first_day.isoformat(), form.last_day.isoformat()
    return form


def link(request: AuthenticatedHttpRequest, **changes: str) -> str:
    query: QueryDict = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


def with_headers(
    request: AuthenticatedHttpRequest, table: Table, report: str, team_slug: str
) -> Table:
    """Sort links on the column titles (they keep every filter) and the CSV link."""
    current = table.sort
    for column in table.columns:
        header = Header(column.title, column.numeric)
        if column.sortable:
            if current.lstrip("-") == column.key:
                header.sort = "descending" if current.startswith("-") else "ascending"
                wanted = column.key if current.startswith("-") else "-" + column.key
            else:
                wanted = column.key if column.key == "label" else "-" + column.key
            header.href = link(request, **{f"{table.name}_sort": wanted}) + f"#table-{table.name}"
        table.headers.append(header)
    url = reverse("reports:csv", args=[team_slug, report, table.name])
    table.csv_href = url + "?" + request.GET.urlencode()
    return table


def number(value) -> str | None:
    return None if value is None else str(value)


def chart(
    kind: str, unit: str, labels: list[str], *series: tuple[str, list], currency: str = ""
) -> dict:
    """What static/js/reports.js draws: strings for money keep every cent; `currency` names
    the money's (axis and tooltips show "$12.30"). The labels and the series' names are
    already in the page's language; the script formats numbers with the page's `lang`."""
    return {
        "kind": kind,
        "unit": unit,
        "currency": currency,
        "labels": labels,
        "series": [
            {"label": label, "values": [number(v) for v in values]} for label, values in series
        ],
    }


def over_time(points: int) -> str:
    """A chart over time: a line, or bars for a single point (one day, week or month), which
    a line would show as lone dots."""
    return "line" if points > 1 else "bar"


def sorts_asked(request: AuthenticatedHttpRequest, report: str) -> dict[str, str | None]:
    return {name: request.GET.get(f"{name}_sort") for name in REPORTS[report]}


@require_safe
def spending(request: AuthenticatedHttpRequest, team_slug: str):
    membership = report_membership(request, team_slug)
    form = filter_form(request, membership)
    scope, grain = form.shown.scope(), form.shown.grain()
    built = tables.spending_tables(scope, grain, sorts_asked(request, "spending"))
    for table in built.values():
        with_headers(request, table, "spending", team_slug)
    series_table = built["by_period"]
    label = tables.period_label(grain)
    currency = membership.team.currency
    budget = with_headers(
        request, tables.budget_table(membership.team, timezone.now()), "spending", team_slug
    )
    context = {
        "form": form,
        "report": "spending",
        "series": series_table,
        "breakdowns": [built[name] for name in SPENDING_DIMENSIONS],
        "budget": budget,
        "totals": totals_of(series_table.rows),
        "spend_chart": chart(
            "bar",
            "money",
            [label(row.start) for row in series_table.rows],
            (gettext("Spent"), [row.spent for row in series_table.rows]),
            currency=currency,
        ),
        "service_chart": bars(
            built["service"].rows[:CHART_TOP], "money", gettext("Spent"), "spent", currency
        ),
        "provider_chart": bars(
            built["provider"].rows[:CHART_TOP], "money", gettext("Spent"), "spent", currency
        ),
    }
    return render(request, "reports/spending.html", context)


def bars(rows: list, unit: str, name: str, value: str, currency: str = "") -> dict:
    """A horizontal bar chart of one value (`value`, an attribute) of each row of a breakdown
    (a service, a provider)."""
    return chart(
        "hbar",
        unit,
        [row.label for row in rows],
        (name, [getattr(row, value) for row in rows]),
        currency=currency,
    )


@require_safe
def usage(request: AuthenticatedHttpRequest, team_slug: str):
    membership = report_membership(request, team_slug)
    form = filter_form(request, membership)
    scope, grain = form.shown.scope(), form.shown.grain()
    built, totals = tables.usage_tables(scope, grain, sorts_asked(request, "usage"))
    for table in built.values():
        with_headers(request, table, "usage", team_slug)
    service = trend_service(scope, built["service"].rows)
    trend = with_headers(request, tables.trend_table(scope, service), "usage", team_slug)
    series = built["by_period"].rows
    label = tables.period_label(grain)
    by_service = sorted(built["service"].rows, key=lambda row: -row.bought)[:CHART_TOP]
    by_provider = sorted(built["provider"].rows, key=lambda row: -row.bought)[:CHART_TOP]
    context = {
        "form": form,
        "report": "usage",
        "series": built["by_period"],
        "breakdowns": [built[name] for name in USAGE_DIMENSIONS],
        "totals": totals,
        "trend": trend,
        "trend_service": service,
        "activity_chart": chart(
            over_time(len(series)),
            "count",
            [label(row.start) for row in series],
            (gettext("Bought"), [row.bought for row in series]),
            (gettext("Codes received"), [row.with_code for row in series]),
        ),
        "success_chart": bars(by_service, "percent", gettext("Success rate"), "success_rate"),
        "provider_chart": bars(by_provider, "percent", gettext("Success rate"), "success_rate"),
        "trend_chart": chart(
            over_time(len(trend.rows)),
            "money",
            [short_day(row.day) for row in trend.rows],
            (gettext("Lowest"), [row.lowest for row in trend.rows]),
            (gettext("Average"), [row.average for row in trend.rows]),
            (gettext("Highest"), [row.highest for row in trend.rows]),
            currency=trend.currency,
        ),
    }
    return render(request, "reports/usage.html", context)


def table_for_export(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    report: str,
    name: str,
    form: ReportFilterForm,
) -> Table:
    scope, grain = form.scope(), form.grain()
    sort = request.GET.get(f"{name}_sort")
    if name in REPORTS[report]:
        return REPORTS[report][name](scope, grain, sort)
    if report == "spending" and name == "budget":
        return tables.budget_table(membership.team, timezone.now())
    if report == "usage" and name == "price_trend":
        by_service = [] if scope.service_id else usage_breakdown(scope, "service")
        return tables.trend_table(scope, trend_service(scope, by_service))
    raise Http404(gettext("No such table"))


@require_safe
def export_csv(request: AuthenticatedHttpRequest, team_slug: str, report: str, table: str):
    membership = report_membership(request, team_slug)
    if report not in REPORTS or (
        table not in REPORTS[report] and table not in EXTRA_TABLES[report]
    ):
        raise Http404(gettext("No such table"))
    team = membership.team
    form = ReportFilterForm(
        request.GET, team=team, today=timezone.localdate(timezone=team_zone(team))
    )
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponseBadRequest(
            gettext("Invalid filters: %(errors)s") % {"errors": errors}, content_type="text/plain"
        )
    built = table_for_export(request, membership, report, table, form)
    name = f"{team.slug}-{report}-{table.replace('_', '-')}-{form.first_day}-{form.last_day}"
    filename = slugify(name) + ".csv"
    # The column titles are in the user's language; the values stay machine-readable in any
    # language (Table.csv_rows: str() of Decimals and ISO dates, never Django's localization).
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(built.csv_header())
    writer.writerows(built.csv_rows())
    return response

"""Every figure of the report queries for the known March activations (see conftest.py)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from reports import queries
from reports.queries import Scope

D = Decimal


def march_scope(team, **filters) -> Scope:
    return Scope(team=team, start=date(2026, 3, 1), end=date(2026, 3, 31), **filters)


def by_label(rows) -> dict:
    return {row.label: row for row in rows}


def test_it_totals_the_spending_and_cancelled_and_expired_cost_nothing(alice_team, march):
    totals = queries.totals_of(queries.period_series(march_scope(alice_team), "day"))
    assert (totals.bought, totals.charged, totals.spent) == (7, 5, D("40.60"))


def test_the_total_agrees_with_the_activations_to_the_cent(alice_team, march):
    charged = sum(a.price for a in march if a.costs_money)
    totals = queries.totals_of(queries.period_series(march_scope(alice_team), "month"))
    assert totals.spent == charged == D("40.60")


def test_it_fills_every_day_of_the_range(alice_team, march):
    series = queries.period_series(march_scope(alice_team), "day")
    assert len(series) == 31
    assert series[0].start == date(2026, 3, 1)
    nonzero = {row.start: (row.bought, row.charged, row.spent) for row in series if row.bought}
    assert nonzero == {
        date(2026, 3, 2): (3, 2, D("20.00")),
        date(2026, 3, 3): (2, 1, D("7.25")),
        date(2026, 3, 10): (2, 2, D("13.35")),
    }
    assert str(series[0].spent) == "0.00" and series[0].bought == 0
    assert str(series[1].spent) == "20.00"


def test_it_groups_by_week_starting_on_monday(alice_team, march):
    series = queries.period_series(march_scope(alice_team), "week")
    # March 1st 2026 is a Sunday: its week starts on Monday February 23rd.
    assert [row.start for row in series] == [
        date(2026, 2, 23),
        date(2026, 3, 2),
        date(2026, 3, 9),
        date(2026, 3, 16),
        date(2026, 3, 23),
        date(2026, 3, 30),
    ]
    assert [(row.bought, row.spent) for row in series[:3]] == [
        (0, D("0.00")),
        (5, D("27.25")),
        (2, D("13.35")),
    ]


def test_it_groups_by_month(alice_team, march):
    scope = Scope(team=alice_team, start=date(2026, 2, 1), end=date(2026, 4, 30))
    series = queries.period_series(scope, "month")
    assert [(row.start, row.bought, row.charged, row.spent) for row in series] == [
        (date(2026, 2, 1), 1, 1, D("99.00")),
        (date(2026, 3, 1), 7, 5, D("40.60")),
        (date(2026, 4, 1), 1, 1, D("99.00")),
    ]


def test_it_breaks_spending_down_by_member(alice_team, march):
    rows = queries.spending_breakdown(march_scope(alice_team), "member")
    assert [(r.label, r.bought, r.charged, r.spent, r.share) for r in rows] == [
        ("alice", 4, 3, D("27.25"), D("67.1")),
        ("bob", 3, 2, D("13.35"), D("32.9")),
    ]


def test_it_breaks_spending_down_by_service_country_and_operator(alice_team, march):
    scope = march_scope(alice_team)
    service = queries.spending_breakdown(scope, "service")
    assert [(r.label, r.bought, r.charged, r.spent, r.share) for r in service] == [
        ("Telegram (tg)", 5, 4, D("33.35"), D("82.1")),
        ("WhatsApp (wa)", 2, 1, D("7.25"), D("17.9")),
    ]
    country = queries.spending_breakdown(scope, "country")
    assert [(r.label, r.bought, r.charged, r.spent) for r in country] == [
        ("Russia", 5, 4, D("37.25")),
        ("Kazakhstan", 2, 1, D("3.35")),
    ]
    operator = queries.spending_breakdown(scope, "operator")
    assert [(r.label, r.bought, r.charged, r.spent) for r in operator] == [
        ("mts (Russia)", 3, 3, D("30.00")),
        ("beeline (Russia)", 2, 1, D("7.25")),
        ("tele2 (Kazakhstan)", 2, 1, D("3.35")),
    ]


def test_it_sorts_a_breakdown(alice_team, march):
    scope = march_scope(alice_team)
    labels = lambda sort: [r.label for r in queries.spending_breakdown(scope, "operator", sort)]  # noqa: E731
    assert labels("label") == ["beeline (Russia)", "mts (Russia)", "tele2 (Kazakhstan)"]
    assert labels("-label") == ["tele2 (Kazakhstan)", "mts (Russia)", "beeline (Russia)"]
    assert labels("spent") == ["tele2 (Kazakhstan)", "beeline (Russia)", "mts (Russia)"]
    # Ties keep alphabetical order; an unknown sort falls back to the most spent first.
    assert labels("bought") == ["beeline (Russia)", "tele2 (Kazakhstan)", "mts (Russia)"]
    assert labels("price; drop table") == labels("-spent")


def test_it_filters_by_member_service_and_country(alice_team, march, bob, places):
    def spent(**filters):
        return queries.totals_of(
            queries.period_series(march_scope(alice_team, **filters), "month")
        ).spent

    assert spent(user_id=bob.pk) == D("13.35")
    assert spent(service_id=places["wa"].pk) == D("7.25")
    assert spent(country_id=places["kz"].pk) == D("3.35")
    assert spent(user_id=bob.pk, country_id=places["ru"].pk) == D("10.00")


def test_it_counts_usage_and_medians(alice_team, march):
    totals = queries.usage_totals(march_scope(alice_team))
    assert (totals.bought, totals.with_code, totals.cancelled, totals.expired) == (7, 5, 1, 1)
    assert totals.success_rate == D("71.4")
    assert totals.median_wait == timedelta(seconds=60)
    assert totals.spent == D("40.60")
    assert totals.cost_per_success == D("8.12")


def test_it_breaks_usage_down_by_service(alice_team, march):
    rows = by_label(queries.usage_breakdown(march_scope(alice_team), "service"))
    tg, wa = rows["Telegram (tg)"], rows["WhatsApp (wa)"]
    assert (tg.bought, tg.with_code, tg.cancelled, tg.expired) == (5, 4, 1, 0)
    assert tg.success_rate == D("80.0")
    assert tg.median_wait == timedelta(seconds=52.5)  # halfway between 45 s and 60 s
    assert (tg.spent, tg.cost_per_success) == (D("33.35"), D("8.34"))
    assert (wa.bought, wa.with_code, wa.cancelled, wa.expired) == (2, 1, 0, 1)
    assert (wa.success_rate, wa.median_wait) == (D("50.0"), timedelta(seconds=90))
    assert (wa.spent, wa.cost_per_success) == (D("7.25"), D("7.25"))


def test_it_breaks_usage_down_by_country_and_operator(alice_team, march):
    scope = march_scope(alice_team)
    country = {
        r.label: (
            r.bought,
            r.with_code,
            r.cancelled,
            r.expired,
            r.success_rate,
            r.median_wait,
            r.cost_per_success,
        )
        for r in queries.usage_breakdown(scope, "country")
    }
    assert country == {
        "Russia": (5, 4, 1, 0, D("80.0"), timedelta(seconds=52.5), D("9.31")),
        "Kazakhstan": (2, 1, 0, 1, D("50.0"), timedelta(seconds=120), D("3.35")),
    }
    operator = {
        r.label: (r.bought, r.with_code, r.success_rate, r.median_wait, r.spent, r.cost_per_success)
        for r in queries.usage_breakdown(scope, "operator")
    }
    assert operator == {
        "mts (Russia)": (3, 3, D("100.0"), timedelta(seconds=45), D("30.00"), D("10.00")),
        "beeline (Russia)": (2, 1, D("50.0"), timedelta(seconds=90), D("7.25"), D("7.25")),
        "tele2 (Kazakhstan)": (2, 1, D("50.0"), timedelta(seconds=120), D("3.35"), D("3.35")),
    }


def test_it_shows_which_operator_works_for_which_service(alice_team, march):
    rows = queries.usage_breakdown(march_scope(alice_team), "service_operator", "label")
    assert [(r.label, r.bought, r.with_code, r.success_rate) for r in rows] == [
        ("Telegram (tg) through beeline (Russia)", 1, 0, D("0.0")),
        ("Telegram (tg) through mts (Russia)", 3, 3, D("100.0")),
        ("Telegram (tg) through tele2 (Kazakhstan)", 1, 1, D("100.0")),
        ("WhatsApp (wa) through beeline (Russia)", 1, 1, D("100.0")),
        ("WhatsApp (wa) through tele2 (Kazakhstan)", 1, 0, D("0.0")),
    ]
    no_code = rows[0]
    assert no_code.median_wait is None and no_code.cost_per_success is None


def test_medians_sort_missing_values_last(alice_team, march):
    rows = queries.usage_breakdown(march_scope(alice_team), "service_operator", "-median_wait")
    assert [r.median_wait for r in rows] == [
        timedelta(seconds=120),
        timedelta(seconds=90),
        timedelta(seconds=45),
        None,
        None,
    ]


def test_an_empty_period_has_no_rates(alice_team, march):
    scope = Scope(team=alice_team, start=date(2025, 1, 1), end=date(2025, 1, 31))
    totals = queries.usage_totals(scope)
    assert (totals.bought, totals.success_rate, totals.median_wait, totals.cost_per_success) == (
        0,
        None,
        None,
        None,
    )
    assert totals.spent == D("0.00")
    assert queries.usage_breakdown(scope, "service") == []


def test_the_median_helper_matches_percentile_cont():
    s = lambda *xs: [timedelta(seconds=x) for x in xs]  # noqa: E731
    assert queries.median([]) is None
    assert queries.median(s(7)) == timedelta(seconds=7)
    assert queries.median(s(1, 2, 10)) == timedelta(seconds=2)
    assert queries.median(s(1, 2, 3, 10)) == timedelta(seconds=2.5)


def test_the_breakdowns_of_a_page_agree_with_one_query_each(alice_team, march):
    scope = march_scope(alice_team)
    together = queries.usage_breakdowns(scope, queries.USAGE_DIMENSIONS, total=True)
    for name in queries.USAGE_DIMENSIONS:
        assert together[name] == queries.usage_breakdown(scope, name)
    assert together[""] == [queries.usage_totals(scope)]
    spending = queries.spending_breakdowns(scope, queries.SPENDING_DIMENSIONS)
    for name in queries.SPENDING_DIMENSIONS:
        assert spending[name] == queries.spending_breakdown(scope, name)


def test_postgresql_reads_the_activations_once_for_all_breakdowns(alice_team, march):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("GROUPING SETS are the PostgreSQL path")
    with CaptureQueriesContext(connection) as captured:
        found = queries.usage_breakdowns(
            march_scope(alice_team), queries.USAGE_DIMENSIONS, total=True, grain="week"
        )
    scans = [q["sql"] for q in captured if 'FROM "activations_activation"' in q["sql"]]
    assert len(scans) == 1 and "GROUPING SETS" in scans[0]
    assert found[""][0].median_wait == timedelta(seconds=60)
    assert [row.bought for row in found["period"]] == [0, 5, 2, 0, 0, 0]


def test_an_empty_period_has_a_zero_total_in_one_pass(alice_team, march):
    scope = Scope(team=alice_team, start=date(2025, 1, 1), end=date(2025, 1, 31))
    found = queries.usage_breakdowns(scope, ["service", "country"], total=True)
    assert found["service"] == found["country"] == []
    assert (found[""][0].bought, found[""][0].spent) == (0, D("0.00"))

"""The usage figures and breakdowns for the known March activations (see conftest.py)."""

from datetime import date, timedelta
from decimal import Decimal

from reports.engine import Scope
from reports.usage import usage_breakdown, usage_totals

from .conftest import march_scope

D = Decimal


def by_label(rows) -> dict:
    return {row.label: row for row in rows}


def test_it_counts_usage_and_medians(alice_team, march):
    totals = usage_totals(march_scope(alice_team))
    assert (totals.bought, totals.with_code, totals.cancelled, totals.expired) == (7, 5, 1, 1)
    assert totals.success_rate == D("71.4")
    assert totals.median_wait == timedelta(seconds=60)
    assert totals.spent == D("40.60")
    assert totals.cost_per_success == D("8.12")


def test_it_breaks_usage_down_by_service(alice_team, march):
    rows = by_label(usage_breakdown(march_scope(alice_team), "service"))
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
        for r in usage_breakdown(scope, "country")
    }
    assert country == {
        "Russia": (5, 4, 1, 0, D("80.0"), timedelta(seconds=52.5), D("9.31")),
        "Kazakhstan": (2, 1, 0, 1, D("50.0"), timedelta(seconds=120), D("3.35")),
    }
    operator = {
        r.label: (r.bought, r.with_code, r.success_rate, r.median_wait, r.spent, r.cost_per_success)
        for r in usage_breakdown(scope, "operator")
    }
    assert operator == {
        "mts (Russia)": (3, 3, D("100.0"), timedelta(seconds=45), D("30.00"), D("10.00")),
        "beeline (Russia)": (2, 1, D("50.0"), timedelta(seconds=90), D("7.25"), D("7.25")),
        "tele2 (Kazakhstan)": (2, 1, D("50.0"), timedelta(seconds=120), D("3.35"), D("3.35")),
    }


def test_it_shows_which_operator_works_for_which_service(alice_team, march):
    rows = usage_breakdown(march_scope(alice_team), "service_operator", "label")
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
    rows = usage_breakdown(march_scope(alice_team), "service_operator", "-median_wait")
    assert [r.median_wait for r in rows] == [
        timedelta(seconds=120),
        timedelta(seconds=90),
        timedelta(seconds=45),
        None,
        None,
    ]


def test_an_empty_period_has_no_rates(alice_team, march):
    scope = Scope(team=alice_team, start=date(2025, 1, 1), end=date(2025, 1, 31))
    totals = usage_totals(scope)
    assert (totals.bought, totals.success_rate, totals.median_wait, totals.cost_per_success) == (
        0,
        None,
        None,
        None,
    )
    assert totals.spent == D("0.00")
    assert usage_breakdown(scope, "service") == []

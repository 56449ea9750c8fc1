"""Day, week and month boundaries are the team's, not UTC's (including across DST changes)."""

from datetime import date
from decimal import Decimal

from activations.budgets import month_budget
from dashboard.teams import team_zone
from reports.engine import Scope
from reports.series import period_series, totals_of
from reports.spending import SPENDING_DIMENSIONS, spending_breakdowns
from reports.usage import USAGE_DIMENSIONS, usage_breakdowns

from .conftest import State, at


def day_counts(series) -> dict:
    return {row.start: row.bought for row in series if row.bought}


def test_an_evening_in_new_york_belongs_to_that_day(alice_team, alice, make_activation):
    alice_team.time_zone = "America/New_York"
    alice_team.save()
    # 03:30 UTC on January 15th is 22:30 on January 14th in New York (UTC-5).
    make_activation("2026-01-15 03:30", alice, price="4.00")
    make_activation("2026-01-15 05:30", alice, price="6.00")  # 00:30 on the 15th
    series = period_series(
        Scope(team=alice_team, start=date(2026, 1, 14), end=date(2026, 1, 15)), "day"
    )
    assert [(row.start, row.spent) for row in series] == [
        (date(2026, 1, 14), Decimal("4.00")),
        (date(2026, 1, 15), Decimal("6.00")),
    ]
    only_15th = Scope(team=alice_team, start=date(2026, 1, 15), end=date(2026, 1, 15))
    assert totals_of(period_series(only_15th, "day")).spent == Decimal("6.00")


def test_days_stay_whole_across_the_change_to_summer_time(alice_team, alice, make_activation):
    alice_team.time_zone = "America/New_York"
    alice_team.save()
    # Summer time starts on Sunday March 8th 2026: that day has 23 hours.
    make_activation("2026-03-08 04:30", alice)  # Saturday 7th, 23:30 EST
    make_activation("2026-03-08 05:30", alice)  # Sunday 8th, 00:30 EST
    make_activation("2026-03-09 03:30", alice)  # Sunday 8th, 23:30 EDT
    make_activation("2026-03-09 04:30", alice)  # Monday 9th, 00:30 EDT
    scope = Scope(team=alice_team, start=date(2026, 3, 7), end=date(2026, 3, 9))
    assert day_counts(period_series(scope, "day")) == {
        date(2026, 3, 7): 1,
        date(2026, 3, 8): 2,
        date(2026, 3, 9): 1,
    }
    assert day_counts(period_series(scope, "week")) == {
        date(2026, 3, 2): 3,
        date(2026, 3, 9): 1,
    }


def test_months_end_at_local_midnight(alice_team, alice, make_activation):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    make_activation("2026-03-31 14:59", alice)  # 23:59 on March 31st in Tokyo
    make_activation("2026-03-31 15:00", alice)  # 00:00 on April 1st in Tokyo
    scope = Scope(team=alice_team, start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert day_counts(period_series(scope, "month")) == {
        date(2026, 3, 1): 1,
        date(2026, 4, 1): 1,
    }


def test_the_budget_month_is_the_teams(alice_team, alice, make_activation):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    make_activation("2026-03-31 14:00", alice, price="5.00")  # March 31st in Tokyo
    make_activation("2026-03-31 16:00", alice, price="7.00")  # April 1st in Tokyo
    make_activation("2026-04-01 10:00", alice, price="1.00", state=State.CANCELLED)
    april = month_budget(alice_team, at("2026-04-02 00:00"))
    assert april.month == date(2026, 4, 1)
    assert april.team.spent == Decimal("7.00")
    march = month_budget(alice_team, at("2026-03-31 14:30"))
    assert march.month == date(2026, 3, 1)
    assert march.team.spent == Decimal("5.00")


def test_an_unknown_time_zone_falls_back_to_utc(alice_team):
    alice_team.time_zone = "Mars/Olympus_Mons"
    assert team_zone(alice_team).key == "UTC"


def test_a_pages_series_from_one_pass_keeps_the_teams_days(alice_team, alice, make_activation):
    alice_team.time_zone = "America/New_York"
    alice_team.save()
    make_activation("2026-03-08 04:30", alice)  # Saturday 7th, 23:30 EST
    make_activation("2026-03-09 03:30", alice)  # Sunday 8th, 23:30 EDT
    make_activation("2026-03-09 04:30", alice, price="2.50")  # Monday 9th, 00:30 EDT
    scope = Scope(team=alice_team, start=date(2026, 3, 7), end=date(2026, 3, 9))
    alone = period_series(scope, "day")
    spending = spending_breakdowns(scope, SPENDING_DIMENSIONS, grain="day")
    usage = usage_breakdowns(scope, USAGE_DIMENSIONS, total=True, grain="day")
    assert spending["period"] == usage["period"] == alone
    assert [(row.start, row.bought, row.spent) for row in alone] == [
        (date(2026, 3, 7), 1, Decimal("10.00")),
        (date(2026, 3, 8), 1, Decimal("10.00")),
        (date(2026, 3, 9), 1, Decimal("2.50")),
    ]

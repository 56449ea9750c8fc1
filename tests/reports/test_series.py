"""The series both reports show and the spending totals, for the known March activations
(see conftest.py)."""

from datetime import date
from decimal import Decimal

from reports.engine import Scope
from reports.series import period_series, totals_of

from .conftest import march_scope

D = Decimal


def test_it_totals_the_spending_and_cancelled_and_expired_cost_nothing(alice_team, march):
    totals = totals_of(period_series(march_scope(alice_team), "day"))
    assert (totals.bought, totals.charged, totals.spent) == (7, 5, D("40.60"))


def test_the_total_agrees_with_the_activations_to_the_cent(alice_team, march):
    charged = sum(a.price for a in march if a.costs_money)
    totals = totals_of(period_series(march_scope(alice_team), "month"))
    assert totals.spent == charged == D("40.60")


def test_it_fills_every_day_of_the_range(alice_team, march):
    series = period_series(march_scope(alice_team), "day")
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
    series = period_series(march_scope(alice_team), "week")
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
    series = period_series(scope, "month")
    assert [(row.start, row.bought, row.charged, row.spent) for row in series] == [
        (date(2026, 2, 1), 1, 1, D("99.00")),
        (date(2026, 3, 1), 7, 5, D("40.60")),
        (date(2026, 4, 1), 1, 1, D("99.00")),
    ]


def test_it_filters_by_member_service_and_country(alice_team, march, bob, places):
    def spent(**filters):
        return totals_of(period_series(march_scope(alice_team, **filters), "month")).spent

    assert spent(user_id=bob.pk) == D("13.35")
    assert spent(service_id=places["wa"].pk) == D("7.25")
    assert spent(country_id=places["kz"].pk) == D("3.35")
    assert spent(user_id=bob.pk, country_id=places["ru"].pk) == D("10.00")

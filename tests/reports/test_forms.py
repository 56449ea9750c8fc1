"""The filter form: presets counted in the team's days, custom ranges, choices of the team."""

from datetime import date

import pytest

from reports.engine import auto_grain
from reports.forms import ReportFilterForm, preset_period


@pytest.mark.parametrize(
    ("preset", "today", "first", "last"),
    [
        ("today", date(2026, 3, 15), date(2026, 3, 15), date(2026, 3, 15)),
        ("7d", date(2026, 3, 15), date(2026, 3, 9), date(2026, 3, 15)),
        ("month", date(2026, 3, 15), date(2026, 3, 1), date(2026, 3, 15)),
        ("last_month", date(2026, 3, 15), date(2026, 2, 1), date(2026, 2, 28)),
        ("last_month", date(2026, 1, 10), date(2025, 12, 1), date(2025, 12, 31)),
        ("7d", date(2026, 3, 3), date(2026, 2, 25), date(2026, 3, 3)),
    ],
)
def test_presets_count_back_from_today(preset, today, first, last):
    assert preset_period(preset, today) == (first, last)


def form(team, data, today=date(2026, 3, 15)) -> ReportFilterForm:
    return ReportFilterForm(data, team=team, today=today)


def test_this_month_is_the_default(alice_team):
    f = form(alice_team, {})
    assert f.is_valid()
    assert (f.first_day, f.last_day, f.cleaned_data["range"]) == (
        date(2026, 3, 1),
        date(2026, 3, 15),
        "month",
    )


def test_a_preset_wins_over_leftover_days(alice_team):
    f = form(alice_team, {"range": "today", "start": "2020-01-01", "end": "2020-01-02"})
    assert f.is_valid()
    assert (f.first_day, f.last_day) == (date(2026, 3, 15), date(2026, 3, 15))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"range": "custom", "start": "2026-03-01"},
            "A custom period needs a first and a last day.",
        ),
        (
            {"range": "custom", "start": "2026-03-02", "end": "2026-03-01"},
            "The first day comes after the last day.",
        ),
        (
            {"range": "custom", "start": "2020-01-01", "end": "2026-03-01"},
            "A report covers at most three years.",
        ),
    ],
)
def test_it_refuses_bad_custom_ranges(alice_team, data, error):
    f = form(alice_team, data)
    assert not f.is_valid()
    assert f.non_field_errors() == [error]


def test_it_refuses_an_unknown_preset_and_a_bad_date(alice_team):
    assert "range" in form(alice_team, {"range": "forever"}).errors
    assert (
        "start"
        in form(alice_team, {"range": "custom", "start": "yesterday", "end": "2026-01-01"}).errors
    )


def test_it_offers_only_the_teams_members_services_and_countries(
    alice_team, alice, bob, charlie, account, places, provider
):
    from catalog.models import Country, Provider, Service

    elsewhere = Provider.objects.create(name="Elsewhere", handler_url="http://127.0.0.1:9/x")
    Service.objects.create(provider=elsewhere, code="tg", name="Telegram elsewhere")
    Country.objects.create(provider=elsewhere, external_id=0, name="Elsewhere land")
    f = form(alice_team, {})
    assert [u.username for u in f.fields["member"].queryset] == ["alice", "bob"]
    assert [s.code for s in f.fields["service"].queryset] == ["tg", "wa"]
    assert [c.name for c in f.fields["country"].queryset] == ["Kazakhstan", "Russia"]


def test_the_chart_grain_follows_the_length_of_the_period(alice_team):
    assert auto_grain(date(2026, 3, 1), date(2026, 3, 31)) == "day"
    assert auto_grain(date(2026, 1, 1), date(2026, 5, 31)) == "week"
    assert auto_grain(date(2025, 1, 1), date(2025, 12, 31)) == "month"
    f = form(alice_team, {"range": "month", "by": "week"})
    assert f.is_valid() and f.grain() == "week"

"""Amounts carry their currency and times their zone, on every page that uses the filters."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard import display
from dashboard.models import Currency, Profile


def test_an_amount_reads_with_its_currency_sign_grouped_to_the_cent():
    assert display.money(Decimal("1234.5"), Currency.USD) == "$1,234.50"
    assert display.money("12.3", Currency.RUB) == "\u20bd12.30"
    assert display.money(Decimal("-5"), Currency.USD) == "-$5.00"
    assert display.money(None, Currency.USD) == "\u2013"


def test_a_time_reads_in_the_active_zone_with_its_name():
    moment = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    with timezone.override("Europe/Moscow"):
        assert display.exact(moment) == "1 Dec 2026, 15:00:05 MSK"
    with timezone.override("UTC"):
        assert display.exact(moment) == "1 Dec 2026, 12:00:05 UTC"


def test_recent_times_read_relative_and_old_ones_exact():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert display.relative(now - timedelta(seconds=10), now) == "just now"
    assert display.relative(now - timedelta(minutes=3), now) == "3 min ago"
    assert display.relative(now + timedelta(hours=2), now) == "in 2 h"
    with timezone.override("UTC"):
        assert display.relative(now - timedelta(days=3), now) == "28 Nov 2026, 12:00:00 UTC"


@pytest.mark.django_db
def test_the_persons_own_zone_wins_over_the_teams(alice, alice_team):
    alice_team.time_zone = "Asia/Tokyo"
    display.activate_zone(alice, alice_team)
    assert timezone.get_current_timezone_name() == "Asia/Tokyo"
    Profile.objects.create(user=alice, time_zone="America/New_York")
    alice.refresh_from_db()
    display.activate_zone(alice, alice_team)
    assert timezone.get_current_timezone_name() == "America/New_York"
    timezone.deactivate()

"""A team's clock, money and lock (dashboard/teams.py), which every app's figures rest on."""

import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction

from dashboard.db import retry_when_locked
from dashboard.models import Team
from dashboard.teams import (
    ZERO,
    lock_team,
    money,
    month_bounds,
    percent,
    team_day_start,
    team_today,
    team_zone,
)


def test_a_month_starts_at_midnight_in_the_teams_time_zone(alice_team):
    alice_team.time_zone = "Asia/Tokyo"
    # 2026-03-31 16:00 UTC is already April 1st, 01:00 in Tokyo.
    start, end = month_bounds(alice_team, datetime(2026, 3, 31, 16, 0, tzinfo=UTC))
    assert (start.year, start.month, start.day, start.hour) == (2026, 4, 1, 0)
    assert start.astimezone(UTC) == datetime(2026, 3, 31, 15, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 4, 30, 15, 0, tzinfo=UTC)
    assert team_today(alice_team, datetime(2026, 3, 31, 16, 0, tzinfo=UTC)) == date(2026, 4, 1)


def test_december_ends_in_january(alice_team):
    start, end = month_bounds(alice_team, datetime(2026, 12, 15, tzinfo=UTC))
    assert (start.date(), end.date()) == (date(2026, 12, 1), date(2027, 1, 1))


def test_an_unknown_time_zone_reads_as_utc_instead_of_failing_the_page(alice_team):
    alice_team.time_zone = "Mars/Olympus_Mons"
    assert team_zone(alice_team).key == "UTC"
    assert team_day_start(alice_team, date(2026, 3, 2)) == datetime(2026, 3, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ZERO),
        ("", ZERO),
        (12.345, Decimal("12.35")),  # half up, as a person rounds
        (Decimal("0.005"), Decimal("0.01")),
        (7, Decimal("7.00")),
        (0.1 + 0.2, Decimal("0.30")),  # SQLite's float sums come back to the cent
    ],
)
def test_money_is_to_the_cent(value, expected):
    assert money(value) == expected
    assert str(money(value)) == str(expected)


def test_a_percent_of_nothing_is_no_percent():
    assert percent(1, 3) == Decimal("33.3")
    assert percent(5, 0) is None


@pytest.mark.django_db(transaction=True)
def test_the_team_lock_makes_a_second_writer_wait(alice_team):
    """Two transactions that lock the same team run one after the other, on either database
    (PostgreSQL makes the second wait; the in-memory SQLite test database answers "locked"
    at once, and the second retries as the services do)."""
    order = []
    holding = threading.Event()

    def first():
        with transaction.atomic():
            lock_team(alice_team)
            holding.set()
            time.sleep(0.5)
            order.append("first done")
        connection.close()

    def locked_second() -> None:
        with transaction.atomic():
            lock_team(alice_team)
            order.append("second locked")

    def second():
        holding.wait(5)
        retry_when_locked(locked_second)
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert order == ["first done", "second locked"]
    assert Team.objects.filter(pk=alice_team.pk).exists()

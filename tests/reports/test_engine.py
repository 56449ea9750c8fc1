"""The grouped-query engine: medians, and all of a page's breakdowns in one pass agreeing with
one query each."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from reports.engine import Scope, median
from reports.spending import SPENDING_DIMENSIONS, spending_breakdown, spending_breakdowns
from reports.usage import USAGE_DIMENSIONS, usage_breakdown, usage_breakdowns, usage_totals

from .conftest import march_scope

D = Decimal


def test_the_median_helper_matches_percentile_cont():
    s = lambda *xs: [timedelta(seconds=x) for x in xs]  # noqa: E731
    assert median([]) is None
    assert median(s(7)) == timedelta(seconds=7)
    assert median(s(1, 2, 10)) == timedelta(seconds=2)
    assert median(s(1, 2, 3, 10)) == timedelta(seconds=2.5)


def test_the_breakdowns_of_a_page_agree_with_one_query_each(alice_team, march):
    scope = march_scope(alice_team)
    together = usage_breakdowns(scope, USAGE_DIMENSIONS, total=True)
    for name in USAGE_DIMENSIONS:
        assert together[name] == usage_breakdown(scope, name)
    assert together[""] == [usage_totals(scope)]
    spending = spending_breakdowns(scope, SPENDING_DIMENSIONS)
    for name in SPENDING_DIMENSIONS:
        assert spending[name] == spending_breakdown(scope, name)


def test_postgresql_reads_the_activations_once_for_all_breakdowns(alice_team, march):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("GROUPING SETS are the PostgreSQL path")
    with CaptureQueriesContext(connection) as captured:
        found = usage_breakdowns(
            march_scope(alice_team), USAGE_DIMENSIONS, total=True, grain="week"
        )
    scans = [q["sql"] for q in captured if 'FROM "activations_activation"' in q["sql"]]
    assert len(scans) == 1 and "GROUPING SETS" in scans[0]
    assert found[""][0].median_wait == timedelta(seconds=60)
    assert [row.bought for row in found["period"]] == [0, 5, 2, 0, 0, 0]


def test_an_empty_period_has_a_zero_total_in_one_pass(alice_team, march):
    scope = Scope(team=alice_team, start=date(2025, 1, 1), end=date(2025, 1, 31))
    found = usage_breakdowns(scope, ["service", "country"], total=True)
    assert found["service"] == found["country"] == []
    assert (found[""][0].bought, found[""][0].spent) == (0, D("0.00"))

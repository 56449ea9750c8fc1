"""Usage and spending by provider: where routing sent the team's purchases and how well each
provider delivered (share with a code, median time to it, spend, cost per code), on the page,
in the CSV and in the chart."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.models import Provider, ProviderAccount
from reports.spending import spending_breakdowns
from reports.usage import usage_breakdown

from .conftest import MARCH, State, march_scope

D = Decimal


@pytest.fixture
def beta_account(alice_team) -> ProviderAccount:
    beta = Provider.objects.create(name="Beta SMS", handler_url="http://127.0.0.1:9/h")
    return ProviderAccount.objects.create(
        team=alice_team, provider=beta, key_ciphertext="not-a-key", key_last4="beta"
    )


@pytest.fixture
def at_beta(march, make_activation, alice, bob, beta_account):
    """Three more March purchases, routed to Beta: two got a code (20 s and 40 s), one expired."""
    return [
        make_activation(
            "2026-03-04 10:00", alice, "tg", "mts", "4.00", wait=20, account=beta_account
        ),
        make_activation(
            "2026-03-04 11:00", bob, "tg", "mts", "4.50", wait=40, account=beta_account
        ),
        make_activation(
            "2026-03-04 12:00", bob, "wa", "mts", "6.00", State.EXPIRED, account=beta_account
        ),
    ]


def test_it_breaks_usage_down_by_provider(alice_team, at_beta):
    rows = {
        r.label: (r.bought, r.with_code, r.success_rate, r.median_wait, r.spent, r.cost_per_success)
        for r in usage_breakdown(march_scope(alice_team), "provider")
    }
    assert rows == {
        # The seven March activations of conftest.py: 40.60 spent for 5 codes.
        "Reports test": (7, 5, D("71.4"), timedelta(seconds=60), D("40.60"), D("8.12")),
        # The expired one cost nothing: 8.50 for 2 codes.
        "Beta SMS": (3, 2, D("66.7"), timedelta(seconds=30), D("8.50"), D("4.25")),
    }


def test_it_breaks_spending_down_by_provider(alice_team, at_beta):
    rows = spending_breakdowns(march_scope(alice_team), ["provider"])["provider"]
    assert [(r.label, r.spent, r.share) for r in rows] == [
        ("Reports test", D("40.60"), D("82.7")),
        ("Beta SMS", D("8.50"), D("17.3")),
    ]


def test_the_usage_page_shows_the_providers_with_a_chart(client, alice, alice_team, at_beta):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/reports/usage/?{MARCH}")
    tables = {t.name: t for t in response.context["breakdowns"]}
    assert [r.label for r in tables["provider"].rows] == ["Reports test", "Beta SMS"]
    html = response.content.decode()
    assert "By provider" in html
    assert f"/t/{alice_team.slug}/reports/usage/provider.csv?" in html
    chart = response.context["provider_chart"]
    assert chart["labels"] == ["Reports test", "Beta SMS"]
    assert chart["series"][0]["values"] == ["71.4", "66.7"]
    assert 'data-chart="provider-chart"' in html


def test_the_spending_page_charts_the_spend_per_provider(client, alice, alice_team, at_beta):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/reports/?{MARCH}")
    chart = response.context["provider_chart"]
    assert (chart["unit"], chart["labels"]) == ("money", ["Reports test", "Beta SMS"])
    assert chart["series"][0]["values"] == ["40.60", "8.50"]


def test_the_usage_by_provider_csv(client, alice, alice_team, at_beta):
    client.force_login(alice)
    url = f"/t/{alice_team.slug}/reports/usage/provider.csv?{MARCH}&provider_sort=cost_per_success"
    response = client.get(url)
    assert response.status_code == 200
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        [
            "Provider",
            "Bought",
            "Codes received",
            "Cancelled",
            "Expired",
            "Success rate (%)",
            "Median seconds to first code",
            "Spent (USD)",
            "Cost per success (USD)",
        ],
        ["Beta SMS", "3", "2", "0", "1", "66.7", "30.0", "8.50", "4.25"],
        ["Reports test", "7", "5", "1", "1", "71.4", "60.0", "40.60", "8.12"],
    ]


def test_another_teams_providers_are_not_counted(client, charlie, alice_team, at_beta):
    client.force_login(charlie)
    response = client.get(f"/t/charlies-team/reports/usage/?{MARCH}")
    tables = {t.name: t for t in response.context["breakdowns"]}
    # Charlie's one March purchase, at the provider both teams use; nothing of Beta's.
    assert [(r.label, r.bought) for r in tables["provider"].rows] == [("Reports test", 1)]

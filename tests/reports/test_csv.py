"""Every CSV export, cell by cell, for the known March activations."""

import csv
import io

from catalog.models import Offer, PriceChange
from dashboard.models import Membership

from .conftest import MARCH, at


def rows(client, team, report: str, table: str, query: str = MARCH) -> list[list[str]]:
    response = client.get(f"/t/{team.slug}/reports/{report}/{table}.csv?{query}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_spending_by_period_csv(client, alice, alice_team, march):
    client.force_login(alice)
    table = rows(client, alice_team, "spending", "by_period", MARCH + "&by=week")
    assert table == [
        ["Period starting", "Bought", "Charged", "Spent (USD)"],
        ["2026-02-23", "0", "0", "0.00"],
        ["2026-03-02", "5", "3", "27.25"],
        ["2026-03-09", "2", "2", "13.35"],
        ["2026-03-16", "0", "0", "0.00"],
        ["2026-03-23", "0", "0", "0.00"],
        ["2026-03-30", "0", "0", "0.00"],
    ]


def test_the_spending_breakdown_csvs(client, alice, alice_team, march):
    client.force_login(alice)
    header = ["Charged (not cancelled or expired)", "Spent (USD)", "Share (%)"]
    assert rows(client, alice_team, "spending", "member") == [
        ["Member", "Bought", *header],
        ["alice", "4", "3", "27.25", "67.1"],
        ["bob", "3", "2", "13.35", "32.9"],
    ]
    assert rows(client, alice_team, "spending", "service") == [
        ["Service", "Bought", *header],
        ["Telegram (tg)", "5", "4", "33.35", "82.1"],
        ["WhatsApp (wa)", "2", "1", "7.25", "17.9"],
    ]
    assert rows(client, alice_team, "spending", "country") == [
        ["Country", "Bought", *header],
        ["Russia", "5", "4", "37.25", "91.7"],
        ["Kazakhstan", "2", "1", "3.35", "8.3"],
    ]
    assert rows(client, alice_team, "spending", "operator", MARCH + "&operator_sort=label") == [
        ["Operator", "Bought", *header],
        ["beeline (Russia)", "2", "1", "7.25", "17.9"],
        ["mts (Russia)", "3", "3", "30.00", "73.9"],
        ["tele2 (Kazakhstan)", "2", "1", "3.35", "8.3"],
    ]


def test_the_csv_follows_the_filters(client, alice, alice_team, march, bob, places):
    client.force_login(alice)
    query = f"{MARCH}&member={bob.pk}&country={places['ru'].pk}"
    assert rows(client, alice_team, "spending", "service", query) == [
        ["Service", "Bought", "Charged (not cancelled or expired)", "Spent (USD)", "Share (%)"],
        ["Telegram (tg)", "2", "1", "10.00", "100.0"],
    ]


def test_the_budget_csv(client, alice, alice_team, march, frozen_now):
    frozen_now("2026-03-20 08:00")
    alice_team.monthly_budget = "50.00"
    alice_team.save()
    Membership.objects.filter(user=alice).update(monthly_limit="30.00")
    client.force_login(alice)
    assert rows(client, alice_team, "spending", "budget", "") == [
        [
            "Name",
            "Role",
            "Spent this month (USD)",
            "Monthly limit (USD)",
            "Used (%)",
            "Left (USD)",
        ],
        ["alice", "Owner", "27.25", "30.00", "90.8", "2.75"],
        ["bob", "Member", "13.35", "", "", ""],
    ]


def test_the_usage_csvs(client, alice, alice_team, march):
    client.force_login(alice)
    header = [
        "Bought",
        "Codes received",
        "Cancelled",
        "Expired",
        "Success rate (%)",
        "Median seconds to first code",
        "Spent (USD)",
        "Cost per success (USD)",
    ]
    assert rows(client, alice_team, "usage", "service") == [
        ["Service", *header],
        ["Telegram (tg)", "5", "4", "1", "0", "80.0", "52.5", "33.35", "8.34"],
        ["WhatsApp (wa)", "2", "1", "0", "1", "50.0", "90.0", "7.25", "7.25"],
    ]
    assert rows(client, alice_team, "usage", "country") == [
        ["Country", *header],
        ["Russia", "5", "4", "1", "0", "80.0", "52.5", "37.25", "9.31"],
        ["Kazakhstan", "2", "1", "0", "1", "50.0", "120.0", "3.35", "3.35"],
    ]
    assert rows(
        client, alice_team, "usage", "operator", MARCH + "&operator_sort=-success_rate"
    ) == [
        ["Operator", *header],
        ["mts (Russia)", "3", "3", "0", "0", "100.0", "45.0", "30.00", "10.00"],
        ["beeline (Russia)", "2", "1", "1", "0", "50.0", "90.0", "7.25", "7.25"],
        ["tele2 (Kazakhstan)", "2", "1", "0", "1", "50.0", "120.0", "3.35", "3.35"],
    ]
    by_pair = rows(
        client, alice_team, "usage", "service_operator", MARCH + "&service_operator_sort=label"
    )
    assert by_pair[0] == ["Service through operator", *header]
    assert by_pair[1] == [
        "Telegram (tg) through beeline (Russia)",
        "1",
        "0",
        "1",
        "0",
        "0.0",
        "",
        "0.00",
        "",
    ]
    assert len(by_pair) == 6


def test_the_usage_by_period_csv(client, alice, alice_team, march):
    client.force_login(alice)
    table = rows(client, alice_team, "usage", "by_period", MARCH + "&by=month")
    assert table == [
        ["Period starting", "Bought", "Codes received", "Success rate (%)"],
        ["2026-03-01", "7", "5", "71.4"],
    ]


def test_the_price_trend_csv(client, alice, alice_team, march, places, provider):
    offer = Offer.objects.create(
        provider=provider,
        country=places["ru"],
        operator=places["mts"],
        service=places["tg"],
        price="10.00",
    )
    other = Offer.objects.create(
        provider=provider,
        country=places["kz"],
        operator=places["tele2"],
        service=places["tg"],
        price="3.00",
    )
    whatsapp = Offer.objects.create(
        provider=provider,
        country=places["ru"],
        operator=places["mts"],
        service=places["wa"],
        price="7.00",
    )
    for o, price, when in [
        (offer, "10.00", "2026-03-05 08:00"),
        (offer, "11.00", "2026-03-05 20:00"),
        (other, "3.10", "2026-03-05 09:00"),
        (offer, "9.00", "2026-03-06 10:00"),
        (whatsapp, "1.00", "2026-03-06 10:00"),  # another service
        (other, "0.00", "2026-03-06 11:00"),  # sold out: the provider lists no price
        (offer, "50.00", "2026-04-01 00:00"),  # after the range
    ]:
        PriceChange.objects.create(offer=o, price=price, recorded_at=at(when))
    client.force_login(alice)
    # Telegram is the service bought most, so it is the one shown without a service filter.
    assert rows(client, alice_team, "usage", "price_trend") == [
        ["Day", "Price changes", "Lowest (USD)", "Average (USD)", "Highest (USD)"],
        ["2026-03-05", "3", "3.10", "8.03", "11.00"],
        ["2026-03-06", "1", "9.00", "9.00", "9.00"],
    ]
    query = f"{MARCH}&country={places['ru'].pk}"
    assert rows(client, alice_team, "usage", "price_trend", query)[1] == [
        "2026-03-05",
        "2",
        "10.00",
        "10.50",
        "11.00",
    ]
    query = f"{MARCH}&service={places['wa'].pk}"
    assert rows(client, alice_team, "usage", "price_trend", query) == [
        ["Day", "Price changes", "Lowest (USD)", "Average (USD)", "Highest (USD)"],
        ["2026-03-06", "1", "1.00", "1.00", "1.00"],
    ]
    page = client.get(f"/t/{alice_team.slug}/reports/usage/?{MARCH}")
    assert page.context["trend_chart"]["series"][1]["values"] == ["8.03", "9.00"]


def test_a_name_that_looks_like_a_formula_is_quoted(client, alice, alice_team, march, places):
    places["tg"].name = "=HYPERLINK(1)"
    places["tg"].save()
    client.force_login(alice)
    table = rows(client, alice_team, "spending", "service")
    assert table[1][0] == "'=HYPERLINK(1) (tg)"


def test_invalid_filters_are_a_bad_request(client, alice, alice_team, charlie):
    client.force_login(alice)
    url = f"/t/{alice_team.slug}/reports/spending/member.csv?range=custom&start=2026-03-05"
    response = client.get(url)
    assert response.status_code == 400
    assert b"A custom period needs a first and a last day." in response.content


def test_an_unknown_table_is_404(client, alice, alice_team):
    client.force_login(alice)
    assert client.get(f"/t/{alice_team.slug}/reports/spending/price_trend.csv").status_code == 404
    assert client.get(f"/t/{alice_team.slug}/reports/usage/budget.csv").status_code == 404
    assert client.get(f"/t/{alice_team.slug}/reports/audit/member.csv").status_code == 404


def test_the_file_name_says_what_and_when(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/reports/usage/service_operator.csv?{MARCH}")
    assert response["Content-Disposition"] == (
        'attachment; filename="alices-team-usage-service-operator-2026-03-01-2026-03-31.csv"'
    )


def test_without_a_service_filter_the_trend_is_of_the_most_bought_service_with_history(
    client, alice, alice_team, march, places, provider
):
    # WhatsApp is bought less than Telegram, but only WhatsApp's price moved in March.
    offer = Offer.objects.create(
        provider=provider,
        country=places["ru"],
        operator=places["mts"],
        service=places["wa"],
        price="7.00",
    )
    PriceChange.objects.create(offer=offer, price="7.00", recorded_at=at("2026-03-04 10:00"))
    client.force_login(alice)
    assert rows(client, alice_team, "usage", "price_trend")[1:] == [
        ["2026-03-04", "1", "7.00", "7.00", "7.00"]
    ]
    page = client.get(f"/t/{alice_team.slug}/reports/usage/?{MARCH}")
    assert page.context["trend_service"] == places["wa"]

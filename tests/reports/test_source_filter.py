"""Both reports filtered by source: the browser (no token) or one personal API token; the
page's figures, its chart data and the CSV exports follow the filter; the weekly email does
not (it covers the whole team)."""

import csv
import io

import pytest

from activations.models import Activation
from dashboard import tokens
from dashboard.models import Membership

from .conftest import MARCH, march_scope


@pytest.fixture
def sourced(march, alice, bob, alice_team):
    """Bob's bot bought March's #2 and #6 (13.35 spent), Alice's script #4 (7.25); the rest
    (20.00 spent) in the browser."""
    bobs = Membership.objects.select_related("team", "user").get(user=bob)
    alices = Membership.objects.select_related("team", "user").get(user=alice)
    bot = tokens.create_token(acting=bobs, name="bobs bot").token
    script = tokens.create_token(acting=alices, name="alices script").token
    Activation.objects.filter(pk__in=[march[1].pk, march[5].pk]).update(api_token=bot)
    Activation.objects.filter(pk=march[3].pk).update(api_token=script)
    return bot, script


def figure(html: str, name: str) -> str:
    start = html.index(f'data-figure="{name}">') + len(f'data-figure="{name}">')
    return html[start : html.index("</strong>", start)]


def page(client, team, report: str, query: str):
    path = "" if report == "spending" else "usage/"
    response = client.get(f"/t/{team.slug}/reports/{path}?{MARCH}&{query}")
    assert response.status_code == 200
    return response


def csv_rows(client, team, report: str, table: str, query: str) -> list[list[str]]:
    response = client.get(f"/t/{team.slug}/reports/{report}/{table}.csv?{MARCH}&{query}")
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_spending_page_and_its_chart_follow_the_source(client, alice, alice_team, sourced):
    bot, script = sourced
    client.force_login(alice)
    spent = {
        source: figure(
            page(client, alice_team, "spending", f"source={source}").content.decode(), "spent"
        )
        for source in ("", "browser", bot.pk, script.pk)
    }
    assert spent == {"": "$40.60", "browser": "$20.00", bot.pk: "$13.35", script.pk: "$7.25"}
    chart = page(client, alice_team, "spending", f"source={bot.pk}&by=week").context["spend_chart"]
    assert [v for v in chart["series"][0]["values"] if v != "0.00"] == ["10.00", "3.35"]


def test_the_usage_page_follows_the_source(client, alice, alice_team, sourced):
    bot, _ = sourced
    client.force_login(alice)
    html = page(client, alice_team, "usage", f"source={bot.pk}").content.decode()
    assert figure(html, "bought") == "2"
    html = page(client, alice_team, "usage", "source=browser").content.decode()
    assert figure(html, "bought") == "4"  # #1, #3, #5 and #7


def test_the_csvs_follow_the_source(client, alice, alice_team, sourced):
    bot, _ = sourced
    client.force_login(alice)
    assert csv_rows(client, alice_team, "spending", "member", f"source={bot.pk}") == [
        ["Member", "Bought", "Charged (not cancelled or expired)", "Spent (USD)", "Share (%)"],
        ["bob", "2", "2", "13.35", "100.0"],
    ]
    by_service = csv_rows(client, alice_team, "usage", "service", "source=browser")
    assert [(row[0], row[1]) for row in by_service[1:]] == [
        ("Telegram (tg)", "3"),
        ("WhatsApp (wa)", "1"),
    ]


def test_another_teams_token_is_refused(client, alice, charlie, alice_team, sourced):
    charlies = Membership.objects.select_related("team", "user").get(user=charlie)
    theirs = tokens.create_token(acting=charlies, name="charlies bot").token
    client.force_login(alice)
    response = page(client, alice_team, "spending", f"source={theirs.pk}")
    assert response.context["form"].errors["source"]
    assert figure(response.content.decode(), "spent") != "55.00"
    csv_response = client.get(
        f"/t/{alice_team.slug}/reports/spending/member.csv?{MARCH}&source={theirs.pk}"
    )
    assert csv_response.status_code == 400


def test_the_filter_offers_the_browser_and_each_token(client, alice, alice_team, sourced):
    bot, script = sourced
    client.force_login(alice)
    html = page(client, alice_team, "spending", "").content.decode()
    assert '<option value="browser">Browser</option>' in html
    assert bot.label in html and script.label in html


def test_a_scope_without_a_source_counts_every_purchase(alice_team, sourced):
    """What the weekly email builds (no source): every purchase, whatever its source."""
    assert march_scope(alice_team).activations().count() == 7
    assert march_scope(alice_team, source="browser").activations().count() == 4
    assert march_scope(alice_team, source=str(sourced[0].pk)).activations().count() == 2

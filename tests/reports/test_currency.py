"""The reports in the team's currency: figures and cells with its sign, CSV titles naming it
(the numbers stay plain for spreadsheets), charts told which currency to draw, the weekly
email; and a chart over time of a single day drawn as bars."""

import csv
import io

from django.core import mail

from reports import emails

from .conftest import MARCH


def rouble_team(team):
    team.currency = "RUB"
    team.save()
    return team


def test_a_rouble_teams_spending_page_csv_and_charts(client, alice, alice_team, march):
    rouble_team(alice_team)
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/reports/?{MARCH}")
    page = response.content.decode()
    assert 'data-figure="spent">\u20bd40.60</strong>' in page
    assert "amounts in Russian ruble" in page
    assert response.context["spend_chart"]["currency"] == "RUB"
    assert response.context["spend_chart"]["series"][0]["values"][-1] == "0.00"  # plain
    body = client.get(f"/t/{alice_team.slug}/reports/spending/member.csv?{MARCH}").content
    header, *rows = csv.reader(io.StringIO(body.decode()))
    assert header == [
        "Member",
        "Bought",
        "Charged (not cancelled or expired)",
        "Spent (RUB)",
        "Share (%)",
    ]
    assert rows[0][3] == "27.25"  # a number a spreadsheet reads


def test_the_weekly_email_states_the_teams_currency(alice_team, alice, march, frozen_now):
    rouble_team(alice_team)
    frozen_now("2026-03-16 06:00")
    assert emails.send_weekly_report(alice_team) == 1
    message = mail.outbox[0]
    assert "spent \u20bd13.35 in the week" in message.subject
    assert "Spent: \u20bd13.35 on 2 activations" in message.body


def test_a_single_day_is_charted_as_bars_not_lone_points(client, alice, alice_team, march):
    client.force_login(alice)
    one_day = "range=custom&start=2026-03-02&end=2026-03-02"
    response = client.get(f"/t/{alice_team.slug}/reports/usage/?{one_day}")
    chart = response.context["activity_chart"]
    assert (chart["kind"], len(chart["labels"])) == ("bar", 1)
    assert "Bar chart of activations bought" in response.content.decode()
    response = client.get(f"/t/{alice_team.slug}/reports/usage/?{MARCH}")
    assert response.context["activity_chart"]["kind"] == "line"

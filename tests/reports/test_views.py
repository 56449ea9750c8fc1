"""The spending and usage pages: access rules, figures on the page, filters and sorting."""

import pytest
from django.contrib.auth.models import User
from django.utils.html import escape

from dashboard.models import Membership, Role
from reports.formats import NOTHING

from .conftest import MARCH

PAGES = ["", "usage/", "spending/member.csv", "usage/service.csv"]


def url(team, page: str = "", query: str = "") -> str:
    return f"/t/{team.slug}/reports/{page}" + (f"?{query}" if query else "")


def figure(response, name: str) -> str:
    """The text of <strong data-figure="name">."""
    html = response.content.decode()
    start = html.index(f'data-figure="{name}">') + len(f'data-figure="{name}">')
    return html[start : html.index("</strong>", start)]


@pytest.mark.parametrize("page", PAGES)
def test_it_requires_sign_in(client, alice_team, page):
    response = client.get(url(alice_team, page))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


@pytest.mark.parametrize("page", PAGES)
def test_it_checks_membership(client, charlie, alice_team, page):
    client.force_login(charlie)
    assert client.get(url(alice_team, page)).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_owners_managers_and_viewers_see_the_reports(client, alice, manager, victor, page):
    for user in (alice, manager, victor):
        client.force_login(user)
        assert client.get(url(alice.memberships.get().team, page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_members_see_the_reports_only_when_the_team_allows_it(client, alice_team, bob, page):
    client.force_login(bob)
    assert client.get(url(alice_team, page)).status_code == 403
    alice_team.members_see_reports = True
    alice_team.save()
    assert client.get(url(alice_team, page)).status_code == 200


def test_the_nav_links_to_the_reports_for_those_who_may_see_them(client, alice, bob, alice_team):
    client.force_login(alice)
    assert f'href="/t/{alice_team.slug}/reports/"' in client.get(url(alice_team)).content.decode()
    client.force_login(bob)
    home = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert f'href="/t/{alice_team.slug}/reports/"' not in home
    alice_team.members_see_reports = True
    alice_team.save()
    home = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert f'href="/t/{alice_team.slug}/reports/"' in home


@pytest.mark.parametrize("members_see_reports", [False, True])
@pytest.mark.parametrize("role", list(Role))
def test_the_nav_link_and_the_pages_agree_on_who_sees_the_reports(
    client, alice_team, role, members_see_reports
):
    alice_team.members_see_reports = members_see_reports
    alice_team.save()
    user = User.objects.create_user("someone", "someone@example.org", "password")
    Membership.objects.create(team=alice_team, user=user, role=role)
    client.force_login(user)
    home = client.get(f"/t/{alice_team.slug}/")
    assert home.status_code == 200
    linked = f'href="/t/{alice_team.slug}/reports/"' in home.content.decode()
    statuses = {client.get(url(alice_team, page)).status_code for page in PAGES}
    expected = role != Role.MEMBER or members_see_reports
    assert linked is expected
    assert statuses == ({200} if expected else {403})


def test_it_shows_the_spending_figures(client, alice, alice_team, march):
    client.force_login(alice)
    response = client.get(url(alice_team, "", MARCH))
    assert response.status_code == 200
    assert (figure(response, "spent"), figure(response, "charged"), figure(response, "bought")) == (
        "$40.60",
        "5",
        "7",
    )
    html = response.content.decode()
    assert "Telegram (tg)" in html and "33.35" in html and "82.1\u00a0%" in html
    assert "tele2 (Kazakhstan)" in html


def test_it_shows_the_usage_figures(client, alice, alice_team, march):
    client.force_login(alice)
    response = client.get(url(alice_team, "usage/", MARCH))
    assert response.status_code == 200
    figures = {
        name: figure(response, name)
        for name in [
            "bought",
            "with_code",
            "cancelled",
            "expired",
            "success_rate",
            "median_wait",
            "cost_per_success",
        ]
    }
    assert figures == {
        "bought": "7",
        "with_code": "5",
        "cancelled": "1",
        "expired": "1",
        "success_rate": "71.4&nbsp;%",
        "median_wait": "1 min 00 s",
        "cost_per_success": "$8.12",
    }
    html = response.content.decode()
    assert escape("Telegram (tg) through mts (Russia)") in html
    assert "53 s" in html  # Telegram's median, 52.5 s


def test_it_carries_chart_data_as_json_beside_the_tables(client, alice, alice_team, march):
    client.force_login(alice)
    response = client.get(url(alice_team, "", MARCH))
    chart = response.context["spend_chart"]
    assert chart["kind"] == "bar" and chart["unit"] == "money"
    assert len(chart["labels"]) == 31
    assert chart["series"][0]["values"][1] == "20.00"
    html = response.content.decode()
    assert '<script id="spend-chart" type="application/json">' in html
    assert 'data-chart="spend-chart"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/reports.js" in html
    # No inline script bodies other than JSON data (CSP).
    assert "<script>" not in html


def test_it_filters_by_member_service_and_country(client, alice, alice_team, march, bob, places):
    client.force_login(alice)
    spent = lambda q: figure(client.get(url(alice_team, "", f"{MARCH}&{q}")), "spent")  # noqa: E731
    assert spent(f"member={bob.pk}") == "$13.35"
    assert spent(f"service={places['wa'].pk}") == "$7.25"
    assert spent(f"country={places['kz'].pk}") == "$3.35"


def test_filters_from_elsewhere_are_refused(client, alice, alice_team, march, charlie):
    client.force_login(alice)
    response = client.get(url(alice_team, "", f"{MARCH}&member={charlie.pk}"))
    assert response.status_code == 200
    assert response.context["form"].errors["member"]
    # The page falls back to this month, unfiltered, and says so.
    assert response.context["form"].shown.cleaned_data["range"] == "month"
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Showing this month, unfiltered, until the filters are fixed." in html


def test_it_refuses_a_backwards_range(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(url(alice_team, "", "range=custom&start=2026-03-31&end=2026-03-01"))
    assert "The first day comes after the last day." in response.content.decode()


def test_days_without_a_preset_mean_a_custom_range(client, alice, alice_team, march):
    client.force_login(alice)
    response = client.get(url(alice_team, "", "start=2026-03-02&end=2026-03-02"))
    assert figure(response, "spent") == "$20.00"


def test_a_preset_shows_its_days_in_the_date_fields(client, alice, alice_team, frozen_now):
    frozen_now("2026-03-15 12:00")
    client.force_login(alice)
    html = client.get(url(alice_team, "", "range=7d")).content.decode()
    assert 'name="start" value="2026-03-09"' in html
    assert 'name="end" value="2026-03-15"' in html


def test_column_titles_sort_and_keep_the_filters(client, alice, alice_team, march):
    client.force_login(alice)
    response = client.get(url(alice_team, "", f"{MARCH}&member_sort=label"))
    member = next(t for t in response.context["breakdowns"] if t.name == "member")
    assert [row.label for row in member.rows] == ["alice", "bob"]
    label = member.headers[0]
    assert label.sort == "ascending"
    assert "member_sort=-label" in label.href and "start=2026-03-01" in label.href
    assert label.href.endswith("#table-member")
    response = client.get(url(alice_team, "", f"{MARCH}&member_sort=-label"))
    member = next(t for t in response.context["breakdowns"] if t.name == "member")
    assert [row.label for row in member.rows] == ["bob", "alice"]


def test_every_table_links_its_csv_with_the_same_filters(client, alice, alice_team, march):
    client.force_login(alice)
    html = client.get(url(alice_team, "usage/", MARCH)).content.decode()
    for table in ["by_period", "service", "country", "operator", "service_operator", "price_trend"]:
        assert f'href="/t/{alice_team.slug}/reports/usage/{table}.csv?{escape(MARCH)}"' in html
    html = client.get(url(alice_team, "", MARCH)).content.decode()
    for table in ["by_period", "member", "service", "country", "operator", "budget"]:
        assert f'href="/t/{alice_team.slug}/reports/spending/{table}.csv?{escape(MARCH)}"' in html


def test_the_budget_table_shows_this_months_use_beside_the_limits(
    client, alice, alice_team, bob, march, frozen_now
):
    frozen_now("2026-03-15 12:00")
    alice_team.monthly_budget = "100.00"
    alice_team.save()
    Membership.objects.filter(user=alice).update(monthly_limit="30.00")
    client.force_login(alice)
    response = client.get(url(alice_team, "", "range=last_month"))
    budget = response.context["budget"]
    assert budget.title == "Budget use in March 2026"
    cells = [[cell.text for cell in row] for row in budget.body]
    assert cells == [
        ["alice", "Owner", "$27.25", "$30.00", "90.8\u00a0%", "$2.75"],
        ["bob", "Member", "$13.35", "No limit", NOTHING, NOTHING],
    ]
    assert budget.footer == ["Whole team", "", "$40.60", "$100.00", "40.6\u00a0%", "$59.40"]


def test_a_member_over_the_limit_shows_a_negative_balance(
    client, alice, alice_team, march, frozen_now
):
    frozen_now("2026-03-15 12:00")
    Membership.objects.filter(user=alice).update(monthly_limit="20.00", role=Role.OWNER)
    client.force_login(alice)
    budget = client.get(url(alice_team)).context["budget"]
    assert [cell.text for cell in budget.body[0]][2:] == [
        "$27.25",
        "$20.00",
        "136.3\u00a0%",
        "-$7.25",
    ]


def test_a_long_table_shows_its_first_rows_and_the_csv_has_them_all(
    client, alice, alice_team, march, monkeypatch
):
    monkeypatch.setattr("reports.tables.PAGE_ROWS", 2)
    client.force_login(alice)
    html = client.get(url(alice_team, "", f"{MARCH}&operator_sort=label")).content.decode()
    table = html[
        html.index('data-table="operator"') : html.index(
            "</table>", html.index('data-table="operator"')
        )
    ]
    assert "beeline (Russia)" in table and "mts (Russia)" in table
    assert "tele2 (Kazakhstan)" not in table
    assert "The first 2 of 3 rows in this order; the CSV has them all." in html
    csv_text = client.get(url(alice_team, "spending/operator.csv", MARCH)).content.decode()
    assert "tele2 (Kazakhstan)" in csv_text


def test_names_are_escaped_in_the_tables(client, alice, alice_team, march, places):
    places["tg"].name = "<b>Telegram</b>"
    places["tg"].save()
    client.force_login(alice)
    html = client.get(url(alice_team, "", MARCH)).content.decode()
    assert "<b>Telegram</b>" not in html
    assert "&lt;b&gt;Telegram&lt;/b&gt; (tg)" in html

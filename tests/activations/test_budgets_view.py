from decimal import Decimal

import pytest

from dashboard.models import AuditEvent, Membership


def url(team):
    return f"/t/{team.slug}/budgets/"


def test_it_shows_budgets_and_this_months_spending(client, alice, bob, alice_team, make_activation):
    make_activation(user=bob, price=Decimal("4.50"))
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    assert b"4.50" in response.content
    assert b"bob" in response.content


def test_it_saves_budgets_and_audits_each_change(client, alice, bob, alice_team):
    client.force_login(alice)
    bobs = Membership.objects.get(user=bob)
    alices = Membership.objects.get(user=alice)
    response = client.post(
        url(alice_team),
        {"monthly_budget": "100", f"limit_{bobs.pk}": "20.50", f"limit_{alices.pk}": ""},
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302
    alice_team.refresh_from_db()
    bobs.refresh_from_db()
    assert alice_team.monthly_budget == Decimal("100")
    assert bobs.monthly_limit == Decimal("20.50")
    events = AuditEvent.objects.filter(action="budget_changed").order_by("pk")
    assert [(e.params["target"], e.params["before"], e.params["after"]) for e in events] == [
        ("team", None, "100"),
        ("bob", None, "20.50"),
    ]
    assert all(e.user == alice and e.ip == "10.9.8.7" for e in events)


def test_an_empty_budget_means_unlimited(client, alice, alice_team):
    alice_team.monthly_budget = Decimal("5")
    alice_team.save()
    client.force_login(alice)
    client.post(url(alice_team), {"monthly_budget": ""})
    alice_team.refresh_from_db()
    assert alice_team.monthly_budget is None


def test_a_negative_budget_is_a_form_error(client, alice, alice_team):
    client.force_login(alice)
    response = client.post(url(alice_team), {"monthly_budget": "-1"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_members_and_viewers_cannot_change_budgets(client, request, alice_team, person):
    client.force_login(request.getfixturevalue(person))
    assert client.get(url(alice_team)).status_code == 403
    assert client.post(url(alice_team), {"monthly_budget": "1"}).status_code == 403
    alice_team.refresh_from_db()
    assert alice_team.monthly_budget is None


def test_it_checks_membership(client, charlie, alice_team):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404

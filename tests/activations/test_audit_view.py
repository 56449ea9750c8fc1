from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.audit import record_action, record_call
from dashboard.models import AuditEvent


def url(team, query=""):
    return f"/t/{team.slug}/audit/{query}"


@pytest.fixture
def trail(alice, bob, alice_team, alice_account):
    record_action(team=alice_team, user=alice, action="key_added", obj=alice_account, ip="1.2.3.4")
    record_action(team=alice_team, user=bob, action="bought")
    record_call(
        team=alice_team,
        account=alice_account,
        action="getNumber",
        params={"service": "tg"},
        answer="NO_NUMBERS",
        http_status=200,
        latency_ms=42,
        outcome="NO_NUMBERS",
    )
    old = record_action(team=alice_team, user=bob, action="cancelled")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=5))


def listed(client, team, query=""):
    return [e.action for e in client.get(url(team, query)).context["page"]]


def test_it_shows_the_teams_trail_newest_first(client, alice, alice_team, trail):
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    assert listed(client, alice_team) == ["getNumber", "bought", "key_added", "cancelled"]
    content = response.content.decode()
    assert "Key added" in content
    assert "1.2.3.4" in content
    assert "NO_NUMBERS" in content and "42 ms" in content


def test_it_filters_by_member_action_and_date(client, alice, bob, alice_team, trail):
    client.force_login(alice)
    assert listed(client, alice_team, f"?member={bob.pk}") == ["bought", "cancelled"]
    assert listed(client, alice_team, "?action=bought") == ["bought"]
    today = timezone.now().date()
    assert "cancelled" not in listed(client, alice_team, f"?date_from={today}")
    assert listed(client, alice_team, f"?date_to={today - timedelta(days=3)}") == ["cancelled"]


def test_it_paginates(client, alice, alice_team):
    for n in range(55):
        record_action(team=alice_team, user=alice, action="bought", n=n)
    client.force_login(alice)
    assert len(client.get(url(alice_team)).context["page"]) == 50
    assert len(client.get(url(alice_team, "?page=2")).context["page"]) == 5


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_members_and_viewers_cannot_see_it(client, request, alice_team, person):
    client.force_login(request.getfixturevalue(person))
    assert client.get(url(alice_team)).status_code == 403


def test_charlie_sees_none_of_alices_entries(client, charlie, alice_team, trail):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404
    response = client.get("/t/charlies-team/audit/")
    assert response.status_code == 200
    assert list(response.context["page"]) == []
    # Nor can he filter on Alice's people.
    assert b"alice" not in response.content


def test_the_admin_is_read_only(admin_client, trail):
    event = AuditEvent.objects.first()
    assert admin_client.get("/admin/dashboard/auditevent/").status_code == 200
    assert admin_client.get("/admin/dashboard/auditevent/add/").status_code == 403
    response = admin_client.post(f"/admin/dashboard/auditevent/{event.pk}/change/", {})
    assert response.status_code == 403
    assert (
        admin_client.post(
            f"/admin/dashboard/auditevent/{event.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()

"""The team settings page: members, roles, invitations, team details, leaving."""

import pytest
from django.contrib.auth.models import User
from django.core import mail

from dashboard.models import AuditEvent, Invitation, Membership, Role, Team

SETTINGS = "/t/alices-team/settings/"
CONFIRMED = {"confirmed": "1"}  # as after the confirmation (tests/dashboard/test_confirm.py)


@pytest.fixture
def signed_in_alice(client, alice):
    client.force_login(alice)
    return client


def membership(user) -> Membership:
    return Membership.objects.get(user=user)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_it_lists_members_with_their_roles(signed_in_alice, bob, victor):
    response = signed_in_alice.get(SETTINGS)
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("alice", "bob", "victor"):
        assert name in page
    assert "Invite someone" in page
    assert "Team details" in page


def test_it_invites_by_email_and_shows_the_link(signed_in_alice):
    response = signed_in_alice.post(
        f"{SETTINGS}invite/", {"email": "Dana@Example.org", "role": "manager"}, follow=True
    )
    invitation = Invitation.objects.get()
    assert invitation.email == "dana@example.org"
    assert invitation.role == Role.MANAGER
    assert invitation.invited_by.username == "alice"
    link = f"http://testserver/invite/{invitation.token}/"
    assert link in response.content.decode()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.org"]
    assert link in mail.outbox[0].body
    event = AuditEvent.objects.get(action="member_invited")
    assert event.user.username == "alice"
    assert event.params == {"email": "dana@example.org", "role": "manager"}
    assert event.ip == "127.0.0.1"


def test_it_still_shows_the_link_when_the_email_cannot_be_sent(signed_in_alice, settings):
    settings.MAILERS = {"default": {"BACKEND": "tests.dashboard.failing_email.Backend"}}
    response = signed_in_alice.post(
        f"{SETTINGS}invite/", {"email": "dana@example.org", "role": "member"}, follow=True
    )
    invitation = Invitation.objects.get()
    assert f"/invite/{invitation.token}/" in response.content.decode()
    assert any("could not be sent" in m for m in messages_of(response))


def test_it_rejects_an_invalid_invitation_form(signed_in_alice):
    response = signed_in_alice.post(f"{SETTINGS}invite/", {"email": "nope", "role": "member"})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert not Invitation.objects.exists()


def test_it_does_not_invite_a_member_again(signed_in_alice, bob):
    response = signed_in_alice.post(
        f"{SETTINGS}invite/", {"email": "BOB@example.org", "role": "member"}, follow=True
    )
    assert not Invitation.objects.exists()
    assert any("already a member" in m for m in messages_of(response))


def test_a_new_invitation_replaces_a_pending_one_to_the_same_address(signed_in_alice):
    for _ in range(2):
        signed_in_alice.post(f"{SETTINGS}invite/", {"email": "dana@example.org", "role": "member"})
    old, new = Invitation.objects.order_by("pk")
    assert old.revoked_at is not None
    assert new.is_usable


def test_a_manager_cannot_invite_an_owner(client, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    client.force_login(bob)
    response = client.post(f"{SETTINGS}invite/", {"email": "x@example.org", "role": "owner"})
    assert response.status_code == 400
    assert not Invitation.objects.exists()
    page = client.get(SETTINGS).content.decode()
    assert 'value="owner"' not in page


def test_it_revokes_a_pending_invitation(signed_in_alice, alice, alice_team):
    invitation = Invitation.objects.create(team=alice_team, email="d@example.org", invited_by=alice)
    response = signed_in_alice.post(
        f"{SETTINGS}invitations/{invitation.pk}/revoke/", CONFIRMED, follow=True
    )
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "d@example.org" not in response.content.decode().split("Pending invitations")[1]
    assert AuditEvent.objects.filter(action="invitation_revoked").count() == 1


def test_it_does_not_revoke_another_teams_invitation(signed_in_alice, charlie):
    other = Team.objects.get(slug="charlies-team")
    invitation = Invitation.objects.create(team=other, email="d@example.org")
    response = signed_in_alice.post(f"{SETTINGS}invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_it_changes_a_role(signed_in_alice, bob):
    target = membership(bob)
    signed_in_alice.post(f"{SETTINGS}members/{target.pk}/role/", {"role": "manager"})
    target.refresh_from_db()
    assert target.role == Role.MANAGER
    event = AuditEvent.objects.get(action="role_changed")
    assert event.params == {"member": "bob", "old_role": "member", "new_role": "manager"}


def test_it_ignores_an_unknown_role(signed_in_alice, bob):
    target = membership(bob)
    response = signed_in_alice.post(
        f"{SETTINGS}members/{target.pk}/role/", {"role": "king"}, follow=True
    )
    target.refresh_from_db()
    assert target.role == Role.MEMBER
    assert any("Choose one of the roles" in m for m in messages_of(response))


def test_the_last_owner_cannot_be_demoted(signed_in_alice, alice):
    own = membership(alice)
    response = signed_in_alice.post(
        f"{SETTINGS}members/{own.pk}/role/", {"role": "member"}, follow=True
    )
    own.refresh_from_db()
    assert own.role == Role.OWNER
    assert any("last owner" in m for m in messages_of(response))


def test_an_owner_can_step_down_when_another_owner_remains(signed_in_alice, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    own = membership(alice)
    response = signed_in_alice.post(f"{SETTINGS}members/{own.pk}/role/", {"role": "member"})
    own.refresh_from_db()
    assert own.role == Role.MEMBER
    assert response.url == "/t/alices-team/"


def test_it_removes_a_member(signed_in_alice, bob):
    target = membership(bob)
    signed_in_alice.post(f"{SETTINGS}members/{target.pk}/remove/", CONFIRMED)
    assert not Membership.objects.filter(pk=target.pk).exists()
    assert User.objects.filter(username="bob").exists()
    event = AuditEvent.objects.get(action="member_removed")
    assert event.object_id == str(target.pk)
    assert event.params == {"member": "bob", "role": "member"}


def test_a_removed_member_loses_access(client, alice, bob):
    client.force_login(alice)
    client.post(f"{SETTINGS}members/{membership(bob).pk}/remove/", CONFIRMED)
    client.force_login(bob)
    assert client.get("/t/alices-team/").status_code == 404


def test_the_last_owner_cannot_be_removed_by_a_manager(client, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    client.force_login(bob)
    response = client.post(f"{SETTINGS}members/{membership(alice).pk}/remove/")
    assert response.status_code == 403
    assert Membership.objects.filter(user=alice).exists()


def test_a_manager_manages_members_but_not_owners(client, alice, bob, victor):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    client.force_login(bob)
    response = client.post(f"{SETTINGS}members/{membership(victor).pk}/role/", {"role": "member"})
    assert response.status_code == 302
    assert membership(victor).role == Role.MEMBER
    response = client.post(f"{SETTINGS}members/{membership(victor).pk}/role/", {"role": "owner"})
    assert response.status_code == 403
    response = client.post(f"{SETTINGS}members/{membership(alice).pk}/role/", {"role": "viewer"})
    assert response.status_code == 403
    assert membership(alice).role == Role.OWNER


def test_a_member_leaves_the_team(client, bob):
    client.force_login(bob)
    response = client.post(f"{SETTINGS}leave/", CONFIRMED)
    assert response.url == "/"
    assert not Membership.objects.filter(user=bob).exists()
    assert AuditEvent.objects.get(action="member_left").user.username == "bob"


def test_a_viewer_may_leave_the_team(client, victor):
    client.force_login(victor)
    client.post(f"{SETTINGS}leave/", CONFIRMED)
    assert not Membership.objects.filter(user=victor).exists()


def test_the_last_owner_cannot_leave(signed_in_alice, alice, bob):
    response = signed_in_alice.post(f"{SETTINGS}leave/", follow=True)
    assert Membership.objects.filter(user=alice).exists()
    assert any("last owner" in m for m in messages_of(response))


def test_an_owner_may_leave_when_another_owner_remains(signed_in_alice, alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    signed_in_alice.post(f"{SETTINGS}leave/", CONFIRMED)
    assert not Membership.objects.filter(user=alice).exists()


def test_it_saves_the_team_details(signed_in_alice, alice_team):
    response = signed_in_alice.post(
        f"{SETTINGS}team/",
        {
            "name": "Alpha",
            "time_zone": "Europe/Berlin",
            "currency": "RUB",
            "members_see_reports": "on",
        },
    )
    assert response.status_code == 302
    alice_team.refresh_from_db()
    assert alice_team.name == "Alpha"
    assert alice_team.time_zone == "Europe/Berlin"
    assert alice_team.currency == "RUB"
    assert alice_team.members_see_reports is True
    assert alice_team.slug == "alices-team"


def test_it_refuses_an_unknown_time_zone(signed_in_alice, alice_team):
    response = signed_in_alice.post(f"{SETTINGS}team/", {"name": "Alpha", "time_zone": "Mars/Base"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    alice_team.refresh_from_db()
    assert alice_team.time_zone == "UTC"
    assert alice_team.name == "Alice's Team"


def test_a_member_cannot_change_the_team_details(client, bob, alice_team):
    client.force_login(bob)
    response = client.post(f"{SETTINGS}team/", {"name": "Mine", "time_zone": "UTC"})
    assert response.status_code == 403
    alice_team.refresh_from_db()
    assert alice_team.name == "Alice's Team"


def test_the_team_currency_is_chosen_in_the_details_saying_amounts_are_not_converted(
    signed_in_alice, alice_team
):
    page = signed_in_alice.get(SETTINGS).content.decode()
    assert 'name="currency"' in page
    assert "Amounts are not converted" in page
    response = signed_in_alice.post(
        f"{SETTINGS}team/", {"name": "Alpha", "time_zone": "UTC", "currency": "XBT"}
    )
    assert response.status_code == 400
    alice_team.refresh_from_db()
    assert alice_team.currency == "USD"


def test_an_invitations_expiry_is_told_in_the_teams_zone(client, signed_in_alice, alice_team):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    signed_in_alice.post(f"{SETTINGS}invite/", {"email": "dana@example.org", "role": "member"})
    invitation = Invitation.objects.get()
    settings_page = signed_in_alice.get(SETTINGS).content.decode()
    assert 'JST">in ' not in settings_page  # seven days away: the exact time, not relative
    assert " JST</time>" in settings_page
    client.logout()
    page = client.get(invitation.get_absolute_url()).content.decode()
    assert "The link works until <time" in page
    assert " JST</time>" in page

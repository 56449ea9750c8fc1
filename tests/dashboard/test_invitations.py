"""Accepting an invitation link: new accounts, existing accounts, and every way it can fail."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.models import AuditEvent, Invitation, Membership, Role


@pytest.fixture
def invitation(alice, alice_team) -> Invitation:
    return Invitation.objects.create(
        team=alice_team, email="dana@example.org", role=Role.MANAGER, invited_by=alice
    )


def url(invitation: Invitation) -> str:
    return f"/invite/{invitation.token}/"


def signup(**overrides) -> dict:
    return {"username": "dana", "password1": "a long pass phrase", **overrides} | {
        "password2": overrides.get("password1", "a long pass phrase")
    }


def test_an_anonymous_visitor_sees_the_invitation(client, invitation):
    response = client.get(url(invitation))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Join Alice&#x27;s Team" in page
    assert "dana@example.org" in page
    assert "as manager" in page
    assert f"/accounts/login/?next=/invite/{invitation.token}/" in page


def test_a_new_user_creates_an_account_and_lands_in_the_team(client, invitation):
    response = client.post(url(invitation), signup())
    assert response.status_code == 302
    assert response.url == "/t/alices-team/"
    user = User.objects.get(username="dana")
    assert user.email == "dana@example.org"
    assert user.check_password("a long pass phrase")
    assert Membership.objects.get(user=user).role == Role.MANAGER
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert client.get("/t/alices-team/").status_code == 200
    assert AuditEvent.objects.filter(action="member_joined", user=user).exists()


def test_a_new_account_needs_matching_passwords(client, invitation):
    response = client.post(url(invitation), {**signup(), "password2": "something else"})
    assert response.status_code == 400
    assert not User.objects.filter(username="dana").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_new_account_cannot_take_an_existing_email(client, invitation):
    User.objects.create_user("dana-old", "Dana@example.org", "x")
    response = client.post(url(invitation), signup())
    assert response.status_code == 400
    assert "sign in to accept" in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_a_signed_in_user_with_the_invited_email_accepts(client, invitation):
    dana = User.objects.create_user("dana", "DANA@example.org", "x")
    client.force_login(dana)
    assert client.get(url(invitation)).status_code == 200
    response = client.post(url(invitation))
    assert response.url == "/t/alices-team/"
    assert Membership.objects.get(user=dana).role == Role.MANAGER


def test_signing_in_from_the_invitation_comes_back_to_it(client, invitation):
    User.objects.create_user("dana", "dana@example.org", "a long pass phrase")
    response = client.post(
        f"/accounts/login/?next={url(invitation)}",
        {"username": "dana", "password": "a long pass phrase", "next": url(invitation)},
    )
    assert response.url == url(invitation)


def test_an_expired_invitation_is_refused(client, invitation):
    invitation.expires_at = timezone.now() - timedelta(minutes=1)
    invitation.save()
    response = client.post(url(invitation), signup())
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_a_used_invitation_cannot_be_used_again(client, invitation):
    client.post(url(invitation), signup())
    client.logout()
    response = client.post(url(invitation), signup(username="mallory"))
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert not User.objects.filter(username="mallory").exists()
    assert Membership.objects.filter(team=invitation.team).count() == 2


def test_the_user_who_accepted_is_sent_to_their_teams(client, invitation):
    client.post(url(invitation), signup())
    response = client.get(url(invitation))
    assert response.status_code == 302
    assert response.url == "/"


def test_a_revoked_invitation_is_refused(client, invitation):
    invitation.revoked_at = timezone.now()
    invitation.save()
    response = client.get(url(invitation))
    assert response.status_code == 410
    assert "revoked" in response.content.decode()


def test_the_wrong_user_cannot_accept(client, invitation, bob, charlie):
    client.force_login(charlie)
    response = client.post(url(invitation))
    assert response.status_code == 403
    page = response.content.decode()
    assert "This invitation is for dana@example.org" in page
    assert "signed in as charlie" in page
    assert not Membership.objects.filter(user=charlie, team=invitation.team).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_unknown_token_says_so(client, db):
    response = client.get("/invite/not-a-token/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_a_member_accepting_again_keeps_their_role(client, alice, alice_team):
    invitation = Invitation.objects.create(
        team=alice_team, email="alice@example.org", role=Role.VIEWER
    )
    client.force_login(alice)
    client.post(url(invitation))
    assert Membership.objects.get(user=alice).role == Role.OWNER

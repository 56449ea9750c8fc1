"""Personal API tokens: stored only as a hash, seen and revoked by the right people, and dead
at once when revoked or when their member leaves."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from dashboard.audit import Action, record_by, through_token
from dashboard.models import ApiToken, AuditEvent, Membership, Role
from dashboard.services import remove_member
from dashboard.tokens import (
    LAST_USED_EVERY,
    create_token,
    note_use,
    revoke_token,
    token_for,
    visible_tokens,
)
from tests.activations.acting import acting

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_only_as_its_hash_and_found_by_its_secret(alice, alice_team):
    new = create_token(acting=acting(alice_team, alice), name="bot")
    stored = ApiToken.objects.get()
    assert stored.digest == hashlib.sha256(new.secret.encode()).hexdigest()
    assert new.secret.startswith(stored.prefix) and len(stored.prefix) < len(new.secret) // 3
    assert new.secret not in str(
        ApiToken.objects.filter(pk=stored.pk).values().get()
    )  # no column holds it
    assert token_for(new.secret) == stored


@pytest.mark.parametrize("secret", ["", "smsd_", "smsd_" + "a" * 39, "x" * 10_000, None, 5])
def test_malformed_secrets_find_nothing(alice, alice_team, secret):
    create_token(acting=acting(alice_team, alice), name="bot")
    assert token_for(secret) is None


def test_an_unknown_well_formed_secret_finds_nothing(alice, alice_team):
    new = create_token(acting=acting(alice_team, alice), name="bot")
    other = new.secret[:-1] + ("A" if new.secret[-1] != "A" else "B")
    assert token_for(other) is None


def test_a_revoked_token_stops_at_once_and_is_audited(alice, alice_team):
    owner = acting(alice_team, alice)
    new = create_token(acting=owner, name="bot")
    assert revoke_token(acting=owner, token=new.token) is True
    assert token_for(new.secret) is None
    assert revoke_token(acting=owner, token=new.token) is False  # already
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions.count(Action.TOKEN_REVOKED) == 1
    assert actions.count(Action.TOKEN_CREATED) == 1


def test_a_removed_members_token_stops_at_once(alice, bob, alice_team):
    new = create_token(acting=acting(alice_team, bob), name="bob's bot")
    remove_member(acting=acting(alice_team, alice), target=acting(alice_team, bob))
    assert token_for(new.secret) is None
    assert ApiToken.objects.get().membership is None  # kept for the audit log, but dead


def test_a_token_reads_its_members_role_as_it_is_now(alice, bob, alice_team):
    new = create_token(acting=acting(alice_team, bob), name="bob's bot")
    Membership.objects.filter(user=bob).update(role=Role.VIEWER)
    assert token_for(new.secret).membership.can_buy is False


def test_viewers_cannot_create_tokens(victor, alice_team):
    with pytest.raises(PermissionDenied):
        create_token(acting=acting(alice_team, victor), name="nope")
    assert not ApiToken.objects.exists()


def test_managers_see_and_revoke_every_token_members_only_their_own(alice, bob, alice_team):
    owner, member = acting(alice_team, alice), acting(alice_team, bob)
    alices = create_token(acting=owner, name="alice's").token
    bobs = create_token(acting=member, name="bob's").token
    assert set(visible_tokens(owner)) == {alices, bobs}
    assert list(visible_tokens(member)) == [bobs]
    with pytest.raises(PermissionDenied):
        revoke_token(acting=member, token=alices)
    assert revoke_token(acting=owner, token=bobs) is True


def test_another_teams_token_cannot_be_revoked(alice, alice_team, charlie):
    token = create_token(acting=acting(alice_team, alice), name="bot").token
    charlies = Membership.objects.select_related("team", "user").get(user=charlie)
    with pytest.raises(PermissionDenied):
        revoke_token(acting=charlies, token=token)
    assert ApiToken.objects.get().revoked_at is None


def test_last_used_is_written_at_most_once_a_minute(alice, alice_team):
    token = create_token(acting=acting(alice_team, alice), name="bot").token
    start = timezone.now()
    note_use(token, "10.0.0.1", start)
    note_use(token, "10.0.0.2", start + LAST_USED_EVERY - timedelta(seconds=1))
    stored = ApiToken.objects.get()
    assert (stored.last_used_at, stored.last_used_ip) == (start, "10.0.0.1")
    note_use(token, "10.0.0.2", start + LAST_USED_EVERY)
    assert ApiToken.objects.get().last_used_ip == "10.0.0.2"


def test_events_written_through_a_token_are_marked_with_it(alice, alice_team):
    owner = acting(alice_team, alice)
    token = create_token(acting=owner, name="bot").token
    with through_token(token):
        record_by(owner, Action.BOUGHT, outcome="ok")
    record_by(owner, Action.BOUGHT, outcome="ok")
    marked = AuditEvent.objects.filter(action=Action.BOUGHT).values_list("api_token", flat=True)
    assert sorted(marked, key=str) == sorted([token.pk, None], key=str)


def test_the_audit_log_never_holds_the_secret(alice, alice_team):
    new = create_token(acting=acting(alice_team, alice), name="bot", services=["tg"])
    for event in AuditEvent.objects.all():
        assert new.secret not in str(event.params) + event.answer

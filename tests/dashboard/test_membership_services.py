"""dashboard.services: the membership rules, including when two people act at once."""

import threading

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from dashboard import services
from dashboard.models import Membership, Role


def membership(user) -> Membership:
    return Membership.objects.select_related("team", "user").get(user=user)


def test_roles_grantable_by_each_role(alice, bob, victor):
    assert [r for r, _ in services.roles_grantable_by(membership(alice))] == list(Role.values)
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    assert {r for r, _ in services.roles_grantable_by(membership(bob))} == {"member", "viewer"}
    assert services.roles_grantable_by(membership(victor)) == []


def test_a_member_cannot_invite(bob):
    with pytest.raises(PermissionDenied):
        services.invite_member(acting=membership(bob), email="x@example.org", role=Role.MEMBER)


def test_a_manager_cannot_promote_to_manager(alice, bob, victor):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    with pytest.raises(PermissionDenied):
        services.change_role(acting=membership(bob), target=membership(victor), role="manager")


def test_one_cannot_remove_oneself(alice):
    with pytest.raises(services.TeamRuleError, match="Leave team"):
        services.remove_member(acting=membership(alice), target=membership(alice))


def test_an_owner_removes_another_owner(alice, bob):
    Membership.objects.filter(user=bob).update(role=Role.OWNER)
    services.remove_member(acting=membership(alice), target=membership(bob))
    assert not Membership.objects.filter(user=bob).exists()


def test_a_team_never_loses_its_last_owner(alice, bob):
    with pytest.raises(services.TeamRuleError, match="last owner"):
        services.leave_team(membership=membership(alice))
    with pytest.raises(services.TeamRuleError, match="last owner"):
        services.change_role(acting=membership(alice), target=membership(alice), role="viewer")
    assert membership(alice).role == Role.OWNER


@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_once_leave_one_owner(alice_team):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serializes every write; the row lock matters on PostgreSQL")
    owners = []
    for name in ("olga", "oscar"):
        user = User.objects.create_user(name, f"{name}@example.org", "x")
        owners.append(Membership.objects.create(team=alice_team, user=user, role=Role.OWNER))
    barrier = threading.Barrier(len(owners))
    outcomes = []

    def leave(owner):
        try:
            barrier.wait()
            services.leave_team(membership=owner)
            outcomes.append("left")
        except services.TeamRuleError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=leave, args=(owner,)) for owner in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["left", "refused"]
    assert Membership.objects.filter(team=alice_team, role=Role.OWNER).count() == 1

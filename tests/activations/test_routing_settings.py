"""The team's routing settings service (activations/routing_settings.py): who may change
them, what is stored, and the audit row of each change."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from activations import routing_settings
from activations.models import PriceLimit, RoutingPolicy, TeamRouting
from activations.routing.choice import price_limits
from dashboard.models import AuditEvent, Membership, Role
from tests.activations.acting import acting


def changes():
    return [
        (e.params["target"], e.params["before"], e.params["after"])
        for e in AuditEvent.objects.filter(action="routing_changed").order_by("pk")
    ]


def test_an_owner_sets_the_policy_and_it_is_audited(alice, alice_team):
    changed = routing_settings.set_policy(
        acting=acting(alice_team, alice), policy="reliable", ip="10.1.2.3"
    )
    assert changed
    assert TeamRouting.objects.get(team=alice_team).policy == RoutingPolicy.RELIABLE
    assert changes() == [("policy", "cheapest", "reliable")]
    assert AuditEvent.objects.get().ip == "10.1.2.3"


def test_the_same_policy_again_changes_nothing(alice, alice_team):
    assert not routing_settings.set_policy(acting=acting(alice_team, alice), policy="cheapest")
    assert changes() == []


def test_an_unknown_policy_is_refused(alice, alice_team):
    with pytest.raises(ValueError):
        routing_settings.set_policy(acting=acting(alice_team, alice), policy="random")
    assert not TeamRouting.objects.exists()


def test_a_manager_adds_changes_and_removes_a_price_limit(alice, bob, alice_team):
    Membership.objects.filter(user=bob).update(role=Role.MANAGER)
    manager = acting(alice_team, bob)
    assert routing_settings.set_price_limit(
        acting=manager, service_code="tg", max_price=Decimal("12.50")
    )
    assert price_limits(alice_team) == {"tg": Decimal("12.50")}
    assert routing_settings.set_price_limit(
        acting=manager, service_code="tg", max_price=Decimal("9")
    )
    assert not routing_settings.set_price_limit(
        acting=manager, service_code="tg", max_price=Decimal("9.00")
    )
    assert routing_settings.remove_price_limit(acting=manager, service_code="tg")
    assert not routing_settings.remove_price_limit(acting=manager, service_code="tg")
    assert price_limits(alice_team) == {}
    assert changes() == [("tg", None, "12.50"), ("tg", "12.50", "9"), ("tg", "9.00", None)]


def test_a_negative_price_limit_is_refused(alice, alice_team):
    with pytest.raises(ValueError):
        routing_settings.set_price_limit(
            acting=acting(alice_team, alice), service_code="tg", max_price=Decimal("-1")
        )
    assert not PriceLimit.objects.exists()


@pytest.mark.parametrize("person", ["bob", "victor"])
def test_members_and_viewers_change_nothing(request, alice_team, person):
    user = request.getfixturevalue(person)
    with pytest.raises(PermissionDenied):
        routing_settings.set_policy(acting=acting(alice_team, user), policy="reliable")
    with pytest.raises(PermissionDenied):
        routing_settings.set_price_limit(
            acting=acting(alice_team, user), service_code="tg", max_price=Decimal("1")
        )
    with pytest.raises(PermissionDenied):
        routing_settings.remove_price_limit(acting=acting(alice_team, user), service_code="tg")
    assert not TeamRouting.objects.exists() and not PriceLimit.objects.exists()

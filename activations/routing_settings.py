"""The team's routing settings: the policy that orders the offers a purchase may buy
(`activations.routing`), and the team's highest price per service (`PriceLimit`, matched
across providers by the service code; `activations.routing.choice.price_limits` reads them).

Owners and managers change them. Each change locks the team's row, so two managers saving at
once cannot lose one of the changes from the audit log, and is audited in the same
transaction as "Routing changed" with what changed (`target`: "policy" or the service code),
`before` and `after` (None: no limit).
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from activations.models import PriceLimit, RoutingPolicy, TeamRouting
from activations.routing.choice import price_limits
from dashboard.access import require_role
from dashboard.audit import Action, record_by
from dashboard.models import MANAGERS, Membership
from dashboard.teams import lock_team


def _audit(acting: Membership, obj, ip, target: str, before, after) -> None:
    record_by(
        acting, Action.ROUTING_CHANGED, obj=obj, ip=ip, target=target, before=before, after=after
    )


def set_policy(*, acting: Membership, policy: str, ip: str | None = None) -> bool:
    """Route the team's purchases by policy (a `RoutingPolicy` value); whether it changed."""
    require_role(acting, MANAGERS)
    policy = RoutingPolicy(policy)
    with transaction.atomic():
        team = lock_team(acting.team)
        routing, _ = TeamRouting.objects.get_or_create(team=team)
        if routing.policy == policy:
            return False
        before = routing.policy
        routing.policy, routing.updated_at = policy, timezone.now()
        routing.save(update_fields=["policy", "updated_at"])
        _audit(acting, routing, ip, "policy", before, policy.value)
    return True


def set_price_limit(
    *, acting: Membership, service_code: str, max_price: Decimal, ip: str | None = None
) -> bool:
    """Add or change the team's highest price for the service; whether it changed."""
    require_role(acting, MANAGERS)
    if max_price < 0:
        raise ValueError("A highest price cannot be below zero.")
    with transaction.atomic():
        team = lock_team(acting.team)
        before = price_limits(team).get(service_code)
        if before == max_price:
            return False
        limit, _ = PriceLimit.objects.update_or_create(
            team=team,
            service_code=service_code,
            defaults={"max_price": max_price, "updated_at": timezone.now()},
        )
        _audit(acting, limit, ip, service_code, before, max_price)
    return True


def remove_price_limit(*, acting: Membership, service_code: str, ip: str | None = None) -> bool:
    """Remove the team's highest price for the service; whether there was one."""
    require_role(acting, MANAGERS)
    with transaction.atomic():
        team = lock_team(acting.team)
        limit = PriceLimit.objects.filter(team=team, service_code=service_code).first()
        if limit is None:
            return False
        _audit(acting, limit, ip, service_code, limit.max_price, None)
        limit.delete()
    return True

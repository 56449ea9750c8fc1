"""How a number was routed, in words for its page: the policy that ordered the offers and each
offer passed before the one that sold it, with why (from `Activation.route`, written by
`activations.routing.buy_routed`), in the words of the purchase's message
(`activations.routing.purchase.passed_over`)."""

from dataclasses import dataclass

from activations.models import RoutingPolicy
from activations.routing.choice import policy_name
from activations.routing.purchase import passed_over


@dataclass(frozen=True)
class RouteStory:
    policy: str  # the policy's label, "" for a number bought before routing
    passed: list[str]  # "Sandbox A (mts) had no numbers"


def route_story(route: dict) -> RouteStory:
    """The story of `Activation.route` (empty for a number bought before routing)."""
    policy = route.get("policy", "")
    return RouteStory(
        policy=policy_name(policy) if policy in RoutingPolicy.values else "",
        passed=[passed_over(tried) for tried in route.get("tried", [])],
    )

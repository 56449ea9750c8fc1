"""How a number was routed, in words for its page: the policy that ordered the offers and each
offer passed before the one that sold it, with why (from `Activation.route`, written by
`activations.routing.buy_routed`), in the words of the purchase's message
(`activations.routing.purchase.PASSED_BECAUSE`). An answer may be a provider's own word, which
is untrusted: an unknown one is shown shortened (and escaped by the template)."""

from dataclasses import dataclass

from activations.models import RoutingPolicy
from activations.routing.purchase import PASSED_BECAUSE

ANSWER_LIMIT = 60
REFUSED = "{provider} refused ({answer})"


@dataclass(frozen=True)
class RouteStory:
    policy: str  # the policy's label, "" for a number bought before routing
    passed: list[str]  # "Sandbox A (mts) had no numbers"


def _passed(tried: dict) -> str:
    answer = str(tried.get("answer", ""))[:ANSWER_LIMIT]
    place = str(tried.get("provider", ""))
    if tried.get("operator"):
        place = f"{place} ({tried['operator']})"
    return PASSED_BECAUSE.get(answer, REFUSED).format(provider=place, answer=answer)


def route_story(route: dict) -> RouteStory:
    """The story of `Activation.route` (empty for a number bought before routing)."""
    policy = route.get("policy", "")
    return RouteStory(
        policy=RoutingPolicy(policy).label if policy in RoutingPolicy.values else "",
        passed=[_passed(tried) for tried in route.get("tried", [])],
    )

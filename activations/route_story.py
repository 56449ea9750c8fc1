"""How a number was routed, in words for its page: the policy that ordered the offers and each
provider passed before the one that sold it, with why (from `Activation.route`, written by
`activations.routing.buy_routed`). An answer may be a provider's own word, which is
untrusted: an unknown one is shown shortened (and escaped by the template)."""

from dataclasses import dataclass

from activations.models import RoutingPolicy
from catalog.provider_errors import NO_BALANCE, NO_NUMBERS

ANSWER_LIMIT = 60

# The answers a provider is passed for (`catalog.upstream.outcome_of`'s words), in words.
WHY_PASSED = {
    NO_NUMBERS: "had no numbers",
    NO_BALANCE: "refused: the team's balance there is too low",
    "unavailable": "did not answer",
    "rate_limited": "was limiting requests",
    "protocol_error": "sent an answer SMS Desk cannot read",
}


@dataclass(frozen=True)
class Passed:
    provider: str
    why: str


@dataclass(frozen=True)
class RouteStory:
    policy: str  # the policy's label, "" when the number was bought before routing
    passed: list[Passed]


def _why(answer: str) -> str:
    return WHY_PASSED.get(answer, f"answered {answer[:ANSWER_LIMIT]}")


def route_story(route: dict) -> RouteStory:
    """The story of `Activation.route` (empty for a number bought before routing)."""
    policy = route.get("policy", "")
    return RouteStory(
        policy=RoutingPolicy(policy).label if policy in RoutingPolicy.values else "",
        passed=[
            Passed(str(tried["provider"]), _why(str(tried.get("answer", ""))))
            for tried in route.get("tried", [])
        ],
    )

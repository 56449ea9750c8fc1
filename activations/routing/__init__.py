"""Routing: for a service, country and operator, the offers the team can buy, best first under
its policy, and a purchase that tries them in order (one number at most).

`choice` finds and orders the candidates, `records` keeps the team's own record of each offer
(the share with a code, the median time to it, the minimum sample and the fair chance),
`purchase` buys through `activations.buying.buy_number`. The buy page and the gateway's
getNumber both buy through `buy_routed`.
"""

from activations.routing.choice import (
    Candidate,
    Want,
    candidates,
    highest_price,
    policy_of,
    why_nothing,
)
from activations.routing.purchase import buy_routed
from activations.routing.records import MIN_SAMPLE, WINDOW, Record

__all__ = [
    "MIN_SAMPLE",
    "WINDOW",
    "Candidate",
    "Record",
    "Want",
    "buy_routed",
    "candidates",
    "highest_price",
    "policy_of",
    "why_nothing",
]

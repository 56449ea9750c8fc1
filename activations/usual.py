"""The team's usual purchases: its most bought (service, country, operator) combinations of
the last `WINDOW`, offered as one-click buttons on the home and buy pages.

`usual_choices` is one query, a range scan of the `activation_team_created` index (the team's
activations since a date) grouped by the protocol's ids, so a combination bought at several
providers counts once. `usual_buys` adds what a button needs: the price routing would try
first (`activations.routing.candidates`, under the team's policy and highest prices) and,
when the button cannot buy now, why (no stock, no key, over a budget: the same words and
rules as the purchase, `routing.why_nothing` and `budgets.over_budget`).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from activations import routing
from activations.budgets import over_budget, spending_by_user
from activations.forms import new_request_token
from activations.models import Activation
from activations.routing.choice import ANY_OPERATOR
from catalog.names import localized_name
from dashboard.models import Membership, Team

WINDOW = timedelta(days=60)
HOW_MANY = 4


@dataclass(frozen=True)
class UsualChoice:
    service: str  # the protocol's service code
    service_name: str
    country: int  # the protocol's country id
    country_name: str
    operator: str  # an operator code ("any": routing picks the operator)
    times: int  # bought this many times in the window

    @property
    def want(self) -> routing.Want:
        return routing.Want(service=self.service, country=self.country, operator=self.operator)

    @property
    def label(self) -> str:
        """ "Telegram · Russia · mts" ("any operator" for "any")."""
        operator = _("any operator") if self.operator == ANY_OPERATOR else self.operator
        return f"{self.service_name} · {self.country_name} · {operator}"


def usual_choices(team: Team, now: datetime | None = None, limit: int = HOW_MANY):
    """The team's `limit` most bought combinations in the last WINDOW, most bought first
    (then the most recently bought). One query."""
    since = (now or timezone.now()) - WINDOW
    rows = (
        Activation.objects.filter(team=team, created_at__gte=since)
        .values("service__code", "country__external_id", "operator__code")
        .annotate(
            times=Count("pk"),
            last=Max("created_at"),
            service_name=Min(localized_name("service__")),
            country_name=Min(localized_name("country__")),
        )
        .order_by("-times", "-last")[:limit]
    )
    return [
        UsualChoice(
            service=row["service__code"],
            service_name=row["service_name"],
            country=row["country__external_id"],
            country_name=row["country_name"],
            operator=row["operator__code"],
            times=row["times"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class UsualBuy:
    """A usual choice as its button shows it: the price to pay first, or why it cannot buy."""

    choice: UsualChoice
    price: Decimal | None  # the first candidate's, in `currency`
    currency: str
    reason: str  # why it cannot buy now; empty when it can
    # The button's one-time token: a second click (or a reload of the POST) buys nothing more.
    token: str = field(default_factory=new_request_token)


def usual_buys(
    acting: Membership,
    spending: dict[int, Decimal] | None = None,
    *,
    policy: str | None = None,
    now: datetime | None = None,
) -> list[UsualBuy]:
    """The buttons of the acting member's team: each usual choice with its first candidate's
    price, or why it cannot be bought now. A few queries per choice (HOW_MANY at most).
    `spending` (this month's `spending_by_user`) and `policy`: when the page has read them."""
    team = acting.team
    choices = usual_choices(team, now)
    if not choices:
        return []
    if spending is None:
        spending = spending_by_user(team, now)
    policy = policy or routing.policy_of(team)
    buys = []
    for choice in choices:
        found = routing.candidates(team, choice.want, policy=policy)
        if not found:
            reason = routing.why_nothing(team, choice.want)[0]
            buys.append(UsualBuy(choice, None, team.currency, reason))
            continue
        offer = found[0].offer
        reason = over_budget(
            team, spending, offer.price, user_id=acting.user_id, limit=acting.monthly_limit
        )
        buys.append(UsualBuy(choice, offer.price, offer.provider.currency, reason or ""))
    return buys

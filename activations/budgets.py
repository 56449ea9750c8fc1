"""The one budget calculation: what a team and each member spent this month.

The buy rule, the budgets page, the team home page and the reports (page, CSV and weekly
email) all read `month_budget` or `spending_by_user`, so they cannot disagree.

Spending in a month counts every number bought in that calendar month (the team's time zone)
that was not cancelled or expired (`Activation.FREE_STATES` cost nothing), **and the purchases
in flight**: a purchase reserves its price before it asks the provider, and the reservation
counts until the purchase ends (recorded or refused) or `reservation_ttl` passes. Counting
them is what keeps two members buying at once from spending the same money; the pages say so.

`set_budgets` changes the team's budget and the members' limits (managers only).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from activations.models import Activation, Reservation
from catalog.accounts import keyed_providers
from catalog.models import Provider
from catalog.provider_slots import SLOT_WAIT_SECONDS
from dashboard.access import require_role
from dashboard.audit import Action, record_by
from dashboard.display import money as money_in
from dashboard.models import MANAGERS, Membership, Team
from dashboard.teams import ZERO, lock_team, money, month_bounds, percent, team_zone

# See reservation_ttl().
MIN_RESERVATION_TTL = timedelta(minutes=5)
RESERVATION_MARGIN = 10


def reservation_ttl() -> timedelta:
    """How long a purchase's reservation counts against the budgets.

    A purchase releases its reservation when it ends; a reservation older than this belongs
    to a purchase that crashed (its worker killed mid-request) and stops counting, or the
    budget would shrink for good. It must never stop counting while its purchase can still
    record a number, or a second purchase could spend the same money: a purchase makes at
    most two provider calls after reserving (getNumber, then setStatus 8 when the number
    cannot be recorded), each waiting at most `SLOT_WAIT_SECONDS` for one of the provider's web
    slots and then ending within `settings.PROVIDER_WEB_DEADLINE_SECONDS` (budget wait
    included). The reservation lives RESERVATION_MARGIN times that (the margin covers
    the database waits: SQLite's busy timeout, the team's lock), and never under
    MIN_RESERVATION_TTL.
    """
    longest_provider_seconds = 2 * (SLOT_WAIT_SECONDS + settings.PROVIDER_WEB_DEADLINE_SECONDS)
    return max(
        MIN_RESERVATION_TTL, timedelta(seconds=RESERVATION_MARGIN * longest_provider_seconds)
    )


def live_reservations(team: Team, now: datetime) -> QuerySet[Reservation]:
    return Reservation.objects.filter(team=team, created_at__gte=now - reservation_ttl())


def spending_by_user(team: Team, now: datetime | None = None) -> dict[int, Decimal]:
    """Each member's spending in the month around `now`, purchases in flight included."""
    now = now or timezone.now()
    start, end = month_bounds(team, now)
    bought = Activation.objects.filter(team=team, created_at__gte=start, created_at__lt=end)
    sums = (
        (bought.exclude(state__in=Activation.FREE_STATES), "price"),
        (live_reservations(team, now).filter(created_at__gte=start, created_at__lt=end), "amount"),
    )
    totals: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for rows, amount in sums:
        per_user = rows.order_by().values("user_id").annotate(total=Sum(amount))
        for user_id, total in per_user.values_list("user_id", "total"):
            totals[user_id] += money(total)  # SQLite sums decimals as floats
    return dict(totals)


@dataclass
class BudgetLine:
    """One row of budget use: a member (or the whole team) against a monthly limit."""

    label: str
    spent: Decimal
    limit: Decimal | None
    role: str = ""
    user_id: int | None = None

    def __post_init__(self) -> None:
        self.spent = money(self.spent)
        self.limit = None if self.limit is None else money(self.limit)

    @property
    def used(self) -> Decimal | None:
        """Percent of the limit spent, one decimal; None without a limit."""
        if self.limit is None:
            return None
        if not self.limit:
            return Decimal(100) if self.spent else ZERO
        return percent(self.spent, self.limit)

    @property
    def percent(self) -> int | None:
        """`used` as a whole number up to 100, for a progress bar."""
        used = self.used
        return None if used is None else min(100, int(used.to_integral_value(ROUND_HALF_UP)))

    @property
    def left(self) -> Decimal | None:
        return None if self.limit is None else self.limit - self.spent

    @property
    def over(self) -> bool:
        return self.limit is not None and self.spent > self.limit


@dataclass
class MonthBudget:
    month: date  # the first day of the month, in the team's time zone
    team: BudgetLine
    members: list[BudgetLine] = field(default_factory=list)

    def of(self, user_id: int) -> BudgetLine | None:
        return next((line for line in self.members if line.user_id == user_id), None)


def team_spent(spending: dict[int, Decimal]) -> Decimal:
    """The team's spending: the sum of its members' (`spending_by_user`)."""
    return sum(spending.values(), ZERO)


def team_budget(
    team: Team, now: datetime | None = None, spending: dict[int, Decimal] | None = None
) -> BudgetLine:
    """The team's line of `month_budget` alone, for the pages that show no members' lines
    (the buy form, re-rendered on every choice, and the home page); `spending`: this month's
    `spending_by_user`, when the page has read it already."""
    if spending is None:
        spending = spending_by_user(team, now)
    return BudgetLine(label=team.name, spent=team_spent(spending), limit=team.monthly_budget)


def over_budget(
    team: Team, spending: dict[int, Decimal], price: Decimal, *, user_id: int, limit: Decimal | None
) -> str | None:
    """Why buying a number at `price` would go over the team's monthly budget or the member's
    monthly `limit`, given this month's `spending_by_user`; None when it stays within both.

    The one budget rule: a purchase asks it under the team's lock before it reserves the
    price (`activations.buying`), and the buy page and the usual buys ask it to disable Buy
    and say why before the click."""

    def told(spent: Decimal, most: Decimal) -> dict[str, str]:  # in the team's currency
        return {
            "spent": money_in(spent, team.currency),
            "most": money_in(most, team.currency),
            "price": money_in(price, team.currency),
        }

    spent_by_all = team_spent(spending)
    if team.monthly_budget is not None and spent_by_all + price > team.monthly_budget:
        return _(
            "This would go over the team's monthly budget "
            "(%(spent)s of %(most)s used; this number costs %(price)s)."
        ) % told(spent_by_all, team.monthly_budget)
    user_spent = spending.get(user_id, ZERO)
    if limit is not None and user_spent + price > limit:
        return _(
            "This would go over your monthly limit "
            "(%(spent)s of %(most)s used; this number costs %(price)s)."
        ) % told(user_spent, limit)
    return None


def month_budget(team: Team, now: datetime | None = None) -> MonthBudget:
    """The month around `now`: the team's line and one per member, then former members who
    spent in it; the team's spending is the sum of theirs, so the figures add up."""
    now = now or timezone.now()
    spent = spending_by_user(team, now)
    team_line = BudgetLine(label=team.name, spent=team_spent(spent), limit=team.monthly_budget)
    members = [
        BudgetLine(
            label=membership.user.get_username(),
            spent=spent.pop(membership.user_id, ZERO),
            limit=membership.monthly_limit,
            role=membership.get_role_display(),
            user_id=membership.user_id,
        )
        for membership in team.memberships.select_related("user").order_by("user__username")
    ]
    for user in User.objects.filter(pk__in=spent).order_by("username"):
        members.append(
            BudgetLine(label=user.get_username(), spent=spent[user.pk], limit=None, user_id=user.pk)
        )
    first_day = month_bounds(team, now)[0].astimezone(team_zone(team)).date()
    return MonthBudget(month=first_day, team=team_line, members=members)


def set_budgets(
    *,
    acting: Membership,
    monthly_budget: Decimal | None,
    member_limits: dict[int, Decimal | None],
    ip: str | None = None,
) -> list[dict[str, Any]]:
    """Set the team's monthly budget and members' monthly limits (by membership id).

    Returns the changes made, each also written to the audit log as "budget changed".
    """
    require_role(acting, MANAGERS)
    team = acting.team
    changes: list[dict[str, Any]] = []
    with transaction.atomic():
        locked = lock_team(team)
        if locked.monthly_budget != monthly_budget:
            changes.append(
                {
                    "target": "team",
                    "before": locked.monthly_budget,
                    "after": monthly_budget,
                    "obj": locked,
                }
            )
            Team.objects.filter(pk=locked.pk).update(monthly_budget=monthly_budget)
            team.monthly_budget = monthly_budget
        memberships = Membership.objects.filter(team=locked, pk__in=member_limits).select_related(
            "user"
        )
        for membership in memberships:
            limit = member_limits[membership.pk]
            if membership.monthly_limit != limit:
                changes.append(
                    {
                        "target": membership.user.get_username(),
                        "before": membership.monthly_limit,
                        "after": limit,
                        "obj": membership,
                    }
                )
                Membership.objects.filter(pk=membership.pk).update(monthly_limit=limit)
        for change in changes:
            record_by(
                acting,
                Action.BUDGET_CHANGED,
                obj=change["obj"],
                ip=ip,
                target=change["target"],
                before=change["before"],
                after=change["after"],
            )
    return [{k: v for k, v in change.items() if k != "obj"} for change in changes]


def providers_in_other_currency(team: Team) -> list[Provider]:
    """The providers the team holds a key at whose prices are not in the team's currency:
    their prices count against the budgets as they are, unconverted, so the pages warn."""
    keyed = Provider.objects.filter(pk__in=keyed_providers(team)).order_by("name")
    return [provider for provider in keyed if provider.currency != team.currency]

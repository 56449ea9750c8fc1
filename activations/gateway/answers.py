"""The protocol's text for each action that the gateway answers from the database alone:
getBalance, getStatus, and the JSON of getCountryAndOperators and getServicesAndCost (whose
rows `activations.gateway.offers` gathers). The words are those of the provider document
(/work/shared/provider-api-doc.txt), byte for byte; the few SMS Desk adds are listed in the
README ("For your programs")."""

import json
from decimal import Decimal

from django.utils import timezone

from activations.budgets import spending_by_user, team_spent
from activations.models import Activation
from catalog.accounts import keyed_accounts
from dashboard.models import ApiToken, Membership
from dashboard.teams import ZERO, money

# The document's words.
BAD_KEY = "BAD_KEY"
BAD_ACTION = "BAD_ACTION"
BAD_LANG = "BAD_LANG"
NO_ACTIVATION = "NO_ACTIVATION"
ERROR_SQL = "ERROR_SQL"
NO_BALANCE = "NO_BALANCE"
NO_NUMBERS = "NO_NUMBERS"
ACCESS_NUMBER = "ACCESS_NUMBER"
ACCESS_BALANCE = "ACCESS_BALANCE"
STATUS_WAIT_CODE = "STATUS_WAIT_CODE"
STATUS_OK = "STATUS_OK"
STATUS_CANCEL = "STATUS_CANCEL"
# The family's words SMS Desk also answers (not in the document; listed in the README).
STATUS_WAIT_RETRY = "STATUS_WAIT_RETRY"
BAD_SERVICE = "BAD_SERVICE"
BAD_STATUS = "BAD_STATUS"
EARLY_CANCEL_DENIED = "EARLY_CANCEL_DENIED"
TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"  # with HTTP 429 and Retry-After

State = Activation.State


def amount_text(amount: Decimal) -> str:
    """463.02: two decimals and a point, as the document shows."""
    return f"{money(amount):.2f}"


def spendable(membership: Membership) -> Decimal:
    """What the member can spend now: the smaller of the member's monthly limit left and the
    team's monthly budget left (purchases in flight count), never below zero; with neither
    set, the sum of the team's provider balances as last refreshed."""
    team = membership.team
    lefts = []
    if team.monthly_budget is not None or membership.monthly_limit is not None:
        spent = spending_by_user(team, timezone.now())
        if team.monthly_budget is not None:
            lefts.append(team.monthly_budget - team_spent(spent))
        if membership.monthly_limit is not None:
            lefts.append(membership.monthly_limit - spent.get(membership.user_id, ZERO))
    if lefts:
        return max(min(lefts), ZERO)
    balances = keyed_accounts(team).filter(balance__isnull=False).values_list("balance", flat=True)
    return sum((money(balance) for balance in balances), ZERO)


def balance_answer(token: ApiToken) -> str:
    amount = amount_text(spendable(token.membership))
    return f"{ACCESS_BALANCE}:{amount}" if token.balance_prefix else amount


def status_answer(state: str, codes: list) -> str:
    """getStatus as the poller last saw the activation."""
    latest = str(codes[-1]) if codes else None
    if state == State.WAITING:
        return STATUS_WAIT_CODE
    if state == State.CODE_RECEIVED:
        return f"{STATUS_OK}:{latest}" if latest else STATUS_WAIT_CODE
    if state == State.WAITING_RETRY:
        return f"{STATUS_WAIT_RETRY}:{latest}" if latest else STATUS_WAIT_RETRY
    if state == State.COMPLETED and latest:
        return f"{STATUS_OK}:{latest}"
    return STATUS_CANCEL  # cancelled, expired, or completed without a code


def number_answer(activation: Activation) -> str:
    """ACCESS_NUMBER:<SMS Desk's activation id>:<phone>, never the provider's id."""
    return f"{ACCESS_NUMBER}:{activation.pk}:{activation.phone}"


def json_text(rows: list) -> str:
    """Compact JSON as the document's examples, names in their own letters."""
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def price_number(price: Decimal) -> int | float:
    """A price as a JSON number: 29.88, and 0 or 12 for whole amounts (the document's 0)."""
    price = money(price)
    return int(price) if price == price.to_integral_value() else float(price)

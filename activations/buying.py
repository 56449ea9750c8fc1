"""Buying a number: within the budgets, once per form token, and never a number left
unrecorded and uncancelled.

A purchase reserves its price under the team's lock (`activations.budgets` counts the
reservation), asks the provider outside any transaction (its answer is never rolled back),
then records the activation and drops the reservation under the lock again. A number sold
but impossible to record is cancelled at the provider when its id can be read.

A refusal that leaves nothing held and nothing sold here that SMS Desk could see is marked
(`Purchase.provider_refusal`), so that routing (`activations.routing`) may ask the next
provider with the same request token; every other refusal ends the purchase.
"""

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from activations.budgets import live_reservations, over_budget, reservation_ttl, spending_by_user
from activations.models import Activation, Reservation
from catalog.accounts import account_with_key
from catalog.models import Offer, ProviderAccount
from catalog.provider_errors import (
    BAD_SERVICE,
    BUYING,
    ERROR_SQL,
    NO_BALANCE,
    NO_NUMBERS,
    Outcome,
    audit_refusal,
)
from catalog.upstream import outcome_of, provider_client
from dashboard.access import require_role
from dashboard.audit import Action, record_by
from dashboard.db import REFUSED_ROW, retry_when_locked
from dashboard.display import money
from dashboard.encryption import KeyDecryptionError
from dashboard.models import BUYERS, ApiToken, Membership
from dashboard.teams import lock_team, team_day_start, team_today
from provider import client as protocol

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
ALREADY_BOUGHT = "already bought"
# The audit outcomes of two refusals after which another provider may be asked.
KEY_UNREADABLE = "key_unreadable"
NOT_RECORDED_CANCELLED = "not_recorded_cancelled"


@dataclass
class Purchase(Outcome):
    activation: Activation | None = None
    duplicate: bool = False  # the form's token was used already: `activation` is its number
    # Set when the provider refused or did not answer and nothing is held (the reservation
    # released, a number sold but unrecordable cancelled there): its answer as the audit log
    # words it ("NO_NUMBERS", "unavailable", "not_recorded_cancelled", ...). Another provider
    # may then be asked with the same request token.
    provider_refusal: str = ""


def already_bought(acting: Membership, token: str) -> Purchase | None:
    existing = Activation.objects.filter(team=acting.team, request_token=token).first()
    if existing is None:
        return None
    return Purchase(True, _("This number was already bought."), activation=existing, duplicate=True)


def answered_token(acting: Membership, token: str) -> Purchase | None:
    """The answer for a request token that needs no purchase: a missing or malformed one
    (an expired form), or one a number was already bought with; None for a fresh token."""
    if not TOKEN_PATTERN.fullmatch(token):
        return Purchase(False, _("The form has expired. Please choose again and buy."))
    return already_bought(acting, token)


def _numbers_today(locked, api_token: ApiToken, now) -> int:
    """Numbers bought through the token since the team's midnight, purchases in flight
    included (the same way the budgets count them)."""
    since = team_day_start(locked, team_today(locked, now))
    bought = Activation.objects.filter(api_token=api_token, created_at__gte=since).count()
    in_flight = live_reservations(locked, now).filter(api_token=api_token, created_at__gte=since)
    return bought + in_flight.count()


def _reserve(
    acting: Membership, price: Decimal, currency: str, token: str, api_token: ApiToken | None
) -> str | None:
    """Reserve the price for this purchase; the refusal message, or None when reserved.
    The budgets are in the team's currency, the price in `currency` (its provider's).

    Holds the team's lock, as does recording a purchase, so a token seen here is either
    still reserved (the insert fails) or already recorded as an activation (found here).
    """
    with transaction.atomic():
        locked = lock_team(acting.team)
        if Activation.objects.filter(team=locked, request_token=token).exists():
            return ALREADY_BOUGHT
        now = timezone.now()
        Reservation.objects.filter(team=locked, created_at__lt=now - reservation_ttl()).delete()
        # The limit as stored now: a manager may have changed it since the page was loaded.
        limit = Membership.objects.filter(pk=acting.pk).values_list("monthly_limit", flat=True)[0]
        spending = spending_by_user(locked, now)
        if refusal := over_budget(locked, spending, price, user_id=acting.user_id, limit=limit):
            return refusal
        daily_limit = api_token.daily_limit if api_token is not None else None
        if daily_limit is not None and _numbers_today(locked, api_token, now) >= daily_limit:
            return ngettext(
                "The token %(token)s has bought its %(count)s number(s) for today.",
                "The token %(token)s has bought its %(count)s number(s) for today.",
                daily_limit,
            ) % {"token": api_token.label, "count": daily_limit}
        Reservation.objects.create(
            team=locked,
            user_id=acting.user_id,
            amount=price,
            request_token=token,
            api_token=api_token,
        )
    return None


def _release(acting: Membership, token: str) -> None:
    retry_when_locked(
        lambda: Reservation.objects.filter(team=acting.team, request_token=token).delete()
    )


def token_refusal(api_token: ApiToken, offer: Offer) -> Purchase | None:
    """Why the token may not buy this offer (its services and highest price), or None."""
    if api_token.services and offer.service.code not in api_token.services:
        return Purchase(
            False,
            _("The token %(token)s may not buy %(service)s.")
            % {"token": api_token.label, "service": offer.service.shown_name},
            BAD_SERVICE,
        )
    if api_token.max_price is not None and offer.price > api_token.max_price:
        return Purchase(
            False,
            _("%(price)s is over the highest price of the token %(token)s (%(highest)s).")
            % {
                "price": money(offer.price, offer.provider.currency),
                "token": api_token.label,
                "highest": money(api_token.max_price, api_token.team.currency),
            },
            NO_NUMBERS,
        )
    return None


def buy_number(
    *,
    acting: Membership,
    offer: Offer,
    request_token: str,
    ip: str | None = None,
    api_token: ApiToken | None = None,
    route: dict | None = None,
) -> Purchase:
    """Buy a number for the offer, within the budgets (and the limits of the personal token
    it comes through, if any), once per form token. `route` (how routing chose the offer) is
    stored on the activation and its audit event."""
    require_role(acting, BUYERS)
    team, user = acting.team, acting.user
    token = (request_token or "").strip()
    if answered := answered_token(acting, token):
        return answered

    provider = offer.provider
    if api_token is not None and (refused := token_refusal(api_token, offer)):
        return refused
    if not provider.enabled:
        return Purchase(
            False,
            _("%(provider)s is switched off by the operator.") % {"provider": provider.name},
            NO_NUMBERS,
        )
    if not offer.available:
        return Purchase(False, _("This offer is no longer listed by the provider."), NO_NUMBERS)
    account = account_with_key(team, provider)
    if account is None:
        return Purchase(
            False,
            _(
                "The team has no API key for %(provider)s. An owner or manager can attach "
                "one on the provider accounts page."
            )
            % {"provider": provider.name},
            NO_NUMBERS,
        )

    price = offer.price
    if price < 0:
        # Listed below zero: buying it would lower the month's spending and raise the
        # stored balance, letting a member buy past the budget.
        return Purchase(
            False,
            _(
                "%(provider)s lists this offer at a price below zero (%(price)s), which SMS "
                "Desk does not buy. Nothing was bought; ask an operator to check the catalog."
            )
            % {"provider": provider.name, "price": money(price, provider.currency)},
            NO_NUMBERS,
        )
    try:
        refusal = retry_when_locked(
            lambda: _reserve(acting, price, provider.currency, token, api_token)
        )
    except IntegrityError:
        # The other click of a double submission holds the reservation.
        return already_bought(acting, token) or Purchase(
            False, _("This purchase is already in progress."), duplicate=True
        )
    except OperationalError:
        log.warning("Database busy; purchase not started")
        return Purchase(
            False, _("SMS Desk is very busy right now. Nothing was bought; try again."), ERROR_SQL
        )
    if refusal == ALREADY_BOUGHT:
        return already_bought(acting, token)
    if refusal:
        record_by(
            acting,
            Action.BOUGHT,
            obj=offer,
            ip=ip,
            outcome="over_budget",
            price=price,
        )
        return Purchase(False, refusal, NO_BALANCE)

    try:
        with provider_client(account, user=user, obj=offer) as client:
            number = client.get_number(
                offer.service.code, offer.country.external_id, offer.operator.code
            )
    except protocol.InvalidNumber as error:
        # Sold (and maybe charged) but unrecordable: it goes back to the provider if it can.
        return _not_recorded(acting, account, offer, token, ip, error.activation_id)
    except KeyDecryptionError as error:
        _release(acting, token)
        record_by(acting, Action.BOUGHT, obj=offer, ip=ip, outcome=KEY_UNREADABLE, price=price)
        return Purchase(
            False,
            BUYING.message(error, provider.name),
            ERROR_SQL,
            provider_refusal=KEY_UNREADABLE,
        )
    except protocol.ProviderError as error:
        _release(acting, token)
        audit_refusal(acting, Action.BOUGHT, offer, ip, error, price=price)
        return Purchase(
            False,
            BUYING.message(error, provider.name),
            error.answer or ERROR_SQL,
            provider_refusal=outcome_of(error),
        )

    try:
        activation = retry_when_locked(
            lambda: _record_purchase(
                acting, account, offer, price, number, token, ip, api_token, route or {}
            )
        )
    except (*REFUSED_ROW, OperationalError) as error:
        # A provider reusing an activation id, a number the columns cannot hold, or a database
        # that stayed locked: a number we cannot track must not keep costing money.
        log.warning("Could not record a number bought at %s (%s)", provider, type(error).__name__)
        return _not_recorded(acting, account, offer, token, ip, number.activation_id)
    return Purchase(
        True,
        _("Bought %(phone)s for %(price)s.")
        % {"phone": activation.phone, "price": money(price, provider.currency)},
        activation=activation,
    )


def _not_recorded(acting, account, offer, token, ip, activation_id: str | None) -> Purchase:
    """A number was sold but cannot be recorded: cancel it at the provider (when its id can
    be read), release the reservation, and say which of the two happened."""
    provider = account.provider
    cancelled = activation_id is not None and _cancel_quietly(account, acting, activation_id)
    # A database still locked must not hide the answer from the user: the reservation then
    # goes stale after reservation_ttl().
    with contextlib.suppress(OperationalError):
        _release(acting, token)
        retry_when_locked(
            lambda: record_by(
                acting,
                Action.BOUGHT,
                obj=offer,
                ip=ip,
                outcome=NOT_RECORDED_CANCELLED if cancelled else "not_recorded",
                activation_id=activation_id,
                price=offer.price,
            )
        )
    if cancelled:
        return Purchase(
            False,
            _(
                "%(provider)s returned a number SMS Desk cannot record, so it was cancelled "
                "there: nothing is charged. Please try again."
            )
            % {"provider": provider.name},
            provider_refusal=NOT_RECORDED_CANCELLED,
        )
    return Purchase(
        False,
        _(
            "%(provider)s's answer to the purchase could not be read, so a number it may "
            "have sold could not be cancelled automatically. Check your activations at "
            "%(provider)s and cancel it there if it is listed."
        )
        % {"provider": provider.name},
    )


def _record_purchase(
    acting, account, offer, price, number, token, ip, api_token, route
) -> Activation:
    team = acting.team
    now = timezone.now()
    with transaction.atomic():
        lock_team(team)
        activation = Activation.objects.create(
            team=team,
            user=acting.user,
            account=account,
            provider=offer.provider,
            service=offer.service,
            country=offer.country,
            operator=offer.operator,
            phone=number.phone,
            provider_activation_id=number.activation_id,
            price=price,
            request_token=token,
            api_token=api_token,
            route=route,
            created_at=now,
            updated_at=now,
            next_poll_at=now,
            expires_at=now + timedelta(minutes=settings.ACTIVATION_LIFETIME_MINUTES),
        )
        Reservation.objects.filter(team=team, request_token=token).delete()
        # The price is never negative (refused before reserving, and the constraint), so a
        # purchase never raises the stored balance.
        ProviderAccount.objects.filter(pk=account.pk, balance__isnull=False).update(
            balance=F("balance") - price
        )
        record_by(
            acting,
            Action.BOUGHT,
            obj=activation,
            ip=ip,
            service=offer.service.code,
            country=offer.country.external_id,
            operator=offer.operator.code,
            phone=number.phone,
            price=price,
            provider=offer.provider.name,
            route=route,
        )
    return activation


def _cancel_quietly(account, acting: Membership, activation_id: str) -> bool:
    """Cancel at the provider (setStatus 8, audited by the client); True if it did."""
    try:
        with provider_client(account, user=acting.user) as client:
            answer = client.set_status(activation_id, protocol.STATUS_CANCEL)
    except (protocol.ProviderError, KeyDecryptionError):
        return False
    return answer == protocol.SetStatusResult.CANCEL


def account_in_use(account: ProviderAccount) -> str | None:
    """Why the account's key cannot be removed yet (`catalog.accounts.remove_account` asks
    under the team's lock, so no purchase is between its reservation and its record):
    activations on it still open, or purchases in flight; None when nothing uses it."""
    open_count = account.activations.filter(state__in=Activation.OPEN_STATES).count()
    in_flight = live_reservations(account.team, timezone.now()).exists()
    if not (open_count or in_flight):
        return None
    if not open_count:
        return _(
            "Some activation(s) on this key are still open or being bought. Complete or "
            "cancel them (or wait until they expire) before removing the key."
        )
    return ngettext(
        "%(count)s activation(s) on this key are still open or being bought. Complete or "
        "cancel them (or wait until they expire) before removing the key.",
        "%(count)s activation(s) on this key are still open or being bought. Complete or "
        "cancel them (or wait until they expire) before removing the key.",
        open_count,
    ) % {"count": open_count}

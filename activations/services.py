"""The rules of buying and managing numbers, provider keys and budgets.

Views validate input and call one function here. These functions check roles, own the
transactions and locks, talk to the provider through `catalog.upstream` (never inside a
database transaction: a provider's answer is never rolled back), and write the user's audit
record together with the change it describes.

Expected refusals (budget, stock, balance, provider errors, an illegal transition) come back
as an `Outcome` with a message for the user; only a wrong role raises (PermissionDenied).
"""

import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from activations.budgets import live_reservations, reservation_ttl, spending_by_user
from activations.models import Activation, Reservation
from activations.states import mark_closed, mark_waiting_retry
from catalog.models import Offer, Provider, ProviderAccount
from catalog.upstream import key_check_client, provider_client
from dashboard.audit import Action, record_action
from dashboard.db import REFUSED_ROW, retry_when_locked
from dashboard.encryption import EncryptionKeysUnusable, KeyDecryptionError, encrypt_key, fernet
from dashboard.models import BUYERS, MANAGERS, Membership, Team
from dashboard.teams import ZERO, lock_team
from provider import client as protocol

log = logging.getLogger(__name__)
State = Activation.State

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass
class Outcome:
    ok: bool
    message: str
    activation: Activation | None = None
    duplicate: bool = False


class KeyRejected(Exception):
    """The key could not be checked or was refused; the message is meant for the form."""


# --- Roles ----------------------------------------------------------------------------------


def membership_of(team: Team, user, roles) -> Membership:
    membership = Membership.objects.filter(team=team, user_id=user.pk).first()
    if membership is None or membership.role not in roles:
        raise PermissionDenied("Your role in this team does not allow this.")
    return membership


def _check_activation(team: Team, activation: Activation) -> None:
    if activation.team_id != team.pk:
        raise PermissionDenied("This activation belongs to another team.")


# --- Spending -------------------------------------------------------------------------------


# --- Buying ---------------------------------------------------------------------------------


def account_for(team: Team, provider: Provider) -> ProviderAccount | None:
    return (
        ProviderAccount.objects.filter(team=team, provider=provider)
        .exclude(key_ciphertext="")
        .select_related("provider", "team")
        .first()
    )


ALREADY_BOUGHT = "already bought"


def _reserve(team: Team, user, membership: Membership, price: Decimal, token: str) -> str | None:
    """Reserve the price for this purchase; the refusal message, or None when reserved.

    Holds the team's lock, as does recording a purchase, so a token seen here is either
    still reserved (the insert fails) or already recorded as an activation (found here).
    """
    with transaction.atomic():
        locked = lock_team(team)
        if Activation.objects.filter(team=locked, request_token=token).exists():
            return ALREADY_BOUGHT
        now = timezone.now()
        Reservation.objects.filter(team=locked, created_at__lt=now - reservation_ttl()).delete()
        spent = spending_by_user(locked, now)
        team_spent = sum(spent.values(), ZERO)
        if locked.monthly_budget is not None and team_spent + price > locked.monthly_budget:
            return (
                f"This would go over the team's monthly budget "
                f"({team_spent} of {locked.monthly_budget} used; this number costs {price})."
            )
        limit = Membership.objects.filter(pk=membership.pk).values_list("monthly_limit", flat=True)[
            0
        ]
        user_spent = spent.get(user.pk, ZERO)
        if limit is not None and user_spent + price > limit:
            return (
                f"This would go over your monthly limit "
                f"({user_spent} of {limit} used; this number costs {price})."
            )
        Reservation.objects.create(team=locked, user=user, amount=price, request_token=token)
    return None


def _release(team: Team, token: str) -> None:
    retry_when_locked(lambda: Reservation.objects.filter(team=team, request_token=token).delete())


BUY_ERRORS: list[tuple[type[protocol.ProviderError], str]] = [
    (
        protocol.NoNumbers,
        "No numbers available for this service, country and operator right "
        "now. Try another operator or country, or try again later.",
    ),
    (
        protocol.NoBalance,
        "The team's balance at {provider} is too low for this number. "
        "Top it up at the provider, then refresh the balance.",
    ),
    (
        protocol.BadKey,
        "{provider} rejected the team's API key. An owner or manager should "
        "replace it on the provider accounts page.",
    ),
    (protocol.Banned, "{provider} has banned the team's account."),
    (protocol.BadService, "{provider} does not sell this service any more."),
    (
        protocol.ProviderSqlError,
        "{provider}'s database failed. Nothing was bought; try again in a moment.",
    ),
    (
        protocol.RateLimited,
        "{provider} is limiting requests right now. Nothing was bought; "
        "try again in a few seconds.",
    ),
    (
        protocol.ProviderUnanswered,
        "{provider} did not answer in time. Nothing was recorded here; if it sold a number "
        "anyway, look for it in your activations at {provider} and cancel it there.",
    ),
    (
        protocol.ProviderUnavailable,
        "{provider} is not answering. Nothing was bought here; try again in a moment.",
    ),
    (
        protocol.ProtocolError,
        "{provider} sent an answer SMS Desk cannot read. Nothing was "
        "bought here; if the provider charged you, its own expiry refunds it.",
    ),
]


def provider_error_message(error: protocol.ProviderError, table, provider: Provider) -> str:
    for kind, message in table:
        if isinstance(error, kind):
            return message.format(provider=provider.name)
    return f"{provider.name} refused ({error.answer or type(error).__name__}). Nothing changed."


def buy_number(
    team: Team, user, *, offer: Offer, request_token: str, ip: str | None = None
) -> Outcome:
    """Buy a number for the offer, within the budgets, once per form token."""
    membership = membership_of(team, user, BUYERS)
    token = (request_token or "").strip()
    if not TOKEN_PATTERN.fullmatch(token):
        return Outcome(False, "The form has expired. Please choose again and buy.")

    existing = Activation.objects.filter(team=team, request_token=token).first()
    if existing is not None:
        return Outcome(True, "This number was already bought.", existing, duplicate=True)

    provider = offer.provider
    if not provider.enabled:
        return Outcome(False, f"{provider.name} is switched off by the operator.")
    if not offer.available:
        return Outcome(False, "This offer is no longer listed by the provider.")
    account = account_for(team, provider)
    if account is None:
        return Outcome(
            False,
            f"The team has no API key for {provider.name}. An owner or manager can attach "
            "one on the provider accounts page.",
        )

    price = offer.price
    if price < 0:
        # Listed below zero: buying it would lower the month's spending and raise the
        # stored balance, letting a member buy past the budget.
        return Outcome(
            False,
            f"{provider.name} lists this offer at a price below zero ({price}), which SMS "
            "Desk does not buy. Nothing was bought; ask an operator to check the catalog.",
        )
    try:
        refusal = retry_when_locked(lambda: _reserve(team, user, membership, price, token))
    except IntegrityError:
        # The other click of a double submission holds the reservation.
        existing = Activation.objects.filter(team=team, request_token=token).first()
        if existing is not None:
            return Outcome(True, "This number was already bought.", existing, duplicate=True)
        return Outcome(False, "This purchase is already in progress.", duplicate=True)
    except OperationalError:
        log.warning("Database busy; purchase not started")
        return Outcome(False, "SMS Desk is very busy right now. Nothing was bought; try again.")
    if refusal == ALREADY_BOUGHT:
        existing = Activation.objects.get(team=team, request_token=token)
        return Outcome(True, "This number was already bought.", existing, duplicate=True)
    if refusal:
        record_action(
            team=team,
            user=user,
            action=Action.BOUGHT,
            obj=offer,
            ip=ip,
            outcome="over_budget",
            price=price,
        )
        return Outcome(False, refusal)

    try:
        with provider_client(account, user=user, obj=offer) as client:
            number = client.get_number(
                offer.service.code, offer.country.external_id, offer.operator.code
            )
    except KeyDecryptionError:
        _release(team, token)
        return Outcome(
            False,
            "The team's stored key cannot be read. An owner or manager should attach it "
            "again on the provider accounts page.",
        )
    except protocol.InvalidNumber as error:
        # Sold (and maybe charged) but unrecordable: it goes back to the provider if it can.
        return _not_recorded(team, user, account, offer, token, ip, error.activation_id)
    except protocol.ProviderError as error:
        _release(team, token)
        _audit_refusal(team, user, Action.BOUGHT, offer, ip, error, price=price)
        return Outcome(False, provider_error_message(error, BUY_ERRORS, provider))

    try:
        activation = retry_when_locked(
            lambda: _record_purchase(team, user, account, offer, price, number, token, ip)
        )
    except (*REFUSED_ROW, OperationalError) as error:
        # A provider reusing an activation id, a number the columns cannot hold, or a database
        # that stayed locked: a number we cannot track must not keep costing money.
        log.warning("Could not record a number bought at %s (%s)", provider, type(error).__name__)
        return _not_recorded(team, user, account, offer, token, ip, number.activation_id)
    return Outcome(True, f"Bought {activation.phone}.", activation)


def _not_recorded(team, user, account, offer, token, ip, activation_id: str | None) -> Outcome:
    """A number was sold but cannot be recorded: cancel it at the provider (when its id can
    be read), release the reservation, and say which of the two happened."""
    provider = account.provider
    cancelled = activation_id is not None and _cancel_quietly(account, user, activation_id)
    # A database still locked must not hide the answer from the user: the reservation then
    # goes stale after reservation_ttl().
    with contextlib.suppress(OperationalError):
        _release(team, token)
        retry_when_locked(
            lambda: record_action(
                team=team,
                user=user,
                action=Action.BOUGHT,
                obj=offer,
                ip=ip,
                outcome="not_recorded_cancelled" if cancelled else "not_recorded",
                activation_id=activation_id,
                price=offer.price,
            )
        )
    if cancelled:
        return Outcome(
            False,
            f"{provider.name} returned a number SMS Desk cannot record, so it was cancelled "
            "there: nothing is charged. Please try again.",
        )
    return Outcome(
        False,
        f"{provider.name}'s answer to the purchase could not be read, so a number it may "
        f"have sold could not be cancelled automatically. Check your activations at "
        f"{provider.name} and cancel it there if it is listed.",
    )


def _record_purchase(team, user, account, offer, price, number, token, ip) -> Activation:
    now = timezone.now()
    with transaction.atomic():
        lock_team(team)
        activation = Activation.objects.create(
            team=team,
            user=user,
            account=account,
            provider=offer.provider,
            service=offer.service,
            country=offer.country,
            operator=offer.operator,
            phone=number.phone,
            provider_activation_id=number.activation_id,
            price=price,
            request_token=token,
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
        record_action(
            team=team,
            user=user,
            action=Action.BOUGHT,
            obj=activation,
            ip=ip,
            service=offer.service.code,
            country=offer.country.external_id,
            operator=offer.operator.code,
            phone=number.phone,
            price=price,
            provider=offer.provider.name,
        )
    return activation


def _cancel_quietly(account, user, activation_id: str) -> bool:
    """Cancel at the provider (setStatus 8, audited by the client); True if it did."""
    try:
        with provider_client(account, user=user) as client:
            answer = client.set_status(activation_id, protocol.STATUS_CANCEL)
    except (protocol.ProviderError, KeyDecryptionError):
        return False
    return answer == protocol.SetStatusResult.CANCEL


def _audit_refusal(team, user, action, obj, ip, error, **details) -> None:
    from catalog.upstream import outcome_of

    record_action(
        team=team,
        user=user,
        action=action,
        obj=obj,
        ip=ip,
        outcome=outcome_of(error),
        **details,
    )


# --- Managing an activation -----------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    status: int
    action: str
    allowed_from: frozenset
    not_allowed: str  # why, when the state does not allow it
    errors: list  # (error class, message) for this move, checked before the common ones


RETRY = Move(
    protocol.STATUS_RETRY,
    Action.RETRY_REQUESTED,
    frozenset({State.CODE_RECEIVED}),
    "Another SMS can be requested only after a code has arrived.",
    [
        (protocol.BadStatus, "{provider} does not allow another SMS for this number now."),
        (protocol.NoBalance, "The team's balance at {provider} is too low for another SMS."),
    ],
)
COMPLETE = Move(
    protocol.STATUS_COMPLETE,
    Action.COMPLETED,
    frozenset({State.CODE_RECEIVED, State.WAITING_RETRY}),
    "Only an activation that has received a code can be completed; cancel it instead.",
    [(protocol.BadStatus, "{provider} does not allow completing this number now.")],
)
CANCEL = Move(
    protocol.STATUS_CANCEL,
    Action.CANCELLED,
    frozenset({State.WAITING}),
    "Only an activation still waiting for its first code can be cancelled. Once a code has "
    "arrived, complete it instead.",
    [
        (
            protocol.EarlyCancelDenied,
            "{provider} does not allow cancelling this soon after buying. Try again in a minute.",
        ),
        (
            protocol.BadStatus,
            "{provider} refused the cancel: a code has probably arrived. "
            "Complete the activation instead.",
        ),
    ],
)

COMMON_ERRORS = [
    (
        protocol.BadKey,
        "{provider} rejected the team's API key. Nothing changed; an owner or "
        "manager should replace the key.",
    ),
    (protocol.Banned, "{provider} has banned the team's account. Nothing changed."),
    (
        protocol.RateLimited,
        "{provider} is limiting requests right now. Nothing changed; try again in a few seconds.",
    ),
    (
        protocol.ProviderUnavailable,
        "{provider} is not answering. Nothing changed; try again in a moment.",
    ),
    (
        protocol.ProtocolError,
        "{provider} sent an answer SMS Desk cannot read. Nothing changed here.",
    ),
    (protocol.ProviderError, "{provider} refused this change. Nothing changed."),
]

CLOSED_MESSAGE = {
    State.COMPLETED: "This activation is already completed.",
    State.CANCELLED: "This activation is already cancelled.",
    State.EXPIRED: "This activation has expired.",
}


def request_another_sms(team: Team, user, activation: Activation, *, ip=None) -> Outcome:
    """Ask the provider for another SMS on this number (setStatus 3)."""
    return _move(team, user, activation, RETRY, ip)


def complete(team: Team, user, activation: Activation, *, ip=None) -> Outcome:
    """Finish the activation (setStatus 6); it keeps its price."""
    return _move(team, user, activation, COMPLETE, ip)


def cancel(team: Team, user, activation: Activation, *, ip=None) -> Outcome:
    """Cancel before any code arrived (setStatus 8); a cancelled activation costs nothing."""
    return _move(team, user, activation, CANCEL, ip)


def _move(team: Team, user, activation: Activation, move: Move, ip) -> Outcome:
    membership_of(team, user, BUYERS)
    _check_activation(team, activation)
    activation.refresh_from_db()
    if activation.state in CLOSED_MESSAGE:
        return Outcome(False, CLOSED_MESSAGE[activation.state], activation)
    if activation.state not in move.allowed_from:
        return Outcome(False, move.not_allowed, activation)

    account = ProviderAccount.objects.select_related("provider", "team").get(
        pk=activation.account_id
    )
    provider = account.provider
    try:
        with provider_client(account, user=user, obj=activation) as client:
            result = client.set_status(activation.provider_activation_id, move.status)
    except KeyDecryptionError:
        return Outcome(
            False,
            "The team's stored key cannot be read. An owner or manager should attach it again.",
            activation,
        )
    except protocol.NoActivation as error:
        # The provider has forgotten it: it expired or was closed there. Stop polling it.
        closed_as = State.COMPLETED if activation.codes else State.EXPIRED
        mark_closed(activation, closed_as)
        _audit_refusal(team, user, move.action, activation, ip, error)
        return Outcome(
            False,
            f"{provider.name} no longer knows this activation (it expired or was closed "
            f"there); it is now marked {activation.get_state_display().lower()}.",
            activation,
        )
    except protocol.ProviderError as error:
        _audit_refusal(team, user, move.action, activation, ip, error)
        message = provider_error_message(error, move.errors + COMMON_ERRORS, provider)
        return Outcome(False, message, activation)

    return _apply(team, user, activation, move, result, ip)


def _apply(team, user, activation, move: Move, result, ip) -> Outcome:
    """Store what the provider's ACCESS_* answer says happened (it is the authority)."""
    Result = protocol.SetStatusResult
    if result == Result.CANCEL:
        changed = mark_closed(activation, State.CANCELLED)
        message = "Cancelled. It costs nothing; the price is back on the balance."
    elif result == Result.ACTIVATION:
        changed = mark_closed(activation, State.COMPLETED)
        message = "Completed."
    elif result == Result.RETRY_GET:
        changed = mark_waiting_retry(activation)
        message = "Waiting for another SMS."
    else:
        changed = False
        message = f"The provider answered {result.value}; nothing changed."
    record_action(
        team=team,
        user=user,
        action=move.action,
        obj=activation,
        ip=ip,
        outcome="ok" if changed else f"{result.value}_unchanged",
        answer=result.value,
        phone=activation.phone,
    )
    return Outcome(True, message, activation)


# --- Provider accounts ----------------------------------------------------------------------


def check_key(team: Team, user, provider: Provider, api_key: str) -> Decimal:
    """The balance behind a key not stored yet; KeyRejected with the form's message if not."""
    try:
        with key_check_client(provider, api_key, team=team, user=user) as client:
            return client.get_balance()
    except protocol.BadKey:
        raise KeyRejected(f"{provider.name} rejected this key. Check it and try again.") from None
    except protocol.ProviderUnavailable:
        raise KeyRejected(
            f"{provider.name} is not answering, so the key could not be checked. Nothing was "
            "stored; try again in a moment."
        ) from None
    except protocol.ProviderError as error:
        raise KeyRejected(
            f"{provider.name} did not accept the key check ({type(error).__name__}). "
            "Nothing was stored."
        ) from None


def attach_key(team: Team, user, provider: Provider, api_key: str, *, ip=None) -> ProviderAccount:
    """Check a key with getBalance and store it encrypted (adding or replacing the team's)."""
    membership_of(team, user, MANAGERS)
    api_key = api_key.strip()
    if not api_key:
        raise KeyRejected("Enter the API key.")
    try:
        fernet()  # unusable encryption keys: say so before the provider is asked
    except EncryptionKeysUnusable as error:
        raise KeyRejected(str(error)) from None
    balance = check_key(team, user, provider, api_key)
    now = timezone.now()
    with transaction.atomic():
        lock_team(team)  # two managers attaching at once: the second replaces the first
        account = (
            ProviderAccount.objects.select_for_update().filter(team=team, provider=provider).first()
        )
        replacing = account is not None and bool(account.key_ciphertext)
        if account is None:
            account = ProviderAccount(team=team, provider=provider, created_by=user)
        account.key_ciphertext = encrypt_key(api_key)
        account.key_last4 = api_key[-4:]
        account.balance = balance
        account.balance_checked_at = now
        account.updated_at = now
        account.save()
        record_action(
            team=team,
            user=user,
            action=Action.KEY_REPLACED if replacing else Action.KEY_ADDED,
            obj=account,
            ip=ip,
            provider=provider.name,
            masked_key=account.masked_key,
        )
    return account


def remove_key(team: Team, user, account: ProviderAccount, *, ip=None) -> Outcome:
    """Forget the team's key for a provider. Refused while activations on it are open."""
    membership_of(team, user, MANAGERS)
    if account.team_id != team.pk:
        raise PermissionDenied("This account belongs to another team.")
    provider_name = account.provider.name
    with transaction.atomic():
        # Under the team's lock no purchase is between its reservation and its record.
        lock_team(team)
        open_count = account.activations.filter(state__in=Activation.OPEN_STATES).count()
        in_flight = live_reservations(team, timezone.now()).exists()
        if open_count or in_flight:
            return Outcome(
                False,
                f"{open_count or 'Some'} activation(s) on this key are still open or being "
                "bought. Complete or cancel them (or wait until they expire) before removing "
                "the key.",
            )
        record_action(
            team=team,
            user=user,
            action=Action.KEY_REMOVED,
            obj=account,
            ip=ip,
            provider=provider_name,
        )
        if account.activations.exists():
            # Past activations keep pointing at the account; only the key goes.
            ProviderAccount.objects.filter(pk=account.pk).update(
                key_ciphertext="",
                key_last4="",
                balance=None,
                balance_checked_at=None,
                updated_at=timezone.now(),
            )
        else:
            account.delete()
    return Outcome(True, f"The key for {provider_name} was removed.")


def refresh_balance(team: Team, user, account: ProviderAccount, *, ip=None) -> Outcome:
    """Ask the provider for the account's balance and store it."""
    membership_of(team, user, BUYERS)
    if account.team_id != team.pk:
        raise PermissionDenied("This account belongs to another team.")
    provider = account.provider
    if not account.has_key:
        return Outcome(False, f"The team has no key for {provider.name}.")
    try:
        with provider_client(account, user=user) as client:
            balance = client.get_balance()
    except KeyDecryptionError:
        return Outcome(False, "The stored key cannot be read. Attach it again.")
    except protocol.ProviderError as error:
        return Outcome(False, provider_error_message(error, COMMON_ERRORS, provider))
    ProviderAccount.objects.filter(pk=account.pk).update(
        balance=balance, balance_checked_at=timezone.now()
    )
    account.balance = balance
    return Outcome(True, f"Balance at {provider.name}: {balance}.")


# --- Budgets --------------------------------------------------------------------------------


def set_budgets(
    team: Team,
    user,
    *,
    monthly_budget: Decimal | None,
    member_limits: dict[int, Decimal | None],
    ip=None,
) -> list[dict[str, Any]]:
    """Set the team's monthly budget and members' monthly limits (by membership id).

    Returns the changes made, each also written to the audit log as "budget changed".
    """
    membership_of(team, user, MANAGERS)
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
            record_action(
                team=team,
                user=user,
                action=Action.BUDGET_CHANGED,
                obj=change["obj"],
                ip=ip,
                target=change["target"],
                before=change["before"],
                after=change["after"],
            )
    return [{k: v for k, v in change.items() if k != "obj"} for change in changes]

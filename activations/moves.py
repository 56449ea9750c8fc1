"""The moves a person makes on a bought number: another SMS (setStatus 3), complete (6) and
cancel (8). Each is a row of the Move table: the states it starts from, why it is refused in
the others, and how the provider's refusals are worded (`catalog.provider_errors`). The
provider's ACCESS_* answer says what happened, and that is what is stored.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activations.models import Activation
from activations.states import mark_closed, mark_waiting_retry
from catalog.models import ProviderAccount
from catalog.provider_errors import (
    BAD_STATUS,
    CANCELLING,
    COMPLETING,
    ERROR_SQL,
    RETRYING,
    ErrorContext,
    Outcome,
    audit_refusal,
)
from catalog.upstream import provider_client
from dashboard.access import require_role, require_same_team
from dashboard.audit import Action, record_by
from dashboard.encryption import KeyDecryptionError
from dashboard.models import BUYERS, Membership
from provider import client as protocol

State = Activation.State


@dataclass(frozen=True)
class Move:
    status: int
    action: str
    allowed_from: frozenset
    not_allowed: str  # why, when the state does not allow it
    errors: ErrorContext  # how this move words the provider's refusals


RETRY = Move(
    protocol.STATUS_RETRY,
    Action.RETRY_REQUESTED,
    frozenset({State.CODE_RECEIVED}),
    gettext_lazy("Another SMS can be requested only after a code has arrived."),
    RETRYING,
)
COMPLETE = Move(
    protocol.STATUS_COMPLETE,
    Action.COMPLETED,
    frozenset({State.CODE_RECEIVED, State.WAITING_RETRY}),
    gettext_lazy(
        "Only an activation that has received a code can be completed; cancel it instead."
    ),
    COMPLETING,
)
CANCEL = Move(
    protocol.STATUS_CANCEL,
    Action.CANCELLED,
    frozenset({State.WAITING}),
    gettext_lazy(
        "Only an activation still waiting for its first code can be cancelled. Once a code has "
        "arrived, complete it instead."
    ),
    CANCELLING,
)

CLOSED_MESSAGE = {
    State.COMPLETED: gettext_lazy("This activation is already completed."),
    State.CANCELLED: gettext_lazy("This activation is already cancelled."),
    State.EXPIRED: gettext_lazy("This activation has expired."),
}


def request_another_sms(
    *, acting: Membership, activation: Activation, ip: str | None = None
) -> Outcome:
    """Ask the provider for another SMS on this number (setStatus 3)."""
    return _move(acting, activation, RETRY, ip)


def complete(*, acting: Membership, activation: Activation, ip: str | None = None) -> Outcome:
    """Finish the activation (setStatus 6); it keeps its price."""
    return _move(acting, activation, COMPLETE, ip)


def cancel(*, acting: Membership, activation: Activation, ip: str | None = None) -> Outcome:
    """Cancel before any code arrived (setStatus 8); a cancelled activation costs nothing."""
    return _move(acting, activation, CANCEL, ip)


def allowed_moves(activation: Activation, role: str) -> dict[str, bool]:
    """Which moves the page offers this viewer now."""
    can_act = role in BUYERS
    return {
        "retry": can_act and activation.state in RETRY.allowed_from,
        "complete": can_act and activation.state in COMPLETE.allowed_from,
        "cancel": can_act and activation.state in CANCEL.allowed_from,
    }


def _move(acting: Membership, activation: Activation, move: Move, ip) -> Outcome:
    require_role(acting, BUYERS)
    require_same_team(acting, activation, "This activation belongs to another team.")
    activation.refresh_from_db()
    if activation.state in CLOSED_MESSAGE:
        return Outcome(False, str(CLOSED_MESSAGE[activation.state]), BAD_STATUS)
    if activation.state not in move.allowed_from:
        return Outcome(False, str(move.not_allowed), BAD_STATUS)

    account = ProviderAccount.objects.select_related("provider", "team").get(
        pk=activation.account_id
    )
    provider = account.provider
    try:
        with provider_client(account, user=acting.user, obj=activation) as client:
            result = client.set_status(activation.provider_activation_id, move.status)
    except KeyDecryptionError as error:
        return Outcome(False, move.errors.message(error, provider.name), ERROR_SQL)
    except protocol.NoActivation as error:
        # The provider has forgotten it: it expired or was closed there. Stop polling it.
        closed_as = State.COMPLETED if activation.codes else State.EXPIRED
        mark_closed(activation, closed_as)
        audit_refusal(acting, move.action, activation, ip, error)
        return Outcome(
            False,
            _(
                "%(provider)s no longer knows this activation (it expired or was closed "
                "there); it is now marked %(state)s."
            )
            % {"provider": provider.name, "state": activation.get_state_display().lower()},
            BAD_STATUS,
        )
    except protocol.ProviderError as error:
        audit_refusal(acting, move.action, activation, ip, error)
        return Outcome(False, move.errors.message(error, provider.name), error.answer or ERROR_SQL)

    return _apply(acting, activation, move, result, ip)


def _apply(acting: Membership, activation: Activation, move: Move, result, ip) -> Outcome:
    """Store what the provider's ACCESS_* answer says happened (it is the authority)."""
    Result = protocol.SetStatusResult
    if result == Result.CANCEL:
        changed = mark_closed(activation, State.CANCELLED)
        message = _("Cancelled. It costs nothing; the price is back on the balance.")
    elif result == Result.ACTIVATION:
        changed = mark_closed(activation, State.COMPLETED)
        message = _("Completed.")
    elif result == Result.RETRY_GET:
        changed = mark_waiting_retry(activation)
        message = _("Waiting for another SMS.")
    else:
        changed = False
        message = _("The provider answered %(answer)s; nothing changed.") % {"answer": result.value}
    record_by(
        acting,
        move.action,
        obj=activation,
        ip=ip,
        outcome="ok" if changed else f"{result.value}_unchanged",
        answer=result.value,
        phone=activation.phone,
    )
    return Outcome(True, message, result.value)

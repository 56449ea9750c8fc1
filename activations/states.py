"""Moving an activation's state and codes forward, safely against concurrent writers.

The poller (storing codes it sees, closing what the provider closed or what expired) and users
(retry, complete, cancel) change the same rows at the same moment. Every change here is a
conditional update on the revision that was read: if someone else changed the row in between,
it is read again and the change re-checked against the new state. So states only move forward
(a closed activation never reopens) and a code, once stored, is never lost.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import F
from django.utils import timezone

from activations.models import Activation
from catalog.models import ProviderAccount

State = Activation.State
CLOSED_STATES = frozenset({State.COMPLETED, State.CANCELLED, State.EXPIRED})
MAX_ATTEMPTS = 20


class ConcurrentChange(Exception):
    """The row kept changing under us (should not happen outside pathological contention)."""


def _advance(activation: Activation, change: Callable[[dict], dict[str, Any] | None]) -> bool:
    """Apply change(current row) as a conditional update; False if change declines."""
    for _ in range(MAX_ATTEMPTS):
        row = (
            Activation.objects.filter(pk=activation.pk)
            .values("state", "codes", "revision", "first_code_at", "closed_at")
            .first()
        )
        if row is None:
            return False
        fields = change(row)
        if fields is None:
            _copy(activation, row)
            return False
        fields["updated_at"] = timezone.now()
        updated = Activation.objects.filter(pk=activation.pk, revision=row["revision"]).update(
            revision=F("revision") + 1, **fields
        )
        if updated:
            _copy(activation, {**row, **fields, "revision": row["revision"] + 1})
            return True
    raise ConcurrentChange(f"Activation {activation.pk} kept changing; gave up.")


def _copy(activation: Activation, values: dict) -> None:
    for name, value in values.items():
        setattr(activation, name, value)


def record_code(activation: Activation, code: str) -> bool:
    """Store a code seen at the provider; True if it was new.

    An open activation moves to CODE_RECEIVED. A closed one keeps its state but still gets
    the code (a code seen is never dropped). The same code as the latest one is not stored
    twice, so repeated STATUS_OK answers are harmless.
    """
    code = str(code).strip()
    if not code:
        return False

    def change(row: dict) -> dict | None:
        codes = list(row["codes"] or [])
        if codes and codes[-1] == code:
            return None
        fields: dict[str, Any] = {"codes": [*codes, code]}
        if row["first_code_at"] is None:
            fields["first_code_at"] = timezone.now()
        if row["state"] not in CLOSED_STATES:
            fields["state"] = State.CODE_RECEIVED
        return fields

    return _advance(activation, change)


def mark_waiting_retry(activation: Activation) -> bool:
    """After the provider accepted "another SMS" (status 3): CODE_RECEIVED -> WAITING_RETRY."""

    def change(row: dict) -> dict | None:
        if row["state"] != State.CODE_RECEIVED:
            return None
        return {"state": State.WAITING_RETRY}

    return _advance(activation, change)


def mark_closed(activation: Activation, state: str) -> bool:
    """Close an open activation as COMPLETED, CANCELLED or EXPIRED; True if this call closed it.

    Closed is final: a closed activation is never moved again. Closing as cancelled or expired
    (both cost nothing) gives the price back to the account's stored balance, once.
    """
    if state not in CLOSED_STATES:
        raise ValueError(f"{state!r} is not a closed state")

    def change(row: dict) -> dict | None:
        if row["state"] in CLOSED_STATES:
            return None
        return {"state": state, "closed_at": timezone.now()}

    closed = _advance(activation, change)
    if closed and state in Activation.FREE_STATES:
        ProviderAccount.objects.filter(pk=activation.account_id, balance__isnull=False).update(
            balance=F("balance") + activation.price
        )
    return closed

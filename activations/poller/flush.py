"""Writing what polls found: a new code (never overwritten: `states.record_code`), a cancel by
the provider, an expiry, each activation's next poll, and the account counters.

States only move forward (`activations.states`). Polls that change nothing are counted on
the provider account in one UPDATE per flush, not logged; changes and errors go to the audit
log. An answer the database cannot store (a NUL byte on PostgreSQL) is that activation's
error alone, backed off; the rest of the flush is written.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Case, F, Value, When

from activations import states
from activations.models import Activation
from activations.poller.results import (
    Call,
    PassSummary,
    Result,
    UnstorableAnswer,
    poll_error_message,
)
from activations.poller.schedule import age_multiplier, backoff_seconds
from catalog.models import ProviderAccount
from dashboard.audit import Action, one_request, record_action, record_call
from dashboard.db import REFUSED_ROW

logger = logging.getLogger(__name__)

State = Activation.State
# Rows written per UPDATE when flushing bookkeeping.
FLUSH_CHUNK = 200

Bookkeeping = tuple[int, datetime, datetime, int, str]  # pk, next poll, polled at, failures, error


class Flusher:
    """Writes one worker's poll results back (its claims are handed back as it writes)."""

    def __init__(self, worker_id: str, interval: float) -> None:
        self.worker_id = worker_id
        self.interval = interval

    def flush(self, results: list[Result], now: datetime) -> PassSummary:
        """Write a batch of poll results: changes one by one (each a conditional update),
        the bookkeeping of all in one UPDATE per chunk, the counters in one per account;
        returns what the batch did.

        A change the database refuses for its data (`REFUSED_ROW`: a code with a NUL byte on
        PostgreSQL, a value too long) is rolled back to its own savepoint and becomes that
        activation's error, backed off like any other; the rest of the batch is written.
        Any other database error (an outage) fails the whole batch, which is written again
        later: writing twice is harmless (a code already stored is not stored again, a
        closed activation stays closed)."""
        summary = PassSummary()
        with transaction.atomic():
            bookkeeping: list[Bookkeeping] = []
            counters: dict[int, list[int]] = {}
            for result in results:
                activation = result.activation
                changed = self._apply(result, summary)
                count = counters.setdefault(activation.account_id, [0, 0, 0])
                count[0] += 1
                if result.error is not None:
                    count[2] += 1
                    failures = activation.poll_failures + 1
                    delay = backoff_seconds(failures, self.interval)
                    message = poll_error_message(result.error)
                else:
                    count[1] += int(changed)
                    failures, message = 0, ""
                    delay = self._delay(activation, now)
                next_poll = now + timedelta(seconds=delay)
                if activation.expires_at > now:
                    next_poll = min(next_poll, activation.expires_at)
                bookkeeping.append(
                    (activation.pk, next_poll, result.sent_at, failures, message[:200])
                )
            for start in range(0, len(bookkeeping), FLUSH_CHUNK):
                self._write_bookkeeping(bookkeeping[start : start + FLUSH_CHUNK])
            for account_id, (polls, changes, errors) in counters.items():
                ProviderAccount.objects.filter(pk=account_id).update(
                    polls=F("polls") + polls,
                    poll_changes=F("poll_changes") + changes,
                    poll_errors=F("poll_errors") + errors,
                    last_polled_at=now,
                )
        return summary

    def _delay(self, activation: Activation, now: datetime) -> float:
        """Seconds to the next poll with the budget to spare (`due_at` stretches it)."""
        multiplier = age_multiplier(activation.state, activation.created_at, now)
        return self.interval * multiplier * random.uniform(0.9, 1.1)

    def _write_bookkeeping(self, rows: list[Bookkeeping]) -> None:
        """Hand the claims back with each row's next poll and the moment its request left:
        one UPDATE per (failures, error) group, times kept to a tenth of a second so that few
        CASE arms do.

        The next poll is rounded up (a poll due at the expiry then finds the activation
        expired), the last one down (a user's retry after it still makes the row due, see
        `due_at`; claiming early needs 1.2 intervals since it, which leaves room for that).
        """
        groups: dict[tuple[int, str], list[tuple[int, datetime, datetime]]] = {}
        for pk, next_poll, polled_at, failures, message in rows:
            groups.setdefault((failures, message), []).append(
                (pk, tenth_of_second(next_poll, up=True), tenth_of_second(polled_at, up=False))
            )
        for (failures, message), group in groups.items():
            Activation.objects.filter(
                pk__in=[pk for pk, _, _ in group], claimed_by=self.worker_id
            ).update(
                next_poll_at=per_row({pk: at for pk, at, _ in group}),
                last_polled_at=per_row({pk: at for pk, _, at in group}),
                poll_failures=failures,
                last_poll_error=message,
                claimed_by="",
                claimed_until=None,
            )

    def _apply(self, result: Result, summary: PassSummary) -> bool:
        """Store what the poll found; True if the activation changed."""
        summary.polls += 1
        if result.error is not None:
            summary.errors += 1
            return False
        if not (result.code or result.close_as):
            summary.unchanged += 1
            return False
        activation = result.activation
        try:
            with transaction.atomic():
                new_code = bool(result.code) and states.record_code(activation, result.code)
                closed = bool(result.close_as) and states.mark_closed(activation, result.close_as)
                with one_request():  # the poll's calls and what they closed, together
                    _audit(result, new_code, closed)
        except REFUSED_ROW as error:
            # This row's savepoint is rolled back; the other rows of the flush are written.
            logger.warning(
                "Poller: the poll of activation %s cannot be stored (%s)",
                activation.pk,
                type(error).__name__,
            )
            result.error = UnstorableAnswer()
            with one_request():
                _audit_unstorable(result)
            summary.errors += 1
            return False
        except DatabaseError:
            raise
        except Exception as error:  # a bug in one result must not block the others
            logger.exception("Poller: storing the poll of activation %s failed", activation.pk)
            result.error = error
            summary.errors += 1
            return False
        summary.codes += int(new_code)
        if new_code or closed:
            what = ["new code"] if new_code else []
            if closed:
                what.append(f"{'expiry: ' if result.expiring else ''}{result.close_as}")
            summary.changes.append(
                f"activation {activation.pk} ({activation.phone}): " + ", ".join(what)
            )
        if closed:
            if result.close_as == State.CANCELLED:
                summary.cancelled += 1
            elif result.close_as == State.EXPIRED:
                summary.expired += 1
            else:
                summary.completed += 1
        if not (new_code or closed):
            summary.unchanged += 1
        return new_code or closed


def _audit_unstorable(result: Result) -> None:
    """Keep the answers that could not be stored in the audit log (which stores provider
    text with control characters replaced), so that an operator can see what came."""
    with transaction.atomic():
        for call in result.calls:
            if call.error is None:
                _record(result.activation, call, "unstorable")


def _audit(result: Result, new_code: bool, closed: bool) -> None:
    activation = result.activation
    for call in result.calls:
        if call.error is not None:
            continue  # the client's hook has written it already
        if call.action == Action.GET_STATUS:
            if not (new_code or (closed and not result.expiring)):
                continue  # polls that change nothing are counted, not logged
            outcome = "code_received" if new_code else "cancelled_by_provider"
        else:
            outcome = "ok"
        _record(activation, call, outcome)
    if closed and result.expiring:
        record_action(
            team=activation.team,
            user=None,
            action=Action.EXPIRED
            if result.close_as == State.EXPIRED
            else Action.COMPLETED_AT_EXPIRY,
            obj=activation,
            outcome="ok",
            by="poller",
            state=result.close_as,
            phone=activation.phone,
        )


def _record(activation: Activation, call: Call, outcome: str) -> None:
    """Write one of a poll's calls to the audit log."""
    record_call(
        team=activation.team,
        account=activation.account,
        action=call.action,
        params=call.params,
        answer=call.answer or "",
        http_status=call.http_status,
        latency_ms=call.latency_ms,
        outcome=outcome,
        obj=activation,
    )


def tenth_of_second(moment: datetime, *, up: bool) -> datetime:
    tenth = moment.replace(microsecond=moment.microsecond // 100_000 * 100_000)
    if up and tenth != moment:
        return tenth + timedelta(microseconds=100_000)
    return tenth


def per_row(values: dict[int, datetime]):
    """A value for an UPDATE of these rows: one constant, or a CASE with an arm per value."""
    by_value: dict[datetime, list[int]] = {}
    for pk, value in values.items():
        by_value.setdefault(value, []).append(pk)
    if len(by_value) == 1:
        return Value(next(iter(by_value)))
    return Case(*(When(pk__in=pks, then=Value(value)) for value, pks in by_value.items()))

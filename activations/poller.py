"""The background poller: asks providers for the status of every open activation.

A loop (the django-q2 task `activations.tasks.poll_for_a_minute`, run every minute, or
`manage.py poll_once` for one pass in the foreground) does, over and over:

1. **Claims** due activations atomically. A conditional UPDATE sets `claimed_by` and
   `claimed_until` only on rows whose claim is free or expired; only the rows it updated are
   this worker's. PostgreSQL re-checks the condition on rows another transaction just
   updated, SQLite runs one writer at a time: either way two workers (threads, processes or
   clusters) never hold one activation at once, and a worker killed mid-poll loses its claim
   when `claimed_until` passes, so another takes the activation over.
2. **Polls** getStatus concurrently (asyncio) through one pooled AsyncProviderClient per
   provider account, each request taking a slot of the provider's request budget at
   `Priority.POLL` (`catalog.upstream` does that), most urgent first (see `due_at`).
3. **Stores** what changed at once: a new code (never overwritten: `states.record_code`),
   a cancel by the provider, an expiry. States only move forward (`activations.states`).
   Polls that change nothing are counted on the provider account in one UPDATE per flush,
   not logged; changes and errors go to the audit log. An answer the database cannot store
   (a NUL byte on PostgreSQL) is that activation's error alone, backed off; the rest of
   the flush is written.
4. **Schedules** the next poll by age (`age_multiplier`): a new activation one interval after
   its purchase, then every POLL_INTERVAL for two minutes, then 2x growing to 5x from five
   minutes on; a requested retry is young again, one with its code is asked about every 10x.
   When a provider's open activations want more requests than its budget allows, every wait
   is stretched by the same factor when choosing what to poll, and budget left over goes to
   those due next, so it is spent where codes are likely. Errors and HTTP 429 back off
   exponentially with jitter.

Expiry: an activation past `expires_at` with no code is cancelled at the provider (refund)
and marked EXPIRED; one with a code is completed there and marked COMPLETED. If the provider
fails, it stays open and is tried again.

All database work runs in the thread that started the loop (`sync_to_async`, thread
sensitive), so the loop holds one connection; a database error (say, PostgreSQL restarting)
is logged, what was not written stays in memory, and the next tick tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone

from activations import states
from activations.models import Activation, WorkerHeartbeat
from catalog.models import ProviderAccount
from catalog.upstream import async_provider_client, last_sent_at
from dashboard.audit import record_action, record_call
from dashboard.db import REFUSED_ROW
from dashboard.encryption import KeyDecryptionError
from provider.client import (
    STATUS_CANCEL,
    STATUS_COMPLETE,
    AsyncProviderClient,
    NoActivation,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SetStatusResult,
    Status,
    StatusState,
)

logger = logging.getLogger(__name__)

State = Activation.State
HEARTBEAT_NAME = "poller"

# A claim lasts this long; a worker that dies mid-poll holds its activations no longer.
CLAIM_SECONDS = 30.0
# Each request's timeout (connect and read): well inside the claim.
REQUEST_TIMEOUT = 10.0
# At most this many requests in flight per provider (its budget usually binds first).
CONCURRENCY = 16
# How long the loop waits for news between ticks when nothing wakes it.
TICK_SECONDS = 0.2
# How often the loop refreshes the heartbeat and each provider's stretch factor.
HEARTBEAT_SECONDS = 1.0
LOAD_SECONDS = 2.0
# Polls take at most this share of a provider's budget when stretching intervals (the rest
# is for users and the catalog sync).
POLL_SHARE = 0.9
MAX_BACKOFF_SECONDS = 120.0
# What a claim loads of each activation (its account comes from a per-loop cache).
CLAIMED_FIELDS = (
    "id",
    "team",
    "account",
    "provider",
    "provider_activation_id",
    "phone",
    "price",
    "state",
    "codes",
    "created_at",
    "expires_at",
    "next_poll_at",
    "poll_failures",
    "claimed_until",
)
# Rows written per UPDATE when flushing bookkeeping.
FLUSH_CHUNK = 200

YOUNG_SECONDS = 120.0
SLOWEST_MULTIPLIER = 5.0
CODE_RECEIVED_MULTIPLIER = 10.0
# Age bands (seconds) and the multiplier that stands for each, to estimate the demand.
AGE_BANDS = [(0, 120, 1.0), (120, 180, 2.5), (180, 240, 3.5), (240, 300, 4.5)]


# --- Scheduling ------------------------------------------------------------------------------


def age_multiplier(state: str, created_at: datetime, now: datetime) -> float:
    """How many POLL_INTERVALs to wait before asking about this activation again.

    Most codes come within the first two minutes; the longer a number has waited after
    that, the less likely its code is to come at all. So: every interval for the first two
    minutes, then 2x, growing with the age (3x at three minutes) up to 5x from five minutes
    on. A requested retry is young again; an activation with its code is asked about rarely.
    """
    if state == State.WAITING_RETRY:
        return 1.0
    if state == State.CODE_RECEIVED:
        # Only a cancel or an unrequested second code can still come (the expiry is
        # scheduled on its own, and a retry requested later is due after one interval).
        return CODE_RECEIVED_MULTIPLIER
    age = (now - created_at).total_seconds()
    if age < YOUNG_SECONDS:
        return 1.0
    return min(SLOWEST_MULTIPLIER, max(2.0, age / 60.0))


def backoff_seconds(failures: int, interval: float) -> float:
    """Exponential backoff with full jitter on the upper half: 2x, 4x, 8x ... the interval."""
    ceiling = min(MAX_BACKOFF_SECONDS, interval * 2 ** min(failures, 16))
    return ceiling * random.uniform(0.5, 1.0)


class UnstorableAnswer(Exception):
    """What a poll found cannot be stored (say, a code with a NUL byte on PostgreSQL): an
    error of that activation alone, backed off like a provider's error."""


def poll_error_message(error: BaseException) -> str:
    """What the activation page shows while polls fail (never the key: the client strips it)."""
    if isinstance(error, UnstorableAnswer):
        return "Provider sent an answer SMS Desk cannot store, retrying"
    if isinstance(error, RateLimited):
        return "Provider is limiting requests, retrying"
    if isinstance(error, ProviderUnavailable):
        return "Provider not answering, retrying"
    if isinstance(error, ProtocolError):
        return "Provider sent an answer we cannot read, retrying"
    if isinstance(error, KeyDecryptionError):
        return "The team's stored key cannot be read; attach it again"
    if isinstance(error, ProviderError) and error.answer:
        return f"Provider answered {error.answer}, retrying"
    return "Provider not answering, retrying"


# --- What one poll found ---------------------------------------------------------------------


@dataclass
class Call:
    """One exchange with the provider, kept to audit it if it changed something or failed."""

    action: str
    params: dict
    answer: str | None
    http_status: int | None
    latency_ms: int
    error: ProviderError | None


@dataclass
class Result:
    activation: Activation
    code: str | None = None
    close_as: str | None = None
    expiring: bool = False
    error: BaseException | None = None
    # When getStatus left for the provider (when the poll began, if it never left).
    sent_at: datetime = field(default_factory=timezone.now)
    calls: list[Call] = field(default_factory=list)


@dataclass
class PassSummary:
    """What a loop did; `manage.py poll_once` prints it."""

    claimed: int = 0
    polls: int = 0
    unchanged: int = 0
    codes: int = 0
    cancelled: int = 0
    expired: int = 0
    completed: int = 0
    errors: int = 0
    db_errors: int = 0
    changes: list[str] = field(default_factory=list)  # one line per activation changed

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}, polled {self.polls} ({self.unchanged} unchanged), "
            f"new codes {self.codes}, cancelled by provider {self.cancelled}, "
            f"expired {self.expired}, completed at expiry {self.completed}, "
            f"provider errors {self.errors}, database errors {self.db_errors}"
        )


class ExchangeRecorder:
    """Wraps the client's audit hook: remembers each exchange for the poll that made it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: dict[tuple[str, str], Call] = {}

    def __call__(self, action, params, answer, http_status, latency_ms, error):
        self.calls[(action, str(params.get("id", "")))] = Call(
            action, dict(params), answer, http_status, latency_ms, error
        )
        return self.inner(action, params, answer, http_status, latency_ms, error)

    def pop(self, action: str, activation_id: str) -> Call | None:
        return self.calls.pop((action, activation_id), None)


@dataclass(order=True)
class Queued:
    """A claimed activation waiting for its request; claims come most urgent first, so the
    order of claiming is the order of polling."""

    seq: int
    activation: Activation = field(compare=False)


@dataclass
class Lane:
    """One provider's queue of claimed activations and its pace."""

    provider_id: int
    rate: float
    factor: float = 1.0
    heap: list[Queued] = field(default_factory=list)
    in_flight: int = 0
    paused_until: float = 0.0
    rate_limited: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def concurrency(self) -> int:
        # Enough to keep the budget busy at ~0.5 s per answer, never a crowd at the budget.
        return max(2, min(CONCURRENCY, int(self.rate)))

    @property
    def wanted(self) -> int:
        """How many more claims keep about two seconds of work queued."""
        target = max(4, min(2 * CONCURRENCY, int(self.rate * 2)))
        return max(0, target - len(self.heap) - self.in_flight)

    def slow_down(self, retry_after: float | None) -> None:
        self.rate_limited += 1
        pause = retry_after or min(30.0, 2 ** min(self.rate_limited, 5) * 0.5)
        self.paused_until = max(
            self.paused_until, time.monotonic() + pause * random.uniform(1, 1.5)
        )

    def answered(self) -> None:
        self.rate_limited = 0


# --- The loop --------------------------------------------------------------------------------


class Poller:
    """One worker's loop. `run(seconds)` for the task, `run_once()` for one pass."""

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        interval: float | None = None,
        claim_seconds: float = CLAIM_SECONDS,
        request_timeout: float = REQUEST_TIMEOUT,
        provider_ids: set[int] | None = None,
    ) -> None:
        self.worker_id = (
            worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        )
        self.interval = float(settings.POLL_INTERVAL if interval is None else interval)
        self.claim_seconds = claim_seconds
        self.request_timeout = request_timeout
        # Poll only these providers' activations (None: all), e.g. one loop per provider.
        self.provider_ids = provider_ids
        self.summary = PassSummary()
        self.all_open = False
        self.stop_requested = threading.Event()
        self._lanes: dict[int, Lane] = {}
        self._clients: dict[int, tuple[AsyncProviderClient, ExchangeRecorder]] = {}
        self._accounts: dict[int, ProviderAccount] = {}
        self._results: list[Result] = []
        self._release: list[int] = []
        self._mine: set[int] = set()  # claimed and not yet flushed
        self._seen: set[int] = set()  # polled in this pass (run_once polls each once)
        self._tasks: set[asyncio.Task] = set()
        self._seq = itertools.count()
        self._last_heartbeat = -HEARTBEAT_SECONDS
        self._last_load = -LOAD_SECONDS
        self._db_failures = 0

    # -- entry points (sync) --

    def run(self, seconds: float) -> PassSummary:
        """Poll for `seconds` (or until SIGTERM / `stop()`), then hand every claim back."""
        restore = stop_on_signals(self)
        try:
            async_to_sync(self._run)(seconds, False)
        finally:
            restore()
        return self.summary

    def run_once(self, *, all_open: bool = False) -> PassSummary:
        """Poll every activation due now (or every open one) once, then return."""
        self.all_open = all_open
        restore = stop_on_signals(self)
        try:
            async_to_sync(self._run)(None, True)
        finally:
            restore()
        return self.summary

    def stop(self) -> None:
        self.stop_requested.set()

    # -- the async loop --

    async def _run(self, seconds: float | None, once: bool) -> None:
        self._wake = asyncio.Event()
        self._once = once
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        dispatchers: dict[int, asyncio.Task] = {}
        claimed_nothing = False
        try:
            while not self.stop_requested.is_set():
                if deadline is not None and loop.time() >= deadline:
                    break
                results, self._results = self._results, []
                release, self._release = self._release, []
                wanted = {pid: lane.wanted for pid, lane in self._lanes.items()}
                try:
                    claims = await sync_to_async(self._tick)(results, release, wanted, once)
                    self._db_failures = 0
                except DatabaseError as error:
                    # Keep what was not written; the next tick tries again.
                    self._results[:0] = results
                    self._release[:0] = release
                    await self._database_failed(error)
                    continue
                except Exception:
                    # A bug must not stop polling: these results are dropped (the codes are
                    # still at the provider, the claims expire and the next poll reads them).
                    logger.exception("Poller %s: tick failed", self.worker_id)
                    await asyncio.sleep(1.0)
                    continue
                for lane in self._lanes.values():
                    if lane.provider_id not in dispatchers:
                        dispatchers[lane.provider_id] = asyncio.create_task(self._dispatch(lane))
                claimed_nothing = not any(claims.values())
                for provider_id, activations in claims.items():
                    lane = self._lanes[provider_id]
                    for activation in activations:
                        heapq.heappush(lane.heap, Queued(next(self._seq), activation))
                    if activations:
                        lane.wake.set()
                if once and claimed_nothing and not self._busy():
                    break
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), TICK_SECONDS)
        finally:
            for task in dispatchers.values():
                task.cancel()
            await asyncio.gather(*dispatchers.values(), return_exceptions=True)
            await self._finish()

    def _busy(self) -> bool:
        return bool(
            self._results
            or self._tasks
            or any(lane.heap or lane.in_flight for lane in self._lanes.values())
        )

    async def _database_failed(self, error: DatabaseError) -> None:
        self._db_failures += 1
        self.summary.db_errors += 1
        logger.warning(
            "Poller %s: database error (%s); retrying.", self.worker_id, type(error).__name__
        )
        await sync_to_async(_reset_connection)()
        await asyncio.sleep(min(5.0, 0.2 * 2 ** min(self._db_failures, 5)))

    async def _dispatch(self, lane: Lane) -> None:
        """Start polls in order of due time, as fast as the lane's pace allows."""
        while True:
            if not lane.heap or lane.in_flight >= lane.concurrency:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            pause = lane.paused_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            queued = heapq.heappop(lane.heap)
            activation = queued.activation
            # A claim about to run out is handed back rather than polled late.
            left = (activation.claimed_until - timezone.now()).total_seconds()
            if left < min(self.request_timeout * 2 + 1, self.claim_seconds / 2):
                self._release.append(activation.pk)
                continue
            lane.in_flight += 1
            task = asyncio.create_task(self._poll(lane, activation))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _poll(self, lane: Lane, activation: Activation) -> None:
        result = Result(activation)
        try:
            client, recorder = await self._client_for(activation)
            if activation.expires_at <= timezone.now():
                result.expiring = True
                await self._expire(client, recorder, activation, result)
            else:
                status = await self._status(client, recorder, activation, result)
                self._read(status, result)
            lane.answered()
        except ProviderError as error:
            result.error = error
            if isinstance(error, RateLimited):
                lane.slow_down(error.retry_after)
        except KeyDecryptionError as error:
            result.error = error
        except Exception as error:  # a bug must not kill the loop; the claim is handed back
            logger.exception("Poller: polling activation %s failed", activation.pk)
            result.error = error
        finally:
            lane.in_flight -= 1
            lane.wake.set()
            self._results.append(result)
            if result.code or result.close_as or self._once:
                self._wake.set()  # a code is stored at once, not at the next tick

    async def _status(self, client, recorder, activation, result) -> Status:
        try:
            return await client.get_status(activation.provider_activation_id)
        finally:
            # The request may have waited seconds for a budget slot after the poll began.
            result.sent_at = last_sent_at() or result.sent_at
            call = recorder.pop("getStatus", activation.provider_activation_id)
            if call is not None:
                result.calls.append(call)

    async def _set_status(self, client, recorder, activation, result, status: int):
        try:
            return await client.set_status(activation.provider_activation_id, status)
        finally:
            call = recorder.pop("setStatus", activation.provider_activation_id)
            if call is not None:
                result.calls.append(call)

    @staticmethod
    def _read(status: Status, result: Result) -> None:
        if status.state == StatusState.OK and status.code:
            result.code = status.code
        elif status.state == StatusState.CANCEL:
            result.close_as = State.CANCELLED
        # WAIT_CODE, WAIT_RETRY, WAIT_RESEND: nothing new.

    async def _expire(self, client, recorder, activation: Activation, result: Result) -> None:
        """Close at the provider what outlived its lifetime: complete with a code, else cancel.

        A last getStatus first, so that a code that arrived at the last moment is kept (and
        the activation completed rather than cancelled).
        """
        try:
            status = await self._status(client, recorder, activation, result)
        except NoActivation:
            # The provider has forgotten it (closed there): nothing to cancel or complete.
            result.close_as = State.COMPLETED if activation.codes else State.EXPIRED
            return
        self._read(status, result)
        if result.close_as:
            return
        has_code = bool(activation.codes or result.code)
        try:
            answer = await self._set_status(
                client,
                recorder,
                activation,
                result,
                STATUS_COMPLETE if has_code else STATUS_CANCEL,
            )
        except NoActivation:
            result.close_as = State.COMPLETED if has_code else State.EXPIRED
            return
        # Any other refusal (BAD_STATUS: a code probably arrived just now) raises: the
        # activation stays open and the next try reads the code first.
        if answer == SetStatusResult.ACTIVATION:
            result.close_as = State.COMPLETED
        elif answer == SetStatusResult.CANCEL:
            result.close_as = State.EXPIRED
        else:
            raise ProtocolError("Unexpected answer to an expiry.", raw=answer.value)

    async def _client_for(self, activation: Activation):
        entry = self._clients.get(activation.account_id)
        if entry is None:
            account = activation.account  # loaded with provider and team by the claim
            client = async_provider_client(
                account,
                timeout=self.request_timeout,
                # The budget wait included: a poll ends (and is written) well within its claim.
                deadline=self.claim_seconds / 2,
                # Errors are audited by the client's hook; changes are audited by the flush.
                audit_actions=frozenset({"getNumber", "getBalance"}),
                limits=httpx.Limits(
                    max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY
                ),
            )
            recorder = ExchangeRecorder(client.on_exchange)
            client.on_exchange = recorder
            entry = self._clients[activation.account_id] = (client, recorder)
        return entry

    async def _finish(self) -> None:
        """Wait for polls in flight, write their results, hand every claim back."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.request_timeout + 2)
        for task in list(self._tasks):
            task.cancel()
        for client, _recorder in self._clients.values():
            try:
                await client.aclose()
            except Exception:  # closing a broken pool must not hide the results
                logger.debug("closing a provider client failed", exc_info=True)
        self._clients.clear()
        for lane in self._lanes.values():
            self._release.extend(q.activation.pk for q in lane.heap)
            lane.heap.clear()
        for _attempt in range(5):
            results, self._results = self._results, []
            try:
                await sync_to_async(self._final_flush)(results)
                return
            except DatabaseError as error:
                self._results[:0] = results
                await self._database_failed(error)
        logger.error(
            "Poller %s stopped without writing %d results; their claims expire by themselves.",
            self.worker_id,
            len(self._results),
        )

    # -- database work (runs in the loop's starting thread) --

    def _tick(
        self, results: list[Result], release: list[int], wanted: dict[int, int], once: bool
    ) -> dict[int, list[Activation]]:
        now = timezone.now()
        if results:
            self._flush(results, now)
        if release:
            self._hand_back(release)
        monotonic = time.monotonic()
        if monotonic - self._last_load >= LOAD_SECONDS:
            self._measure_load(now)
            self._last_load = monotonic
            wanted = {pid: lane.wanted for pid, lane in self._lanes.items()}
        if monotonic - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._heartbeat(now)
            self._last_heartbeat = monotonic
        claims = {}
        for provider_id, count in wanted.items():
            if count > 0:
                claims[provider_id] = self.claim(provider_id, count, now, once=once)
        return claims

    def _final_flush(self, results: list[Result]) -> None:
        now = timezone.now()
        if results:
            self._flush(results, now)
        Activation.objects.filter(claimed_by=self.worker_id).update(
            claimed_by="", claimed_until=None
        )
        self._mine.clear()
        self._heartbeat(now, stopped=True)

    def due_at(self, now: datetime, factor: float = 1.0):
        """When each activation's next poll is due, stretched by `factor`, as an expression.

        `next_poll_at` holds the schedule with the budget to spare (one interval times the
        age multiplier after the last poll). When the provider's budget binds, every wait is
        stretched by the same factor at the moment of choosing (so a schedule written under
        a smaller factor is not favoured). Three cases come first: an expired activation is
        due at once; a new one one (stretched) interval after its purchase, and a requested
        retry one interval after the request, whatever the schedule said (a code is never
        there at once: asking at once would spend the budget on the least likely answers).
        """
        interval = self.interval

        def after(field: str, seconds: float):
            return F(field) + Value(timedelta(seconds=seconds))

        def stretched(multiplier: float):
            return after("next_poll_at", (factor - 1) * interval * multiplier)

        whens = [
            When(expires_at__lte=now, then=F("expires_at")),
            When(
                last_polled_at__isnull=True,
                next_poll_at__lte=now,
                then=after("created_at", interval * factor),
            ),
            When(
                state=State.WAITING_RETRY,
                last_polled_at__lt=F("updated_at"),
                then=after("updated_at", interval * factor),
            ),
        ]
        if factor > 1:
            whens += [
                When(state=State.CODE_RECEIVED, then=stretched(CODE_RECEIVED_MULTIPLIER)),
                When(state=State.WAITING_RETRY, then=stretched(1.0)),
                *(
                    When(
                        created_at__gt=now - timedelta(seconds=upper),
                        then=stretched(multiplier),
                    )
                    for _, upper, multiplier in AGE_BANDS
                ),
            ]
        default = stretched(SLOWEST_MULTIPLIER) if factor > 1 else F("next_poll_at")
        return Case(*whens, default=default, output_field=models.DateTimeField())

    def candidates(self, provider_id: int, now: datetime, factor: float = 1.0):
        """The provider's open activations nobody holds, with `due` (see `due_at`)."""
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        return Activation.objects.filter(
            free, provider_id=provider_id, state__in=Activation.OPEN_STATES
        ).annotate(due=self.due_at(now, factor))

    def claim(
        self, provider_id: int, limit: int, now: datetime | None = None, *, once: bool = False
    ) -> list[Activation]:
        """Claim up to `limit` due activations of one provider, most overdue first; only the
        rows the conditional UPDATE changed are this worker's.

        When the provider's budget binds, the rest of `limit` goes to those due next, ahead
        of time: the stretch factor is an estimate, and budget it leaves unused would be
        wasted (the order by due time keeps the spacing by age).
        """
        now = now or timezone.now()
        lane = self._lanes.get(provider_id)
        factor = lane.factor if lane is not None else 1.0
        candidates = self.candidates(provider_id, now, factor)
        exclude = self._mine | self._seen if once else self._mine
        if exclude:
            candidates = candidates.exclude(pk__in=exclude)
        if not (once and self.all_open):
            if once or factor <= 1:
                candidates = candidates.filter(due__lte=now)
            else:
                # Early, but never twice within an interval (with room for the batching),
                # and never sooner than one interval after the purchase.
                rested = Q(last_polled_at__lte=now - timedelta(seconds=self.interval * 1.2)) | Q(
                    last_polled_at__isnull=True,
                    created_at__lte=now - timedelta(seconds=self.interval),
                )
                candidates = candidates.filter(Q(due__lte=now) | rested)
        pks = list(candidates.order_by("due", "pk").values_list("pk", flat=True)[:limit])
        if not pks:
            return []
        until = now + timedelta(seconds=self.claim_seconds)
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        updated = Activation.objects.filter(free, pk__in=pks).update(
            claimed_by=self.worker_id, claimed_until=until
        )
        if not updated:
            return []
        mine = list(
            Activation.objects.filter(
                pk__in=pks, claimed_by=self.worker_id, claimed_until=until
            ).only(*CLAIMED_FIELDS)
        )
        order = {pk: n for n, pk in enumerate(pks)}
        mine.sort(key=lambda activation: order[activation.pk])
        self._attach_accounts(mine)
        self._mine.update(a.pk for a in mine)
        if once:
            self._seen.update(a.pk for a in mine)
        self.summary.claimed += len(mine)
        return mine

    def _attach_accounts(self, activations: list[Activation]) -> None:
        """Give each activation its account (with provider and team), loaded once per loop:
        the clients are built from them without touching the database."""
        missing = {a.account_id for a in activations} - self._accounts.keys()
        if missing:
            for account in ProviderAccount.objects.filter(pk__in=missing).select_related(
                "provider", "team"
            ):
                self._accounts[account.pk] = account
        for activation in activations:
            account = self._accounts[activation.account_id]
            activation.account = account
            activation.team = account.team

    def _hand_back(self, pks: list[int]) -> None:
        Activation.objects.filter(pk__in=pks, claimed_by=self.worker_id).update(
            claimed_by="", claimed_until=None
        )
        self._mine.difference_update(pks)

    def _measure_load(self, now: datetime) -> None:
        """Per provider: its rate, and how far intervals must stretch to fit its budget."""
        open_activations = Activation.objects.filter(
            state__in=Activation.OPEN_STATES, created_at__lte=now
        )
        if self.provider_ids is not None:
            open_activations = open_activations.filter(provider_id__in=self.provider_ids)
        bands = {
            f"age{n}": Count(
                "pk",
                filter=Q(
                    state=State.WAITING,
                    created_at__gt=now - timedelta(seconds=upper),
                    created_at__lte=now - timedelta(seconds=lower),
                ),
            )
            for n, (lower, upper, _) in enumerate(AGE_BANDS)
        }
        oldest = AGE_BANDS[-1][1]
        rows = open_activations.values("provider_id", "provider__max_requests_per_second").annotate(
            retry=Count("pk", filter=Q(state=State.WAITING_RETRY)),
            coded=Count("pk", filter=Q(state=State.CODE_RECEIVED)),
            old=Count(
                "pk",
                filter=Q(state=State.WAITING, created_at__lte=now - timedelta(seconds=oldest)),
            ),
            **bands,
        )
        for row in rows:
            rate = float(row["provider__max_requests_per_second"] or 1.0)
            # Requests per second the schedule by age would ask for (see age_multiplier).
            weighted = (
                row["retry"]
                + row["coded"] / CODE_RECEIVED_MULTIPLIER
                + row["old"] / SLOWEST_MULTIPLIER
                + sum(row[f"age{n}"] / m for n, (_, _, m) in enumerate(AGE_BANDS))
            )
            demand = weighted / self.interval
            lane = self._lanes.get(row["provider_id"])
            if lane is None:
                lane = self._lanes[row["provider_id"]] = Lane(row["provider_id"], rate)
            lane.rate = rate
            lane.factor = max(1.0, demand / (rate * POLL_SHARE))

    def _heartbeat(self, now: datetime, stopped: bool = False) -> None:
        WorkerHeartbeat.objects.update_or_create(
            name=HEARTBEAT_NAME,
            defaults={
                "last_seen_at": now,
                "details": {
                    "worker": self.worker_id,
                    "stopped": stopped,
                    "polls": self.summary.polls,
                    "codes": self.summary.codes,
                    "errors": self.summary.errors,
                    "interval": self.interval,
                    "stretch": {
                        str(pid): round(lane.factor, 2) for pid, lane in self._lanes.items()
                    },
                },
            },
        )

    def _flush(self, results: list[Result], now: datetime) -> None:
        """Write a batch of poll results: changes one by one (each a conditional update),
        the bookkeeping of all in one UPDATE per chunk, the counters in one per account.

        A change the database refuses for its data (`REFUSED_ROW`: a code with a NUL byte on
        PostgreSQL, a value too long) is rolled back to its own savepoint and becomes that
        activation's error, backed off like any other; the rest of the batch is written.
        Any other database error (an outage) fails the whole batch, which is written again
        later: writing twice is harmless (a code already stored is not stored again, a
        closed activation stays closed)."""
        summary = PassSummary()
        with transaction.atomic():
            bookkeeping: list[tuple[int, datetime, datetime, int, str]] = []
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
        self._mine.difference_update(r.activation.pk for r in results)
        for name in ("polls", "unchanged", "codes", "cancelled", "expired", "completed"):
            setattr(self.summary, name, getattr(self.summary, name) + getattr(summary, name))
        self.summary.errors += summary.errors
        self.summary.changes.extend(summary.changes)

    def _delay(self, activation: Activation, now: datetime) -> float:
        """Seconds to the next poll with the budget to spare (`due_at` stretches it)."""
        multiplier = age_multiplier(activation.state, activation.created_at, now)
        return self.interval * multiplier * random.uniform(0.9, 1.1)

    def _write_bookkeeping(self, rows: list[tuple[int, datetime, datetime, int, str]]) -> None:
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
                self._audit(result, new_code, closed)
        except REFUSED_ROW as error:
            # This row's savepoint is rolled back; the other rows of the flush are written.
            logger.warning(
                "Poller: the poll of activation %s cannot be stored (%s)",
                activation.pk,
                type(error).__name__,
            )
            result.error = UnstorableAnswer()
            self._audit_unstorable(result)
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

    def _audit_unstorable(self, result: Result) -> None:
        """Keep the answers that could not be stored in the audit log (which stores provider
        text with control characters replaced), so that an operator can see what came."""
        with transaction.atomic():
            for call in result.calls:
                if call.error is None:
                    _record(result.activation, call, "unstorable")

    def _audit(self, result: Result, new_code: bool, closed: bool) -> None:
        activation = result.activation
        for call in result.calls:
            if call.error is not None:
                continue  # the client's hook has written it already
            if call.action == "getStatus":
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
                action="expired" if result.close_as == State.EXPIRED else "completed_at_expiry",
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


def _reset_connection() -> None:
    # Drop a broken connection so that the next query reconnects (never inside a test's
    # transaction, where closing would throw the test's data away).
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def stop_on_signals(poller: Poller):
    """Install SIGTERM/SIGINT handlers that stop the poller; returns a function restoring them.

    Only possible in the main thread (django-q2 runs tasks in a worker process's main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}

    def handler(signum, frame):
        logger.info("Poller %s: signal %s, stopping.", poller.worker_id, signum)
        poller.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore

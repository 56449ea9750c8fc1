"""The poller's loop: claim due activations, poll them, write what they found, over and over.

A loop (the django-q2 task `activations.tasks.poll_for_a_minute`, run every minute, or
`manage.py poll_once` for one pass in the foreground) ticks: it writes the results that came
in (`flush`), hands back claims it gave up, measures each provider's load every
LOAD_SECONDS (`load`), refreshes its heartbeat every HEARTBEAT_SECONDS and claims what each
provider's lane can take (`claims`); the lanes poll concurrently (`dispatch`, `polls`).

All database work runs in the thread that started the loop (`sync_to_async`, thread
sensitive), so the loop holds one connection; a database error (say, PostgreSQL restarting)
is logged, what was not written stays in memory, and the next tick tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from activations.models import Activation, WorkerHeartbeat
from activations.poller.claims import Claims
from activations.poller.dispatch import Dispatcher
from activations.poller.flush import Flusher
from activations.poller.load import measure_load
from activations.poller.mode import RunMode
from activations.poller.polls import Polls
from activations.poller.results import PassSummary, Result

logger = logging.getLogger(__name__)

HEARTBEAT_NAME = "poller"
# A claim lasts this long; a worker that dies mid-poll holds its activations no longer.
CLAIM_SECONDS = 30.0
# Each request's timeout (connect and read): well inside the claim.
REQUEST_TIMEOUT = 10.0
# How long the loop waits for news between ticks when nothing wakes it.
TICK_SECONDS = 0.2
# How often the loop refreshes the heartbeat and each provider's stretch factor.
HEARTBEAT_SECONDS = 1.0
LOAD_SECONDS = 2.0


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
        # Poll only these providers' activations (None: all), e.g. one loop per provider.
        self.provider_ids = provider_ids
        self.summary = PassSummary()
        self.stop_requested = threading.Event()
        self.claims = Claims(self.worker_id, self.interval, claim_seconds)
        self.flusher = Flusher(self.worker_id, self.interval)
        self.dispatcher = Dispatcher(
            Polls(request_timeout, claim_seconds), request_timeout, claim_seconds
        )
        self._last_heartbeat = -HEARTBEAT_SECONDS
        self._last_load = -LOAD_SECONDS
        self._db_failures = 0

    # -- entry points (sync) --

    def run(self, seconds: float) -> PassSummary:
        """Poll for `seconds` (or until SIGTERM / `stop()`), then hand every claim back."""
        return self._run_in_foreground(RunMode.LOOP, seconds)

    def run_once(self, *, all_open: bool = False) -> PassSummary:
        """Poll every activation due now (or every open one) once, then return."""
        return self._run_in_foreground(RunMode.ALL_ONCE if all_open else RunMode.DUE_ONCE)

    def stop(self) -> None:
        self.stop_requested.set()

    def _run_in_foreground(self, mode: RunMode, seconds: float | None = None) -> PassSummary:
        restore = stop_on_signals(self)
        try:
            async_to_sync(self._run)(mode, seconds)
        finally:
            restore()
        return self.summary

    # -- the async loop --

    async def _run(self, mode: RunMode, seconds: float | None) -> None:
        dispatcher = self.dispatcher
        dispatcher.start(once=mode.once)
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        try:
            while not self.stop_requested.is_set():
                if deadline is not None and loop.time() >= deadline:
                    break
                results, dispatcher.results = dispatcher.results, []
                release, dispatcher.release = dispatcher.release, []
                wanted = dispatcher.wanted()
                try:
                    claims = await sync_to_async(self._tick)(results, release, wanted, mode)
                    self._db_failures = 0
                except DatabaseError as error:
                    # Keep what was not written; the next tick tries again.
                    dispatcher.results[:0] = results
                    dispatcher.release[:0] = release
                    await self._database_failed(error)
                    continue
                except Exception:
                    # A bug must not stop polling: these results are dropped (the codes are
                    # still at the provider, the claims expire and the next poll reads them).
                    logger.exception("Poller %s: tick failed", self.worker_id)
                    await asyncio.sleep(1.0)
                    continue
                dispatcher.queue(claims)
                claimed_nothing = not any(claims.values())
                if mode.once and claimed_nothing and not dispatcher.busy():
                    break
                dispatcher.news.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(dispatcher.news.wait(), TICK_SECONDS)
        finally:
            await dispatcher.stop()
            await self._finish()

    async def _database_failed(self, error: DatabaseError) -> None:
        self._db_failures += 1
        self.summary.db_errors += 1
        logger.warning(
            "Poller %s: database error (%s); retrying.", self.worker_id, type(error).__name__
        )
        await sync_to_async(_reset_connection)()
        await asyncio.sleep(min(5.0, 0.2 * 2 ** min(self._db_failures, 5)))

    async def _finish(self) -> None:
        """Wait for polls in flight, write their results, hand every claim back."""
        dispatcher = self.dispatcher
        await dispatcher.finish()  # what it gave up, the final flush hands back with the rest
        for _attempt in range(5):
            results, dispatcher.results = dispatcher.results, []
            try:
                await sync_to_async(self._final_flush)(results)
                return
            except DatabaseError as error:
                dispatcher.results[:0] = results
                await self._database_failed(error)
        logger.error(
            "Poller %s stopped without writing %d results; their claims expire by themselves.",
            self.worker_id,
            len(dispatcher.results),
        )

    # -- database work (runs in the loop's starting thread) --

    def _tick(
        self, results: list[Result], release: list[int], wanted: dict[int, int], mode: RunMode
    ) -> dict[int, list[Activation]]:
        now = timezone.now()
        if results:
            self._flush(results, now)
        if release:
            self.claims.hand_back(release)
        monotonic = time.monotonic()
        if monotonic - self._last_load >= LOAD_SECONDS:
            for load in measure_load(now, self.interval, self.provider_ids):
                self.dispatcher.measured(load)
            self._last_load = monotonic
            wanted = self.dispatcher.wanted()
        if monotonic - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._heartbeat(now)
            self._last_heartbeat = monotonic
        claims = {}
        for provider_id, count in wanted.items():
            if count > 0:
                factor = self.dispatcher.factor(provider_id)
                claimed = self.claims.claim(provider_id, count, now, factor=factor, mode=mode)
                self.summary.claimed += len(claimed)
                claims[provider_id] = claimed
        return claims

    def _final_flush(self, results: list[Result]) -> None:
        now = timezone.now()
        if results:
            self._flush(results, now)
        self.claims.hand_back_all()
        self._heartbeat(now, stopped=True)

    def _flush(self, results: list[Result], now: datetime) -> None:
        self.summary.add(self.flusher.flush(results, now))
        self.claims.written(r.activation.pk for r in results)

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
                        str(pid): round(lane.factor, 2)
                        for pid, lane in self.dispatcher.lanes.items()
                    },
                },
            },
        )


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

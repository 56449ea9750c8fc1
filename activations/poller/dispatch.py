"""Polling claimed activations: per provider, a lane that starts polls most urgent first, as
fast as the provider's budget and its answers allow (HTTP 429 slows the lane down)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from dataclasses import dataclass, field

from django.utils import timezone

from activations.models import Activation
from activations.poller.load import ProviderLoad
from activations.poller.polls import CONCURRENCY, Polls
from activations.poller.results import Result
from provider.client import RateLimited


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


class Dispatcher:
    """The lanes of one worker. What the polls found waits in `results`, and claims given up
    unpolled in `release`, for the loop to write back."""

    def __init__(self, polls: Polls, request_timeout: float, claim_seconds: float) -> None:
        self.polls = polls
        self.request_timeout = request_timeout
        self.claim_seconds = claim_seconds
        self.lanes: dict[int, Lane] = {}
        self.results: list[Result] = []
        self.release: list[int] = []
        self.tasks: set[asyncio.Task] = set()  # polls in flight
        self._runners: dict[int, asyncio.Task] = {}
        self._seq = itertools.count()
        # Set when a poll found something to store at once (in a pass: after any poll).
        self.news = asyncio.Event()
        self._once = False

    def start(self, *, once: bool) -> None:
        """Begin a run (in its event loop)."""
        self.news = asyncio.Event()
        self._once = once

    def measured(self, load: ProviderLoad) -> None:
        lane = self.lanes.get(load.provider_id)
        if lane is None:
            lane = self.lanes[load.provider_id] = Lane(load.provider_id, load.rate)
        lane.rate = load.rate
        lane.factor = load.factor

    def wanted(self) -> dict[int, int]:
        """Per provider, how many more claims its lane can take."""
        return {pid: lane.wanted for pid, lane in self.lanes.items()}

    def factor(self, provider_id: int) -> float:
        lane = self.lanes.get(provider_id)
        return lane.factor if lane is not None else 1.0

    def queue(self, claims: dict[int, list[Activation]]) -> None:
        """Queue what was claimed in each provider's lane (in the order of claiming)."""
        for lane in self.lanes.values():
            if lane.provider_id not in self._runners:
                self._runners[lane.provider_id] = asyncio.create_task(self._run_lane(lane))
        for provider_id, activations in claims.items():
            lane = self.lanes[provider_id]
            for activation in activations:
                heapq.heappush(lane.heap, Queued(next(self._seq), activation))
            if activations:
                lane.wake.set()

    def busy(self) -> bool:
        return bool(
            self.results
            or self.tasks
            or any(lane.heap or lane.in_flight for lane in self.lanes.values())
        )

    async def stop(self) -> None:
        """Start no more polls."""
        for task in self._runners.values():
            task.cancel()
        await asyncio.gather(*self._runners.values(), return_exceptions=True)
        self._runners.clear()

    async def finish(self) -> None:
        """Wait for polls in flight (their results join `results`), give up the queued."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=self.request_timeout + 2)
        for task in list(self.tasks):
            task.cancel()
        await self.polls.close()
        for lane in self.lanes.values():
            self.release.extend(q.activation.pk for q in lane.heap)
            lane.heap.clear()

    async def _run_lane(self, lane: Lane) -> None:
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
                self.release.append(activation.pk)
                continue
            lane.in_flight += 1
            task = asyncio.create_task(self._poll(lane, activation))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _poll(self, lane: Lane, activation: Activation) -> None:
        result = Result(activation)
        try:
            await self.polls.poll(result)
            if isinstance(result.error, RateLimited):
                lane.slow_down(result.error.retry_after)
            elif result.error is None:
                lane.answered()
        finally:
            lane.in_flight -= 1
            lane.wake.set()
            self.results.append(result)
            if result.code or result.close_as or self._once:
                self.news.set()  # a code is stored at once, not at the next tick

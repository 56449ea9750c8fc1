"""Fetching a provider's catalog: concurrent listing calls, each retried with backoff.

Every call goes through the provider's `catalog.upstream.CatalogLister`, which first waits
for a token of the provider's request budget at the lowest priority (users and the poller go
first) and writes failed calls to the audit log. The catalog itself is not touched here; the
answers are stored afterwards (`catalog.sync.store`). Waits are bounded: a Retry-After counts
up to MAX_RETRY_AFTER_SECONDS, and no wait or call starts past the sync's FETCH_BUDGET.
"""

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from catalog.models import Provider
from catalog.sync.claims import SYNC_CLAIM
from catalog.sync.errors import ErrorLog, describe
from catalog.sync.key import SyncKey
from catalog.upstream import CatalogLister
from provider.client import MAX_RETRY_AFTER_SECONDS, Country, ProviderError, ServiceOffer

logger = logging.getLogger(__name__)

# No call or retry wait starts later than this after the sync began, so that the writes
# still finish within the task's timeout (catalog.tasks.SYNC_TIMEOUT, a minute later).
FETCH_BUDGET = SYNC_CLAIM - timedelta(minutes=2)
# Calls in flight at once (the request budget still sets the pace).
CONCURRENCY = 16
# Attempts per call on a retryable error (ProviderUnavailable, ERROR_SQL), with exponential
# backoff from RETRY_DELAY seconds plus jitter.
ATTEMPTS = 4
RETRY_DELAY = 0.5


@dataclass(frozen=True)
class Pair:
    country: int  # the provider's country id
    operator: str  # the provider's operator id


@dataclass
class Fetched:
    countries: list[Country] | None = None  # None when this run did not ask for them
    offers: dict[Pair, list[ServiceOffer]] = field(default_factory=dict)
    errors: ErrorLog = field(default_factory=ErrorLog)
    calls: int = 0


class OutOfTime(Exception):
    """The sync's FETCH_BUDGET ran out before this call (or its retry) could start."""

    def __init__(self) -> None:
        super().__init__("The sync ran out of time before asking.")


def retry_delay(attempt: int, exc: ProviderError) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential backoff with jitter, longer
    when the provider asked (Retry-After), never longer than MAX_RETRY_AFTER_SECONDS."""
    delay = RETRY_DELAY * 2**attempt
    asked = getattr(exc, "retry_after", None)
    if asked is not None and math.isfinite(asked):
        delay = max(delay, asked)
    return min(delay * random.uniform(1.0, 1.25), MAX_RETRY_AFTER_SECONDS)


@dataclass
class Asker:
    """How a sync asks its provider: each call retried on a retryable error (`attempts` in
    all, with `retry_delay` between) while `deadline` (a `time.monotonic()` instant) allows.
    A call that still fails answers None once its reason is in `errors` (with `where`, added
    to every entry), so it costs that call, never the sync. `calls` counts every request."""

    deadline: float
    errors: ErrorLog
    attempts: int = ATTEMPTS
    where: dict[str, Any] = field(default_factory=dict)
    calls: int = 0

    async def call[T](self, request: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.attempts):
            if time.monotonic() >= self.deadline:
                raise OutOfTime()
            self.calls += 1
            try:
                return await request()
            except ProviderError as exc:
                if not exc.retryable or attempt == self.attempts - 1:
                    raise
                delay = retry_delay(attempt, exc)
                if time.monotonic() + delay >= self.deadline:
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def ask[T](
        self, action: str, request: Callable[[], Awaitable[T]], **where: Any
    ) -> T | None:
        """The answer, or None once the reason there is none is recorded."""
        try:
            return await self.call(request)
        except Exception as exc:
            if not isinstance(exc, ProviderError | OutOfTime):
                # The client promises a ProviderError for any answer; should a hostile one
                # still break it (say, a RecursionError), that costs this call, not the sync.
                logger.exception("Unexpected error reading %s %s", action, where)
            self.errors.add(action, describe(exc), **self.where, **where)
            return None


async def fetch_catalog(
    provider: Provider,
    key: SyncKey,
    *,
    pairs: list[Pair] | None,
    concurrency: int = CONCURRENCY,
    prices: bool = True,
) -> Fetched:
    """Ask the provider for its countries (when `pairs` is None) and the prices of every pair.

    A pair that still fails after its retries is recorded in `errors`, and so is each row the
    client left out of an answer; the rest go on.
    """
    fetched = Fetched(errors=ErrorLog(secret=key.api_key))
    asker = Asker(time.monotonic() + FETCH_BUDGET.total_seconds(), fetched.errors)
    try:
        return await _fetch(provider, key, asker, fetched, pairs, concurrency, prices)
    finally:
        fetched.calls = asker.calls


async def _fetch(
    provider: Provider,
    key: SyncKey,
    asker: Asker,
    fetched: Fetched,
    pairs: list[Pair] | None,
    concurrency: int,
    prices: bool,
) -> Fetched:
    limit = asyncio.Semaphore(max(1, concurrency))
    async with CatalogLister(provider, key.api_key, account=key.account) as lister:
        if pairs is None:
            action = "getCountryAndOperators"
            answer = await asker.ask(action, lister.get_countries)
            if answer is None:
                return fetched
            fetched.countries = list(answer)
            fetched.errors.add_left_out(action, answer)
            pairs = [Pair(c.id, op) for c in fetched.countries for op in dict.fromkeys(c.operators)]
        if not prices:
            return fetched

        async def prices_of(pair: Pair) -> None:
            action = "getServicesAndCost"
            where = {"country": pair.country, "operator": pair.operator}
            async with limit:
                answer = await asker.ask(
                    action, lambda: lister.get_services(pair.country, pair.operator), **where
                )
            if answer is not None:
                fetched.offers[pair] = list(answer)
                fetched.errors.add_left_out(action, answer, **where)

        await asyncio.gather(*(prices_of(pair) for pair in pairs))
    fetched.errors.entries.sort(key=lambda e: (e.get("country", -1), e.get("operator", "")))
    return fetched

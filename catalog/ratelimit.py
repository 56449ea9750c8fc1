"""Each provider's request budget, shared by user actions, the poller and the catalog sync.

Providers allow a few requests per second per key. Every upstream call first takes a slot
here. Priorities decide who waits when the budget is short: user actions first, status polls
next, the catalog sync last.

This first version is a token bucket per provider inside one process.
"""

import asyncio
import threading
import time
from enum import IntEnum


class Priority(IntEnum):
    USER = 0
    POLL = 1
    SYNC = 2


# The share of a full bucket each priority must leave untouched for the ones above it.
RESERVE = {Priority.USER: 0.0, Priority.POLL: 0.2, Priority.SYNC: 0.5}


class TokenBucket:
    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def try_take(self, priority: Priority) -> float:
        """Take a token if the priority may; otherwise return the seconds to wait."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            floor = 1.0 + RESERVE[priority] * self.capacity
            if self.tokens >= floor or (priority is Priority.USER and self.tokens >= 1.0):
                self.tokens -= 1.0
                return 0.0
            return max((floor - self.tokens) / self.rate, 0.001)


_buckets: dict[int, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(provider_id: int, rate: float) -> TokenBucket:
    with _buckets_lock:
        bucket = _buckets.get(provider_id)
        if bucket is None or bucket.rate != rate:
            bucket = _buckets[provider_id] = TokenBucket(rate)
        return bucket


async def acquire(provider_id: int, rate: float, priority: Priority) -> None:
    """Wait (without blocking the event loop) until the provider's budget allows one request."""
    bucket = bucket_for(provider_id, rate)
    while (wait := bucket.try_take(priority)) > 0:
        await asyncio.sleep(wait)


def acquire_blocking(provider_id: int, rate: float, priority: Priority) -> None:
    """The same for synchronous code (user actions in a view)."""
    bucket = bucket_for(provider_id, rate)
    while (wait := bucket.try_take(priority)) > 0:
        time.sleep(wait)

"""Each provider's request budget, shared by user actions, the poller and the catalog sync.

Providers allow a few requests per second per key. Every upstream call first takes a slot
here. Priorities decide who waits when the budget is short: user actions first, status polls
next, the catalog sync last. Two rules give the order:

- a lower priority leaves a reserve of the bucket untouched for the higher ones (a user who
  clicks "cancel" while the poller is busy finds a token at once);
- a higher priority that is waiting marks itself in the bucket, and lower priorities do not
  take a token until that mark has passed (strict order even at one request per second).

With ``REDIS_URL`` set the bucket lives in Redis and one Lua script reads, refills and takes
atomically, so every web and worker process of a deployment shares one budget per provider
(the time is Redis's own clock, so the processes' clocks do not matter). Without Redis (the
embedded default: one process serves the site and runs the worker) the same algorithm runs in
process memory. If Redis cannot be reached, calls fall back to the in-process bucket, with a
warning, rather than stop every upstream call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from enum import IntEnum
from functools import lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)


class Priority(IntEnum):
    USER = 0
    POLL = 1
    SYNC = 2


# The share of a full bucket each priority must leave untouched for the ones above it.
RESERVE = {Priority.USER: 0.0, Priority.POLL: 0.2, Priority.SYNC: 0.5}
# The bucket holds this many seconds' worth of requests (at least one): a short burst only,
# so that a provider measuring "N per second" over a sliding second is not overrun.
BURST_SECONDS = 0.5
# How long a waiting priority's mark outlives its computed wait (the waiter's wake-up slack).
MARK_GRACE = 0.05
# Seconds after which an idle bucket's Redis key expires (it is full again by then anyway).
IDLE_TTL = 60
REDIS_PREFIX = "smsdesk:ratelimit"


def capacity_for(rate: float) -> float:
    return max(1.0, rate * BURST_SECONDS)


def floor_for(priority: Priority, capacity: float) -> float:
    """Tokens that must be in the bucket before this priority may take one."""
    return min(capacity, 1.0 + RESERVE[priority] * capacity)


class Bucket:
    """One provider's bucket: `rate` requests per second, `capacity` at most in a burst."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity_for(rate)


class TokenBucket(Bucket):
    """The in-process bucket of one provider (thread-safe)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.waiting_until = {p: 0.0 for p in Priority}  # marks of waiting priorities
        self.lock = threading.Lock()

    def try_take(self, priority: Priority) -> float:
        """Take a token if the priority may; otherwise return the seconds to wait."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            wait = max(0.0, (floor_for(priority, self.capacity) - self.tokens) / self.rate)
            for higher in Priority:
                if higher < priority:
                    wait = max(wait, self.waiting_until[higher] - now)
            if wait <= 0:
                self.tokens -= 1.0
                return 0.0
            self.waiting_until[priority] = max(
                self.waiting_until[priority], now + wait + MARK_GRACE
            )
            return max(wait, 0.001)


_buckets: dict[int, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(provider_id: int, rate: float) -> TokenBucket:
    with _buckets_lock:
        bucket = _buckets.get(provider_id)
        if bucket is None or bucket.rate != rate:
            bucket = _buckets[provider_id] = TokenBucket(rate)
        return bucket


# --- The shared bucket in Redis ---------------------------------------------------------------

# KEYS[1]: the provider's bucket (a hash). ARGV: rate, capacity, priority, floor, grace, ttl.
# Returns "0" when a token was taken, else the seconds to wait (as a string: Redis would
# truncate a Lua number to an integer).
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local priority = tonumber(ARGV[3])
local floor = tonumber(ARGV[4])
local grace = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'w0', 'w1', 'w2')
local tokens = tonumber(data[1]) or capacity
local ts = tonumber(data[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = math.max(0, (floor - tokens) / rate)
for p = 0, priority - 1 do
  local mark = tonumber(data[3 + p]) or 0
  if mark - now > wait then wait = mark - now end
end
if wait <= 0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', tostring(now))
else
  local field = 'w' .. priority
  local mark = math.max(tonumber(data[3 + priority]) or 0, now + wait + grace)
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now),
             field, tostring(mark))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
return tostring(wait)
"""


class RedisBucket(Bucket):
    """One provider's bucket in Redis; `try_take` behaves as TokenBucket.try_take."""

    def __init__(self, client, key: str, rate: float) -> None:
        super().__init__(rate)
        self.key = key
        self.script = take_script(client)

    def try_take(self, priority: Priority) -> float:
        wait = float(
            self.script(
                keys=[self.key],
                args=[
                    repr(self.rate),
                    repr(self.capacity),
                    int(priority),
                    repr(floor_for(priority, self.capacity)),
                    repr(MARK_GRACE),
                    IDLE_TTL,
                ],
            )
        )
        return 0.0 if wait <= 0 else max(wait, 0.001)


@lru_cache(maxsize=8)
def take_script(client):
    return client.register_script(TAKE_SCRIPT)


@lru_cache(maxsize=4)
def redis_client(url: str):
    import redis

    # Short timeouts: a slow Redis must not hold up a user's click for long.
    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


_warned = threading.Event()


def _take(provider_id: int, rate: float, priority: Priority) -> float:
    url = getattr(settings, "REDIS_URL", None)
    if url:
        try:
            bucket = RedisBucket(redis_client(url), f"{REDIS_PREFIX}:{provider_id}", rate)
            return bucket.try_take(priority)
        except Exception as exc:  # redis.RedisError, OSError: the bucket is unreachable
            if not _warned.is_set():
                _warned.set()
                logger.warning(
                    "Rate limit bucket in Redis unavailable (%s); using this process's bucket.",
                    type(exc).__name__,
                )
    return bucket_for(provider_id, rate).try_take(priority)


async def acquire(provider_id: int, rate: float, priority: Priority) -> None:
    """Wait (without blocking the event loop) until the provider's budget allows one request."""
    while (wait := _take(provider_id, rate, priority)) > 0:
        await asyncio.sleep(wait)


def acquire_blocking(
    provider_id: int, rate: float, priority: Priority, *, max_wait: float | None = None
) -> bool:
    """The same for synchronous code (user actions in a view). With `max_wait`, gives up
    (False, nothing taken) rather than wait longer than that in all."""
    give_up_at = None if max_wait is None else time.monotonic() + max_wait
    while (wait := _take(provider_id, rate, priority)) > 0:
        if give_up_at is not None and time.monotonic() + wait > give_up_at:
            return False
        time.sleep(wait)
    return True

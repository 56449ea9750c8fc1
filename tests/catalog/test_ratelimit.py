"""The per-provider request budget: the rate, the priorities, and sharing through Redis."""

import asyncio
import threading
import time
import uuid

import pytest

from catalog import ratelimit
from catalog.ratelimit import Priority, RedisBucket, TokenBucket
from tests.fixtures.redis import TEST_REDIS_URL


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(ratelimit.time, "monotonic", fake)
    return fake


def drain(bucket, priority=Priority.USER) -> int:
    taken = 0
    while bucket.try_take(priority) == 0:
        taken += 1
    return taken


def test_a_full_bucket_allows_a_short_burst_only(clock):
    bucket = TokenBucket(rate=10)
    assert drain(bucket) == 5  # half a second's worth


def test_it_refills_at_the_rate(clock):
    bucket = TokenBucket(rate=10)
    drain(bucket)
    clock.now += 1.0
    assert drain(bucket) == 5  # capped at the burst again
    clock.now += 0.301
    assert drain(bucket) == 3


def test_it_says_how_long_to_wait(clock):
    bucket = TokenBucket(rate=4)
    drain(bucket)
    assert bucket.try_take(Priority.USER) == pytest.approx(0.25)


def test_polls_leave_a_reserve_for_users(clock):
    bucket = TokenBucket(rate=20)  # capacity 10; polls keep 2 tokens back
    assert drain(bucket, Priority.POLL) == 8
    assert bucket.try_take(Priority.USER) == 0
    assert bucket.try_take(Priority.USER) == 0
    assert bucket.try_take(Priority.USER) > 0


def test_the_sync_leaves_a_larger_reserve(clock):
    bucket = TokenBucket(rate=20)
    assert drain(bucket, Priority.SYNC) == 5
    assert drain(bucket, Priority.POLL) == 3


def test_a_waiting_user_goes_before_polls_even_at_one_request_per_second(clock):
    bucket = TokenBucket(rate=1)
    assert bucket.try_take(Priority.POLL) == 0  # the only token
    assert bucket.try_take(Priority.USER) == pytest.approx(1.0)  # the user waits and says so
    clock.now += 1.0
    assert bucket.try_take(Priority.POLL) > 0  # the token is the user's
    assert bucket.try_take(Priority.USER) == 0


def test_a_waiting_poll_goes_before_the_sync(clock):
    bucket = TokenBucket(rate=2)
    assert bucket.try_take(Priority.POLL) == 0
    assert bucket.try_take(Priority.POLL) > 0
    clock.now += 0.5
    assert bucket.try_take(Priority.SYNC) > 0
    assert bucket.try_take(Priority.POLL) == 0


def test_a_marked_wait_expires_when_the_waiter_gave_up(clock):
    bucket = TokenBucket(rate=1)
    drain(bucket)
    bucket.try_take(Priority.USER)  # waits ~1 s, then never comes back
    clock.now += 2.0
    assert bucket.try_take(Priority.POLL) == 0


def test_acquire_blocking_keeps_to_the_rate_across_threads(settings):
    settings.REDIS_URL = None
    provider_id = -int(uuid.uuid4().int % 10**9)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(6):
            ratelimit.acquire_blocking(provider_id, 20, Priority.POLL)
            with lock:
                stamps.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 24 requests at 20/s with a burst of 8 for polls: at least (24 - 8) / 20 s.
    assert len(stamps) == 24
    assert max(stamps) - started >= 0.75


def test_async_acquire_keeps_to_the_rate(settings):
    settings.REDIS_URL = None
    provider_id = -int(uuid.uuid4().int % 10**9)

    async def run():
        started = time.monotonic()
        await asyncio.gather(
            *(ratelimit.acquire(provider_id, 40, Priority.POLL) for _ in range(36))
        )
        return time.monotonic() - started

    # A burst of 16, then 20 more at 40/s.
    assert asyncio.run(run()) >= 0.45


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
def redis_client(redis_server):
    key = f"test:ratelimit:{uuid.uuid4().hex}"
    yield redis_server, key
    redis_server.delete(key)


def test_the_redis_bucket_allows_the_burst_then_says_how_long_to_wait(redis_client):
    client, key = redis_client
    bucket = RedisBucket(client, key, rate=4)
    assert bucket.try_take(Priority.USER) == 0
    assert bucket.try_take(Priority.USER) == 0
    assert 0.1 < bucket.try_take(Priority.USER) <= 0.25


def test_two_processes_share_one_redis_bucket(redis_client):
    client, key = redis_client
    first, second = RedisBucket(client, key, rate=10), RedisBucket(client, key, rate=10)
    assert first.try_take(Priority.USER) == 0
    taken = sum(1 for _ in range(10) for b in (first, second) if b.try_take(Priority.USER) == 0)
    assert taken == 4  # 5 tokens in all, whoever asks


def test_the_redis_bucket_keeps_the_priorities(redis_client):
    client, key = redis_client
    bucket = RedisBucket(client, key, rate=1)
    assert bucket.try_take(Priority.POLL) == 0
    assert bucket.try_take(Priority.USER) > 0.5  # waits, and marks itself
    client.hset(key, "tokens", "1")  # the token is back (without waiting a second for it)
    assert bucket.try_take(Priority.SYNC) > 0
    assert bucket.try_take(Priority.POLL) > 0
    assert bucket.try_take(Priority.USER) == 0


def test_the_redis_bucket_leaves_the_reserve(redis_client):
    client, key = redis_client
    bucket = RedisBucket(client, key, rate=20)
    assert drain(bucket, Priority.SYNC) == 5
    assert drain(bucket, Priority.POLL) == 3
    assert drain(bucket, Priority.USER) == 2


def test_acquire_uses_redis_when_configured(redis_client, settings, monkeypatch):
    client, key = redis_client
    settings.REDIS_URL = TEST_REDIS_URL
    monkeypatch.setattr(ratelimit, "REDIS_PREFIX", key)
    started = time.monotonic()
    for _ in range(15):
        ratelimit.acquire_blocking(7, 20, Priority.USER)
    assert time.monotonic() - started >= 0.2  # (15 - 10) / 20 s
    assert client.exists(f"{key}:7")
    client.delete(f"{key}:7")


def test_it_falls_back_to_the_process_bucket_when_redis_is_down(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    ratelimit.acquire_blocking(-424242, 5, Priority.USER)  # does not raise

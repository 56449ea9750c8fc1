"""The gateway's two brakes: a per-token request rate, and the sign-in style lockout of an
address that keeps sending bad tokens.

The rate is counted per token and one-second window in `caches["gateway"]` (Redis in
production, never the database): a request over `settings.GATEWAY_REQUESTS_PER_SECOND` in the
current second is answered 429 with `Retry-After: 1`.

Bad tokens are counted per address by `dashboard.lockout`, as the sign-in form counts failed
passwords (in `caches["default"]`, which every process shares): after
`settings.LOGIN_FAILURE_LIMIT` failures within `settings.LOGIN_FAILURE_WINDOW_SECONDS`, the
address is answered 429 without a token lookup until the window after its last failure has
passed. Only failures write. So that a good request costs no query on the database cache, a
failure also leaves a mark in the gateway cache, and
only a marked address has its count read.
"""

import hashlib
import time
from datetime import date

import redis
from django.conf import settings
from django.core.cache import caches

from activations.gateway import usage
from dashboard import lockout

# Seconds since the epoch; tests move it.
clock = time.time
RATE_KEY_SECONDS = 2
_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis | None:
    """One redis-py client per process for the gateway's cache when it is in Redis, else None.

    Django's Redis cache builds a client for every operation and spends two round trips on an
    `incr`; at hundreds of getStatus a second that was a fifth of each request
    (`make bench BENCH=gateway`), so the counters go through this client in one round trip.
    Keys are the cache's own (`make_and_validate_key`), so `caches["gateway"]` reads them.
    """
    config = settings.CACHES["gateway"]
    if not config["BACKEND"].endswith(".RedisCache"):
        return None
    location = config["LOCATION"]
    if location not in _clients:
        _clients[location] = redis.Redis.from_url(location)
    return _clients[location]


def admit(token_id: int, day: date) -> bool:
    """Count one request through the token, in this second and on `day` (the team's date, for
    the home page's requests today); False when it is over this second's allowance."""
    cache = caches["gateway"]
    rate_key = f"rate:{token_id}:{int(clock())}"
    day_key = usage.day_key(token_id, day)
    client = _redis()
    if client is None:
        usage.count(cache, day_key, usage.DAY_KEY_SECONDS)
        rate = usage.count(cache, rate_key, RATE_KEY_SECONDS)
    else:
        rate_key = cache.make_and_validate_key(rate_key)
        day_key = cache.make_and_validate_key(day_key)
        pipe = client.pipeline(transaction=False)
        pipe.incr(rate_key).expire(rate_key, RATE_KEY_SECONDS)
        pipe.incr(day_key).expire(day_key, usage.DAY_KEY_SECONDS)
        rate = pipe.execute()[0]
    return rate <= settings.GATEWAY_REQUESTS_PER_SECOND


def _address_key(ip: str | None) -> str:
    digest = hashlib.sha256((ip or "unknown").encode()).hexdigest()
    return f"gateway-bad-tokens:{digest}"


def locked_for(ip: str | None) -> int:
    """Seconds the address stays locked out (0: not locked)."""
    key = _address_key(ip)
    cache, client = caches["gateway"], _redis()
    if client is None:
        marked = cache.get(key) is not None
    else:
        marked = client.exists(cache.make_and_validate_key(key))
    return lockout.seconds_locked(key, clock()) if marked else 0


def note_bad_token(ip: str | None) -> None:
    """One more bad token from the address (`dashboard.lockout`), and its mark."""
    key = _address_key(ip)
    lockout.note_failure(key, clock())
    caches["gateway"].set(key, 1, settings.LOGIN_FAILURE_WINDOW_SECONDS + 1)

"""The gateway's two brakes: a per-token request rate, and the sign-in style lockout of an
address that keeps sending bad tokens.

The rate is counted per token and one-second window in `caches["gateway"]` (Redis in
production, never the database): a request over `settings.GATEWAY_REQUESTS_PER_SECOND` in the
current second is answered 429 with `Retry-After: 1`.

Bad tokens are counted per address in `caches["default"]` (Redis, or the database table that
every process shares) with the time of the last failure, as the sign-in form counts failed
passwords: after `settings.LOGIN_FAILURE_LIMIT` failures within
`settings.LOGIN_FAILURE_WINDOW_SECONDS`, the address is answered 429 without a token lookup
until the window after its last failure has passed. Only failures write. So that a good request
costs no query on the database cache, a failure also leaves a mark in the gateway cache, and
only a marked address has its count read.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import caches

# Seconds since the epoch; tests move it.
clock = time.time


def _incr(cache, key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=timeout)
        return 1


def over_rate(token_id: int) -> bool:
    """Count one request through the token; True when it is over this second's allowance."""
    second = int(clock())
    count = _incr(caches["gateway"], f"rate:{token_id}:{second}", timeout=2)
    return count > settings.GATEWAY_REQUESTS_PER_SECOND


def _address_key(ip: str | None) -> str:
    digest = hashlib.sha256((ip or "unknown").encode()).hexdigest()
    return f"gateway-bad-tokens:{digest}"


def _window() -> int:
    return settings.LOGIN_FAILURE_WINDOW_SECONDS


def locked_for(ip: str | None) -> int:
    """Seconds the address stays locked out (0: not locked)."""
    key = _address_key(ip)
    if caches["gateway"].get(key) is None:
        return 0
    failures, last_failure_at = caches["default"].get(key, (0, 0.0))
    left = last_failure_at + _window() - clock()
    if failures < settings.LOGIN_FAILURE_LIMIT or left <= 0:
        return 0
    return max(1, math.ceil(left))


def note_bad_token(ip: str | None) -> None:
    """One more bad token from the address (a new count when its window has passed)."""
    key = _address_key(ip)
    now = clock()
    failures, last_failure_at = caches["default"].get(key, (0, now))
    if now - last_failure_at >= _window():
        failures = 0
    # Outlives the window by a second: the database cache cuts expiry times to whole seconds.
    caches["default"].set(key, (failures + 1, now), _window() + 1)
    caches["gateway"].set(key, 1, _window() + 1)

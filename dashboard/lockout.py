"""Failures counted per key in Django's cache, which every web process shares (Redis or the
database; see settings.CACHES): the sign-in form's failed passwords per (username, address) and
the team gateway's bad tokens per address.

After `settings.LOGIN_FAILURE_LIMIT` failures, the key is locked until
`settings.LOGIN_FAILURE_WINDOW_SECONDS` after its last failure. The window is measured from
the time stored with the count, not by the cache entry's expiry: the database cache cuts
expiry times to whole seconds, so the entry outlives the window by a second and the cut never
ends a lock early. Callers pass `now` (seconds since the epoch) from a clock tests can move.
"""

import math

from django.conf import settings
from django.core.cache import cache


def _window() -> int:
    return settings.LOGIN_FAILURE_WINDOW_SECONDS


def recent_failures(key: str, now: float) -> int:
    """The failures counted under `key` whose window has not passed."""
    failures, last_failure_at = cache.get(key, (0, now))
    return 0 if now - last_failure_at >= _window() else failures


def seconds_locked(key: str, now: float) -> int:
    """Whole seconds `key` stays locked (0: not locked)."""
    failures, last_failure_at = cache.get(key, (0, now))
    left = last_failure_at + _window() - now
    if failures < settings.LOGIN_FAILURE_LIMIT or left <= 0:
        return 0
    return max(1, math.ceil(left))


def note_failure(key: str, now: float) -> int:
    """One more failure under `key` (a new count once the window has passed); the count."""
    failures = recent_failures(key, now) + 1
    cache.set(key, (failures, now), _window() + 1)
    return failures


def clear(key: str) -> None:
    cache.delete(key)

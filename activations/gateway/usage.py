"""Requests per token and day, for the home page: counted in the gateway's cache (Redis in
production), never in the database, so a program polling getStatus writes nothing."""

from collections.abc import Iterable
from datetime import date

from django.core.cache import caches

DAY_SECONDS = 24 * 60 * 60
# A day's count outlives its day, whatever the team's time zone.
DAY_KEY_SECONDS = 2 * DAY_SECONDS


def day_key(token_id: int, day: date) -> str:
    return f"requests:{token_id}:{day.isoformat()}"


def count(cache, key: str, timeout: int) -> int:
    """One more on the counter `key` of `cache` (created at 0 when missing); its new value."""
    # add() is a no-op when the key exists, so two first requests at once both count.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=timeout)
        return 1


def requests_on(day: date, token_ids: Iterable[int]) -> dict[int, int]:
    """Requests per token id on `day`; tokens without any are left out."""
    keys = {day_key(token_id, day): token_id for token_id in token_ids}
    found = caches["gateway"].get_many(list(keys))
    return {keys[key]: count for key, count in found.items() if count}

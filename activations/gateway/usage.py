"""Requests per token and day, for the home page: counted in the gateway's cache (Redis in
production), never in the database, so a program polling getStatus writes nothing."""

from collections.abc import Iterable
from datetime import date

from django.core.cache import caches

from dashboard.models import ApiToken

DAY_SECONDS = 24 * 60 * 60


def _key(token_id: int, day: date) -> str:
    return f"requests:{token_id}:{day.isoformat()}"


def count_request(token: ApiToken, day: date) -> None:
    """One more request through the token on `day` (the team's date)."""
    cache = caches["gateway"]
    key = _key(token.pk, day)
    # add() is a no-op when the key exists, so two first requests at once both count.
    cache.add(key, 0, timeout=2 * DAY_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=2 * DAY_SECONDS)


def requests_on(day: date, token_ids: Iterable[int]) -> dict[int, int]:
    """Requests per token id on `day`; tokens without any are left out."""
    keys = {_key(token_id, day): token_id for token_id in token_ids}
    found = caches["gateway"].get_many(list(keys))
    return {keys[key]: count for key, count in found.items() if count}

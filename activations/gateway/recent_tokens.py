"""getStatus's token lookup, kept in this process for at most
`settings.GATEWAY_TOKEN_CACHE_SECONDS` (1 s): the issue allows a brief cache, with revocation
taking effect within a second, for the one action programs repeat as fast as they can.

Only tokens whose member may buy are kept, by the SHA-256 of the secret (never the secret). A
revoked token, a member removed or no longer allowed to buy is refused by getStatus within
that second, and by every other action at once (they look the token up on each request).
"""

import time

from django.conf import settings

from dashboard.models import ApiToken
from dashboard.tokens import digest_of, token_for

# Seconds on a monotonic clock; tests move it.
clock = time.monotonic
MAX_KEPT = 10_000
_kept: dict[str, tuple[float, ApiToken]] = {}


def recent_token(secret: str) -> ApiToken | None:
    """`dashboard.tokens.token_for`, answered from this process's memory when it was asked
    less than GATEWAY_TOKEN_CACHE_SECONDS ago."""
    now = clock()
    digest = digest_of(secret)
    kept = _kept.get(digest)
    if kept is not None and kept[0] > now:
        return kept[1]
    token = token_for(secret)
    if token is None or not token.membership.can_buy:
        _kept.pop(digest, None)
        return token
    if len(_kept) >= MAX_KEPT:
        _kept.clear()
    _kept[digest] = (now + settings.GATEWAY_TOKEN_CACHE_SECONDS, token)
    return token


def forget_all() -> None:
    _kept.clear()

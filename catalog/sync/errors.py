"""The errors of one catalog sync, as kept in SyncRun: every error is counted, the first
ERROR_LIMIT are kept, each as short printable text that a JSON column can hold.

A provider's answer can carry anything (a NUL byte, a lone surrogate, 100 KB of text); an
error message quoting it must not be what stops the run from being recorded.
"""

from typing import Any

from provider.client import Listing, storable

ERROR_LIMIT = 100  # errors kept in SyncRun.errors; SyncRun.error_count counts them all
TEXT_LIMIT = 300  # characters kept of each error's text


def printable(text: str, secret: str = "") -> str:
    """`text` with the key replaced (before it is cut, so no half key stays), then as a JSON
    column can hold it: cut to TEXT_LIMIT, NUL, control characters and lone surrogates
    replaced (`provider.answers.storable`)."""
    if secret:
        text = text.replace(secret, "***")
    return storable(text, TEXT_LIMIT)


def describe(exc: BaseException) -> str:
    """An error as the run records it: its kind and its message."""
    return f"{type(exc).__name__}: {exc}"


class ErrorLog:
    """Errors recorded during a sync: `entries` (the first ERROR_LIMIT) and `count` (all)."""

    def __init__(self, secret: str = "") -> None:
        self.entries: list[dict[str, Any]] = []
        self.count = 0
        self._secret = secret

    def add(self, action: str, error: str, **where: Any) -> None:
        """Record one error of `action` (a protocol action, or "store"); `where` names the
        country and operator it concerns, when it concerns one."""
        self.count += 1
        if len(self.entries) < ERROR_LIMIT:
            entry = {"action": action, **where, "error": error}
            self.entries.append(
                {
                    k: printable(v, self._secret) if isinstance(v, str) else v
                    for k, v in entry.items()
                }
            )

    def add_left_out(self, action: str, listing: Listing, **where: Any) -> None:
        """The rows the client left out of a catalog answer: each one it listed, and the
        count of those past its list."""
        for problem in listing.problems:
            self.add(action, problem, **where)
        self.count += listing.left_out - len(listing.problems)

    def extend(self, other: "ErrorLog") -> None:
        self.count += other.count
        self.entries.extend(other.entries[: ERROR_LIMIT - len(self.entries)])

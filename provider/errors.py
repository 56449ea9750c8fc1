"""The typed errors of a provider call, and the error words a provider answers with.

Every failure is a `ProviderError`; `retryable` says whether asking again later may well
succeed (the poller backs off and retries). An error word the provider sends as the whole
answer (`ERROR_WORDS`, `raise_for_error_word`) becomes its own class, so callers catch
`NoBalance` or `BadStatus` rather than compare strings. Errors that carry the provider's text
(`ProtocolError.raw`, `Banned.until`) hold it storable and truncated; the client removes the
API key before it builds them.
"""

from __future__ import annotations

from provider.bounds import BAN_TEXT_LIMIT, RAW_LIMIT, storable


class ProviderError(Exception):
    """Any failure talking to a provider. `answer` is the provider's word, when there is one."""

    answer: str = ""
    default_message = "The provider answered with an error."
    # True when asking again later may well succeed (the poller backs off and retries).
    retryable = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


# The document's error words and those of sibling providers, answered as the whole body.
ERROR_WORDS: dict[str, type[ProviderError]] = {}


def _word_error(
    name: str, word: str, meaning: str, *, retryable: bool = False
) -> type[ProviderError]:
    """The error class of one error word; its message is the word and what it means."""
    error = type(
        name,
        (ProviderError,),
        {
            "__module__": __name__,
            "__doc__": f"{word}: {meaning}",
            "answer": word,
            "default_message": f"{word}: {meaning}",
            "retryable": retryable,
        },
    )
    ERROR_WORDS[word] = error
    return error


BadKey = _word_error("BadKey", "BAD_KEY", "the provider rejected the API key.")
BadAction = _word_error("BadAction", "BAD_ACTION", "the provider did not understand the request.")
BadLang = _word_error("BadLang", "BAD_LANG", "the provider accepts only lang=ru or lang=en.")
NoActivation = _word_error(
    "NoActivation", "NO_ACTIVATION", "the provider does not know this activation id."
)
NoBalance = _word_error("NoBalance", "NO_BALANCE", "the provider account has too little balance.")
NoNumbers = _word_error(
    "NoNumbers", "NO_NUMBERS", "no numbers for this service, country and operator right now."
)
ProviderSqlError = _word_error(
    "ProviderSqlError", "ERROR_SQL", "the provider's database failed.", retryable=True
)
# Cancel asked too soon after the purchase; the provider allows it a little later.
EarlyCancelDenied = _word_error(
    "EarlyCancelDenied",
    "EARLY_CANCEL_DENIED",
    "too soon after the purchase to cancel.",
    retryable=True,
)
# The status change is not allowed now (for example cancel after a code: complete instead).
BadStatus = _word_error("BadStatus", "BAD_STATUS", "the provider refused this status change.")
BadService = _word_error("BadService", "BAD_SERVICE", "the provider does not know this service.")
WrongActivationId = _word_error(
    "WrongActivationId", "WRONG_ACTIVATION_ID", "the activation id is malformed or not yours."
)


class Banned(ProviderError):
    """The account is banned until `until` (the provider's text, storable and truncated)."""

    answer = "BANNED"
    default_message = "BANNED: the provider account is banned."

    def __init__(self, until: str = "") -> None:
        self.until = storable(until, BAN_TEXT_LIMIT)
        super().__init__(
            f"BANNED: the provider account is banned until {self.until}." if self.until else None
        )


class ProviderUnavailable(ProviderError):
    """Timeouts, refused connections and HTTP 5xx: nothing was decided, ask again later."""

    default_message = "The provider is unavailable."
    retryable = True

    def __init__(self, message: str | None = None, *, http_status: int | None = None) -> None:
        self.http_status = http_status
        super().__init__(message)


class ProviderUnanswered(ProviderUnavailable):
    """The request went out but no whole answer came (a read timeout, the call's deadline, a
    connection dropped mid-answer): unlike a refused connection, the provider may have acted
    on it (for getNumber: sold a number nobody saw)."""

    default_message = "The provider did not answer in time; it may have acted on the request."


class RateLimited(ProviderUnavailable):
    """HTTP 429: too many requests; wait `retry_after` seconds (when the provider said)."""

    default_message = "The provider is rate limiting requests (HTTP 429)."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, http_status=429)


class ProtocolError(ProviderError):
    """An answer the parser does not understand or the database could not hold. `reason`
    names the field; `raw` holds the answer, storable, truncated (the client removes the key)."""

    default_message = "The provider sent an answer this client does not understand."

    def __init__(self, message: str | None = None, *, raw: str = "") -> None:
        self.reason = message or self.default_message
        self.raw = storable(raw, RAW_LIMIT)
        super().__init__(f"{self.reason} Answer: {self.raw!r}")


class InvalidNumber(ProtocolError):
    """A getNumber answer naming a number that cannot be recorded (an over-long phone, a
    malformed id). The provider may have charged for it: `activation_id` is its id when
    that is usable in a setStatus request (so the caller can cancel it), else None."""

    def __init__(
        self, message: str | None = None, *, raw: str = "", activation_id: str | None = None
    ) -> None:
        self.activation_id = activation_id
        super().__init__(message, raw=raw)


def raise_for_error_word(text: str) -> None:
    """Raise the typed error when the whole answer is one of the known error words."""
    error = ERROR_WORDS.get(text)
    if error is not None:
        raise error()
    if text == "BANNED" or text.startswith("BANNED:"):
        raise Banned(text.partition(":")[2])

"""What the sync and async clients share: their options, building a request, reading a reply
into a result or a typed error, and the record of each exchange (`Exchange`, `on_exchange`).

The API key never leaves the client in text: copies of the answer that leave it
(`Exchange.answer`, `ProtocolError.raw`, `Banned.until`, `Listing.problems`) have the key
scrubbed, control characters replaced and are truncated, so they can be stored as they are.
Errors are returned by `ClientBase._finish`, not raised, so that the caller raises them
outside any except block: no httpx error (whose text can hold the URL, and so the key) is
ever chained to them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from provider.answers import clean_answer
from provider.bounds import ANSWER_LIMIT, storable
from provider.errors import (
    Banned,
    InvalidNumber,
    ProtocolError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    raise_for_error_word,
)
from provider.transport import MAX_ANSWER_BYTES, Reply, start_deadline

logger = logging.getLogger("provider.client")

LANGUAGES = ("ru", "en")
METHODS = ("GET", "POST")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, for callers that audit. Never holds the API key."""

    action: str
    params: dict[str, str]  # without api_key
    answer: str | None  # the answer text (key removed, storable, truncated), None when none came
    http_status: int | None
    latency_ms: int
    error: ProviderError | None


# on_exchange(action, params_without_key, answer_text, http_status, latency_ms, error); the
# async client awaits it when it returns an awaitable.
ExchangeCallback = Callable[
    [str, dict, "str | None", "int | None", int, "ProviderError | None"], Any
]


def number_params(
    service: str, country: int | str, operator: str, max_price: Any = None
) -> dict[str, Any]:
    """getNumber's parameters; maxPrice (the family's, optional) only when given."""
    params: dict[str, Any] = {"service": service, "operator": operator, "country": country}
    if max_price is not None:
        params["maxPrice"] = max_price
    return params


class ClientBase:
    """Request building, answer handling and bookkeeping shared by both clients."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        lang: str = "en",
        timeout: float = 10.0,
        method: str = "GET",
        connect_timeout: float | None = None,
        deadline: float | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        on_exchange: ExchangeCallback | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if lang not in LANGUAGES:
            raise ValueError("lang must be 'ru' or 'en'.")
        method = method.upper()
        if method not in METHODS:
            raise ValueError("method must be 'GET' or 'POST'.")
        if not api_key:
            raise ValueError("An API key is required.")
        self.base_url = base_url
        self.lang = lang
        self.method = method
        # The whole call (connect, send, every byte of the answer) ends by then; None: `timeout`.
        self.deadline = timeout if deadline is None else deadline
        self.timeout = httpx.Timeout(
            timeout,
            connect=min(timeout, 5.0) if connect_timeout is None else connect_timeout,
            pool=min(timeout, self.deadline),
        )
        self.max_answer_bytes = max_answer_bytes
        self.on_exchange = on_exchange
        self.last_exchange: Exchange | None = None
        self._api_key = api_key
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url} lang={self.lang} method={self.method}>"

    def _http_options(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "transport": self._transport,
            # Identity: a compressed answer could inflate past the cap before it is counted.
            "headers": {"User-Agent": "sms-desk", "Accept-Encoding": "identity"},
        }

    def _request(self, params: dict[str, str]) -> httpx.Request:
        full = {"api_key": self._api_key, **params}
        body = {"data": full} if self.method == "POST" else {"params": full}
        return self._http.build_request(self.method, self.base_url, **body)

    def _scrub(self, text: str) -> str:
        """The text with the key replaced, for copies that leave the client (errors, audit).
        Answers are parsed unscrubbed: a short key may also be part of legitimate data."""
        if len(self._api_key) >= 4 and self._api_key in text:
            return text.replace(self._api_key, "***")
        return text

    def _params(self, action: str, extra: Mapping[str, Any]) -> dict[str, str]:
        return {"action": action, **{k: str(v) for k, v in extra.items()}, "lang": self.lang}

    def _start(self) -> tuple[float, Any]:
        """The call's start (for its latency) and the token that ends its deadline."""
        return time.perf_counter(), start_deadline(self.deadline)

    @staticmethod
    def _answer(reply: Reply, text: str) -> str:
        """The cleaned answer text, or the error the HTTP exchange itself amounts to."""
        status = reply.status
        if status == 429:
            raise RateLimited(retry_after=reply.retry_after)
        if status >= 500:
            raise ProviderUnavailable(f"The provider answered HTTP {status}.", http_status=status)
        raise_for_error_word(text)  # some providers send error words with a 4xx
        if not 200 <= status < 300:
            raise ProtocolError(f"The provider answered HTTP {status}.")
        if not text:
            raise ProtocolError("The provider sent an empty answer.")
        return text

    def _finish(
        self, reply: Reply, parse: Callable[[str], Any]
    ) -> tuple[Any, ProviderError | None, str]:
        """Parse a reply into (result, error, storable answer); errors are returned, not
        raised, so that the caller raises them outside any except block (no chained context).
        Errors carrying answer text are rebuilt from the scrubbed answer (scrubbed before
        truncation, so no half key stays)."""
        text = clean_answer(reply.body)
        scrubbed = self._scrub(text)
        answer = storable(scrubbed, ANSWER_LIMIT)
        try:
            return parse(self._answer(reply, text)), None, answer
        except InvalidNumber as error:
            rebuilt = InvalidNumber(error.reason, raw=scrubbed, activation_id=error.activation_id)
            return None, rebuilt, answer
        except ProtocolError as error:
            return None, ProtocolError(error.reason, raw=scrubbed), answer
        except Banned:
            return None, Banned(scrubbed.partition(":")[2]), answer
        except ProviderError as error:
            error.__context__ = None
            return None, error, answer
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError):
            return None, ProtocolError("The answer could not be read.", raw=scrubbed), answer

    def _record(
        self,
        params: dict[str, str],
        answer: str | None,
        http_status: int | None,
        started: float,
        error: ProviderError | None,
    ) -> Any:
        exchange = Exchange(
            action=params["action"],
            params={k: v for k, v in params.items() if k != "action"},
            answer=answer,
            http_status=http_status,
            latency_ms=round((time.perf_counter() - started) * 1000),
            error=error,
        )
        self.last_exchange = exchange
        logger.debug(
            "%s %s -> HTTP %s in %d ms: %s",
            exchange.action,
            exchange.params,
            http_status,
            exchange.latency_ms,
            type(error).__name__ if error else "ok",
        )
        if self.on_exchange is None:
            return None
        try:
            return self.on_exchange(
                exchange.action,
                dict(exchange.params),
                exchange.answer,
                exchange.http_status,
                exchange.latency_ms,
                error,
            )
        except Exception:
            # An audit hook must not turn a provider's answer (say, a bought number) into a loss.
            logger.exception("on_exchange failed for %s", exchange.action)
            return None

"""The handler_api protocol client: every action of the provider document, sync and async.

`ProviderClient` (for views, services and the catalog sync) and `AsyncProviderClient` (for the
poller) share one reader, so an answer means the same thing to both. Pure Python + httpx: no
Django import, so catalog and activations can both use it and it can be tested alone.

A provider's answer is untrusted input, like a form:
- every answer is checked against the document and the database columns before it is
  returned (`provider.answers`: the bounds, the parsers, the errors; re-exported here);
- every call has a total `deadline` (connect, send, every byte of the answer): per-read
  timeouts alone let an answer trickling one byte a second hold a call forever. The async
  client runs the call under `asyncio.timeout`; the sync client gives every socket read and
  write only the time left (`_DeadlineBackend`). `deadline_remaining()` lets a transport that
  waits before sending (the request budget) stay within the same deadline;
- an answer larger than `max_answer_bytes` is refused on its Content-Length, or as soon as
  the cap is passed while reading: never more than the cap is held;
- `Retry-After` is read as seconds or an HTTP date, and never as more than
  MAX_RETRY_AFTER_SECONDS.

The API key never leaves the client in text: it is not in an exception message, not in an
exception's cause or context (httpx errors embed the URL, which holds the key on GET, so they
are never chained), not in a log line, not in `repr`, not in what `on_exchange` receives.
Copies of the answer that leave the client (`Exchange.answer`, `ProtocolError.raw`,
`Banned.until`, `Listing.problems`) have the key scrubbed, control characters replaced and
are truncated, so they can be stored as they are.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any

import httpcore
import httpx

from provider.answers import (
    ANSWER_LIMIT,
    ERROR_WORDS,
    MAX_ACTIVATION_ID_LENGTH,
    MAX_AMOUNT_INTEGER_DIGITS,
    MAX_CODE_LENGTH,
    MAX_COUNTRY_ID,
    MAX_COUNTRY_NAME_LENGTH,
    MAX_JSON_DEPTH,
    MAX_OPERATOR_CODE_LENGTH,
    MAX_PHONE_DIGITS,
    MAX_QUANTITY,
    MAX_SERVICE_CODE_LENGTH,
    MAX_SERVICE_NAME_LENGTH,
    RAW_LIMIT,
    BadAction,
    BadKey,
    BadLang,
    BadService,
    BadStatus,
    Banned,
    Country,
    EarlyCancelDenied,
    InvalidNumber,
    Listing,
    NoActivation,
    NoBalance,
    NoNumbers,
    Number,
    ProtocolError,
    ProviderError,
    ProviderSqlError,
    ProviderUnanswered,
    ProviderUnavailable,
    RateLimited,
    ServiceOffer,
    SetStatusResult,
    Status,
    StatusState,
    WrongActivationId,
    clean_answer,
    parse_balance,
    parse_countries,
    parse_number,
    parse_services,
    parse_set_status,
    parse_status,
    raise_for_error_word,
    storable,
    usable_activation_id,
)

__all__ = [
    "ANSWER_LIMIT",
    "ERROR_WORDS",
    "LANGUAGES",
    "MAX_ACTIVATION_ID_LENGTH",
    "MAX_AMOUNT_INTEGER_DIGITS",
    "MAX_ANSWER_BYTES",
    "MAX_CODE_LENGTH",
    "MAX_COUNTRY_ID",
    "MAX_COUNTRY_NAME_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_OPERATOR_CODE_LENGTH",
    "MAX_PHONE_DIGITS",
    "MAX_QUANTITY",
    "MAX_RETRY_AFTER_SECONDS",
    "MAX_SERVICE_CODE_LENGTH",
    "MAX_SERVICE_NAME_LENGTH",
    "METHODS",
    "RAW_LIMIT",
    "STATUS_CANCEL",
    "STATUS_COMPLETE",
    "STATUS_RETRY",
    "AsyncProviderClient",
    "BadAction",
    "BadKey",
    "BadLang",
    "BadService",
    "BadStatus",
    "Banned",
    "Country",
    "EarlyCancelDenied",
    "Exchange",
    "ExchangeCallback",
    "InvalidNumber",
    "Listing",
    "NoActivation",
    "NoBalance",
    "NoNumbers",
    "Number",
    "ProtocolError",
    "ProviderClient",
    "ProviderError",
    "ProviderSqlError",
    "ProviderUnanswered",
    "ProviderUnavailable",
    "RateLimited",
    "ServiceOffer",
    "SetStatusResult",
    "Status",
    "StatusState",
    "WrongActivationId",
    "clean_answer",
    "deadline_remaining",
    "parse_balance",
    "parse_countries",
    "parse_number",
    "parse_services",
    "parse_set_status",
    "parse_status",
    "raise_for_error_word",
    "retry_after_seconds",
    "storable",
    "usable_activation_id",
]

logger = logging.getLogger(__name__)

# setStatus numbers of the document.
STATUS_RETRY = 3  # request another SMS
STATUS_COMPLETE = 6  # finish the activation
STATUS_CANCEL = 8  # cancel the order (refunded while no code arrived)

LANGUAGES = ("ru", "en")
METHODS = ("GET", "POST")

# Bounds on what a provider may send (answers are untrusted input, like a form).
MAX_ANSWER_BYTES = 2 * 1024 * 1024  # a whole answer; a full getServicesAndCost is ~20 KB
MAX_RETRY_AFTER_SECONDS = 60.0  # a longer Retry-After is read as this


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


# --- Logging: httpx logs request URLs (which hold the key on GET) at INFO --------------------

_KEY_IN_URL = re.compile(r"(api_key=)[^&\s\"'>]*")


class _RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = _KEY_IN_URL.sub(r"\1***", message), ()
        return True


for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _RedactKeys) for f in _logger.filters):
        _logger.addFilter(_RedactKeys())


# --- The deadline of the call in progress -------------------------------------------------

# time.monotonic() by which the current call (in this thread or task) must be over.
_deadline_at: ContextVar[float | None] = ContextVar("provider_call_deadline", default=None)
_LATE = "The provider did not answer in time (the call's deadline passed)."


def deadline_remaining() -> float | None:
    """Seconds left before the deadline of the provider call in progress, None outside a call.
    A transport that waits before sending (the request budget) bounds its wait by this."""
    deadline_at = _deadline_at.get()
    if deadline_at is None:
        return None
    return max(0.0, deadline_at - time.monotonic())


def _within_deadline(timeout: float | None, late: type[Exception]) -> float | None:
    """`timeout` cut to the time left in the call; `late` raised once none is left."""
    left = deadline_remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise late(_LATE)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most the time left in the call."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> _DeadlineStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _bound_by_deadline(http: httpx.Client) -> None:
    """Give the sockets of `http`'s transports (ours or the caller's, proxies included) only
    the time left in the call. httpx has no option for a network backend, so this sets the
    one its connection pool uses (httpx 0.28); a transport without such a pool (a test's
    MockTransport) is bounded between chunks of the answer instead."""
    for transport in (http._transport, *http._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)


# --- Reading an answer within the caps ------------------------------------------------------


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) as seconds from 0 to
    MAX_RETRY_AFTER_SECONDS; None when absent or unreadable."""
    value = (value or "").strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", value, re.ASCII):
        seconds = Decimal(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = Decimal((when - datetime.now(UTC)).total_seconds())
    return float(min(max(seconds, Decimal(0)), Decimal(MAX_RETRY_AFTER_SECONDS)))


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    retry_after: float | None


class _AnswerReader:
    """Collects an answer's bytes up to the cap and within the deadline."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self.response = response
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # We ask for identity: a compressed answer could inflate far past the cap.
            raise ProtocolError("The provider compressed its answer, which was not asked for.")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and (len(length) > 18 or int(length) > limit):
            raise ProtocolError(f"The answer is {length} bytes, over the {limit}-byte limit.")
        self.check_deadline()

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise ProtocolError(f"The answer is over the {self.limit}-byte limit.")
        self.chunks.append(chunk)
        self.check_deadline()

    @staticmethod
    def check_deadline() -> None:
        left = deadline_remaining()
        if left is not None and left <= 0:
            raise ProviderUnanswered(_LATE)

    def reply(self) -> _Reply:
        retry_after = retry_after_seconds(self.response.headers.get("Retry-After"))
        return _Reply(self.response.status_code, b"".join(self.chunks), retry_after)


# --- The clients ----------------------------------------------------------------------------


class _ClientBase:
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
        return time.perf_counter(), _deadline_at.set(time.monotonic() + self.deadline)

    @staticmethod
    def _answer(reply: _Reply, text: str) -> str:
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
        self, reply: _Reply, parse: Callable[[str], Any]
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


# Failures after the request went out: the provider may have acted on it.
_AFTER_SENDING = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def _transport_failure(exc: httpx.HTTPError) -> ProviderUnavailable:
    # Only the class name: httpx messages can carry the request URL, which holds the key.
    if isinstance(exc, _AFTER_SENDING):
        return ProviderUnanswered(f"The provider did not answer in time ({type(exc).__name__}).")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderUnavailable(
            f"The provider could not be asked in time ({type(exc).__name__})."
        )
    return ProviderUnavailable(f"Could not reach the provider ({type(exc).__name__}).")


class ProviderClient(_ClientBase):
    """Synchronous client; one pooled connection per instance. Use as a context manager."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(**self._http_options())
        _bound_by_deadline(self._http)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fetch(self, params: dict[str, str]) -> _Reply:
        response = self._http.send(self._request(params), stream=True)
        try:
            reader = _AnswerReader(response, self.max_answer_bytes)
            for chunk in response.iter_bytes():  # identity: the bytes as sent
                reader.add(chunk)
            return reader.reply()
        finally:
            response.close()

    def _call(self, action: str, parse: Callable[[str], Any], **extra: Any) -> Any:
        params = self._params(action, extra)
        started, deadline = self._start()
        reply, failure = None, None
        try:
            reply = self._fetch(params)
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc)
        except ProviderError as error:  # over the cap, or past the deadline between chunks
            failure = error
        finally:
            _deadline_at.reset(deadline)
        # Raised outside the except block so that no httpx error sits in __context__.
        if failure is not None:
            self._record(params, None, None, started, failure)
            raise failure from None
        result, error, answer = self._finish(reply, parse)
        self._record(params, answer, reply.status, started, error)
        if error is not None:
            raise error from None
        return result

    def get_balance(self) -> Decimal:
        return self._call("getBalance", parse_balance)

    def get_countries(self) -> Listing:
        return self._call("getCountryAndOperators", partial(parse_countries, scrub=self._scrub))

    def get_services(self, country: int | str, operator: str = "any") -> Listing:
        parse = partial(parse_services, scrub=self._scrub)
        return self._call("getServicesAndCost", parse, country=country, operator=operator)

    def get_number(self, service: str, country: int | str, operator: str = "any") -> Number:
        return self._call(
            "getNumber", parse_number, service=service, operator=operator, country=country
        )

    def set_status(self, activation_id: int | str, status: int) -> SetStatusResult:
        return self._call("setStatus", parse_set_status, id=activation_id, status=status)

    def get_status(self, activation_id: int | str) -> Status:
        return self._call("getStatus", parse_status, id=activation_id)


class AsyncProviderClient(_ClientBase):
    """Asynchronous client with the same methods as coroutines. Use `async with`."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.AsyncClient(**self._http_options())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncProviderClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _fetch(self, params: dict[str, str]) -> _Reply:
        async with asyncio.timeout(self.deadline):
            response = await self._http.send(self._request(params), stream=True)
            try:
                reader = _AnswerReader(response, self.max_answer_bytes)
                async for chunk in response.aiter_bytes():
                    reader.add(chunk)
                return reader.reply()
            finally:
                await response.aclose()

    async def _call(self, action: str, parse: Callable[[str], Any], **extra: Any) -> Any:
        params = self._params(action, extra)
        started, deadline = self._start()
        reply, failure = None, None
        try:
            reply = await self._fetch(params)
        except TimeoutError:
            failure = ProviderUnanswered(_LATE)  # connecting, sending or reading: assume sent
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc)
        except ProviderError as error:
            failure = error
        finally:
            _deadline_at.reset(deadline)
        if failure is not None:
            await _maybe_await(self._record(params, None, None, started, failure))
            raise failure from None
        result, error, answer = self._finish(reply, parse)
        await _maybe_await(self._record(params, answer, reply.status, started, error))
        if error is not None:
            raise error from None
        return result

    async def get_balance(self) -> Decimal:
        return await self._call("getBalance", parse_balance)

    async def get_countries(self) -> Listing:
        parse = partial(parse_countries, scrub=self._scrub)
        return await self._call("getCountryAndOperators", parse)

    async def get_services(self, country: int | str, operator: str = "any") -> Listing:
        parse = partial(parse_services, scrub=self._scrub)
        return await self._call("getServicesAndCost", parse, country=country, operator=operator)

    async def get_number(self, service: str, country: int | str, operator: str = "any") -> Number:
        return await self._call(
            "getNumber", parse_number, service=service, operator=operator, country=country
        )

    async def set_status(self, activation_id: int | str, status: int) -> SetStatusResult:
        return await self._call("setStatus", parse_set_status, id=activation_id, status=status)

    async def get_status(self, activation_id: int | str) -> Status:
        return await self._call("getStatus", parse_status, id=activation_id)


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        try:
            await value
        except Exception:
            logger.exception("on_exchange failed")

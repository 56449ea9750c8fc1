"""The handler_api protocol client: every action of the provider document, sync and async.

`ProviderClient` (for views, services and the catalog sync) and `AsyncProviderClient` (for the
poller) share one parser, so an answer means the same thing to both. Pure Python + httpx: no
Django import, so catalog and activations can both use it and it can be tested alone.

The API key never leaves the client in text: it is not in an exception message, not in an
exception's cause or context (httpx errors embed the URL, which holds the key on GET, so they
are never chained), not in a log line, not in `repr`, not in what `on_exchange` receives.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import httpx

logger = logging.getLogger(__name__)

# setStatus numbers of the document.
STATUS_RETRY = 3  # request another SMS
STATUS_COMPLETE = 6  # finish the activation
STATUS_CANCEL = 8  # cancel the order (refunded while no code arrived)

LANGUAGES = ("ru", "en")
METHODS = ("GET", "POST")
RAW_LIMIT = 200  # characters of an unknown answer kept in a ProtocolError

# Bounds on what a provider may send (answers are untrusted input, like a form).
MAX_ANSWER_BYTES = 2 * 1024 * 1024  # a whole answer; a full getServicesAndCost is ~20 KB
MAX_RETRY_AFTER_SECONDS = 60.0  # a longer Retry-After is read as this


# --- Errors ---------------------------------------------------------------------------------


class ProviderError(Exception):
    """Any failure talking to a provider. `answer` is the provider's word, when there is one."""

    answer: str = ""
    default_message = "The provider answered with an error."
    # True when asking again later may well succeed (the poller backs off and retries).
    retryable = False

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class BadKey(ProviderError):
    answer = "BAD_KEY"
    default_message = "BAD_KEY: the provider rejected the API key."


class BadAction(ProviderError):
    answer = "BAD_ACTION"
    default_message = "BAD_ACTION: the provider did not understand the request."


class BadLang(ProviderError):
    answer = "BAD_LANG"
    default_message = "BAD_LANG: the provider accepts only lang=ru or lang=en."


class NoActivation(ProviderError):
    answer = "NO_ACTIVATION"
    default_message = "NO_ACTIVATION: the provider does not know this activation id."


class NoBalance(ProviderError):
    answer = "NO_BALANCE"
    default_message = "NO_BALANCE: the provider account has too little balance."


class NoNumbers(ProviderError):
    answer = "NO_NUMBERS"
    default_message = "NO_NUMBERS: no numbers for this service, country and operator right now."


class ProviderSqlError(ProviderError):
    answer = "ERROR_SQL"
    default_message = "ERROR_SQL: the provider's database failed."
    retryable = True


class EarlyCancelDenied(ProviderError):
    """Cancel asked too soon after the purchase; the provider allows it a little later."""

    answer = "EARLY_CANCEL_DENIED"
    default_message = "EARLY_CANCEL_DENIED: too soon after the purchase to cancel."
    retryable = True


class BadStatus(ProviderError):
    """The status change is not allowed now (for example cancel after a code: complete instead)."""

    answer = "BAD_STATUS"
    default_message = "BAD_STATUS: the provider refused this status change."


class BadService(ProviderError):
    answer = "BAD_SERVICE"
    default_message = "BAD_SERVICE: the provider does not know this service."


class WrongActivationId(ProviderError):
    answer = "WRONG_ACTIVATION_ID"
    default_message = "WRONG_ACTIVATION_ID: the activation id is malformed or not yours."


class Banned(ProviderError):
    """The account is banned until `until` (the provider's text, kept as sent)."""

    answer = "BANNED"
    default_message = "BANNED: the provider account is banned."

    def __init__(self, until: str = "") -> None:
        self.until = until
        super().__init__(
            f"BANNED: the provider account is banned until {until}." if until else None
        )


class ProviderUnavailable(ProviderError):
    """Timeouts, refused connections and HTTP 5xx: nothing was decided, ask again later."""

    default_message = "The provider is unavailable."
    retryable = True

    def __init__(self, message: str | None = None, *, http_status: int | None = None) -> None:
        self.http_status = http_status
        super().__init__(message)


class RateLimited(ProviderUnavailable):
    """HTTP 429: too many requests; wait `retry_after` seconds (when the provider said)."""

    default_message = "The provider is rate limiting requests (HTTP 429)."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, http_status=429)


class ProtocolError(ProviderError):
    """An answer the parser does not understand. `raw` holds it, truncated, key removed."""

    default_message = "The provider sent an answer this client does not understand."

    def __init__(self, message: str | None = None, *, raw: str = "") -> None:
        self.reason = message or self.default_message
        self.raw = raw[:RAW_LIMIT]
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


# The document's error words and those of sibling providers, answered as the whole body.
ERROR_WORDS: dict[str, type[ProviderError]] = {
    cls.answer: cls
    for cls in (
        BadKey,
        BadAction,
        BadLang,
        NoActivation,
        NoBalance,
        NoNumbers,
        ProviderSqlError,
        EarlyCancelDenied,
        BadStatus,
        BadService,
        WrongActivationId,
    )
}


# --- Answers --------------------------------------------------------------------------------


class SetStatusResult(StrEnum):
    """The ACCESS_* answers to setStatus."""

    CANCEL = "ACCESS_CANCEL"  # cancelled (status 8)
    RETRY_GET = "ACCESS_RETRY_GET"  # waiting for another SMS (status 3)
    ACTIVATION = "ACCESS_ACTIVATION"  # completed (status 6)
    READY = "ACCESS_READY"  # sibling providers: "number ready" (status 1)


class StatusState(StrEnum):
    WAIT_CODE = "STATUS_WAIT_CODE"
    OK = "STATUS_OK"
    CANCEL = "STATUS_CANCEL"
    WAIT_RETRY = "STATUS_WAIT_RETRY"  # waiting for another code; carries the previous one
    WAIT_RESEND = "STATUS_WAIT_RESEND"  # waiting for the SMS to be sent again


class Listing(list):
    """The rows of a catalog answer that passed validation, and `problems`: one line per row
    left out (naming the row and the field, never the key), so that one bad row costs that
    row, not the whole answer."""

    def __init__(self, rows: Any = (), problems: Any = ()) -> None:
        super().__init__(rows)
        self.problems: tuple[str, ...] = tuple(problems)


@dataclass(frozen=True, slots=True)
class Country:
    id: int
    name: str
    operators: list[str]


@dataclass(frozen=True, slots=True)
class ServiceOffer:
    id: str
    name: str
    price: Decimal
    quantity: int


@dataclass(frozen=True, slots=True)
class Number:
    activation_id: str
    phone: str


@dataclass(frozen=True, slots=True)
class Status:
    state: StatusState
    code: str | None = None  # the code, with STATUS_OK only
    previous_code: str | None = None  # with STATUS_WAIT_RETRY:<previous code>

    @property
    def is_closed(self) -> bool:
        return self.state == StatusState.CANCEL


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, for callers that audit. Never holds the API key."""

    action: str
    params: dict[str, str]  # without api_key
    answer: str | None  # the answer text (key removed, truncated), None when none came
    http_status: int | None
    latency_ms: int
    error: ProviderError | None


# on_exchange(action, params_without_key, answer_text, http_status, latency_ms, error); the
# async client awaits it when it returns an awaitable.
ExchangeCallback = Callable[
    [str, dict, "str | None", "int | None", int, "ProviderError | None"], Any
]


# --- The parser (shared by both clients) ----------------------------------------------------

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ACCESS_NUMBER = re.compile(r"ACCESS_NUMBER:([^:\s]+):(\+?\d+)")


def clean_answer(body: bytes | str) -> str:
    """The answer text without a UTF-8 BOM and surrounding whitespace."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return text.lstrip("\ufeff").strip()


def raise_for_error_word(text: str) -> None:
    """Raise the typed error when the whole answer is one of the known error words."""
    error = ERROR_WORDS.get(text)
    if error is not None:
        raise error()
    if text == "BANNED" or text.startswith("BANNED:"):
        raise Banned(text.partition(":")[2])


def parse_balance(text: str) -> Decimal:
    value = text.removeprefix("ACCESS_BALANCE:").strip()
    if not _NUMBER.fullmatch(value):
        raise ProtocolError("Expected a balance.", raw=text)
    return Decimal(value)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal), None
    except ValueError:
        return None, "Expected a JSON answer."


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def parse_countries(text: str) -> list[Country]:
    data, problem = _load_json(text)
    if problem:
        raise ProtocolError(problem, raw=text)
    if not isinstance(data, list):
        raise ProtocolError("Expected a JSON list of countries.", raw=text)
    countries = []
    for item in data:
        if not isinstance(item, dict):
            raise ProtocolError("Expected each country to be a JSON object.", raw=text)
        country_id = _integer(item.get("id"))
        name = item.get("name")
        operators = item.get("operators", [])
        # The document shows {"any": "any", ...} and calls it an array of ids: accept both.
        if isinstance(operators, dict):
            operators = list(operators.keys())
        if (
            country_id is None
            or not isinstance(name, str)
            or not isinstance(operators, list)
            or not all(isinstance(op, str) for op in operators)
        ):
            raise ProtocolError("A country is not {id, name, operators}.", raw=text)
        countries.append(Country(id=country_id, name=name, operators=operators))
    return countries


def parse_services(text: str) -> list[ServiceOffer]:
    data, problem = _load_json(text)
    if problem:
        raise ProtocolError(problem, raw=text)
    if not isinstance(data, list):
        raise ProtocolError("Expected a JSON list of services.", raw=text)
    offers = []
    for item in data:
        if not isinstance(item, dict):
            raise ProtocolError("Expected each service to be a JSON object.", raw=text)
        service_id, name = item.get("id"), item.get("name")
        price, quantity = _decimal(item.get("price")), _integer(item.get("quantity"))
        if not isinstance(service_id, str) or not service_id or price is None or quantity is None:
            raise ProtocolError("A service is not {id, name, price, quantity}.", raw=text)
        if not isinstance(name, str) or not name:
            name = service_id
        offers.append(ServiceOffer(id=service_id, name=name, price=price, quantity=quantity))
    return offers


def parse_number(text: str) -> Number:
    match = _ACCESS_NUMBER.fullmatch(text)
    if match is None:
        raise ProtocolError("Expected ACCESS_NUMBER:ID:NUMBER.", raw=text)
    return Number(activation_id=match[1], phone=match[2])


def parse_set_status(text: str) -> SetStatusResult:
    try:
        return SetStatusResult(text)
    except ValueError:
        pass
    raise ProtocolError("Expected an ACCESS_* answer.", raw=text)


def parse_status(text: str) -> Status:
    word, colon, rest = text.partition(":")  # a code may hold colons: split on the first only
    if word == "STATUS_OK" and colon and rest:
        return Status(StatusState.OK, code=rest)
    if word == "STATUS_WAIT_RETRY":
        return Status(StatusState.WAIT_RETRY, previous_code=rest or None)
    if not colon and word in (
        StatusState.WAIT_CODE,
        StatusState.CANCEL,
        StatusState.WAIT_RESEND,
    ):
        return Status(StatusState(word))
    # Never read an unknown answer as "still waiting": the caller must see it.
    raise ProtocolError("Expected a STATUS_* answer.", raw=text)


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
        self.timeout = httpx.Timeout(
            timeout, connect=min(timeout, 5.0) if connect_timeout is None else connect_timeout
        )
        # The whole call (connect, send, every byte of the answer) ends by then; None: `timeout`.
        self.deadline = timeout if deadline is None else deadline
        self.max_answer_bytes = max_answer_bytes
        self.on_exchange = on_exchange
        self.last_exchange: Exchange | None = None
        self._api_key = api_key
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base_url} lang={self.lang} method={self.method}>"

    def _request_args(self, params: dict[str, str]) -> dict[str, Any]:
        full = {"api_key": self._api_key, **params}
        if self.method == "POST":
            return {"data": full}
        return {"params": full}

    def _scrub(self, text: str) -> str:
        """The text with the key replaced, for copies that leave the client (errors, audit).
        Answers are parsed unscrubbed: a short key may also be part of legitimate data."""
        if len(self._api_key) >= 4 and self._api_key in text:
            return text.replace(self._api_key, "***")
        return text

    def _params(self, action: str, extra: Mapping[str, Any]) -> dict[str, str]:
        return {"action": action, **{k: str(v) for k, v in extra.items()}, "lang": self.lang}

    def _answer(self, response: httpx.Response) -> str:
        """The cleaned answer text, or the error the HTTP exchange itself amounts to."""
        text = clean_answer(response.content)
        status = response.status_code
        if status == 429:
            raise RateLimited(retry_after=_retry_after(response))
        if status >= 500:
            raise ProviderUnavailable(f"The provider answered HTTP {status}.", http_status=status)
        raise_for_error_word(text)  # some providers send error words with a 4xx
        if not 200 <= status < 300:
            raise ProtocolError(f"The provider answered HTTP {status}.", raw=text)
        if not text:
            raise ProtocolError("The provider sent an empty answer.", raw=text)
        return text

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
            answer=None if answer is None else answer[:2000],
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


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _transport_failure(exc: httpx.HTTPError) -> ProviderUnavailable:
    # Only the class name: httpx messages can carry the request URL, which holds the key.
    if isinstance(exc, httpx.TimeoutException):
        return ProviderUnavailable(f"The provider did not answer in time ({type(exc).__name__}).")
    return ProviderUnavailable(f"Could not reach the provider ({type(exc).__name__}).")


class ProviderClient(_ClientBase):
    """Synchronous client; one pooled connection per instance. Use as a context manager."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(
            timeout=self.timeout,
            transport=self._transport,
            headers={"User-Agent": "sms-desk"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, action: str, parse: Callable[[str], Any], **extra: Any) -> Any:
        params = self._params(action, extra)
        started = time.perf_counter()
        response, failure = None, None
        try:
            response = self._http.request(self.method, self.base_url, **self._request_args(params))
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc)
        # Raised outside the except block so that no httpx error sits in __context__.
        if failure is not None:
            self._record(params, None, None, started, failure)
            raise failure from None
        result, error, text = _finish(self, response, parse)
        self._record(params, text, response.status_code, started, error)
        if error is not None:
            raise error from None
        return result

    def get_balance(self) -> Decimal:
        return self._call("getBalance", parse_balance)

    def get_countries(self) -> list[Country]:
        return self._call("getCountryAndOperators", parse_countries)

    def get_services(self, country: int | str, operator: str = "any") -> list[ServiceOffer]:
        return self._call("getServicesAndCost", parse_services, country=country, operator=operator)

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
        self._http = httpx.AsyncClient(
            timeout=self.timeout,
            transport=self._transport,
            headers={"User-Agent": "sms-desk"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncProviderClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(self, action: str, parse: Callable[[str], Any], **extra: Any) -> Any:
        params = self._params(action, extra)
        started = time.perf_counter()
        response, failure = None, None
        try:
            response = await self._http.request(
                self.method, self.base_url, **self._request_args(params)
            )
        except httpx.HTTPError as exc:
            failure = _transport_failure(exc)
        if failure is not None:
            await _maybe_await(self._record(params, None, None, started, failure))
            raise failure from None
        result, error, text = _finish(self, response, parse)
        await _maybe_await(self._record(params, text, response.status_code, started, error))
        if error is not None:
            raise error from None
        return result

    async def get_balance(self) -> Decimal:
        return await self._call("getBalance", parse_balance)

    async def get_countries(self) -> list[Country]:
        return await self._call("getCountryAndOperators", parse_countries)

    async def get_services(self, country: int | str, operator: str = "any") -> list[ServiceOffer]:
        return await self._call(
            "getServicesAndCost", parse_services, country=country, operator=operator
        )

    async def get_number(self, service: str, country: int | str, operator: str = "any") -> Number:
        return await self._call(
            "getNumber", parse_number, service=service, operator=operator, country=country
        )

    async def set_status(self, activation_id: int | str, status: int) -> SetStatusResult:
        return await self._call("setStatus", parse_set_status, id=activation_id, status=status)

    async def get_status(self, activation_id: int | str) -> Status:
        return await self._call("getStatus", parse_status, id=activation_id)


def _finish(
    client: _ClientBase, response: httpx.Response, parse: Callable[[str], Any]
) -> tuple[Any, ProviderError | None, str]:
    """Parse a response into (result, error, answer text); errors are returned, not raised,
    so that the caller raises them outside any except block (no chained context)."""
    text = client._scrub(clean_answer(response.content))
    try:
        return parse(client._answer(response)), None, text
    except ProtocolError as error:
        # Rebuilt from the scrubbed answer (scrubbed before truncation, so no key half stays).
        return None, ProtocolError(error.reason, raw=text), text
    except ProviderError as error:
        error.__context__ = None
        return None, error, text
    except (InvalidOperation, ValueError):
        return None, ProtocolError("The answer could not be read.", raw=text), text


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        try:
            await value
        except Exception:
            logger.exception("on_exchange failed")


def deadline_remaining() -> float | None:
    """Placeholder (platform branch) until the client's own version lands: drop on merge."""
    return None

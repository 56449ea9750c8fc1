"""The handler_api protocol client: every action of the provider document, sync and async;
the public face of the `provider` package.

`ProviderClient` (for views, services and the catalog sync) and `AsyncProviderClient` (for the
poller) share one reader (`provider.client_base`), so an answer means the same thing to both.
Pure Python + httpx: no Django import, so catalog and activations can both use it and it can
be tested alone.

A provider's answer is untrusted input, like a form: every answer is checked against the
document and the database columns before it is returned (`provider.answers`, with the bounds
of `provider.bounds` and the typed errors of `provider.errors`); every call has a total
`deadline`, an answer is capped at `max_answer_bytes` and Retry-After is bounded
(`provider.transport`). The API key never leaves the client in text: not in an exception
(or its cause or context), a log line (`provider.logs`), `repr`, or what `on_exchange`
receives.

Everything other layers use is importable from here (`__all__`); the modules named above are
where each piece lives.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import httpx

from provider.answers import (
    Country,
    Listing,
    Number,
    ServiceOffer,
    SetStatusResult,
    Status,
    StatusState,
    clean_answer,
    parse_balance,
    parse_countries,
    parse_number,
    parse_services,
    parse_set_status,
    parse_status,
    usable_activation_id,
)
from provider.bounds import (
    ANSWER_LIMIT,
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
    storable,
)
from provider.client_base import (
    LANGUAGES,
    METHODS,
    ClientBase,
    Exchange,
    ExchangeCallback,
    number_params,
)
from provider.errors import (
    ERROR_WORDS,
    BadAction,
    BadKey,
    BadLang,
    BadService,
    BadStatus,
    Banned,
    EarlyCancelDenied,
    InvalidNumber,
    NoActivation,
    NoBalance,
    NoNumbers,
    ProtocolError,
    ProviderError,
    ProviderSqlError,
    ProviderUnanswered,
    ProviderUnavailable,
    RateLimited,
    WrongActivationId,
    raise_for_error_word,
)
from provider.logs import RedactApiKeys
from provider.transport import (
    LATE,
    MAX_ANSWER_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    AnswerReader,
    Reply,
    bound_by_deadline,
    deadline_remaining,
    end_deadline,
    retry_after_seconds,
    transport_failure,
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
    "RedactApiKeys",
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


class ProviderClient(ClientBase):
    """Synchronous client; one pooled connection per instance. Use as a context manager."""

    def __init__(self, base_url: str, api_key: str, **options: Any) -> None:
        super().__init__(base_url, api_key, **options)
        self._http = httpx.Client(**self._http_options())
        bound_by_deadline(self._http)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _fetch(self, params: dict[str, str]) -> Reply:
        response = self._http.send(self._request(params), stream=True)
        try:
            reader = AnswerReader(response, self.max_answer_bytes)
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
            failure = transport_failure(exc)
        except ProviderError as error:  # over the cap, or past the deadline between chunks
            failure = error
        finally:
            end_deadline(deadline)
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

    def get_number(
        self,
        service: str,
        country: int | str,
        operator: str = "any",
        max_price: Decimal | str | None = None,
    ) -> Number:
        """Buy a number; `max_price` (the family's optional maxPrice) caps what it may cost."""
        extra = number_params(service, country, operator, max_price)
        return self._call("getNumber", parse_number, **extra)

    def set_status(self, activation_id: int | str, status: int) -> SetStatusResult:
        return self._call("setStatus", parse_set_status, id=activation_id, status=status)

    def get_status(self, activation_id: int | str) -> Status:
        return self._call("getStatus", parse_status, id=activation_id)


class AsyncProviderClient(ClientBase):
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

    async def _fetch(self, params: dict[str, str]) -> Reply:
        async with asyncio.timeout(self.deadline):
            response = await self._http.send(self._request(params), stream=True)
            try:
                reader = AnswerReader(response, self.max_answer_bytes)
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
            failure = ProviderUnanswered(LATE)  # connecting, sending or reading: assume sent
        except httpx.HTTPError as exc:
            failure = transport_failure(exc)
        except ProviderError as error:
            failure = error
        finally:
            end_deadline(deadline)
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

    async def get_number(
        self,
        service: str,
        country: int | str,
        operator: str = "any",
        max_price: Decimal | str | None = None,
    ) -> Number:
        extra = number_params(service, country, operator, max_price)
        return await self._call("getNumber", parse_number, **extra)

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

"""The protocol client for a team's provider account, with the request budget and the audit log.

Every service that talks to a provider gets its client here, never by constructing one:
- the key is decrypted at the last moment and handed only to the client (never logged, never
  returned, never put in a task's arguments);
- every request first takes a slot from the provider's request budget (`catalog.ratelimit`;
  user actions at `Priority.USER`, the poller at `Priority.POLL`, the catalog sync at
  `Priority.SYNC`);
- every call that can change money or state (getNumber, setStatus, getBalance) and every
  error is written to the audit log with its action, parameters without the key, the answer,
  HTTP status, latency and outcome. Status polls that change nothing are not logged, nor
  are balance refreshes that find the balance already stored (`catalog.accounts`).

The synchronous clients serve web requests (a user waits on the page), so they are bounded:
the whole call, budget wait included, ends within PROVIDER_WEB_DEADLINE_SECONDS, and at most
PROVIDER_WEB_CONCURRENCY of them talk to one provider at once per process
(`catalog.provider_slots`). A call cut short either way is a `ProviderUnavailable`.
"""

import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from catalog import ratelimit
from catalog.models import Provider, ProviderAccount
from catalog.provider_slots import holding_a_slot, slots_for
from catalog.ratelimit import Priority
from dashboard.audit import Action, one_request, record_call
from dashboard.db import retry_when_locked
from dashboard.encryption import decrypt_key
from provider.client import (
    AsyncProviderClient,
    Exchange,
    Listing,
    ProviderClient,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    deadline_remaining,
)

# Time the current request waited for a budget slot: not the provider's latency.
_budget_wait_ms: ContextVar[int] = ContextVar("budget_wait_ms", default=0)
# When the current context's last request left for the provider (after its budget wait).
_sent_at: ContextVar[datetime | None] = ContextVar("sent_at", default=None)

AUDITED_ACTIONS = frozenset({Action.GET_NUMBER, Action.SET_STATUS, Action.GET_BALANCE})
# The namespace of the request ids grouping a poller's failed calls per activation.
POLL_ERRORS = uuid.UUID("6f1d3c52-8a4e-4c0b-9a57-2f0e1b7c9d41")
USER_TIMEOUT = getattr(settings, "PROVIDER_TIMEOUT_SECONDS", 10.0)


def outcome_of(error: ProviderError | None) -> str:
    """A short outcome word for the audit log: "ok", the provider's word, or the failure kind."""
    if error is None:
        return "ok"
    if error.answer:
        return error.answer
    if isinstance(error, RateLimited):
        return "rate_limited"
    if isinstance(error, ProviderUnavailable):
        return "unavailable"
    return "protocol_error"


class CallAuditor:
    """The client's `on_exchange` hook: writes one AuditEvent per audited exchange."""

    def __init__(self, *, team, account=None, user=None, obj=None, actions=AUDITED_ACTIONS):
        self.team = team
        self.account = account
        self.user = user
        self.obj = obj
        self.actions = actions

    def wanted(self, action: str, error: ProviderError | None) -> bool:
        return error is not None or action in self.actions

    def write(self, action, params, answer, http_status, latency_ms, error) -> None:
        if not self.wanted(action, error):
            return
        retry_when_locked(
            lambda: self._record(action, params, answer, http_status, latency_ms, error)
        )

    def _record(self, action, params, answer, http_status, latency_ms, error) -> None:
        record_call(
            team=self.team,
            account=self.account,
            user=self.user,
            obj=self.obj,
            action=action,
            params=params,
            answer=answer if answer is not None else (str(error) if error else ""),
            http_status=http_status,
            latency_ms=max(0, latency_ms - _budget_wait_ms.get()),
            outcome=outcome_of(error),
        )

    def write_exchange(self, exchange: Exchange) -> None:
        """Write a call its client was told not to audit, once the caller decided it should."""
        retry_when_locked(
            lambda: self._record(
                exchange.action,
                exchange.params,
                exchange.answer,
                exchange.http_status,
                exchange.latency_ms,
                exchange.error,
            )
        )

    __call__ = write


class AsyncCallAuditor(CallAuditor):
    """The same for the async client: the database write runs in a thread."""

    def __call__(self, action, params, answer, http_status, latency_ms, error) -> Any:
        if not self.wanted(action, error):
            return None
        return sync_to_async(self.write)(action, params, answer, http_status, latency_ms, error)


class PollAuditor(AsyncCallAuditor):
    """The poller's hook. Its failed calls about one activation share one request id, so
    that a provider failing poll after poll makes one row per activation on the audit page,
    with the failures under it, rather than a row per poll."""

    def write(self, action, params, answer, http_status, latency_ms, error) -> None:
        activation = f"{self.account.pk if self.account else ''}:{params.get('id', '')}"
        with one_request(uuid.uuid5(POLL_ERRORS, activation)):
            super().write(action, params, answer, http_status, latency_ms, error)


def _sent(waiting_since: float) -> None:
    _budget_wait_ms.set(round((time.perf_counter() - waiting_since) * 1000))
    _sent_at.set(timezone.now())


@dataclass(frozen=True)
class BudgetShare:
    """A caller's way into one provider's request budget (`catalog.ratelimit`): the
    provider's bucket and the caller's priority in it."""

    provider_id: int
    rate: float
    priority: Priority

    @classmethod
    def of(cls, provider: Provider, priority: Priority) -> "BudgetShare":
        return cls(provider.pk, provider.max_requests_per_second, priority)

    async def wait(self) -> None:
        await ratelimit.acquire(self.provider_id, self.rate, self.priority)

    def wait_blocking(self, max_wait: float) -> bool:
        return ratelimit.acquire_blocking(
            self.provider_id, self.rate, self.priority, max_wait=max_wait
        )


def endpoint_options(provider: Provider) -> dict[str, Any]:
    """What every client of the provider is built with: its handler URL, language and
    request method."""
    return {
        "base_url": provider.handler_url,
        "lang": provider.lang,
        "method": provider.request_method,
    }


def last_sent_at() -> datetime | None:
    """When this context's (thread's or task's) last provider request left, after waiting
    for its budget slot: the moment the provider saw it, give or take the transit."""
    return _sent_at.get()


class WebCallTransport(httpx.HTTPTransport):
    """The transport of a call a web request waits on: first a token of the provider's
    request budget (giving up rather than wait past `max_wait` or the call's deadline), then
    one of the provider's web slots in this process (`provider_slots`), held until the answer
    is read. The budget comes first so that a slot's age measures the provider, not our own
    queue. A call refused either way is not sent: `httpx.PoolTimeout`, which the client
    reports as `ProviderUnavailable`. It is an HTTPTransport itself, not a wrapper, so that
    the client bounds its sockets by the call's deadline."""

    def __init__(
        self,
        provider: Provider,
        priority: Priority,
        *,
        max_wait: float,
        slots: int,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.budget = BudgetShare.of(provider, priority)
        self.max_wait = max_wait
        self.slots = slots_for(provider.pk, slots)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        remaining = deadline_remaining()
        max_wait = self.max_wait if remaining is None else min(self.max_wait, remaining)
        if not self.budget.wait_blocking(max_wait):
            raise httpx.PoolTimeout(
                "The provider's request budget has no slot within the deadline.", request=request
            )

        def send(request: httpx.Request) -> httpx.Response:
            _sent(started)
            return super(WebCallTransport, self).handle_request(request)

        return holding_a_slot(self.slots, request, send)


class AsyncBudgetedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, provider: Provider, priority: Priority, **options: Any) -> None:
        super().__init__(**options)
        self.budget = BudgetShare.of(provider, priority)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        await self.budget.wait()
        _sent(started)
        return await super().handle_async_request(request)


def web_request_client(
    provider: Provider,
    api_key: str,
    *,
    on_exchange: CallAuditor,
    priority: Priority = Priority.USER,
    timeout: float = USER_TIMEOUT,
) -> ProviderClient:
    """A synchronous client for a call a web request waits on: bounded in time (the
    deadline) and in number (the provider's slots in this process)."""
    deadline = settings.PROVIDER_WEB_DEADLINE_SECONDS
    return ProviderClient(
        api_key=api_key,
        **endpoint_options(provider),
        timeout=min(timeout, deadline),
        deadline=deadline,
        on_exchange=on_exchange,
        transport=WebCallTransport(
            provider, priority, max_wait=deadline, slots=settings.PROVIDER_WEB_CONCURRENCY
        ),
    )


def provider_client(
    account: ProviderAccount,
    *,
    user=None,
    obj=None,
    priority: Priority = Priority.USER,
    timeout: float = USER_TIMEOUT,
    audit_actions=AUDITED_ACTIONS,
) -> ProviderClient:
    """A synchronous client on the account's key (use it as a context manager).

    Raises `dashboard.encryption.KeyDecryptionError` if the stored key cannot be read.
    """
    return web_request_client(
        account.provider,
        decrypt_key(account.key_ciphertext),
        on_exchange=CallAuditor(
            team=account.team, account=account, user=user, obj=obj, actions=audit_actions
        ),
        priority=priority,
        timeout=timeout,
    )


def async_provider_client(
    account: ProviderAccount,
    *,
    priority: Priority = Priority.POLL,
    timeout: float = USER_TIMEOUT,
    deadline: float | None = None,
    audit_actions=AUDITED_ACTIONS,
    limits: httpx.Limits | None = None,
) -> AsyncProviderClient:
    """An async client on the account's key (for the poller; `async with` it). `timeout`
    bounds each read, `deadline` (default: `timeout`) the whole call, the wait for a slot of
    the provider's request budget included.

    Build it from sync code or with the account's provider and team already loaded
    (`select_related("provider", "team")`): reading them here must not hit the database.
    """
    provider = account.provider
    options = {"limits": limits} if limits is not None else {}
    return AsyncProviderClient(
        api_key=decrypt_key(account.key_ciphertext),
        **endpoint_options(provider),
        timeout=timeout,
        deadline=deadline,
        on_exchange=PollAuditor(team=account.team, account=account, actions=audit_actions),
        transport=AsyncBudgetedTransport(provider, priority, **options),
    )


def key_check_client(provider: Provider, api_key: str, *, team, user=None) -> ProviderClient:
    """A client on a key that is not stored yet (checked with getBalance before saving)."""
    return web_request_client(
        provider, api_key, on_exchange=CallAuditor(team=team, user=user, obj=provider)
    )


class CatalogLister:
    """The catalog sync's client (`async with` it): getCountryAndOperators and
    getServicesAndCost, each first waiting for a token of the provider's request budget at
    `Priority.SYNC`, and audited like every other call (errors only: a listing changes
    nothing). The budget wait comes before the call's deadline starts, not inside it: the
    sync yields to users and the poller for as long as they need the budget, and only the
    provider's own slowness counts against its answer's `timeout`."""

    def __init__(
        self,
        provider: Provider,
        api_key: str,
        *,
        account: ProviderAccount | None = None,
        timeout: float = USER_TIMEOUT,
        lang: str | None = None,
    ) -> None:
        self.budget = BudgetShare.of(provider, Priority.SYNC)
        # `lang`: another language than the provider's, for the names pass (names only).
        options = endpoint_options(provider) | ({"lang": lang} if lang else {})
        self.client = AsyncProviderClient(
            api_key=api_key,
            **options,
            timeout=timeout,
            on_exchange=AsyncCallAuditor(
                team=account.team if account is not None else None,
                account=account,
                obj=provider if account is None else None,
            ),
        )

    async def __aenter__(self) -> "CatalogLister":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()

    async def get_countries(self) -> Listing:
        await self.budget.wait()
        return await self.client.get_countries()

    async def get_services(self, country: int, operator: str) -> Listing:
        await self.budget.wait()
        return await self.client.get_services(country, operator)

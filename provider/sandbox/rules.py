"""The sandbox provider: the handler_api protocol implemented in memory, for demos and tests.

Faithful to the provider document: every action with its exact answers and error words, GET
and POST, lang ru/en, and the document's annexes as its catalog (`provider.sandbox.catalog`),
with deterministic prices and stock. Accounts have balances; getNumber charges, a code
"arrives" after `code_delay` seconds (with a `Market`, `provider.sandbox.market`: after a delay
drawn per activation, and some numbers never get one), setStatus 3 asks for another code, 6
completes, 8 cancels and refunds (only while no code arrived), and an activation not completed
within `lifetime` is cancelled and refunded. Rules real providers enforce are configurable: a
minimum age before a cancel (EARLY_CANCEL_DENIED), BAD_STATUS for a cancel after a code, a per-key
request rate (HTTP 429). Faults can be injected per key or globally: latency, HTTP 500,
timeouts, garbage, ERROR_SQL, and every hostile answer of issue 12 (NUL bytes, over-long
fields, negative and absurd numbers, deep JSON, huge and trickling bodies, an absurd
Retry-After): the table of fault kinds is `provider.sandbox.faults.FAULT_KINDS`.

Pure Python: `Sandbox.handle(params)` answers one request, `Sandbox.wsgi_app` serves it over
WSGI, `SandboxServer` (`provider.sandbox.server`, importable from here too) runs that on a
threaded loopback HTTP server, and the dashboard mounts one per entry of SANDBOX_MARKETS under
/sandbox/ (`catalog.sandbox_views`). State lives in the memory of one process; it is a
development tool, thread-safe, never a provider for real money.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import count
from typing import Any

from provider.sandbox.activation import (
    OPEN_STATES,
    WAITING_STATES,
    SandboxActivation,
    SandboxState,
)
from provider.sandbox.annexes import COUNTRIES, SERVICES_BY_ID, CatalogCountry
from provider.sandbox.catalog import (
    Offer,
    catalog_offer,
    country_rows,
    phone_number,
    sells,
    service_rows,
    sms_code,
)
from provider.sandbox.injector import FaultInjector
from provider.sandbox.market import Market
from provider.sandbox.ratelimit import TokenBucket
from provider.sandbox.server import (
    Answer,
    SandboxServer,
    json_answer,
    serve_wsgi,
)

# SandboxServer and Answer are also importable from here, where the sandbox's users find them.
__all__ = ["Answer", "Sandbox", "SandboxServer"]

STATUS_RETRY, STATUS_COMPLETE, STATUS_CANCEL = 3, 6, 8
# setStatus 8 and 6 close an activation: the state each leaves it in and the answer.
_CLOSING = {
    STATUS_CANCEL: (SandboxState.CANCELLED, "ACCESS_CANCEL"),
    STATUS_COMPLETE: (SandboxState.COMPLETED, "ACCESS_ACTIVATION"),
}


class Sandbox:
    """The sandbox provider's state and protocol. Every public method is thread-safe.

    Configuration attributes may be changed at any time: `code_delay` (seconds until a code
    arrives), `code_delay_fn(activation, n) -> seconds` (if set, overrides `code_delay` for
    the n-th code of an activation, n = 0 for the first), `code_fn(activation, n) -> str`,
    `lifetime` (seconds), `min_cancel_age` (seconds), `rate_limit` (requests per second per
    key, None: off), `wait_retry_answers` (answer STATUS_WAIT_RETRY:<previous code> while
    waiting for another code, as sibling providers do, instead of the document's
    STATUS_WAIT_CODE), `timeout_seconds` (how long a "timeout" fault holds a request),
    `countries` (the annex countries getCountryAndOperators lists; numbers of every annex
    country stay for sale, so a shorter list only makes the catalog smaller), `market` (a
    `Market`: its seed's prices and stock, and its code delays and numbers that never get a
    code instead of `code_delay`; None: the classic catalog, every code after `code_delay`).
    """

    def __init__(
        self,
        *,
        code_delay: float = 5.0,
        lifetime: float = 1200.0,
        min_cancel_age: float = 0.0,
        rate_limit: float | None = None,
        countries: Sequence[CatalogCountry] = COUNTRIES,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        market: Market | None = None,
    ) -> None:
        self._defaults = {
            "code_delay": code_delay,
            "lifetime": lifetime,
            "min_cancel_age": min_cancel_age,
            "rate_limit": rate_limit,
            "countries": tuple(countries),
            "market": market,
        }
        self.clock = clock
        self._seed = seed
        self._lock = threading.RLock()
        # Activation ids keep growing across resets and restarts (they start at the current
        # time in milliseconds), so a dashboard database never sees the same id twice.
        self._ids = count(int(time.time() * 1000))
        self._reset_state()

    # --- Set-up and inspection ---------------------------------------------------------------

    def _reset_state(self) -> None:
        for name, value in self._defaults.items():
            setattr(self, name, value)
        self.code_delay_fn: Callable[[SandboxActivation, int], float] | None = None
        self.code_fn: Callable[[SandboxActivation, int], str] | None = None
        self.wait_retry_answers = False
        self.timeout_seconds = 30.0
        self._accounts: dict[str, Decimal] = {}
        self._activations: dict[int, SandboxActivation] = {}
        # Open activation ids per key, oldest first (a dict keeps the order; values unused).
        self._open: dict[str, dict[int, None]] = {}
        self._offers: dict[tuple[str, int, str], Offer] = {}
        self._injector = FaultInjector(self._seed)
        self._buckets: dict[str, TokenBucket] = {}
        self.request_counts: Counter[str] = Counter()  # per action, every request answered

    def reset(self) -> None:
        """Forget accounts, activations, overrides and faults; restore the configuration."""
        with self._lock:
            self._injector.clear()  # let held "timeout" requests go
            self._reset_state()

    def add_account(self, api_key: str, balance: Decimal | str | int = Decimal("1000")) -> None:
        """Know `api_key` with `balance` (replaces the balance of a key already known)."""
        with self._lock:
            self._accounts[api_key] = Decimal(balance)

    def balance(self, api_key: str) -> Decimal:
        with self._lock:
            self._expire(api_key)  # expiries refund
            return self._accounts[api_key]

    def set_balance(self, api_key: str, balance: Decimal | str | int) -> None:
        self.add_account(api_key, balance)

    @property
    def activations(self) -> dict[int, SandboxActivation]:
        """Every activation by id, brought up to date (codes due, expiries)."""
        with self._lock:
            self._advance_all()
            return dict(self._activations)

    def activation(self, activation_id: int | str) -> SandboxActivation:
        with self._lock:
            activation = self._activations[int(activation_id)]
            self._advance(activation, self.clock())
            return activation

    def offer(self, service: str, country: int, operator: str = "any") -> Offer:
        """The price and stock the sandbox sells this combination at."""
        with self._lock:
            return self._offer(service, int(country), operator)

    def set_offer(
        self,
        service: str,
        country: int,
        operator: str = "any",
        *,
        price: Decimal | str | int | None = None,
        quantity: int | None = None,
    ) -> None:
        """Override the price and/or stock of one combination (for example quantity=0)."""
        with self._lock:
            current = self._offer(service, int(country), operator)
            self._offers[(service, int(country), operator)] = Offer(
                Decimal(price) if price is not None else current.price,
                quantity if quantity is not None else current.quantity,
            )

    def set_code_delay(self, activation_id: int | str, seconds: float) -> None:
        """Make the awaited code of one activation arrive `seconds` after its wait began."""
        with self._lock:
            activation = self._activations[int(activation_id)]
            if activation.state in WAITING_STATES:
                activation.code_due_at = activation.waiting_since + seconds

    def deliver_code(self, activation_id: int | str, code: str | None = None) -> str:
        """Make the awaited code of one activation arrive now; returns it."""
        with self._lock:
            activation = self._activations[int(activation_id)]
            now = self.clock()
            self._advance(activation, now)
            if activation.state not in WAITING_STATES:
                raise ValueError(f"Activation {activation.id} is not waiting for a code.")
            self._arrive(activation, now, code)
            return activation.codes[-1]

    def set_fault(
        self,
        kind: str,
        probability: float = 1.0,
        api_key: str | None = None,
        *,
        seconds: float | None = None,
    ) -> None:
        """Inject a fault into a share (`probability`) of requests, of one key or of all.

        `kind` is a name of `provider.sandbox.faults.FAULT_KINDS` (each with what it answers)
        or of `FAULT_GROUPS` (several kinds at once). `seconds`: the wait of "latency"
        (default 1), how long a "timeout" holds a request (default `timeout_seconds`), the
        interval of "trickle" (default 1). `clear_faults()` ends every wait at once.
        """
        self._injector.add(kind, probability, api_key, seconds)

    def clear_faults(self) -> None:
        self._injector.clear()

    # --- The protocol ------------------------------------------------------------------------

    def handle(self, params: Mapping[str, str]) -> Answer:
        """Answer one request (its query and form parameters merged)."""
        api_key = params.get("api_key", "")
        with self._lock:
            self.request_counts[params.get("action", "")] += 1
            if self.rate_limit:
                bucket = self._buckets.get(api_key)
                if bucket is None or bucket.rate != self.rate_limit:
                    bucket = self._buckets[api_key] = TokenBucket(self.rate_limit)
                if not bucket.take():
                    return Answer(429, "Too Many Requests", headers=(("Retry-After", "1"),))
            faults = self._injector.draw(api_key)
        faults.wait_latency()
        refusal = faults.refusal(self.timeout_seconds)
        if refusal is not None:
            return refusal
        with self._lock:
            answer = self._dispatch(params)
        return faults.spoil(answer, params.get("action", ""))

    def _dispatch(self, params: Mapping[str, str]) -> Answer:
        if params.get("api_key", "") not in self._accounts:
            return Answer(200, "BAD_KEY")
        if params.get("lang") not in ("ru", "en"):
            return Answer(200, "BAD_LANG")
        action = {
            "getBalance": self._get_balance,
            "getCountryAndOperators": self._get_countries,
            "getServicesAndCost": self._get_services,
            "getNumber": self._get_number,
            "setStatus": self._set_status,
            "getStatus": self._get_status,
        }.get(params.get("action", ""))
        if action is None:
            return Answer(200, "BAD_ACTION")
        return action(params)

    def _get_balance(self, params: Mapping[str, str]) -> Answer:
        self._expire(params["api_key"])
        return Answer(200, f"{self._accounts[params['api_key']]:.2f}")

    def _get_countries(self, params: Mapping[str, str]) -> Answer:
        return json_answer(country_rows(self.countries, ru=params["lang"] == "ru"))

    def _get_services(self, params: Mapping[str, str]) -> Answer:
        country = _int(params.get("country"))
        if country is None:
            return Answer(200, "BAD_ACTION")
        operator = params.get("operator") or "any"
        if not sells(country, operator):
            return json_answer([])
        rows = service_rows(
            lambda service: self._offer(service, country, operator), ru=params["lang"] == "ru"
        )
        return json_answer(rows)

    def _get_number(self, params: Mapping[str, str]) -> Answer:
        service, country = params.get("service"), _int(params.get("country"))
        if not service or country is None:
            return Answer(200, "BAD_ACTION")
        if service not in SERVICES_BY_ID:
            return Answer(200, "BAD_SERVICE")
        operator = params.get("operator") or "any"
        if not sells(country, operator):
            return Answer(200, "NO_NUMBERS")
        offer = self._offer(service, country, operator)
        if offer.quantity <= 0:
            return Answer(200, "NO_NUMBERS")
        api_key = params["api_key"]
        self._expire(api_key)
        if self._accounts[api_key] < offer.price:
            return Answer(200, "NO_BALANCE")
        self._accounts[api_key] -= offer.price
        now = self.clock()
        activation_id = next(self._ids)
        activation = SandboxActivation(
            id=activation_id,
            api_key=api_key,
            service=service,
            country=country,
            operator=operator,
            phone=phone_number(activation_id, country),
            price=offer.price,
            created_at=now,
        )
        self._wait_for_code(activation, now)
        self._activations[activation_id] = activation
        self._open.setdefault(api_key, {})[activation_id] = None
        return Answer(200, f"ACCESS_NUMBER:{activation_id}:{activation.phone}")

    def _own_activation(self, params: Mapping[str, str]) -> SandboxActivation | Answer:
        if not params.get("id"):
            return Answer(200, "BAD_ACTION")
        activation_id = _int(params.get("id"))
        activation = self._activations.get(activation_id) if activation_id is not None else None
        if activation is None or activation.api_key != params["api_key"]:
            return Answer(200, "NO_ACTIVATION")
        self._advance(activation, self.clock())
        return activation

    def _get_status(self, params: Mapping[str, str]) -> Answer:
        activation = self._own_activation(params)
        if isinstance(activation, Answer):
            return activation
        match activation.state:
            case SandboxState.WAIT_CODE:
                return Answer(200, "STATUS_WAIT_CODE")
            case SandboxState.WAIT_RETRY if self.wait_retry_answers:
                return Answer(200, f"STATUS_WAIT_RETRY:{activation.code}")
            case SandboxState.WAIT_RETRY:
                return Answer(200, "STATUS_WAIT_CODE")
            case SandboxState.CANCELLED:
                return Answer(200, "STATUS_CANCEL")
            case _:  # a code arrived (the activation may be completed since)
                return Answer(200, f"STATUS_OK:{activation.code}")

    def _set_status(self, params: Mapping[str, str]) -> Answer:
        if not params.get("status"):
            return Answer(200, "BAD_ACTION")
        activation = self._own_activation(params)
        if isinstance(activation, Answer):
            return activation
        status = _int(params.get("status"))
        now = self.clock()
        if status in _CLOSING:
            return self._end(activation, status, now)
        if status == STATUS_RETRY:
            if activation.state == SandboxState.WAIT_RETRY:
                return Answer(200, "ACCESS_RETRY_GET")  # a repeat after a lost answer
            if activation.state != SandboxState.CODE:
                return Answer(200, "BAD_STATUS")
            activation.state = SandboxState.WAIT_RETRY
            self._wait_for_code(activation, now)
            return Answer(200, "ACCESS_RETRY_GET")
        return Answer(200, "BAD_STATUS")

    def _end(self, activation: SandboxActivation, status: int, now: float) -> Answer:
        """setStatus 8 (cancel: only while no code arrived, refunded) or 6 (complete: only
        after a code). Asked again once done, it answers the same (the first answer may have
        been lost)."""
        closed_state, done = _CLOSING[status]
        cancel = status == STATUS_CANCEL
        if activation.state == closed_state:
            return Answer(200, done)
        if not activation.is_open or bool(activation.codes) == cancel:
            return Answer(200, "BAD_STATUS")  # a cancel after a code: complete it instead
        if cancel and now - activation.created_at < self.min_cancel_age:
            return Answer(200, "EARLY_CANCEL_DENIED")
        self._close(activation, now, closed_state, refund=cancel)
        return Answer(200, done)

    # --- Time: codes arriving, lifetimes ending ----------------------------------------------

    def _wait_for_code(self, activation: SandboxActivation, now: float) -> None:
        n = len(activation.codes)
        if self.code_delay_fn:
            delay = self.code_delay_fn(activation, n)
        elif self.market:
            where = (activation.service, activation.country, activation.operator)
            delay = self.market.code_delay(*where, activation.id, n)
        else:
            delay = self.code_delay
        activation.wait_for_code(now, delay)

    def _arrive(self, activation: SandboxActivation, at: float, code: str | None = None) -> None:
        n = len(activation.codes)
        if code is None:
            code = self.code_fn(activation, n) if self.code_fn else sms_code(activation.id, n)
        activation.receive(code, at)

    def _advance(self, activation: SandboxActivation, now: float) -> None:
        if activation.state not in OPEN_STATES:
            return
        ends_at = activation.created_at + self.lifetime
        due = activation.code_due_at
        if activation.state in WAITING_STATES and due is not None and due <= now and due < ends_at:
            self._arrive(activation, due)
        if now >= ends_at:
            # Not completed within its lifetime: cancelled and refunded.
            activation.expired = True
            self._close(activation, ends_at, SandboxState.CANCELLED, refund=True)

    def _advance_all(self) -> None:
        """Bring every open activation up to date."""
        now = self.clock()
        for open_ids in list(self._open.values()):
            for activation_id in list(open_ids):
                self._advance(self._activations[activation_id], now)

    def _expire(self, api_key: str) -> None:
        """Close (and refund) the key's activations past their lifetime: the oldest open ones,
        so the walk stops at the first that is still alive."""
        now = self.clock()
        for activation_id in list(self._open.get(api_key, ())):
            activation = self._activations[activation_id]
            if now < activation.created_at + self.lifetime:
                break
            self._advance(activation, now)

    def _close(
        self, activation: SandboxActivation, at: float, state: SandboxState, *, refund: bool
    ) -> None:
        activation.close(state, at)
        self._open.get(activation.api_key, {}).pop(activation.id, None)
        if refund and not activation.refunded:
            activation.refunded = True
            self._accounts[activation.api_key] = (
                self._accounts.get(activation.api_key, Decimal(0)) + activation.price
            )

    def _offer(self, service: str, country: int, operator: str) -> Offer:
        override = self._offers.get((service, country, operator))
        if override is not None:
            return override
        if self.market is not None:
            return self.market.offer(service, country, operator)
        return catalog_offer(service, country, operator)

    # --- WSGI --------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        """Serve the handler at any path ending in /stubs/handler_api, GET or POST."""
        return serve_wsgi(self.handle, environ, start_response)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None

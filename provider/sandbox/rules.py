"""The sandbox provider: the handler_api protocol implemented in memory, for demos and tests.

Faithful to the provider document: every action with its exact answers and error words, GET
and POST, lang ru/en, and the document's annexes as its catalog (`sandbox_catalog`), with
deterministic prices and stock. Accounts have balances; getNumber charges, a code "arrives"
after `code_delay` seconds, setStatus 3 asks for another code, 6 completes, 8 cancels and
refunds (only while no code arrived), and an activation not completed within `lifetime` is
cancelled and refunded. Rules real providers enforce are configurable: a minimum age before a
cancel (EARLY_CANCEL_DENIED), BAD_STATUS for a cancel after a code, a per-key request rate
(HTTP 429). Faults can be injected per key or globally: latency, HTTP 500, timeouts, garbage,
ERROR_SQL, and every hostile answer of issue 12 (NUL bytes, over-long fields, negative and absurd
numbers, deep JSON, huge and trickling bodies, an absurd Retry-After): the table of fault kinds
is `provider.sandbox.faults.FAULT_KINDS`.

Pure Python: `Sandbox.handle(params)` answers one request, `Sandbox.wsgi_app` serves it over
WSGI, `SandboxServer` runs that on a threaded loopback HTTP server (tests, the
`sandbox_provider` command), and the dashboard mounts it at /sandbox/stubs/handler_api
(`mounted_sandbox()`, `catalog.sandbox_views`). State lives in the memory of one process;
it is a development tool, thread-safe, never a provider for real money.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from itertools import count
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from provider.sandbox import faults as hostile
from provider.sandbox.annexes import (
    COUNTRIES,
    COUNTRIES_BY_ID,
    SERVICE_NAMES_RU,
    SERVICES,
    SERVICES_BY_ID,
)

HANDLER_PATH = "/stubs/handler_api"
STATUS_RETRY, STATUS_COMPLETE, STATUS_CANCEL = 3, 6, 8


class SandboxState(StrEnum):
    WAIT_CODE = "wait_code"
    CODE = "code"  # a code arrived, the activation is still open
    WAIT_RETRY = "wait_retry"  # setStatus 3: waiting for another code
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({SandboxState.WAIT_CODE, SandboxState.CODE, SandboxState.WAIT_RETRY})
WAITING_STATES = frozenset({SandboxState.WAIT_CODE, SandboxState.WAIT_RETRY})


@dataclass
class SandboxActivation:
    """One number sold by the sandbox. Times are wall-clock seconds (the sandbox's clock)."""

    id: int
    api_key: str = field(repr=False)
    service: str
    country: int
    operator: str
    phone: str
    price: Decimal
    created_at: float
    state: SandboxState = SandboxState.WAIT_CODE
    codes: list[str] = field(default_factory=list)
    # When each code became available at the provider (not when someone asked for it).
    code_available_at: list[float] = field(default_factory=list)
    waiting_since: float = 0.0  # when the current wait for a code began
    code_due_at: float | None = None  # when the awaited code arrives
    closed_at: float | None = None
    refunded: bool = False
    expired: bool = False

    @property
    def code(self) -> str | None:
        return self.codes[-1] if self.codes else None

    @property
    def first_code_available_at(self) -> float | None:
        return self.code_available_at[0] if self.code_available_at else None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of the sandbox."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    padding: int = 0  # spaces sent before the body (the "huge" fault), never held in memory
    trickle: hostile.Trickle | None = None  # the bytes sent one at a time (the "trickle" fault)

    @property
    def length(self) -> int:
        """The Content-Length: bytes of the body and its padding."""
        return self.padding + len(self.body.encode())

    def chunks(self) -> Iterable[bytes]:
        """The answer's bytes as a WSGI iterable (lazy when padded or trickled)."""
        body = self.body.encode()
        chunks = hostile.padded(body, self.padding) if self.padding else [body]
        return hostile.trickled(chunks, self.trickle) if self.trickle else chunks


@dataclass(frozen=True, slots=True)
class Offer:
    price: Decimal
    quantity: int


def _digest(*parts: object) -> int:
    text = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def catalog_offer(service: str, country: int, operator: str) -> Offer:
    """The deterministic price and stock of a combination. About one in eight is out of stock
    (price 0, quantity 0, as the document's example shows), except that every service is in
    stock in Russia (country 0) with operator "any", so demos always have something to buy."""
    h = _digest(service, country, operator)
    if h % 100 < 12 and not (country == 0 and operator == "any"):
        return Offer(Decimal(0), 0)
    price = Decimal(50 + (h >> 8) % 14951) / 100  # 0.50 .. 150.00
    quantity = 1 + (h >> 24) % 3000
    return Offer(price, quantity)


def _json_price(price: Decimal) -> int | float:
    return int(price) if price == price.to_integral_value() else float(price)


class _TokenBucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Sandbox:
    """The sandbox provider's state and protocol. Every public method is thread-safe.

    Configuration attributes may be changed at any time: `code_delay` (seconds until a code
    arrives), `code_delay_fn(activation, n) -> seconds` (if set, overrides `code_delay` for
    the n-th code of an activation, n = 0 for the first), `code_fn(activation, n) -> str`,
    `lifetime` (seconds), `min_cancel_age` (seconds), `rate_limit` (requests per second per
    key, None: off), `wait_retry_answers` (answer STATUS_WAIT_RETRY:<previous code> while
    waiting for another code, as sibling providers do, instead of the document's
    STATUS_WAIT_CODE), `timeout_seconds` (how long a "timeout" fault holds a request).
    """

    def __init__(
        self,
        *,
        code_delay: float = 5.0,
        lifetime: float = 1200.0,
        min_cancel_age: float = 0.0,
        rate_limit: float | None = None,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
    ) -> None:
        self._defaults = {
            "code_delay": code_delay,
            "lifetime": lifetime,
            "min_cancel_age": min_cancel_age,
            "rate_limit": rate_limit,
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
        self._faults: list[hostile.Fault] = []
        self._buckets: dict[str, _TokenBucket] = {}
        self._random = random.Random(self._seed)
        self._wake = threading.Event()
        self.request_counts: Counter[str] = Counter()  # per action, every request answered

    def reset(self) -> None:
        """Forget accounts, activations, overrides and faults; restore the configuration."""
        with self._lock:
            self._wake.set()  # let held "timeout" requests go
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

        `kind` is a name of `sandbox_hostile.FAULT_KINDS` (each with what it answers) or of
        `FAULT_GROUPS` (several kinds at once). `seconds`: the wait of "latency" (default 1),
        how long a "timeout" holds a request (default `timeout_seconds`), the interval of
        "trickle" (default 1). `clear_faults()` ends every wait at once.
        """
        kinds = hostile.fault_kinds(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability is a share between 0 and 1.")
        with self._lock:
            self._faults.extend(
                hostile.Fault(name, probability, api_key, seconds) for name in kinds
            )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = []
            self._wake.set()
            self._wake = threading.Event()

    # --- The protocol ------------------------------------------------------------------------

    def handle(self, params: Mapping[str, str]) -> Answer:
        """Answer one request (its query and form parameters merged)."""
        api_key = params.get("api_key", "")
        with self._lock:
            self.request_counts[params.get("action", "")] += 1
            if self.rate_limit:
                bucket = self._buckets.get(api_key)
                if bucket is None or bucket.rate != self.rate_limit:
                    bucket = self._buckets[api_key] = _TokenBucket(self.rate_limit)
                if not bucket.take():
                    return Answer(429, "Too Many Requests", headers=(("Retry-After", "1"),))
            faults = [
                fault
                for fault in self._faults
                if fault.api_key in (None, api_key) and self._random.random() < fault.probability
            ]
            wake = self._wake
        for fault in faults:
            if fault.kind == "latency":
                wake.wait(fault.seconds if fault.seconds is not None else 1.0)
        refusal = next((fault for fault in faults if fault.kind in hostile.REFUSALS), None)
        if refusal is not None:
            return self._refuse(refusal, wake)
        with self._lock:
            answer = self._dispatch(params)
        return self._spoil(answer, params.get("action", ""), faults, wake)

    def _refuse(self, fault: hostile.Fault, wake: threading.Event) -> Answer:
        """The answer of a refusal fault (`hostile.FAULT_KINDS`): the request is not acted on."""
        match fault.kind:
            case "timeout":
                wake.wait(fault.seconds if fault.seconds is not None else self.timeout_seconds)
                return Answer(504, "Gateway Timeout")
            case "http_500":
                return Answer(500, "Internal Server Error")
            case "garbage":
                with self._lock:
                    return Answer(200, self._random.choice(hostile.GARBAGE_ANSWERS))
            case "error_sql":
                return Answer(200, "ERROR_SQL")
            case "retry_after":
                retry_after = ("Retry-After", hostile.ABSURD_RETRY_AFTER)
                return Answer(429, "Too Many Requests", headers=(retry_after,))
        raise AssertionError(f"{fault.kind} is not a refusal")

    @staticmethod
    def _spoil(
        answer: Answer, action: str, faults: list[hostile.Fault], wake: threading.Event
    ) -> Answer:
        """The honest `answer` (already acted on) as the rewrite and delivery faults send it."""
        for fault in faults:
            answer = replace(answer, body=hostile.rewrite(fault.kind, action, answer.body))
        kinds = {fault.kind: fault for fault in faults}
        if "huge" in kinds:
            answer = replace(answer, padding=max(0, hostile.HUGE_BYTES - answer.length))
        if "trickle" in kinds:
            seconds = kinds["trickle"].seconds
            answer = replace(
                answer, trickle=hostile.Trickle(1.0 if seconds is None else seconds, wake)
            )
        return answer

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
        ru = params["lang"] == "ru"
        data = [
            {
                "id": country.id,
                "name": country.name_ru if ru else country.name,
                "operators": {op: op for op in country.operators},
            }
            for country in COUNTRIES
        ]
        return _json_answer(data)

    def _get_services(self, params: Mapping[str, str]) -> Answer:
        country = _int(params.get("country"))
        if country is None:
            return Answer(200, "BAD_ACTION")
        operator = params.get("operator") or "any"
        known = COUNTRIES_BY_ID.get(country)
        if known is None or operator not in known.operators:
            return _json_answer([])
        ru = params["lang"] == "ru"
        data = []
        for service in SERVICES:
            offer = self._offer(service.id, country, operator)
            name = service.name
            if ru:
                name = SERVICE_NAMES_RU.get(service.id, name)
            data.append(
                {
                    "id": service.id,
                    "name": name,
                    "price": _json_price(offer.price),
                    "quantity": str(offer.quantity),
                }
            )
        return _json_answer(data)

    def _get_number(self, params: Mapping[str, str]) -> Answer:
        service, country = params.get("service"), _int(params.get("country"))
        if not service or country is None:
            return Answer(200, "BAD_ACTION")
        if service not in SERVICES_BY_ID:
            return Answer(200, "BAD_SERVICE")
        operator = params.get("operator") or "any"
        known = COUNTRIES_BY_ID.get(country)
        if known is None or operator not in known.operators:
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
            phone=_phone(activation_id, country),
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
        state = activation.state
        if status == STATUS_CANCEL:
            if state == SandboxState.CANCELLED:
                return Answer(200, "ACCESS_CANCEL")  # a repeat after a lost answer
            if state not in OPEN_STATES or activation.codes:
                return Answer(200, "BAD_STATUS")  # a code arrived: complete it instead
            if now - activation.created_at < self.min_cancel_age:
                return Answer(200, "EARLY_CANCEL_DENIED")
            self._close(activation, now, SandboxState.CANCELLED, refund=True)
            return Answer(200, "ACCESS_CANCEL")
        if status == STATUS_COMPLETE:
            if state == SandboxState.COMPLETED:
                return Answer(200, "ACCESS_ACTIVATION")
            if state not in OPEN_STATES or not activation.codes:
                return Answer(200, "BAD_STATUS")
            self._close(activation, now, SandboxState.COMPLETED, refund=False)
            return Answer(200, "ACCESS_ACTIVATION")
        if status == STATUS_RETRY:
            if state == SandboxState.WAIT_RETRY:
                return Answer(200, "ACCESS_RETRY_GET")
            if state != SandboxState.CODE:
                return Answer(200, "BAD_STATUS")
            activation.state = SandboxState.WAIT_RETRY
            self._wait_for_code(activation, now)
            return Answer(200, "ACCESS_RETRY_GET")
        return Answer(200, "BAD_STATUS")

    # --- Time: codes arriving, lifetimes ending ----------------------------------------------

    def _wait_for_code(self, activation: SandboxActivation, now: float) -> None:
        n = len(activation.codes)
        delay = self.code_delay_fn(activation, n) if self.code_delay_fn else self.code_delay
        activation.waiting_since = now
        activation.code_due_at = now + max(0.0, float(delay))

    def _arrive(self, activation: SandboxActivation, at: float, code: str | None = None) -> None:
        n = len(activation.codes)
        if code is None:
            code = self.code_fn(activation, n) if self.code_fn else _code(activation.id, n)
        activation.codes.append(code)
        activation.code_available_at.append(at)
        activation.code_due_at = None
        activation.state = SandboxState.CODE

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
        activation.state = state
        activation.closed_at = at
        self._open.get(activation.api_key, {}).pop(activation.id, None)
        activation.code_due_at = None
        if refund and not activation.refunded:
            activation.refunded = True
            self._accounts[activation.api_key] = (
                self._accounts.get(activation.api_key, Decimal(0)) + activation.price
            )

    def _offer(self, service: str, country: int, operator: str) -> Offer:
        override = self._offers.get((service, country, operator))
        return override if override is not None else catalog_offer(service, country, operator)

    # --- WSGI --------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        """Serve the handler at any path ending in /stubs/handler_api, GET or POST."""
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if not path.rstrip("/").endswith(HANDLER_PATH):
            answer = Answer(404, "Not Found")
        elif method not in ("GET", "POST"):
            answer = Answer(405, "Method Not Allowed", headers=(("Allow", "GET, POST"),))
        else:
            answer = self.handle(request_params(environ))
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(answer.length)),
            *answer.headers,
        ]
        start_response(f"{answer.status} {_REASONS.get(answer.status, 'OK')}", headers)
        return answer.chunks()


_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    504: "Gateway Timeout",
}


def request_params(environ: dict[str, Any]) -> dict[str, str]:
    """Query string and form body parameters (the body wins), first value of each."""
    params = _first_values(environ.get("QUERY_STRING", ""))
    content_type = environ.get("CONTENT_TYPE", "")
    if environ.get("REQUEST_METHOD") == "POST" and "form-urlencoded" in content_type:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length).decode("utf-8", errors="replace")
        params.update(_first_values(body))
    return params


def _first_values(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True, encoding="utf-8", errors="replace")
    return {key: values[0] for key, values in parsed.items()}


def _json_answer(data: Any) -> Answer:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Answer(200, body, content_type="application/json; charset=utf-8")


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _phone(activation_id: int, country: int) -> str:
    """A plausible mobile number in the country's format, with its calling code."""
    info = COUNTRIES_BY_ID[country]
    rng = random.Random(activation_id)
    national = info.mobile_prefix or str(rng.randint(2, 9))
    while len(national) < info.national_digits:
        national += str(rng.randint(0, 9))
    return info.dial_code + national


def _code(activation_id: int, n: int) -> str:
    """A six-digit code (leading zeros happen, as they do in real SMS)."""
    return f"{_digest('code', activation_id, n) % 1_000_000:06d}"


# --- Serving over HTTP ------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    # The request line holds the API key on GET: never print it.
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (slow without DNS); not needed here.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class SandboxServer:
    """The sandbox's WSGI app on a threaded HTTP server (port 0: a free port)."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.host = host
        self._server = _ThreadingWSGIServer((host, port), _QuietHandler)
        self._server.set_app(sandbox.wsgi_app)
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{HANDLER_PATH}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.clear_faults()  # release held requests
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

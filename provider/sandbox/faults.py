"""The sandbox's faults: one table naming each, what it answers, and the hostile answers.

Every finding of issue 12 (provider answers are untrusted input) is a fault kind here, so a
test or a developer can reproduce it on its own: `Sandbox.set_fault(kind, ...)`,
`manage.py sandbox_provider --fault KIND`, or scripts/sandbox_control.py's
``POST /control/fault``. Three kinds of fault:

- refusals answer instead of the provider and do not act (nothing bought or cancelled);
- rewrites act as an honest provider would (getNumber really buys: the balance is charged and
  the activation exists, with a normal id, at the sandbox) and then replace the answer's text
  for the actions they name; every other action stays honest. Catalog rewrites change the
  first row only, so every other row stays good;
- deliveries act honestly and change how the answer's bytes travel ("huge", "trickle").

Faults combine (a rewrite trickled, a huge NUL code). A number answered with a NUL or a
100-digit id cannot be cancelled with that id (NO_ACTIVATION): the sandbox knows only the real
one (`Sandbox.activations`). `FAULT_GROUPS` are shorthands that set several kinds at once
("nul" is every NUL-byte kind). Deliveries need the sandbox's own WSGI server
(`SandboxServer`, the `sandbox_provider` command, scripts/sandbox_control.py), not the copy
mounted in the dashboard. Pure Python, like the sandbox.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Answers a broken provider or a proxy in front of it might send instead of the protocol's.
GARBAGE_ANSWERS = (
    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    "Service temporarily unavailable, please try again later",
    '{"error": "internal", "code": 17}',
    "STATUS_MAYBE",
    "\x00\x1f\x8b garbled",
)

NUL_CODE = "12\x0034"
LONG_NAME_CHARS = 100_000  # ASCII, so also 100,000 bytes
LONG_PHONE_DIGITS = 40
LONG_ID_CHARS = 100
LONG_PRICE = "1234567890123"  # 13 digits: more than a price column (12 digits, 2 decimal) holds
NEGATIVE_PRICE = "-50.00"
NEGATIVE_QUANTITY = "-5"
ABSURD_PRICE = "1e308"
ABSURD_QUANTITY = str(10**30)
DEEP_JSON_LEVELS = 100_000
HUGE_BYTES = 50 * 1024 * 1024
ABSURD_RETRY_AFTER = "100000000"  # seconds: more than three years
CHUNK_BYTES = 64 * 1024

Rewrite = Callable[[str], str]  # the honest answer's text -> the hostile text


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault set on a sandbox."""

    kind: str  # a name of FAULT_KINDS
    probability: float
    api_key: str | None  # None: every key
    seconds: float | None  # latency to add, how long a timeout holds, a trickle's interval


@dataclass(frozen=True, slots=True)
class FaultKind:
    description: str
    rewrites: Mapping[str, Rewrite] = field(default_factory=dict)  # per action


# --- Rewrites ---------------------------------------------------------------------------------


def _number(
    rewrite_id: Callable[[str], str] = str, rewrite_phone: Callable[[str], str] = str
) -> Rewrite:
    """A getNumber rewrite: ACCESS_NUMBER:<id>:<phone> with either part replaced."""

    def rewrite(body: str) -> str:
        if not body.startswith("ACCESS_NUMBER:"):
            return body  # nothing was bought (NO_BALANCE, NO_NUMBERS...): honest
        _, activation_id, phone = body.split(":")
        return f"ACCESS_NUMBER:{rewrite_id(activation_id)}:{rewrite_phone(phone)}"

    return rewrite


def _status_code(code: str) -> Rewrite:
    """A getStatus rewrite: STATUS_OK:<code> for any activation, code arrived or not."""
    return lambda body: f"STATUS_OK:{code}" if body.startswith("STATUS_") else body


def _first_row(name: str, new_json: Callable[[Any], str]) -> Rewrite:
    """A catalog rewrite: the first row's field `name` becomes the JSON text `new_json(old
    value)` (text, so a number is sent exactly as written: -50.00, 1e308); the other rows
    stay honest."""
    marker = "\x01hostile\x01"

    def rewrite(body: str) -> str:
        if not body.startswith("[{"):
            return body  # an error word or an empty list: nothing to spoil
        rows = json.loads(body)
        new = new_json(rows[0][name])
        rows[0][name] = marker
        text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
        return text.replace(json.dumps(marker), new, 1)

    return rewrite


def _deep_json(body: str) -> str:
    if not body.startswith("["):
        return body
    return "[" * DEEP_JSON_LEVELS + "]" * DEEP_JSON_LEVELS


def _with_nul(text: str) -> str:
    middle = len(text) // 2
    return f"{text[:middle]}\x00{text[middle:]}"


def _long_name(text: str) -> str:
    return text + "x" * (LONG_NAME_CHARS - len(text))


def _repeated(text: str, length: int) -> str:
    """`text` repeated to `length` characters: digits stay digits, and the number is not
    the original one with leading zeros (which a lenient parser would read back)."""
    return (text * (length // len(text) + 1))[:length]


def _json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _names(rewrite_name: Callable[[str], str]) -> dict[str, Rewrite]:
    """Rewrites of the first country's and the first service's name."""
    rewrite = _first_row("name", lambda name: _json_string(rewrite_name(name)))
    return {"getCountryAndOperators": rewrite, "getServicesAndCost": rewrite}


def _services(name: str, raw_json: str) -> dict[str, Rewrite]:
    """A rewrite of the first service's field `name` to the JSON text `raw_json`."""
    return {"getServicesAndCost": _first_row(name, lambda _: raw_json)}


# --- The table --------------------------------------------------------------------------------

FAULT_KINDS: Mapping[str, FaultKind] = MappingProxyType(
    {
        # Refusals: answered instead of the provider, nothing is done.
        "latency": FaultKind("waits `seconds` (default 1), then answers honestly"),
        "timeout": FaultKind("holds the request `seconds` (or until cleared), then HTTP 504"),
        "http_500": FaultKind("HTTP 500 Internal Server Error"),
        "garbage": FaultKind("HTTP 200 with text that is not the protocol (HTML, JSON, NUL...)"),
        "error_sql": FaultKind("ERROR_SQL, the document's provider-side database error"),
        "retry_after": FaultKind(f"HTTP 429 with Retry-After: {ABSURD_RETRY_AFTER} (seconds)"),
        # Rewrites: done honestly, answered with hostile text.
        "nul_code": FaultKind(
            "getStatus answers STATUS_OK:12\\x0034 (a NUL in the code) for any activation",
            {"getStatus": _status_code(NUL_CODE)},
        ),
        "nul_id": FaultKind(
            "getNumber buys, answers its id with a NUL inside (not cancellable by that id)",
            {"getNumber": _number(rewrite_id=_with_nul)},
        ),
        "nul_names": FaultKind(
            "the first country's and the first service's name have a NUL inside",
            _names(_with_nul),
        ),
        "long_phone": FaultKind(
            f"getNumber buys, answers its real id with a {LONG_PHONE_DIGITS}-digit phone",
            {"getNumber": _number(rewrite_phone=lambda p: _repeated(p, LONG_PHONE_DIGITS))},
        ),
        "long_id": FaultKind(
            f"getNumber buys, answers a {LONG_ID_CHARS}-digit id (not cancellable by that id)",
            {"getNumber": _number(rewrite_id=lambda i: _repeated(i, LONG_ID_CHARS))},
        ),
        "long_names": FaultKind(
            f"the first country's and the first service's name are {LONG_NAME_CHARS:,} chars",
            _names(_long_name),
        ),
        "long_price": FaultKind(
            f"the first service's price is {LONG_PRICE} (13 digits)",
            _services("price", LONG_PRICE),
        ),
        "negative_price": FaultKind(
            f"the first service's price is {NEGATIVE_PRICE}", _services("price", NEGATIVE_PRICE)
        ),
        "negative_quantity": FaultKind(
            f'the first service\'s quantity is "{NEGATIVE_QUANTITY}"',
            _services("quantity", _json_string(NEGATIVE_QUANTITY)),
        ),
        "absurd_price": FaultKind(
            f"the first service's price is {ABSURD_PRICE}", _services("price", ABSURD_PRICE)
        ),
        "absurd_quantity": FaultKind(
            "the first service's quantity is 10**30",
            _services("quantity", _json_string(ABSURD_QUANTITY)),
        ),
        "deep_json": FaultKind(
            f"both catalog actions answer JSON nested {DEEP_JSON_LEVELS:,} levels deep",
            {"getCountryAndOperators": _deep_json, "getServicesAndCost": _deep_json},
        ),
        # Deliveries: done honestly, the bytes travel in a hostile way.
        "huge": FaultKind(
            f"every action's honest answer after {HUGE_BYTES // 2**20} MB of spaces, streamed"
        ),
        "trickle": FaultKind(
            "every action's honest answer one byte every `seconds` (default 1) until cleared; "
            "the status line and headers go out with the first byte"
        ),
    }
)

REFUSALS = ("timeout", "http_500", "garbage", "error_sql", "retry_after")

FAULT_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "nul": ("nul_code", "nul_id", "nul_names"),
        "negative": ("negative_price", "negative_quantity"),
        "absurd_numbers": ("absurd_price", "absurd_quantity"),
    }
)


def fault_kinds(name: str) -> tuple[str, ...]:
    """The kinds a fault name sets (a group sets several); ValueError for an unknown name."""
    if name in FAULT_KINDS:
        return (name,)
    if name in FAULT_GROUPS:
        return FAULT_GROUPS[name]
    known = ", ".join([*FAULT_KINDS, *FAULT_GROUPS])
    raise ValueError(f"Unknown fault {name!r}; one of {known}.")


def fault_help() -> str:
    """One line per fault kind and group, for command-line help."""
    lines = [f"{name}: {kind.description}" for name, kind in FAULT_KINDS.items()]
    lines += [f"{name}: {' + '.join(kinds)}" for name, kinds in FAULT_GROUPS.items()]
    return "\n".join(lines)


# --- Deliveries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trickle:
    seconds: float
    wake: threading.Event = field(repr=False)  # set by clear_faults(): the rest at once


def padded(body: bytes, padding: int) -> Iterator[bytes]:
    """`padding` spaces (JSON and the client's text answers allow them), then `body`, in
    chunks: the whole answer is never in memory."""
    chunk = b" " * CHUNK_BYTES
    full, rest = divmod(padding, CHUNK_BYTES)
    for _ in range(full):
        yield chunk
    yield b" " * rest + body


def trickled(chunks: Iterable[bytes], trickle: Trickle) -> Iterator[bytes]:
    """The bytes of `chunks` one at a time, `trickle.seconds` apart (the first one too, so the
    status line waits), until `trickle.wake` is set: then everything left at once."""
    chunks = iter(chunks)
    for chunk in chunks:
        for at in range(len(chunk)):
            if trickle.wake.wait(trickle.seconds):
                yield chunk[at:]
                yield from chunks
                return
            yield chunk[at : at + 1]


def rewrite(kind: str, action: str, body: str) -> str:
    """`body` as the fault `kind` answers `action` (unchanged if the kind leaves it honest)."""
    change = FAULT_KINDS[kind].rewrites.get(action)
    return change(body) if change is not None else body

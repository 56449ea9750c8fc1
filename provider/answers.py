"""What a handler_api provider may answer, read as untrusted input: the answer types and
their parsers.

The provider document (`provider-api-doc.txt`) says what each action answers; a provider may
still send anything. Every parser here either returns a value that fits the database columns
it ends up in (`provider.bounds`), or raises `ProtocolError` naming the field (never the value,
never the key). The catalog parsers drop only the rows they cannot read: they return a
`Listing` whose `problems` name each row left out, so one bad row costs that row, not the
whole answer.

Pure Python: no Django and no httpx; `provider.client` re-exports everything public here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import Any

from provider.bounds import (
    CENT,
    MAX_ACTIVATION_ID_LENGTH,
    MAX_AMOUNT_INTEGER_DIGITS,
    MAX_CODE_LENGTH,
    MAX_COUNTRY_ID,
    MAX_COUNTRY_NAME_LENGTH,
    MAX_JSON_DEPTH,
    MAX_LISTED_PROBLEMS,
    MAX_OPERATOR_CODE_LENGTH,
    MAX_PHONE_DIGITS,
    MAX_QUANTITY,
    MAX_SERVICE_CODE_LENGTH,
    MAX_SERVICE_NAME_LENGTH,
    ROW_NAME_LIMIT,
    is_printable,
    storable,
)
from provider.errors import InvalidNumber, ProtocolError

_AMOUNT_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
_AMOUNT_LIMIT = Decimal(10) ** MAX_AMOUNT_INTEGER_DIGITS


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
    row, not the whole answer. At most MAX_LISTED_PROBLEMS lines; `left_out` counts them all."""

    def __init__(self, rows: Any = (), problems: Any = (), left_out: int | None = None) -> None:
        super().__init__(rows)
        self.problems: tuple[str, ...] = tuple(problems)
        self.left_out = len(self.problems) if left_out is None else left_out


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


# --- Field readers: a value that fits its column, or None -----------------------------------

# ASCII digits only: \d alone would also take other scripts' digits ("٢٣٤").
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_INTEGER = re.compile(r"-?\d{1,20}", re.ASCII)
_ACTIVATION_ID = re.compile(rf"\d{{1,{MAX_ACTIVATION_ID_LENGTH}}}", re.ASCII)
_PHONE = re.compile(rf"\+?\d{{1,{MAX_PHONE_DIGITS}}}", re.ASCII)


def read_amount(value: Any, *, negative: bool = False) -> Decimal | None:
    """A price or balance rounded half-up to cents, with at most 10 integer digits; None
    for anything else (NaN, infinity, 1e308, a negative price, a word)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 40 and _NUMBER.fullmatch(value.strip()):
        value = Decimal(value.strip())
    elif isinstance(value, int):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        return None
    if value.adjusted() >= MAX_AMOUNT_INTEGER_DIGITS:  # checked first: quantize needs room
        return None
    cents = value.quantize(CENT, context=_AMOUNT_CONTEXT)
    if abs(cents) >= _AMOUNT_LIMIT or (cents < 0 and not negative):
        return None
    return cents if cents else abs(cents)  # no "-0.00"


def read_integer(value: Any, low: int, high: int) -> int | None:
    """A whole number from `low` to `high` (sent as a number or as digits), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    elif isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 20:
        if value != value.to_integral_value():
            return None
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def read_text(value: Any, limit: int) -> str | None:
    """Printable text of at most `limit` characters, else None."""
    if not isinstance(value, str) or len(value) > limit or not is_printable(value):
        return None
    return value


# --- JSON -----------------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `text` nests lists and objects more than `limit` deep (strings skipped the way
    a JSON reader skips them, so a bracket inside a name does not count)."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if bracket[0] in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def load_json_list(text: str, what: str) -> list:
    """The answer as a JSON list (prices as Decimal), or ProtocolError."""
    if json_too_deep(text):
        raise ProtocolError(f"The {what} answer nests deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise ProtocolError("Expected a JSON answer.", raw=text) from None
    if not isinstance(data, list):
        raise ProtocolError(f"Expected a JSON list of {what}.", raw=text)
    return data


# --- Catalog answers: one bad row costs that row --------------------------------------------


class _Rows:
    """Collects the good rows of a catalog answer and a line for each row left out."""

    def __init__(self, kind: str, scrub: Callable[[str], str]) -> None:
        self.kind = kind
        self.scrub = scrub
        self.rows: list = []
        self.ids: set = set()
        self.problems: list[str] = []
        self.left_out = 0

    def add(self, row: Any) -> None:
        self.rows.append(row)
        self.ids.add(row.id)

    def problem(self, index: int, row_id: Any, text: str) -> None:
        self.left_out += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(f"{self.name(index, row_id)}: {text}")

    def name(self, index: int, row_id: Any) -> str:
        """The row as the provider named it (key scrubbed, storable, truncated)."""
        if isinstance(row_id, str | int) and not isinstance(row_id, bool):
            shown = storable(self.scrub(str(row_id)), ROW_NAME_LIMIT)
            return f"{self.kind} {shown!r}" if isinstance(row_id, str) else f"{self.kind} {shown}"
        return f"{self.kind} #{index + 1}"

    def listing(self) -> Listing:
        return Listing(self.rows, self.problems, self.left_out)


def _catalog(
    text: str,
    kind: str,
    what: str,
    read_row: Callable[[dict, Callable[[str], None]], Any],
    scrub: Callable[[str], str],
) -> Listing:
    """The answer's rows; `read_row(item, note)` returns the row or what is wrong with it, and
    calls `note` for a part it left out of a row it keeps (a bad operator of a country)."""
    rows = _Rows(kind, scrub)
    for index, item in enumerate(load_json_list(text, what)):
        if not isinstance(item, dict):
            rows.problem(index, None, "not a JSON object")
            continue
        row = read_row(
            item, lambda text, index=index, item=item: rows.problem(index, item.get("id"), text)
        )
        if isinstance(row, str):
            rows.problem(index, item.get("id"), row)
        elif row.id in rows.ids:
            # Keep the first: a bulk upsert fails on a row affected twice.
            rows.problem(index, item.get("id"), "listed twice in one answer (the first is kept)")
        else:
            rows.add(row)
    return rows.listing()


def _operators(value: Any) -> tuple[list[str], int] | None:
    """The good operator ids and how many were left out; None when it is not a list.
    The document shows {"any": "any", ...} and calls it an array of ids: accept both."""
    if isinstance(value, dict):
        value = list(value.keys())
    if not isinstance(value, list):
        return None
    codes = [read_text(code, MAX_OPERATOR_CODE_LENGTH) for code in value]
    good = [code for code in codes if code]
    return list(dict.fromkeys(good)), len(codes) - len(good)


def _country(item: dict, note: Callable[[str], None]) -> Country | str:
    """The row as a Country, or what is wrong with it; a bad operator costs only itself."""
    country_id = read_integer(item.get("id"), 0, MAX_COUNTRY_ID)
    name = read_text(item.get("name"), MAX_COUNTRY_NAME_LENGTH)
    operators = _operators(item.get("operators", []))
    if country_id is None:
        return f"id is not a whole number from 0 to {MAX_COUNTRY_ID}"
    if name is None:
        return f"name is not printable text of at most {MAX_COUNTRY_NAME_LENGTH} characters"
    if operators is None:
        return "operators are not a list of ids"
    codes, left_out = operators
    if left_out:
        note(
            f"{left_out} operator(s) left out: not printable ids of at most "
            f"{MAX_OPERATOR_CODE_LENGTH} characters"
        )
    return Country(id=country_id, name=name, operators=codes)


def _service(item: dict, note: Callable[[str], None]) -> ServiceOffer | str:
    """The row as a ServiceOffer, or what is wrong with it."""
    service_id = read_text(item.get("id"), MAX_SERVICE_CODE_LENGTH)
    name = item.get("name")
    price = read_amount(item.get("price"))
    quantity = read_integer(item.get("quantity"), 0, MAX_QUANTITY)
    if not service_id:
        return f"id is not printable text of 1 to {MAX_SERVICE_CODE_LENGTH} characters"
    if name not in (None, "") and read_text(name, MAX_SERVICE_NAME_LENGTH) is None:
        return f"name is not printable text of at most {MAX_SERVICE_NAME_LENGTH} characters"
    if price is None:
        return "price is not an amount from 0 to 9999999999.99"
    if quantity is None:
        return f"quantity is not a whole number from 0 to {MAX_QUANTITY}"
    return ServiceOffer(id=service_id, name=name or service_id, price=price, quantity=quantity)


def _no_scrub(text: str) -> str:
    return text


def parse_countries(text: str, *, scrub: Callable[[str], str] = _no_scrub) -> Listing:
    """getCountryAndOperators; `scrub` removes the key from the row names in `problems`."""
    return _catalog(text, "country", "countries", _country, scrub)


def parse_services(text: str, *, scrub: Callable[[str], str] = _no_scrub) -> Listing:
    """getServicesAndCost; `scrub` removes the key from the row names in `problems`."""
    return _catalog(text, "service", "services", _service, scrub)


# --- Line answers ---------------------------------------------------------------------------


def clean_answer(body: bytes | str) -> str:
    """The answer text without a UTF-8 BOM and surrounding whitespace."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    return text.lstrip("\ufeff").strip()


def parse_balance(text: str) -> Decimal:
    balance = read_amount(text.removeprefix("ACCESS_BALANCE:").strip(), negative=True)
    if balance is None:
        raise ProtocolError(
            "Expected a balance: an amount with at most "
            f"{MAX_AMOUNT_INTEGER_DIGITS} digits before the point.",
            raw=text,
        )
    return balance


def usable_activation_id(text: str) -> str | None:
    """The id when it can be recorded and sent back in setStatus (digits, at most 64)."""
    return text if _ACTIVATION_ID.fullmatch(text) else None


def parse_number(text: str) -> Number:
    """ACCESS_NUMBER:ID:NUMBER. Any other ACCESS_NUMBER answer raises InvalidNumber: the
    provider may have charged for it, so the caller cancels it when the id is usable."""
    if not text.startswith("ACCESS_NUMBER:"):
        raise ProtocolError("Expected ACCESS_NUMBER:ID:NUMBER.", raw=text)
    raw_id, _, phone = text.removeprefix("ACCESS_NUMBER:").partition(":")
    activation_id = usable_activation_id(raw_id)
    if activation_id is None:
        raise InvalidNumber(
            f"The activation id in ACCESS_NUMBER is not 1 to {MAX_ACTIVATION_ID_LENGTH} digits.",
            raw=text,
        )
    if not _PHONE.fullmatch(phone):
        raise InvalidNumber(
            "The phone number in ACCESS_NUMBER is not 1 to "
            f"{MAX_PHONE_DIGITS} digits with an optional leading +.",
            raw=text,
            activation_id=activation_id,
        )
    return Number(activation_id=activation_id, phone=phone)


def parse_set_status(text: str) -> SetStatusResult:
    try:
        return SetStatusResult(text)
    except ValueError:
        pass
    raise ProtocolError("Expected an ACCESS_* answer.", raw=text)


def _code(text: str, field: str) -> str:
    if read_text(text, MAX_CODE_LENGTH) is None:
        raise ProtocolError(
            f"The {field} is not printable text of at most {MAX_CODE_LENGTH} characters."
        )
    return text


def parse_status(text: str) -> Status:
    word, colon, rest = text.partition(":")  # a code may hold colons: split on the first only
    if word == "STATUS_OK" and colon and rest:
        return Status(StatusState.OK, code=_code(rest, "code in STATUS_OK"))
    if word == "STATUS_WAIT_RETRY":
        previous = _code(rest, "previous code in STATUS_WAIT_RETRY") if rest else None
        return Status(StatusState.WAIT_RETRY, previous_code=previous)
    if not colon and word in (
        StatusState.WAIT_CODE,
        StatusState.CANCEL,
        StatusState.WAIT_RESEND,
    ):
        return Status(StatusState(word))
    # Never read an unknown answer as "still waiting": the caller must see it.
    raise ProtocolError("Expected a STATUS_* answer.", raw=text)

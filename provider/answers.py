"""What a handler_api provider may answer, read as untrusted input.

The provider document (`provider-api-doc.txt`) says what each action answers; a provider may
still send anything. Every parser here either returns a value that fits the database columns
it ends up in, or raises `ProtocolError` naming the field (never the value, never the key).
The catalog parsers drop only the rows they cannot read: they return a `Listing` whose
`problems` name each row left out, so one bad row costs that row, not the whole answer.

Pure Python: no Django and no httpx, so the bounds below are the single statement of what
an answer may hold; `provider.client` re-exports everything public from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import Any

# --- Bounds (what the columns hold; the model each one fits is named) -----------------------

# Activation ids: the document says "id integer" and its example is 234242; sibling
# providers send digits too. Activation.provider_activation_id is CharField(64).
MAX_ACTIVATION_ID_LENGTH = 64
# Phones: digits with an optional leading "+". E.164 numbers have at most 15 digits; 20
# leaves room for a provider's odd prefix and stays well under Activation.phone's 32.
MAX_PHONE_DIGITS = 20
# STATUS_OK:<code> and STATUS_WAIT_RETRY:<code>: printable, at most this many characters.
MAX_CODE_LENGTH = 100
# Catalog columns: Country.name CharField(100), Operator.code CharField(64),
# Service.code CharField(32), Service.name CharField(200), Country.external_id IntegerField.
MAX_COUNTRY_NAME_LENGTH = 100
MAX_OPERATOR_CODE_LENGTH = 64
MAX_SERVICE_CODE_LENGTH = 32
MAX_SERVICE_NAME_LENGTH = 200
MAX_COUNTRY_ID = 2**31 - 1
# Prices and balances: DecimalField(max_digits=12, decimal_places=2), so at most 10 digits
# before the point. More than 2 decimal places are rounded half-up to cents. Prices are
# never negative (a negative price would lower the month's spend); a balance may be (some
# providers give credit).
MAX_AMOUNT_INTEGER_DIGITS = 10
CENT = Decimal("0.01")
# Offer.quantity is a PositiveIntegerField; no provider has a billion numbers in stock.
MAX_QUANTITY = 10**9
# The document's answers nest 3 deep (list, country, operators). Checked before parsing,
# so a deeply nested answer never reaches json.loads's recursion.
MAX_JSON_DEPTH = 16
# Copies of an answer that leave the client: ProtocolError.raw, Banned.until,
# Exchange.answer (the audit row), and the row names in Listing.problems.
RAW_LIMIT = 200
BAN_TEXT_LIMIT = 100
ANSWER_LIMIT = 2000
ROW_NAME_LIMIT = 40
# A catalog answer lists at most this many problems, then one line counting the rest.
MAX_LISTED_PROBLEMS = 100

# Control characters (C0 but tab, newline and carriage return; DEL; C1) and lone surrogates
# (a JSON "\ud800" escape): PostgreSQL text and jsonb refuse NUL and cannot encode surrogates.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# In a code, a name or an id, tab and newlines are not welcome either.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_AMOUNT_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
_AMOUNT_LIMIT = Decimal(10) ** MAX_AMOUNT_INTEGER_DIGITS


def storable(text: str, limit: int) -> str:
    """`text` truncated to `limit` characters with unstorable characters replaced by U+FFFD.
    Scrub the key first: truncating before scrubbing could leave half a key."""
    return _UNSTORABLE.sub("\ufffd", text[:limit])


def is_printable(text: str) -> bool:
    return _UNPRINTABLE.search(text) is None


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


def raise_for_error_word(text: str) -> None:
    """Raise the typed error when the whole answer is one of the known error words."""
    error = ERROR_WORDS.get(text)
    if error is not None:
        raise error()
    if text == "BANNED" or text.startswith("BANNED:"):
        raise Banned(text.partition(":")[2])


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

"""Property tests: the protocol client fed random and mutated answers for every action.

Whatever a provider sends (random bytes, the document's answers with NUL bytes, lengthened
fields, absurd numbers, deep nesting, wrong JSON types, any HTTP status and Retry-After), the
only outcomes are a typed result or a ProviderError, and every typed result fits the columns
it is stored in: checked with the Django model fields themselves (the client imports none).
"""

import asyncio
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.db.backends.base.operations import BaseDatabaseOperations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activations.models import Activation
from catalog import models as catalog
from catalog.models import ProviderAccount
from provider import client as c
from provider.client import (
    AsyncProviderClient,
    Country,
    Number,
    ProviderClient,
    ProviderError,
    ServiceOffer,
    SetStatusResult,
    Status,
)
from tests.provider.client_support import DOC_BALANCE, DOC_COUNTRIES, DOC_NUMBER, DOC_SERVICES
from tests.provider.test_client import (
    KEY,
    URL,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ACTIONS = {
    "get_balance": ((), DOC_BALANCE),
    "get_countries": ((), DOC_COUNTRIES),
    "get_services": ((0, "any"), DOC_SERVICES),
    "get_number": (("vk", 0, "any"), DOC_NUMBER),
    "set_status": ((234242, c.STATUS_CANCEL), "ACCESS_CANCEL"),
    "get_status": ((234242,), "STATUS_OK:CODE"),
}

# --- What the columns hold (the model fields, not the client's own constants) ---------------

INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges
CODE_LIMIT = 100  # codes go to Activation.codes (JSON): the bound for printable codes
ANSWER_LIMIT = 2000  # what the audit row keeps of an answer
BAN_TEXT_LIMIT = 100
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def field(model, name):
    return model._meta.get_field(name)


def fits_text(value, model, name) -> bool:
    """Storable in a CharField: a str within max_length that PostgreSQL can hold."""
    return (
        isinstance(value, str)
        and len(value) <= field(model, name).max_length
        and not UNSTORABLE.search(value)
    )


def fits_decimal(value, model, name, *, negative=False) -> bool:
    column = field(model, name)
    if not isinstance(value, Decimal) or not value.is_finite():
        return False
    column.clean(value, None)  # max_digits and decimal_places, as the model validates them
    return negative or value >= 0


def fits_integer(value, model, name) -> bool:
    low, high = INTEGER_RANGES[field(model, name).get_internal_type()]
    return isinstance(value, int) and low <= value <= high


def printable(text: str, limit: int) -> bool:
    return len(text) <= limit and not UNSTORABLE.search(text) and "\n" not in text


def assert_fits_the_columns(action: str, result) -> None:
    if action == "get_balance":
        assert fits_decimal(result, ProviderAccount, "balance", negative=True)
    elif action == "get_countries":
        assert isinstance(result, c.Listing)
        assert len({country.id for country in result}) == len(result)
        for country in result:
            assert isinstance(country, Country)
            assert fits_integer(country.id, catalog.Country, "external_id")
            assert fits_text(country.name, catalog.Country, "name")
            assert all(fits_text(op, catalog.Operator, "code") and op for op in country.operators)
            assert len(set(country.operators)) == len(country.operators)
    elif action == "get_services":
        assert isinstance(result, c.Listing)
        assert len({offer.id for offer in result}) == len(result)
        for offer in result:
            assert isinstance(offer, ServiceOffer)
            assert offer.id and fits_text(offer.id, catalog.Service, "code")
            assert offer.name and fits_text(offer.name, catalog.Service, "name")
            assert fits_decimal(offer.price, catalog.Offer, "price")
            assert fits_integer(offer.quantity, catalog.Offer, "quantity")
    elif action == "get_number":
        assert isinstance(result, Number)
        assert fits_text(result.phone, Activation, "phone")
        assert fits_text(result.activation_id, Activation, "provider_activation_id")
        assert re.fullmatch(r"[0-9]+", result.activation_id)
        assert re.fullmatch(r"\+?[0-9]+", result.phone)
    elif action == "set_status":
        assert isinstance(result, SetStatusResult)
    else:
        assert isinstance(result, Status)
        for code in (result.code, result.previous_code):
            assert code is None or printable(code, CODE_LIMIT)


def assert_storable_copy(text: str | None, limit: int) -> None:
    if text is not None:
        assert len(text) <= limit
        assert not UNSTORABLE.search(text)
        assert KEY not in text
        text.encode("utf-8")


def assert_a_clean_error(error: ProviderError, client) -> None:
    assert KEY not in str(error)
    assert_storable_copy(getattr(error, "raw", None), c.RAW_LIMIT)
    assert_storable_copy(getattr(error, "until", None), BAN_TEXT_LIMIT)
    if isinstance(error, c.InvalidNumber) and error.activation_id is not None:
        assert fits_text(error.activation_id, Activation, "provider_activation_id")
        assert re.fullmatch(r"[0-9]+", error.activation_id)
    if isinstance(error, c.RateLimited) and error.retry_after is not None:
        assert 0 <= error.retry_after <= c.MAX_RETRY_AFTER_SECONDS


def assert_outcome(action: str, client, call) -> None:
    """The only outcomes: a result that fits the columns, or a clean ProviderError."""
    try:
        result = call()
    except ProviderError as error:
        assert_a_clean_error(error, client)
    else:
        assert_fits_the_columns(action, result)
        for problem in getattr(result, "problems", ()):
            assert_storable_copy(problem, 200)
    assert_storable_copy(client.last_exchange.answer, ANSWER_LIMIT)


# --- Answers: random, and the document's literal answers mutated ----------------------------

HOSTILE_CHARACTERS = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\u2028"]
HOSTILE_NUMBERS = [
    "1e308",
    "-1e308",
    "NaN",
    "Infinity",
    "-Infinity",
    "-50.00",
    "1234567890123.00",
    str(10**30),
    "-5",
    "0.005",
    "9999999999.995",
    "1e-999",
    "-0",
    "1E+999999999",
]
JSON_ESCAPES = ["\\u0000", "\\ud800", "\\udfff", "\\u001b"]
NUMBER_TOKEN = re.compile(r"-?\d+(?:\.\d+)?")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(HOSTILE_NUMBERS),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def text_mutation(draw, doc: str) -> str:
    text = doc
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(0, len(text)))
        kind = draw(
            st.sampled_from(
                ["character", "lengthen", "number", "nest", "key", "cut", "escape", "colon"]
            )
        )
        if kind == "character":
            insert = draw(st.sampled_from(HOSTILE_CHARACTERS))
        elif kind == "lengthen":
            insert = draw(st.sampled_from(["7", "a", "Я", " "])) * draw(st.integers(1, 3000))
        elif kind == "number":
            tokens = list(NUMBER_TOKEN.finditer(text))
            if tokens:
                token = draw(st.sampled_from(tokens))
                number = draw(st.sampled_from(HOSTILE_NUMBERS))
                text = text[: token.start()] + number + text[token.end() :]
            continue
        elif kind == "nest":
            depth = draw(st.integers(1, 5000))
            text = "[" * depth + text + "]" * depth
            continue
        elif kind == "cut":
            text = text[:where]
            continue
        elif kind == "key":
            insert = KEY
        elif kind == "escape":
            insert = draw(st.sampled_from(JSON_ESCAPES))
        else:
            insert = ":"
        text = text[:where] + insert + text[where:]
    return text


@st.composite
def json_mutation(draw, doc: str) -> str:
    data = json.loads(doc)
    kind = draw(st.sampled_from(["field", "duplicate", "drop", "whole", "row"]))
    if kind == "whole":
        data = draw(json_values)
    elif kind == "row":
        data[draw(st.integers(0, len(data) - 1))] = draw(json_values)
    else:
        row = data[draw(st.integers(0, len(data) - 1))]
        if kind == "duplicate":
            data.append(copy.deepcopy(row))
        elif kind == "drop":
            row.pop(draw(st.sampled_from(sorted(row))))
        else:
            name = draw(st.sampled_from([*sorted(row), "extra"]))
            row[name] = draw(json_values | st.text(max_size=300))
    return json.dumps(data, ensure_ascii=draw(st.booleans()))


digits = st.one_of(st.integers(0, 100).map(lambda n: "7" * n), st.sampled_from(["٢٣٤", "+٧٩"]))
fields = st.one_of(digits, st.text(max_size=120), st.sampled_from([*HOSTILE_CHARACTERS, KEY]))
numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-(10**40), 10**40).map(str),
)
# Answers in the document's shape with random fields, so that many examples get to the checks
# of a value rather than stopping at the shape.
SHAPED = {
    "get_balance": st.builds(
        lambda prefix, n: prefix + n, st.sampled_from(["", "ACCESS_BALANCE:"]), numbers
    ),
    "get_number": st.builds(lambda i, p: f"ACCESS_NUMBER:{i}:{p}", fields, fields),
    "set_status": st.one_of(st.sampled_from(list(SetStatusResult)).map(str), fields),
    "get_status": st.builds(
        lambda word, code: word + code,
        st.sampled_from(["STATUS_OK:", "STATUS_WAIT_RETRY:", "STATUS_WAIT_CODE", "BANNED:"]),
        fields,
    ),
}


def answers(action: str, doc: str) -> st.SearchStrategy[bytes]:
    choices = [
        st.binary(max_size=300),
        st.text(max_size=300).map(str.encode),
        text_mutation(doc).map(str.encode),
    ]
    if doc.startswith("["):
        choices += [json_mutation(doc).map(str.encode)] * 2
    else:
        choices += [SHAPED[action].map(str.encode)] * 2
    return st.one_of(choices)


RETRY_AFTER = st.one_of(
    st.none(),
    st.sampled_from(
        ["100000000", "-5", "inf", "nan", "", "1" * 400, "Wed, 21 Oct 2015 07:28:00 GMT"]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
# Mostly 200 (the answer is read), and any other status now and then.
STATUS = st.one_of(
    st.just(200),
    st.just(200),
    st.just(200),
    st.sampled_from([400, 401, 404, 429, 500, 503]),
    st.integers(200, 599),
)


@dataclass(frozen=True)
class Reply:
    """One answer of the provider: HTTP status, Retry-After header, body."""

    status: int
    retry_after: str | None
    body: bytes

    def response(self) -> httpx.Response:
        headers = {} if self.retry_after is None else {"Retry-After": self.retry_after}
        return httpx.Response(self.status, content=self.body, headers=headers)


def replies(action: str) -> st.SearchStrategy[Reply]:
    return st.builds(Reply, STATUS, RETRY_AFTER, answers(action, ACTIONS[action][1]))


def answering(reply_of: Callable[[], Reply]) -> httpx.MockTransport:
    """A transport answering with whatever the current example set."""
    return httpx.MockTransport(lambda request: reply_of().response())


def property_for(action: str):
    args, doc = ACTIONS[action]
    current: list[Reply] = [Reply(200, None, doc.encode())]
    client = ProviderClient(URL, KEY, transport=answering(lambda: current[0]))

    @PROPERTY
    @given(reply=replies(action))
    def check(reply):
        current[0] = reply
        assert_outcome(action, client, lambda: getattr(client, action)(*args))

    return check


test_get_balance_answers = property_for("get_balance")
test_get_countries_answers = property_for("get_countries")
test_get_services_answers = property_for("get_services")
test_get_number_answers = property_for("get_number")
test_set_status_answers = property_for("set_status")
test_get_status_answers = property_for("get_status")


@settings(PROPERTY, max_examples=100)
@given(action=st.sampled_from(sorted(ACTIONS)), data=st.data())
def test_the_async_client_has_the_same_outcomes(action, data):
    args = ACTIONS[action][0]
    reply = data.draw(replies(action))

    async def call():
        async with AsyncProviderClient(URL, KEY, transport=answering(lambda: reply)) as client:
            try:
                return client, await getattr(client, action)(*args)
            except ProviderError as error:
                return client, error

    client, outcome = asyncio.run(call())
    assert_outcome(action, client, lambda: _raise_or_return(outcome))


def _raise_or_return(outcome):
    if isinstance(outcome, ProviderError):
        raise outcome
    return outcome

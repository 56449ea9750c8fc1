"""The protocol client against a hostile provider: each finding of issue 12 that reaches the
client, answered the way a provider that answers wrongly on purpose would. The honest rows
are the document's literal answers, so a misreading cannot hide in both the client and the
sandbox."""

import asyncio
import json
import time
import tracemalloc
from decimal import Decimal

import httpx
import pytest

from provider import client as c
from provider.client import (
    AsyncProviderClient,
    Banned,
    InvalidNumber,
    Number,
    ProtocolError,
    ProviderClient,
    ProviderUnavailable,
    RateLimited,
    ServiceOffer,
    StatusState,
)
from tests.provider.client_support import (
    DOC_BALANCE,
    DOC_COUNTRIES,
    DOC_NUMBER,
    DOC_SERVICES,
    chain_text,
    trickling_server,
)
from tests.provider.test_client import (
    KEY,
    URL,
    make,
)

DOC_OFFERS = [
    ServiceOffer(id="vk", name="Вконтакте", price=Decimal("29.88"), quantity=19),
    ServiceOffer(id="ok", name="Ok.ru", price=Decimal("1.34"), quantity=2776),
    ServiceOffer(id="wa", name="Whatsapp", price=Decimal("0"), quantity=0),
]


def services_with(*hostile_rows: str) -> str:
    """The document's getServicesAndCost answer with hostile rows appended."""
    return DOC_SERVICES[:-1] + "".join("," + row for row in hostile_rows) + "]"


def countries_with(*hostile_rows: str) -> str:
    return DOC_COUNTRIES[:-1] + "".join("," + row for row in hostile_rows) + "]"


# --- Finding 1: a NUL byte in a code stopped the poller for every team ----------------------


@pytest.mark.parametrize("answer", ["STATUS_OK:12\x0034", "STATUS_WAIT_RETRY:12\x0034"])
def test_a_code_with_a_nul_byte_is_a_protocol_error_naming_the_code(answer):
    with pytest.raises(ProtocolError) as info:
        make(answer).get_status(234242)
    assert "code" in info.value.reason
    assert "\x00" not in info.value.raw


def test_a_code_longer_than_the_bound_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        make("STATUS_OK:" + "7" * (c.MAX_CODE_LENGTH + 1)).get_status(234242)
    assert make("STATUS_OK:" + "7" * c.MAX_CODE_LENGTH).get_status(1).state == StatusState.OK


def test_copies_of_an_answer_that_leave_the_client_are_storable():
    calls = []
    client = make("STATUS_OK:12\x0034 " + KEY, on_exchange=lambda *a: calls.append(a))
    with pytest.raises(ProtocolError) as info:
        client.get_status(1)
    answer = calls[0][2]
    assert "\x00" not in answer and KEY not in answer
    assert answer == client.last_exchange.answer
    assert "\x00" not in info.value.raw and KEY not in info.value.raw


def test_a_ban_text_is_storable_scrubbed_and_truncated():
    with pytest.raises(Banned) as info:
        make("BANNED:2030\x00-01-01 " + KEY + "x" * 5000).get_number("vk", 0)
    assert "\x00" not in info.value.until
    assert KEY not in chain_text(info.value)
    assert len(info.value.until) <= 100


# --- Finding 2: a getNumber answer the columns cannot hold ----------------------------------


def test_a_40_digit_phone_is_an_invalid_number_that_can_be_cancelled():
    with pytest.raises(InvalidNumber) as info:
        make("ACCESS_NUMBER:234242:" + "7" * 40).get_number("vk", 0)
    assert info.value.activation_id == "234242"
    assert "phone" in info.value.reason


@pytest.mark.parametrize(
    "answer",
    ["ACCESS_NUMBER:" + "1" * 100 + ":79991728822", "ACCESS_NUMBER:2342\x0042:79991728822"],
    ids=["100-char id", "NUL in id"],
)
def test_an_id_that_cannot_be_sent_back_is_an_invalid_number_without_an_id(answer):
    with pytest.raises(InvalidNumber) as info:
        make(answer).get_number("vk", 0)
    assert info.value.activation_id is None
    assert "activation id" in info.value.reason
    assert "\x00" not in info.value.raw


def test_the_documents_number_and_the_longest_storable_ones_are_read():
    assert make(DOC_NUMBER).get_number("vk", 0) == Number("234242", "79991728822")
    longest = "ACCESS_NUMBER:" + "9" * 64 + ":+" + "7" * c.MAX_PHONE_DIGITS
    assert make(longest).get_number("vk", 0) == Number("9" * 64, "+" + "7" * 20)


# --- Finding 3: no overall deadline on a provider call --------------------------------------


TRICKLING_HEADER = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 5000 + b"\r\n\r\n463.02"
TRICKLING_BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"4" * 5000
DEADLINE = 2.0
ROOM = 1.5  # a busy machine's scheduling, well under the 10 s the server would go on


@pytest.mark.parametrize("answer", [TRICKLING_HEADER, TRICKLING_BODY], ids=["header", "body"])
def test_a_trickling_answer_ends_by_the_deadline(answer):
    with trickling_server(answer) as url:
        client = ProviderClient(url, KEY, timeout=DEADLINE)
        started = time.monotonic()
        with pytest.raises(ProviderUnavailable) as info:
            client.get_balance()
        elapsed = time.monotonic() - started
        client.close()
    assert "did not answer in time" in str(info.value)
    assert elapsed < DEADLINE + ROOM


@pytest.mark.parametrize("answer", [TRICKLING_HEADER, TRICKLING_BODY], ids=["header", "body"])
def test_a_trickling_answer_ends_by_the_deadline_for_the_async_client(answer):
    async def call(url: str) -> tuple[ProviderUnavailable, float]:
        async with AsyncProviderClient(url, KEY, timeout=DEADLINE) as client:
            started = time.monotonic()
            with pytest.raises(ProviderUnavailable) as info:
                await client.get_balance()
            return info.value, time.monotonic() - started

    with trickling_server(answer) as url:
        error, elapsed = asyncio.run(call(url))
    assert "did not answer in time" in str(error)
    assert elapsed < DEADLINE + ROOM


def test_a_transport_sees_the_time_left_and_its_wait_counts_against_the_deadline():
    """The request budget waits inside the transport: deadline_remaining() bounds that wait,
    and a wait that used up the deadline leaves no time to send."""
    seen = []

    class WaitingTransport(httpx.HTTPTransport):
        def handle_request(self, request):
            seen.append(c.deadline_remaining())
            time.sleep(seen[-1] + 0.05)
            return super().handle_request(request)

    with trickling_server(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n463.02") as url:
        client = ProviderClient(url, KEY, timeout=5, deadline=0.3, transport=WaitingTransport())
        with pytest.raises(ProviderUnavailable) as info:
            client.get_balance()
    assert 0 < seen[0] <= 0.3
    # Never sent: the caller may say that nothing was done.
    assert "could not be asked in time" in str(info.value)
    assert not isinstance(info.value, c.ProviderUnanswered)
    assert c.deadline_remaining() is None  # only while a call runs


def test_the_async_transport_sees_the_time_left():
    seen = []

    def handler(request):
        seen.append(c.deadline_remaining())
        return httpx.Response(200, content=DOC_BALANCE.encode())

    async def call():
        transport = httpx.MockTransport(handler)
        async with AsyncProviderClient(URL, KEY, deadline=3, transport=transport) as client:
            return await client.get_balance()

    assert asyncio.run(call()) == Decimal("463.02")
    assert 0 < seen[0] <= 3


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("100000000", c.MAX_RETRY_AFTER_SECONDS),
        ("1" * 400, c.MAX_RETRY_AFTER_SECONDS),
        ("-5", 0.0),
        ("2.5", 2.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: ask again now
        ("Fri, 31 Dec 9999 23:59:59 GMT", c.MAX_RETRY_AFTER_SECONDS),
        ("inf", None),
        ("nan", None),
        ("soon", None),
    ],
)
def test_retry_after_is_honoured_only_up_to_the_bound(header, seconds):
    with pytest.raises(RateLimited) as info:
        make("Too Many Requests", status=429, headers={"Retry-After": header}).get_status(1)
    assert info.value.retry_after == seconds


# --- Finding 4: one bad row aborted the whole catalog sync ----------------------------------


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ('{"id":"tg","name":"Telegram","price":1e308,"quantity":"5"}', "price"),
        ('{"id":"tg","name":"Telegram","price":1234567890123.00,"quantity":"5"}', "price"),
        ('{"id":"tg","name":"Telegram","price":"NaN","quantity":"5"}', "price"),
        ('{"id":"tg","name":"Telegram","price":1.5,"quantity":-5}', "quantity"),
        ('{"id":"tg","name":"Telegram","price":1.5,"quantity":' + str(10**30) + "}", "quantity"),
        ('{"id":"tg","name":"Tele\\u0000gram","price":1.5,"quantity":5}', "name"),
        ('{"id":"' + "t" * 33 + '","name":"Telegram","price":1.5,"quantity":5}', "id"),
    ],
    ids=["1e308", "13 digits", "NaN", "quantity -5", "quantity 10**30", "NUL name", "long id"],
)
def test_a_bad_service_row_costs_only_that_row(row, field):
    listing = make(services_with(row)).get_services(0)
    assert listing == DOC_OFFERS
    [problem] = listing.problems
    assert f": {field} " in problem


def test_a_100_kb_country_name_costs_only_that_country():
    hostile = json.dumps({"id": 2, "name": "x" * 100_000, "operators": ["any"]})
    listing = make(countries_with(hostile)).get_countries()
    assert [country.name for country in listing] == ["Россия", "Украина"]
    [problem] = listing.problems
    assert problem.startswith("country 2: name")
    assert len(problem) < 200


def test_a_row_listed_twice_keeps_the_first():
    listing = make(services_with('{"id":"vk","name":"Again","price":1,"quantity":1}')).get_services(
        0
    )
    assert listing == DOC_OFFERS
    assert listing.problems == ("service 'vk': listed twice in one answer (the first is kept)",)
    countries = make(countries_with('{"id":0,"name":"Again","operators":["any"]}')).get_countries()
    assert [country.name for country in countries] == ["Россия", "Украина"]
    assert countries.problems[0].startswith("country 0: listed twice")


def test_a_bad_row_does_not_hide_a_good_one_with_the_same_id():
    bad = '{"id":"tg","name":"Telegram","price":-1,"quantity":"5"}'
    good = '{"id":"tg","name":"Telegram","price":"7.5","quantity":"5"}'
    listing = make(services_with(bad, good)).get_services(0)
    assert listing[-1] == ServiceOffer("tg", "Telegram", Decimal("7.50"), 5)
    assert listing.problems == ("service 'tg': price is not an amount from 0 to 9999999999.99",)


def test_a_flood_of_bad_rows_is_counted_not_listed():
    rows = [f'{{"id":"s{i}","name":"x","price":-1,"quantity":1}}' for i in range(150)]
    listing = make(services_with(*rows)).get_services(0)
    assert listing == DOC_OFFERS
    assert len(listing.problems) == 100
    assert listing.left_out == 150


def test_a_row_name_in_a_problem_is_scrubbed_and_truncated():
    row = json.dumps({"id": KEY + "\x00" + "z" * 100, "name": "x", "price": -1, "quantity": 1})
    listing = make(services_with(row)).get_services(0)
    [problem] = listing.problems
    assert KEY not in problem and "\x00" not in problem
    assert len(problem) < 150


@pytest.mark.parametrize("call", ["get_countries", "get_services"])
def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error(call):
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ProtocolError) as info:
        getattr(make(deep), call)(*(() if call == "get_countries" else (0,)))
    assert "nests deeper" in info.value.reason


# --- Finding 5: a negative price got past the budget ----------------------------------------


def test_a_negative_price_costs_that_row():
    listing = make(
        services_with('{"id":"tg","name":"Telegram","price":-50.00,"quantity":"5"}')
    ).get_services(0)
    assert listing == DOC_OFFERS
    assert listing.problems[0].startswith("service 'tg': price")


def test_prices_with_more_than_cents_are_rounded_half_up():
    listing = make('[{"id":"tg","name":"Telegram","price":"0.125","quantity":"1"}]').get_services(0)
    assert listing[0].price == Decimal("0.13")


def test_a_balance_may_be_negative_but_not_absurd():
    assert make("-12.5").get_balance() == Decimal("-12.50")
    with pytest.raises(ProtocolError):
        make("1" * 11).get_balance()


# --- Finding 6: no cap on an answer's size --------------------------------------------------

FIFTY_MB = 50 * 1024 * 1024
CHUNK = 64 * 1024


def huge_answer(headers=None):
    """A 50 MB getBalance answer made one chunk at a time, counting what was made."""
    made = []

    def digits():
        for _ in range(FIFTY_MB // CHUNK):
            made.append(CHUNK)
            yield b"1" * CHUNK

    def handler(request):
        return httpx.Response(200, content=digits(), headers=headers)

    return ProviderClient(URL, KEY, transport=httpx.MockTransport(handler)), made


def test_a_50_mb_answer_is_refused_once_the_cap_is_passed_and_never_held():
    client, made = huge_answer()
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError) as info:
            client.get_balance()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(c.MAX_ANSWER_BYTES) in info.value.reason
    assert sum(made) <= c.MAX_ANSWER_BYTES + CHUNK
    assert peak < 3 * c.MAX_ANSWER_BYTES


def test_an_answer_announced_over_the_cap_is_refused_before_reading():
    client, made = huge_answer(headers={"Content-Length": str(FIFTY_MB)})
    with pytest.raises(ProtocolError) as info:
        client.get_balance()
    assert str(FIFTY_MB) in info.value.reason
    assert made == []


def test_the_cap_can_be_set_per_client():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=DOC_SERVICES))
    with pytest.raises(ProtocolError):
        ProviderClient(URL, KEY, transport=transport, max_answer_bytes=100).get_services(0)
    assert ProviderClient(URL, KEY, transport=transport).get_services(0) == DOC_OFFERS

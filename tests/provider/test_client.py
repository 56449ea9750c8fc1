"""The protocol client against the document's literal answers (httpx.MockTransport, no network)."""

import asyncio
import logging
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from provider import client as c
from provider.client import (
    STATUS_CANCEL,
    STATUS_COMPLETE,
    STATUS_RETRY,
    AsyncProviderClient,
    BadAction,
    BadKey,
    BadLang,
    BadService,
    BadStatus,
    Banned,
    Country,
    EarlyCancelDenied,
    NoActivation,
    NoBalance,
    NoNumbers,
    Number,
    ProtocolError,
    ProviderClient,
    ProviderError,
    ProviderSqlError,
    ProviderUnavailable,
    RateLimited,
    ServiceOffer,
    SetStatusResult,
    Status,
    StatusState,
    WrongActivationId,
)
from tests.provider.client_support import (
    DOC_BALANCE,
    DOC_COUNTRIES,
    DOC_NUMBER,
    DOC_SERVICES,
    chain_text,
)

URL = "https://sms-service-online.com/stubs/handler_api"
KEY = "k3y-SECRET-4242"


def answering(body, status=200, seen=None, headers=None):
    """A client whose every request gets `body` back; requests are appended to `seen`."""

    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        content = body.encode() if isinstance(body, str) else body
        return httpx.Response(status, content=content, headers=headers)

    return handler


def make(body, status=200, seen=None, headers=None, **options) -> ProviderClient:
    transport = httpx.MockTransport(answering(body, status, seen, headers))
    return ProviderClient(URL, KEY, transport=transport, **options)


def make_async(body, status=200, seen=None, **options) -> AsyncProviderClient:
    transport = httpx.MockTransport(answering(body, status, seen))
    return AsyncProviderClient(URL, KEY, transport=transport, **options)


def test_it_reads_the_documents_balance():
    assert make(DOC_BALANCE).get_balance() == Decimal("463.02")


def test_it_reads_the_documents_countries():
    countries = make(DOC_COUNTRIES).get_countries()
    assert countries == [
        Country(id=0, name="Россия", operators=["any", "tele2", "tinkoff", "ttk", "yota"]),
        Country(
            id=1,
            name="Украина",
            operators=["any", "kyivstar", "life", "lycamobile", "mts", "utel", "vodafone"],
        ),
    ]


def test_it_reads_operators_sent_as_a_list_and_ids_sent_as_strings():
    countries = make('[{"id":"5","name":"Myanmar","operators":["any","telenor"]}]').get_countries()
    assert countries == [Country(id=5, name="Myanmar", operators=["any", "telenor"])]


def test_it_reads_the_documents_services_with_exact_prices():
    offers = make(DOC_SERVICES).get_services(0, "any")
    assert offers == [
        ServiceOffer(id="vk", name="Вконтакте", price=Decimal("29.88"), quantity=19),
        ServiceOffer(id="ok", name="Ok.ru", price=Decimal("1.34"), quantity=2776),
        ServiceOffer(id="wa", name="Whatsapp", price=Decimal("0"), quantity=0),
    ]
    assert str(offers[0].price) == "29.88"


def test_it_reads_prices_sent_as_strings_and_quantities_as_numbers():
    offers = make('[{"id":"tg","name":"Telegram","price":"12.5","quantity":7}]').get_services(1)
    assert offers == [ServiceOffer(id="tg", name="Telegram", price=Decimal("12.5"), quantity=7)]


def test_it_uses_the_id_for_a_service_without_a_name():
    offers = make('[{"id":"wa","name":"","price":1,"quantity":"1"}]').get_services(0)
    assert offers[0].name == "wa"


def test_it_reads_the_documents_number():
    assert make(DOC_NUMBER).get_number("vk", 0, "any") == Number(
        activation_id="234242", phone="79991728822"
    )


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        ("ACCESS_CANCEL", SetStatusResult.CANCEL),
        ("ACCESS_RETRY_GET", SetStatusResult.RETRY_GET),
        ("ACCESS_ACTIVATION", SetStatusResult.ACTIVATION),
    ],
)
def test_it_reads_the_documents_set_status_answers(answer, result):
    assert make(answer).set_status(234242, STATUS_CANCEL) == result
    assert result == answer


def test_it_names_the_documents_status_numbers():
    assert (STATUS_RETRY, STATUS_COMPLETE, STATUS_CANCEL) == (3, 6, 8)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("STATUS_WAIT_CODE", Status(StatusState.WAIT_CODE)),
        ("STATUS_CANCEL", Status(StatusState.CANCEL)),
        ("STATUS_OK:CODE", Status(StatusState.OK, code="CODE")),
        ("STATUS_OK:04512", Status(StatusState.OK, code="04512")),
        (
            "STATUS_OK:Your code: 123-456. Do not share: ever",
            Status(StatusState.OK, code="Your code: 123-456. Do not share: ever"),
        ),
        ("STATUS_WAIT_RETRY:0042", Status(StatusState.WAIT_RETRY, previous_code="0042")),
        ("STATUS_WAIT_RESEND", Status(StatusState.WAIT_RESEND)),
    ],
)
def test_it_reads_status_answers(answer, status):
    assert make(answer).get_status("234242") == status


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("BAD_ACTION", BadAction),
        ("BAD_KEY", BadKey),
        ("BAD_LANG", BadLang),
        ("NO_ACTIVATION", NoActivation),
        ("ERROR_SQL", ProviderSqlError),
        ("NO_BALANCE", NoBalance),
        ("NO_NUMBERS", NoNumbers),
        ("EARLY_CANCEL_DENIED", EarlyCancelDenied),
        ("BAD_STATUS", BadStatus),
        ("BAD_SERVICE", BadService),
        ("WRONG_ACTIVATION_ID", WrongActivationId),
    ],
)
def test_it_raises_a_typed_error_for_every_error_word(answer, error):
    for call in (
        lambda cl: cl.get_balance(),
        lambda cl: cl.get_countries(),
        lambda cl: cl.get_services(0, "any"),
        lambda cl: cl.get_number("vk", 0, "any"),
        lambda cl: cl.set_status(1, STATUS_CANCEL),
        lambda cl: cl.get_status(1),
    ):
        with pytest.raises(error) as info:
            call(make(answer))
        assert isinstance(info.value, ProviderError)
        assert info.value.answer == answer
        assert answer in str(info.value)


def test_it_reads_a_ban_with_its_end():
    with pytest.raises(Banned) as info:
        make("BANNED:2026-12-01 10:00:00").get_number("vk", 0)
    assert info.value.until == "2026-12-01 10:00:00"


@pytest.mark.parametrize(
    "body",
    [
        "\ufeff463.02",
        "  463.02\r\n",
        "ACCESS_BALANCE:463.02",
        "\ufeffACCESS_BALANCE:463.02\n",
    ],
)
def test_it_parses_balances_liberally(body):
    assert make(body).get_balance() == Decimal("463.02")


def test_it_strips_a_bom_and_whitespace_from_any_answer():
    assert make("\ufeff ACCESS_NUMBER:7:4915112345678 \n").get_number("vk", 43) == Number(
        "7", "4915112345678"
    )
    assert make(b"\xef\xbb\xbfSTATUS_OK:0099\r\n").get_status(7) == Status(
        StatusState.OK, code="0099"
    )
    with pytest.raises(NoNumbers):
        make("\ufeffNO_NUMBERS\n").get_number("vk", 0)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("get_balance", "lots"),
        ("get_balance", "NaN"),
        ("get_balance", ""),
        ("get_countries", "<html>oops</html>"),
        ("get_countries", '{"id":0,"name":"Russia","operators":[]}'),
        ("get_services", '{"vk":{"cost":1,"count":2}}'),
        ("get_number", "ACCESS_NUMBER:234242"),
        ("get_number", "ACCESS_NUMBER::79991728822"),
        ("get_number", "NUMBER:234242:79991728822"),
        ("set_status", "ACCESS_SOMETHING_NEW"),
        ("get_status", "STATUS_WAIT"),
        ("get_status", "STATUS_OK:"),
        ("get_status", "STATUS_WAIT_CODE:extra"),
        ("get_status", "status_ok:1234"),
        ("get_status", "<html><body>Bad Gateway</body></html>"),
    ],
)
def test_it_raises_protocol_error_for_answers_it_does_not_understand(call, body):
    args = {
        "get_balance": (),
        "get_countries": (),
        "get_services": (0, "any"),
        "get_number": ("vk", 0, "any"),
        "set_status": (1, STATUS_COMPLETE),
        "get_status": (1,),
    }[call]
    with pytest.raises(ProtocolError) as info:
        getattr(make(body), call)(*args)
    assert info.value.raw == body.strip()


@pytest.mark.parametrize(
    ("call", "body", "problem"),
    [
        ("get_countries", '[{"id":"zero","name":"Russia","operators":[]}]', "country 'zero': id"),
        ("get_countries", '[{"id":0,"operators":[]}]', "country 0: name"),
        ("get_countries", "[1]", "country #1: not a JSON object"),
        (
            "get_services",
            '[{"id":"vk","name":"VK","price":"cheap","quantity":"1"}]',
            "service 'vk': price",
        ),
        (
            "get_services",
            '[{"id":"vk","name":"VK","price":1,"quantity":"many"}]',
            "service 'vk': quantity",
        ),
    ],
)
def test_a_catalog_row_it_does_not_understand_is_left_out_and_named(call, body, problem):
    listing = getattr(make(body), call)(*(() if call == "get_countries" else (0, "any")))
    assert listing == []
    assert len(listing.problems) == 1
    assert listing.problems[0].startswith(problem)


def test_an_unknown_status_answer_is_never_read_as_waiting():
    with pytest.raises(ProtocolError):
        make("STATUS_SOMETHING").get_status(1)


def test_protocol_errors_keep_a_truncated_answer():
    with pytest.raises(ProtocolError) as info:
        make("x" * 5000).get_balance()
    assert info.value.raw == "x" * c.RAW_LIMIT


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_is_unavailable(status):
    with pytest.raises(ProviderUnavailable) as info:
        make("ERROR", status=status).get_status(1)
    assert info.value.http_status == status
    assert info.value.retryable


def test_http_429_is_rate_limited_with_retry_after():
    with pytest.raises(RateLimited) as info:
        make("Too Many Requests", status=429, headers={"Retry-After": "2"}).get_status(1)
    assert isinstance(info.value, ProviderUnavailable)
    assert info.value.retry_after == 2.0


def test_an_error_word_with_a_4xx_is_still_typed():
    with pytest.raises(BadKey):
        make("BAD_KEY", status=401).get_balance()


def test_an_unexpected_http_status_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        make("Not Found", status=404).get_balance()


def test_timeouts_and_refused_connections_are_unavailable_without_a_chain():
    def timing_out(request):
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    def refusing(request):
        raise httpx.ConnectError(f"refused {request.url}", request=request)

    for handler in (timing_out, refusing):
        client = ProviderClient(URL, KEY, transport=httpx.MockTransport(handler))
        with pytest.raises(ProviderUnavailable) as info:
            client.get_status(1)
        assert info.value.__cause__ is None
        assert info.value.__context__ is None
        assert KEY not in chain_text(info.value)


def test_it_sends_key_action_and_lang_on_every_get_request():
    seen = []
    client = make(DOC_NUMBER, seen=seen, lang="ru")
    client.get_number("vk", 0, "any")
    query = parse_qs(seen[0].url.query.decode())
    assert seen[0].method == "GET"
    assert query == {
        "api_key": [KEY],
        "action": ["getNumber"],
        "service": ["vk"],
        "operator": ["any"],
        "country": ["0"],
        "lang": ["ru"],
    }


def test_post_sends_parameters_as_a_form_body():
    seen = []
    client = make("STATUS_WAIT_CODE", seen=seen, method="POST")
    client.get_status(42)
    request = seen[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "api_key": [KEY],
        "action": ["getStatus"],
        "id": ["42"],
        "lang": ["en"],
    }
    assert KEY not in str(request.url)


def test_it_sets_explicit_connect_and_read_timeouts():
    client = ProviderClient(URL, KEY, timeout=7.0, connect_timeout=2.0)
    assert client._http.timeout.connect == 2.0
    assert client._http.timeout.read == 7.0
    assert ProviderClient(URL, KEY, timeout=3.0)._http.timeout.connect == 3.0


def test_it_refuses_unknown_languages_and_methods():
    with pytest.raises(ValueError):
        ProviderClient(URL, KEY, lang="de")
    with pytest.raises(ValueError):
        ProviderClient(URL, KEY, method="PUT")


def test_the_key_is_not_in_repr():
    client = ProviderClient(URL, KEY)
    assert KEY not in repr(client)
    assert KEY not in str(client)


def log_everything(caplog):
    # The project's settings quiet httpx and httpcore; open them up to see what they would say.
    for name in (None, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)


def test_the_key_is_not_in_any_error_or_log(caplog):
    log_everything(caplog)
    echoing = f"unexpected answer for api_key={KEY}"
    for body, status in [
        (echoing, 200),
        (echoing, 404),
        (echoing, 500),
        ("BAD_KEY", 200),
        ("Too many", 429),
    ]:
        for method in ("GET", "POST"):
            with pytest.raises(ProviderError) as info:
                make(body, status=status, method=method).get_balance()
            assert KEY not in chain_text(info.value)
            if isinstance(info.value, ProtocolError):
                assert KEY not in info.value.raw
    make(DOC_BALANCE).get_balance()
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in caplog.text


def test_httpx_request_logs_have_the_key_redacted(caplog):
    log_everything(caplog)
    make(DOC_BALANCE).get_balance()
    httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert httpx_lines
    assert all("api_key=***" in line for line in httpx_lines)
    assert KEY not in caplog.text


def test_a_key_that_is_also_data_does_not_change_the_answer():
    transport = httpx.MockTransport(answering(DOC_SERVICES))
    offers = ProviderClient(URL, "vk", transport=transport).get_services(0)
    assert [offer.id for offer in offers] == ["vk", "ok", "wa"]


def test_a_key_straddling_the_truncation_is_still_removed():
    with pytest.raises(ProtocolError) as info:
        make("x" * (c.RAW_LIMIT - 5) + KEY).get_balance()
    assert KEY[:5] not in info.value.raw


def test_the_last_exchange_is_recorded_without_the_key():
    client = make(DOC_NUMBER)
    client.get_number("vk", 0, "any")
    exchange = client.last_exchange
    assert exchange.action == "getNumber"
    assert exchange.params == {"service": "vk", "operator": "any", "country": "0", "lang": "en"}
    assert exchange.answer == DOC_NUMBER
    assert exchange.http_status == 200
    assert exchange.latency_ms >= 0
    assert exchange.error is None


def test_on_exchange_receives_every_exchange_without_the_key():
    calls = []
    client = make("NO_NUMBERS", on_exchange=lambda *args: calls.append(args))
    with pytest.raises(NoNumbers):
        client.get_number("vk", 0, "any")
    action, params, answer, http_status, latency_ms, error = calls[0]
    assert (action, answer, http_status) == ("getNumber", "NO_NUMBERS", 200)
    assert "api_key" not in params
    assert isinstance(latency_ms, int)
    assert isinstance(error, NoNumbers)
    assert KEY not in repr(calls)


def test_on_exchange_hears_about_failures_without_an_answer():
    calls = []

    def refusing(request):
        raise httpx.ConnectError("refused", request=request)

    client = ProviderClient(
        URL, KEY, transport=httpx.MockTransport(refusing), on_exchange=lambda *a: calls.append(a)
    )
    with pytest.raises(ProviderUnavailable):
        client.get_balance()
    assert calls[0][2] is None and calls[0][3] is None
    assert isinstance(calls[0][5], ProviderUnavailable)


def test_a_failing_on_exchange_does_not_lose_the_answer(caplog):
    def broken(*args):
        raise RuntimeError("audit is down")

    assert make(DOC_NUMBER, on_exchange=broken).get_number("vk", 0).activation_id == "234242"


def test_the_async_client_reads_the_same_answers():
    async def scenario():
        async with make_async(DOC_BALANCE) as client:
            assert await client.get_balance() == Decimal("463.02")
        async with make_async(DOC_COUNTRIES) as client:
            assert (await client.get_countries())[0].operators[:2] == ["any", "tele2"]
        async with make_async(DOC_SERVICES) as client:
            assert (await client.get_services(0, "any"))[2].quantity == 0
        async with make_async(DOC_NUMBER) as client:
            assert await client.get_number("vk", 0, "any") == Number("234242", "79991728822")
        async with make_async("ACCESS_ACTIVATION") as client:
            assert await client.set_status(1, STATUS_COMPLETE) == SetStatusResult.ACTIVATION
        async with make_async("STATUS_OK:CODE") as client:
            assert await client.get_status(1) == Status(StatusState.OK, code="CODE")
        async with make_async("STATUS_TELEPORTED") as client:
            with pytest.raises(ProtocolError):
                await client.get_status(1)
        async with make_async("NO_ACTIVATION") as client:
            with pytest.raises(NoActivation):
                await client.get_status(1)

    asyncio.run(scenario())


def test_the_async_client_awaits_an_async_on_exchange_and_posts():
    calls, seen = [], []

    async def record(*args):
        calls.append(args)

    async def scenario():
        async with make_async(
            "STATUS_WAIT_CODE", seen=seen, method="POST", on_exchange=record
        ) as client:
            await client.get_status(5)
            assert client.last_exchange.action == "getStatus"

    asyncio.run(scenario())
    assert calls[0][0] == "getStatus"
    assert seen[0].method == "POST"
    assert KEY not in str(seen[0].url)


def test_the_async_client_reports_timeouts_without_the_key():
    def timing_out(request):
        raise httpx.ConnectTimeout(f"timed out {request.url}", request=request)

    async def scenario():
        transport = httpx.MockTransport(timing_out)
        async with AsyncProviderClient(URL, KEY, transport=transport) as client:
            with pytest.raises(ProviderUnavailable) as info:
                await client.get_balance()
            return info.value

    error = asyncio.run(scenario())
    assert error.__context__ is None and error.__cause__ is None
    assert KEY not in chain_text(error)

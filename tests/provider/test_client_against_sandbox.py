"""The protocol client against the sandbox provider over real HTTP on loopback: every action,
every error answer, every fault kind, sync and async, GET and POST; and the key never leaks."""

import asyncio
import json
import logging
import re
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

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
    EarlyCancelDenied,
    NoActivation,
    NoBalance,
    NoNumbers,
    ProtocolError,
    ProviderClient,
    ProviderError,
    ProviderSqlError,
    ProviderUnavailable,
    RateLimited,
    SetStatusResult,
    Status,
    StatusState,
    parse_balance,
)
from provider.sandbox.annexes import COUNTRIES, SERVICES
from tests.provider.client_support import chain_text

METHODS = ["GET", "POST"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def logs(caplog):
    # The project's settings quiet httpx and httpcore; hear everything they would say.
    for name in (None, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture(autouse=True)
def key_stays_secret(request, sandbox_server, logs):
    """After every test here: the key is in no captured log line."""
    yield
    records = logs.get_records("call")
    assert records, "the client logs every exchange at DEBUG"
    for record in records:
        assert sandbox_server.api_key not in record.getMessage()
        assert sandbox_server.api_key not in logs.handler.format(record)


def expect(error_type, call, key):
    """Run `call`, expect `error_type`, and check that the key is nowhere in the error."""
    with pytest.raises(error_type) as info:
        call()
    assert isinstance(info.value, ProviderError)
    assert key not in chain_text(info.value)
    assert info.value.__cause__ is None
    return info.value


@pytest.mark.parametrize("method", METHODS)
def test_every_action_with_the_sync_client(sandbox_server, method):
    sandbox = sandbox_server.sandbox
    sandbox.code_delay = 30  # codes are delivered by hand below: no race with a slow machine
    with sandbox_server.client(method=method) as client:
        assert client.get_balance() == Decimal("1000.00")

        countries = client.get_countries()
        assert [(c.id, c.name, c.operators) for c in countries] == [
            (c.id, c.name, list(c.operators)) for c in COUNTRIES
        ]

        offers = client.get_services(0, "any")
        assert [o.id for o in offers] == [s.id for s in SERVICES]
        tg = next(o for o in offers if o.id == "tg")
        offer = sandbox.offer("tg", 0, "any")
        assert (tg.price, tg.quantity) == (offer.price, offer.quantity)

        number = client.get_number("tg", 0, "any")
        assert number.phone.startswith("79")
        assert client.get_balance() == Decimal("1000.00") - tg.price
        assert client.get_status(number.activation_id) == Status(StatusState.WAIT_CODE)
        first = sandbox.deliver_code(number.activation_id)
        assert client.get_status(number.activation_id) == Status(StatusState.OK, code=first)

        assert client.set_status(number.activation_id, STATUS_RETRY) == SetStatusResult.RETRY_GET
        assert client.get_status(number.activation_id) == Status(StatusState.WAIT_CODE)
        sandbox.wait_retry_answers = True
        assert client.get_status(number.activation_id) == Status(
            StatusState.WAIT_RETRY, previous_code=first
        )
        second = sandbox.deliver_code(number.activation_id)
        assert second != first
        assert client.get_status(number.activation_id).code == second
        result = client.set_status(number.activation_id, STATUS_COMPLETE)
        assert result == SetStatusResult.ACTIVATION

        other = client.get_number("tg", 0, "any")
        assert client.set_status(other.activation_id, STATUS_CANCEL) == SetStatusResult.CANCEL
        assert client.get_status(other.activation_id) == Status(StatusState.CANCEL)
        assert client.get_balance() == Decimal("1000.00") - tg.price


@pytest.mark.parametrize("method", METHODS)
def test_every_action_with_the_async_client(sandbox_server, method):
    sandbox = sandbox_server.sandbox
    sandbox.code_delay = 30

    async def scenario():
        async with sandbox_server.async_client(method=method) as client:
            assert await client.get_balance() == Decimal("1000.00")
            assert len(await client.get_countries()) == len(COUNTRIES)
            offers = await client.get_services(2, "beeline")
            assert len(offers) == len(SERVICES)
            in_stock = next(o for o in offers if o.quantity > 0)
            number = await client.get_number(in_stock.id, 2, "beeline")
            assert number.phone.startswith("77")
            # Concurrent polls over one pooled client.
            statuses = await asyncio.gather(
                *[client.get_status(number.activation_id) for _ in range(10)]
            )
            assert {s.state for s in statuses} == {StatusState.WAIT_CODE}
            code = sandbox.deliver_code(number.activation_id)
            assert await client.get_status(number.activation_id) == Status(StatusState.OK, code)
            assert await client.set_status(number.activation_id, STATUS_RETRY) == (
                SetStatusResult.RETRY_GET
            )
            sandbox.deliver_code(number.activation_id)
            assert await client.set_status(number.activation_id, STATUS_COMPLETE) == (
                SetStatusResult.ACTIVATION
            )
            other = await client.get_number(in_stock.id, 2, "beeline")
            assert await client.set_status(other.activation_id, STATUS_CANCEL) == (
                SetStatusResult.CANCEL
            )
            assert await client.get_balance() == Decimal("1000.00") - in_stock.price

    asyncio.run(scenario())


@pytest.mark.parametrize("method", METHODS)
def test_every_error_answer_with_the_sync_client(sandbox_server, method):
    sandbox, key = sandbox_server.sandbox, sandbox_server.api_key
    with sandbox_server.client(method=method) as client:
        wrong = ProviderClient(sandbox_server.url, key + "-wrong", method=method, timeout=1)
        expect(BadKey, wrong.get_balance, key)
        wrong.close()

        client.lang = "de"  # the constructor refuses it; the provider must too
        expect(BadLang, client.get_balance, key)
        client.lang = "en"

        expect(BadAction, lambda: client._call("getEverything", parse_balance), key)
        expect(NoActivation, lambda: client.get_status(1), key)
        expect(NoActivation, lambda: client.set_status(1, STATUS_CANCEL), key)
        expect(BadService, lambda: client.get_number("zz9", 0, "any"), key)
        sandbox.set_offer("tg", 0, "any", quantity=0)
        expect(NoNumbers, lambda: client.get_number("tg", 0, "any"), key)

        number = client.get_number("vk", 0, "any")
        expect(BadStatus, lambda: client.set_status(number.activation_id, STATUS_COMPLETE), key)
        sandbox.min_cancel_age = 60
        expect(
            EarlyCancelDenied, lambda: client.set_status(number.activation_id, STATUS_CANCEL), key
        )
        sandbox.deliver_code(number.activation_id)
        sandbox.min_cancel_age = 0
        expect(BadStatus, lambda: client.set_status(number.activation_id, STATUS_CANCEL), key)

        sandbox.add_account(key, Decimal("0.01"))
        expect(NoBalance, lambda: client.get_number("vk", 0, "any"), key)

        sandbox.set_fault("error_sql")
        expect(ProviderSqlError, client.get_balance, key)


@pytest.mark.parametrize("method", METHODS)
def test_every_error_answer_with_the_async_client(sandbox_server, method):
    sandbox, key = sandbox_server.sandbox, sandbox_server.api_key

    async def raises(error_type, awaitable):
        with pytest.raises(error_type) as info:
            await awaitable
        assert key not in chain_text(info.value)

    async def scenario():
        async with AsyncProviderClient(
            sandbox_server.url, "not-" + key, method=method, timeout=1
        ) as wrong:
            await raises(BadKey, wrong.get_balance())
        async with sandbox_server.async_client(method=method) as client:
            client.lang = "xx"
            await raises(BadLang, client.get_balance())
            client.lang = "ru"
            await raises(BadAction, client._call("nope", parse_balance))
            await raises(NoActivation, client.get_status("999"))
            await raises(BadService, client.get_number("zz9", 0))
            await raises(NoNumbers, client.get_number("tg", 0, "no-such-operator"))
            number = await client.get_number("vk", 0)
            sandbox.min_cancel_age = 60
            await raises(EarlyCancelDenied, client.set_status(number.activation_id, 8))
            await raises(BadStatus, client.set_status(number.activation_id, 6))
            sandbox.add_account(key, 0)
            await raises(NoBalance, client.get_number("vk", 0))
            sandbox.set_fault("error_sql")
            await raises(ProviderSqlError, client.get_balance())

    asyncio.run(scenario())


@pytest.mark.parametrize("method", METHODS)
def test_every_fault_kind_with_the_sync_client(sandbox_server, method):
    sandbox, key = sandbox_server.sandbox, sandbox_server.api_key
    with sandbox_server.client(method=method, timeout=1.0) as client:
        sandbox.set_fault("latency", seconds=0.1)
        started = time.perf_counter()
        assert client.get_balance() == Decimal("1000.00")
        assert time.perf_counter() - started >= 0.1
        assert client.last_exchange.latency_ms >= 100

        sandbox.clear_faults()
        sandbox.set_fault("latency", seconds=1.3)
        expect(ProviderUnavailable, client.get_balance, key)  # slower than the read timeout

        sandbox.clear_faults()
        sandbox.set_fault("timeout")
        error = expect(ProviderUnavailable, lambda: client.get_number("tg", 0), key)
        assert "in time" in str(error)
        assert client.last_exchange.http_status is None

        sandbox.clear_faults()
        sandbox.set_fault("timeout", seconds=0.05)  # held, then a gateway's 504
        assert expect(ProviderUnavailable, client.get_balance, key).http_status == 504

        sandbox.clear_faults()
        sandbox.set_fault("http_500")
        assert expect(ProviderUnavailable, client.get_balance, key).http_status == 500

        sandbox.clear_faults()
        sandbox.set_fault("garbage")
        for call in (client.get_balance, client.get_countries, lambda: client.get_status(1)):
            expect(ProtocolError, call, key)

        sandbox.clear_faults()
        sandbox.set_fault("error_sql", api_key=key)
        expect(ProviderSqlError, client.get_balance, key)

        sandbox.clear_faults()
        sandbox.rate_limit = 1
        client.get_balance()
        assert expect(RateLimited, client.get_balance, key).retry_after == 1.0

        sandbox.rate_limit = None
        assert client.get_balance() == Decimal("1000.00")


@pytest.mark.parametrize("method", METHODS)
def test_every_fault_kind_with_the_async_client(sandbox_server, method):
    sandbox, key = sandbox_server.sandbox, sandbox_server.api_key

    async def raises(error_type, awaitable):
        with pytest.raises(error_type) as info:
            await awaitable
        assert key not in chain_text(info.value)
        return info.value

    async def scenario():
        async with sandbox_server.async_client(method=method, timeout=1.0) as client:
            sandbox.set_fault("latency", seconds=0.1)
            assert await client.get_balance() == Decimal("1000.00")
            sandbox.clear_faults()
            sandbox.set_fault("timeout")
            await raises(ProviderUnavailable, client.get_status(1))
            sandbox.clear_faults()
            sandbox.set_fault("http_500")
            assert (await raises(ProviderUnavailable, client.get_balance())).http_status == 500
            sandbox.clear_faults()
            sandbox.set_fault("garbage")
            await raises(ProtocolError, client.get_services(0, "any"))
            sandbox.clear_faults()
            sandbox.set_fault("error_sql")
            await raises(ProviderSqlError, client.get_status(1))
            sandbox.clear_faults()
            sandbox.rate_limit = 2
            results = await asyncio.gather(
                *[client.get_balance() for _ in range(6)], return_exceptions=True
            )
            assert any(isinstance(r, RateLimited) for r in results)
            assert any(r == Decimal("1000.00") for r in results)

    asyncio.run(scenario())


def test_a_refused_connection_is_unavailable(sandbox_server):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/stubs/handler_api"
    with ProviderClient(url, sandbox_server.api_key, timeout=0.5) as client:
        error = expect(ProviderUnavailable, client.get_balance, sandbox_server.api_key)
    assert "ConnectError" in str(error)
    assert repr(client).count(sandbox_server.api_key) == 0


def test_the_sandbox_answers_with_the_documents_literal_shapes(sandbox_server):
    """Raw HTTP, no client: the answers look exactly like the document's examples."""
    sandbox = sandbox_server.sandbox
    base = {"api_key": sandbox_server.api_key, "lang": "en"}

    http = httpx.Client(timeout=2)

    def ask(method="GET", **params):
        if method == "GET":
            return http.get(sandbox_server.url, params={**base, **params}).text
        return http.post(sandbox_server.url, data={**base, **params}).text

    for method in METHODS:
        assert re.fullmatch(r"\d+\.\d\d", ask(method, action="getBalance"))
        countries = json.loads(ask(method, action="getCountryAndOperators"))
        for country in countries:
            assert set(country) == {"id", "name", "operators"}
            assert isinstance(country["id"], int)
            assert country["operators"] == {op: op for op in country["operators"]}
        services = json.loads(ask(method, action="getServicesAndCost", country=0, operator="any"))
        for service in services:
            assert list(service) == ["id", "name", "price", "quantity"]
            assert isinstance(service["price"], int | float)
            assert isinstance(service["quantity"], str)
        number = ask(method, action="getNumber", service="tg", country=0, operator="any")
        assert re.fullmatch(r"ACCESS_NUMBER:\d+:\d+", number)
        activation_id = number.split(":")[1]
        assert ask(method, action="getStatus", id=activation_id) == "STATUS_WAIT_CODE"
        code = sandbox.deliver_code(activation_id)
        assert ask(method, action="getStatus", id=activation_id) == f"STATUS_OK:{code}"
        assert ask(method, action="setStatus", id=activation_id, status=3) == "ACCESS_RETRY_GET"
        sandbox.deliver_code(activation_id)
        assert ask(method, action="setStatus", id=activation_id, status=6) == "ACCESS_ACTIVATION"
        number = ask(method, action="getNumber", service="tg", country=0, operator="any")
        activation_id = number.split(":")[1]
        assert ask(method, action="setStatus", id=activation_id, status=8) == "ACCESS_CANCEL"
        assert ask(method, action="getStatus", id=activation_id) == "STATUS_CANCEL"
    # The document's example of an empty offer: price 0, quantity "0".
    sandbox.set_offer("wa", 0, "tele2", price=0, quantity=0)
    services = json.loads(ask(action="getServicesAndCost", country=0, operator="tele2"))
    assert {"id": "wa", "name": "wa", "price": 0, "quantity": "0"} in services
    http.close()


@pytest.mark.parametrize("method", METHODS)
def test_a_code_arrives_by_itself_after_the_delay(sandbox_server, method):
    sandbox = sandbox_server.sandbox  # codes after 0.2 s in tests
    with sandbox_server.client(method=method) as client:
        number = client.get_number("tg", 0, "any")
        deadline = time.monotonic() + 5
        while (status := client.get_status(number.activation_id)).state != StatusState.OK:
            assert status.state == StatusState.WAIT_CODE
            assert time.monotonic() < deadline
            time.sleep(0.05)
    activation = sandbox.activation(number.activation_id)
    assert status.code == activation.code
    assert activation.first_code_available_at == pytest.approx(activation.created_at + 0.2)


def test_the_key_is_in_no_log_even_for_failures(sandbox_server, logs):
    key = sandbox_server.api_key
    sandbox_server.sandbox.set_fault("garbage")
    for method in METHODS:
        with sandbox_server.client(method=method) as client:
            expect(ProtocolError, client.get_balance, key)
    sandbox_server.sandbox.clear_faults()
    with sandbox_server.client() as client:
        client.get_balance()
    assert any("api_key=***" in r.getMessage() for r in logs.records if r.name == "httpx")
    assert key not in logs.text


def test_the_sandbox_provider_command_serves_until_stopped(sandbox_server, tmp_path):
    key = "demo-command-key"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "sandbox_provider",
            "--port",
            "0",
            "--api-key",
            key,
            "--code-delay",
            "0.3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/stubs/handler_api", url), url
        assert key not in process.stdout.readline()
        with ProviderClient(url, key, timeout=2) as client:
            assert client.get_balance() == Decimal("1000.00")
            number = client.get_number("tg", 0, "any")
            price = Decimal("1000.00") - client.get_balance()
            assert client.get_status(number.activation_id).state == StatusState.WAIT_CODE
            time.sleep(0.35)
            status = client.get_status(number.activation_id)
            assert status.state == StatusState.OK and status.code
            refunded = client.get_number("tg", 0, "any")
            assert client.get_balance() == Decimal("1000.00") - 2 * price
            assert client.set_status(refunded.activation_id, STATUS_CANCEL) == (
                SetStatusResult.CANCEL
            )
            assert client.get_balance() == Decimal("1000.00") - price
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert key not in errors

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from catalog import ratelimit
from catalog.upstream import provider_client
from dashboard.models import AuditEvent
from provider import client as protocol
from tests.fixtures.activations import TEST_API_KEY

ANSWERS = {"getBalance": "150.25", "getNumber": "NO_NUMBERS", "getStatus": "STATUS_WAIT_CODE"}


class Handler(BaseHTTPRequestHandler):
    """A provider answering GET and POST; `methods` records how each request came and
    `urls` what its URL held."""

    methods: list[str] = []
    urls: list[str] = []

    def do_GET(self):
        self.answer(parse_qs(urlparse(self.path).query))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        self.answer(parse_qs(body))

    def answer(self, query):
        Handler.methods.append(self.command)
        Handler.urls.append(self.path)
        answer = ANSWERS.get(query["action"][0], "BAD_ACTION")
        if query.get("api_key") != [TEST_API_KEY]:
            answer = "BAD_KEY"
        status = 503 if answer == "503" else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def tiny_provider(alice_account):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = alice_account.provider
    provider.handler_url = f"http://127.0.0.1:{server.server_port}/stubs/handler_api"
    provider.save()
    yield alice_account
    server.shutdown()
    server.server_close()


def test_a_balance_call_is_audited_without_the_key(tiny_provider, alice):
    with provider_client(tiny_provider, user=alice) as client:
        assert str(client.get_balance()) == "150.25"
    event = AuditEvent.objects.get()
    assert event.kind == AuditEvent.Kind.CALL
    assert event.action == "getBalance"
    assert event.params == {"lang": "en"}
    assert event.answer == "150.25"
    assert event.http_status == 200
    assert event.outcome == "ok"
    assert event.latency_ms is not None
    assert event.user == alice
    assert event.team == tiny_provider.team
    assert TEST_API_KEY not in repr(event.__dict__)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_every_call_uses_the_providers_request_method(tiny_provider, method):
    provider = tiny_provider.provider
    provider.request_method = method
    provider.save()
    Handler.methods.clear()
    Handler.urls.clear()
    with provider_client(tiny_provider) as client:
        client.get_balance()
        client.get_status("1")
    assert Handler.methods == [method, method]
    assert any(TEST_API_KEY in url for url in Handler.urls) is (method == "GET")


def test_an_error_is_audited_with_its_outcome(tiny_provider):
    with provider_client(tiny_provider) as client, pytest.raises(protocol.NoNumbers):
        client.get_number("tg", 0, "any")
    event = AuditEvent.objects.get()
    assert event.action == "getNumber"
    assert event.params == {"service": "tg", "operator": "any", "country": "0", "lang": "en"}
    assert event.outcome == "NO_NUMBERS"


def test_a_status_poll_that_changes_nothing_is_not_audited(tiny_provider):
    with provider_client(tiny_provider) as client:
        client.get_status("1")
    assert not AuditEvent.objects.exists()


def test_an_unreachable_provider_is_audited_as_unavailable(alice_account):
    with provider_client(alice_account) as client, pytest.raises(protocol.ProviderUnavailable):
        client.get_balance()
    event = AuditEvent.objects.get()
    assert event.outcome == "unavailable"
    assert event.http_status is None


@pytest.mark.django_db(transaction=True)
def test_the_async_client_audits_too(tiny_provider):
    import asyncio

    from catalog.upstream import async_provider_client

    account = type(tiny_provider).objects.select_related("provider", "team").get()

    async def run():
        async with async_provider_client(account) as client:
            await client.get_status("1")
            with pytest.raises(protocol.NoNumbers):
                await client.get_number("tg", 0, "any")

    async def close_the_threads_connection():
        from asgiref.sync import sync_to_async
        from django.db import connection

        await sync_to_async(lambda: connection.close())()

    asyncio.run(run())
    asyncio.run(close_the_threads_connection())
    event = AuditEvent.objects.get()
    assert event.action == "getNumber"
    assert event.outcome == "NO_NUMBERS"


def test_a_stuck_provider_is_given_up_at_the_web_deadline(
    settings, sandbox_account, sandbox_server
):
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    sandbox_server.sandbox.set_fault("timeout", api_key=sandbox_server.api_key)
    started = time.monotonic()
    with provider_client(sandbox_account) as client, pytest.raises(protocol.ProviderUnavailable):
        client.get_balance()
    assert time.monotonic() - started < 1.0 + 1.0
    assert AuditEvent.objects.get().outcome == "unavailable"


def test_a_call_that_would_wait_past_the_deadline_for_the_budget_is_not_sent(
    settings, monkeypatch, sandbox_account, sandbox_server
):
    settings.REDIS_URL = None
    settings.PROVIDER_WEB_DEADLINE_SECONDS = 1.0
    monkeypatch.setattr(ratelimit, "_buckets", {})
    provider = sandbox_account.provider
    provider.max_requests_per_second = 0.01  # one request, then the next in 100 s
    provider.save()
    with provider_client(sandbox_account) as client:
        assert client.get_balance() == 1000
    started = time.monotonic()
    with provider_client(sandbox_account) as client, pytest.raises(protocol.ProviderUnavailable):
        client.get_balance()
    assert time.monotonic() - started < 1.0 + 1.0
    assert sandbox_server.sandbox.request_counts["getBalance"] == 1

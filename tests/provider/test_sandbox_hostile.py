"""The sandbox playing the hostile provider of issue 12: each fault kind's raw HTTP answer.

Over real HTTP with plain httpx (not our protocol client, which is what these answers test):
the exact bytes of each hostile answer, that a fault set for one key leaves another key
honest, that hostile getNumber answers still buy at the sandbox, that the huge body streams
and the trickle is slow until the faults are cleared. Also the command and the control door
that let a developer or a production-stack script set these faults.
"""

import importlib.util
import json
import re
import threading
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from unittest import mock

import httpx
import pytest
from django.core.management import call_command

from provider.sandbox.faults import FAULT_GROUPS, FAULT_KINDS, HUGE_BYTES
from provider.sandbox.server import SandboxServer

OTHER_KEY = "sandbox-honest-key-0002"


@pytest.fixture
def provider(sandbox_server):
    """The sandbox over HTTP, with a second, honest key next to the test's key."""
    sandbox_server.sandbox.add_account(OTHER_KEY, Decimal("1000"))
    return sandbox_server


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def ask(http, provider, action, api_key=None, **params):
    query = {"api_key": api_key or provider.api_key, "action": action, "lang": "en", **params}
    return http.get(provider.url, params=query)


def buy(http, provider, api_key=None):
    return ask(http, provider, "getNumber", api_key, service="tg", country="0", operator="any")


def wait_for(condition, seconds=10.0):
    """Poll `condition` (state another thread changes) until it holds or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def in_background(call):
    """Run `call` in a thread; returns the thread and a dict that gets its "result"."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=call()), daemon=True)
    thread.start()
    return thread, outcome


def test_every_fault_kind_is_reproduced_by_a_test():
    tested_in_test_sandbox = {"latency", "timeout", "http_500", "garbage", "error_sql"}
    tested_here = {
        *(kind for kind, *_ in GET_NUMBER_FAULTS),
        *(kind for kind, *_ in CATALOG_FAULTS),
        *("nul_code", "deep_json", "huge", "trickle", "retry_after"),
    }
    assert tested_in_test_sandbox | tested_here == set(FAULT_KINDS)
    assert all(FAULT_KINDS[kind].description for kind in FAULT_KINDS)
    assert all(set(kinds) <= set(FAULT_KINDS) for kinds in FAULT_GROUPS.values())


# --- getStatus --------------------------------------------------------------------------------


def test_nul_code_answers_a_code_with_a_nul_byte_whether_or_not_a_code_arrived(http, provider):
    waiting = buy(http, provider).text.split(":")[1]
    arrived = buy(http, provider).text.split(":")[1]
    provider.sandbox.deliver_code(arrived, "123456")
    honest = buy(http, provider, OTHER_KEY).text.split(":")[1]
    provider.sandbox.set_fault("nul_code", api_key=provider.api_key)

    for activation_id in (waiting, arrived):
        answer = ask(http, provider, "getStatus", id=activation_id)
        assert (answer.status_code, answer.content) == (200, b"STATUS_OK:12\x0034")
    assert ask(http, provider, "getStatus", OTHER_KEY, id=honest).text == "STATUS_WAIT_CODE"
    assert ask(http, provider, "getStatus", id="424242").text == "NO_ACTIVATION"


# --- getNumber: bought at the sandbox, answered with a hostile text -----------------------------

GET_NUMBER_FAULTS = [
    # kind, pattern of the answer, whether the answer's id cancels the purchase
    ("nul_id", rb"ACCESS_NUMBER:\d+\x00\d+:79\d{9}", False),
    ("long_id", rb"ACCESS_NUMBER:\d{100}:79\d{9}", False),
    ("long_phone", rb"ACCESS_NUMBER:\d{13}:\d{40}", True),
]


@pytest.mark.parametrize(("kind", "pattern", "cancellable"), GET_NUMBER_FAULTS)
def test_hostile_get_number_answers_still_buy_the_number(
    http, provider, kind, pattern, cancellable
):
    sandbox = provider.sandbox
    price = sandbox.offer("tg", 0).price
    sandbox.set_fault(kind, api_key=provider.api_key)

    answer = buy(http, provider)

    assert answer.status_code == 200 and re.fullmatch(pattern, answer.content), answer.content
    (activation,) = sandbox.activations.values()  # bought, with a normal id and phone
    assert activation.is_open and activation.api_key == provider.api_key
    assert re.fullmatch(r"79\d{9}", activation.phone)
    assert sandbox.balance(provider.api_key) == Decimal("1000") - price
    answered_id = answer.text.split(":")[1]
    assert (answered_id == str(activation.id)) is cancellable

    cancel = ask(http, provider, "setStatus", id=answered_id, status="8")
    if cancellable:
        assert cancel.text == "ACCESS_CANCEL"
        assert sandbox.balance(provider.api_key) == Decimal("1000")
    else:
        assert cancel.text == "NO_ACTIVATION"  # only the real id, kept by the sandbox, cancels
        assert sandbox.activation(activation.id).is_open

    honest = buy(http, provider, OTHER_KEY).text
    assert re.fullmatch(r"ACCESS_NUMBER:\d{13}:79\d{9}", honest)


def test_a_hostile_get_number_without_a_purchase_answers_the_honest_error(http, provider):
    provider.sandbox.set_balance(provider.api_key, "0.10")
    provider.sandbox.set_fault("long_phone", api_key=provider.api_key)
    assert buy(http, provider).text == "NO_BALANCE"


# --- The catalog: one hostile row, the others honest -------------------------------------------

COUNTRIES = ("getCountryAndOperators", {})
SERVICES = ("getServicesAndCost", {"country": "0", "operator": "any"})
CATALOG_FAULTS = [
    # kind, action, its parameters, the first row's field, its raw JSON text
    ("nul_names", *COUNTRIES, "name", r'"Rus\u0000sia"'),
    ("nul_names", *SERVICES, "name", r'"VK.\u0000com"'),
    ("long_names", *COUNTRIES, "name", json.dumps("Russia" + "x" * 99_994)),
    ("long_names", *SERVICES, "name", json.dumps("VK.com" + "x" * 99_994)),
    ("long_price", *SERVICES, "price", "1234567890123"),
    ("negative_price", *SERVICES, "price", "-50.00"),
    ("negative_quantity", *SERVICES, "quantity", '"-5"'),
    ("absurd_price", *SERVICES, "price", "1e308"),
    ("absurd_quantity", *SERVICES, "quantity", '"1000000000000000000000000000000"'),
]


@pytest.mark.parametrize(("kind", "action", "params", "name", "raw"), CATALOG_FAULTS)
def test_catalog_faults_spoil_the_first_row_only(http, provider, kind, action, params, name, raw):
    provider.sandbox.set_fault(kind, api_key=provider.api_key)

    hostile = ask(http, provider, action, **params)
    honest = ask(http, provider, action, OTHER_KEY, **params)

    assert hostile.headers["Content-Type"] == "application/json; charset=utf-8"
    assert f'"{name}":{raw}'.encode() in hostile.content.split(b"},{")[0]
    hostile_rows, honest_rows = hostile.json(), honest.json()
    assert hostile_rows[0][name] == json.loads(raw)
    assert honest_rows[0][name] != hostile_rows[0][name]
    assert {**hostile_rows[0], name: None} == {**honest_rows[0], name: None}
    assert hostile_rows[1:] == honest_rows[1:] and len(honest_rows) > 100


def test_the_names_are_100_000_characters(http, provider):
    provider.sandbox.set_fault("long_names")
    for action, params in (COUNTRIES, SERVICES):
        assert len(ask(http, provider, action, **params).json()[0]["name"]) == 100_000


@pytest.mark.parametrize(("action", "params"), [COUNTRIES, SERVICES])
def test_deep_json_nests_the_catalog_100_000_levels(http, provider, action, params):
    provider.sandbox.set_fault("deep_json", api_key=provider.api_key)

    answer = ask(http, provider, action, **params)

    assert answer.content == b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(answer.content)
    assert ask(http, provider, action, OTHER_KEY, **params).json()[0]["id"] in (0, "vk")


def test_groups_set_each_of_their_kinds_and_leave_other_actions_honest(http, provider):
    provider.sandbox.set_fault("negative")
    provider.sandbox.set_fault("nul")
    row = ask(http, provider, SERVICES[0], **SERVICES[1]).json()[0]
    assert (row["name"], row["price"], row["quantity"]) == ("VK.\x00com", -50.0, "-5")
    assert ask(http, provider, "getBalance").content == b"1000.00"


# --- Deliveries: a huge body, a trickle ---------------------------------------------------------


def test_huge_sends_50_mb_that_end_in_the_honest_answer(http, provider):
    provider.sandbox.set_fault("huge", api_key=provider.api_key)
    query = {"api_key": provider.api_key, "action": "getBalance", "lang": "en"}

    with http.stream("GET", provider.url, params=query) as answer:
        assert answer.headers["Content-Length"] == str(50 * 1024 * 1024)
        received, tail = 0, b""
        for chunk in answer.iter_raw():
            if not received:
                assert chunk.startswith(b" " * 1000)
            received += len(chunk)
            tail = (tail + chunk)[-16:]

    assert received == 50 * 1024 * 1024
    assert tail.endswith(b"      1000.00")
    assert ask(http, provider, "getBalance", OTHER_KEY).content == b"1000.00"


def test_huge_is_streamed_without_holding_50_mb(provider):
    sandbox = provider.sandbox
    sandbox.set_fault("huge")
    query = f"api_key={provider.api_key}&action=getNumber&service=tg&country=0&lang=en"
    headers = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stubs/handler_api", "QUERY_STRING": query}

    tracemalloc.start()
    try:
        chunks = sandbox.wsgi_app(environ, lambda status, sent: headers.update(sent))
        sizes, last = [], b""
        for chunk in chunks:
            sizes.append(len(chunk))
            last = chunk
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert int(headers["Content-Length"]) == sum(sizes) == HUGE_BYTES
    assert max(sizes) <= 64 * 1024 and peak < 2 * 1024 * 1024
    (activation,) = sandbox.activations.values()  # huge buys too
    assert last.endswith(f"ACCESS_NUMBER:{activation.id}:{activation.phone}".encode())


def test_trickle_sends_one_byte_at_a_time(provider):
    provider.sandbox.set_fault("trickle", seconds=0)
    query = f"api_key={provider.api_key}&action=getBalance&lang=en"
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/stubs/handler_api", "QUERY_STRING": query}
    headers = {}

    chunks = list(provider.sandbox.wsgi_app(environ, lambda status, sent: headers.update(sent)))

    assert chunks == [b"1", b"0", b"0", b"0", b".", b"0", b"0"]
    assert headers["Content-Length"] == "7"


def test_trickle_holds_the_status_line_and_each_byte(http, provider):
    provider.sandbox.set_fault("trickle", api_key=provider.api_key, seconds=0.1)
    query = {"api_key": provider.api_key, "action": "getBalance", "lang": "en"}
    started = time.monotonic()

    with http.stream("GET", provider.url, params=query) as answer:
        headers_after = time.monotonic() - started
        body = answer.read()

    assert body == b"1000.00"
    assert headers_after >= 0.1  # the status line waited for the first byte
    assert time.monotonic() - started >= 0.7  # one wait per byte


def test_trickle_buys_at_once_answers_slowly_and_stops_when_cleared(http, provider):
    sandbox = provider.sandbox
    sandbox.set_fault("trickle", api_key=provider.api_key, seconds=60)

    with httpx.Client(timeout=30) as buyer:
        thread, outcome = in_background(lambda: buy(buyer, provider))
        assert wait_for(lambda: len(sandbox.activations) == 1)  # bought; the answer trickles
        assert ask(http, provider, "getBalance", OTHER_KEY).text == "1000.00"  # at once
        assert thread.is_alive()
        sandbox.clear_faults()
        thread.join(timeout=10)

    assert not thread.is_alive()  # 39 bytes at 60 s each, had the clear not ended the waits
    (activation,) = sandbox.activations.values()
    assert outcome["result"].text == f"ACCESS_NUMBER:{activation.id}:{activation.phone}"


def test_retry_after_answers_429_with_an_absurd_wait_and_buys_nothing(http, provider):
    provider.sandbox.set_fault("retry_after", api_key=provider.api_key)

    answer = buy(http, provider)

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "100000000"
    assert provider.sandbox.activations == {}
    assert ask(http, provider, "getBalance", OTHER_KEY).status_code == 200


# --- The command and the control door ----------------------------------------------------------


def test_the_command_serves_a_hostile_provider(settings):
    served = {}
    serve_forever = SandboxServer.serve_forever

    def serve_one_request(server):
        with mock.patch.object(SandboxServer, "serve_forever", serve_forever):
            server.start()  # the command's `finally` stops it
        query = {"api_key": "hostile-cmd-key", "action": "getBalance", "lang": "en"}
        served["answer"] = httpx.get(server.url, params=query, timeout=10)
        raise KeyboardInterrupt  # Ctrl+C

    with mock.patch.object(SandboxServer, "serve_forever", serve_one_request):
        call_command(
            "sandbox_provider",
            "--port",
            "0",
            "--api-key",
            "hostile-cmd-key",
            "--fault",
            "retry_after",
            "--fault",
            "latency",
            "--fault-seconds",
            "0",
        )

    assert served["answer"].status_code == 429
    assert served["answer"].headers["Retry-After"] == "100000000"


def test_the_command_lists_the_faults(capsys):
    call_command("sandbox_provider", "--list-faults")
    out = capsys.readouterr().out
    assert "trickle: every action's honest answer one byte every" in out
    assert len(out.splitlines()) == len(FAULT_KINDS) + len(FAULT_GROUPS)


@pytest.fixture
def control():
    """scripts/sandbox_control.py's app on a loopback port, with keys key0 and key1."""
    path = Path(__file__).resolve().parents[2] / "scripts" / "sandbox_control.py"
    spec = importlib.util.spec_from_file_location("sandbox_control", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    sandbox = script.Sandbox()
    keys = ["control-key-zero", "control-key-one"]
    for key in keys:
        sandbox.add_account(key)
    server = script._Server(("127.0.0.1", 0), script.QuietRequestHandler)
    server.set_app(script.ControlledSandbox(sandbox, keys).app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, keys
    sandbox.clear_faults()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_the_control_door_targets_one_key_or_every_key(control, http):
    base, (key0, key1) = control

    def balance(key, **options):
        query = {"api_key": key, "action": "getBalance", "lang": "en"}
        return http.get(f"{base}/stubs/handler_api", params=query, **options)

    fault = http.post(f"{base}/control/fault", json={"kind": "retry_after", "key": "key1"})
    assert fault.json() == {"ok": True}
    assert balance(key1).status_code == 429
    assert balance(key0).text == "1000.00"

    http.post(f"{base}/control/clear")
    http.post(f"{base}/control/fault", json={"kind": "error_sql"})
    assert balance(key0).text == balance(key1).text == "ERROR_SQL"

    http.post(f"{base}/control/clear")
    trickle = {"kind": "trickle", "key": "key1", "seconds": 1}
    assert http.post(f"{base}/control/fault", json=trickle).json() == {"ok": True}
    assert balance(key0).text == "1000.00"
    with pytest.raises(httpx.ReadTimeout):  # the status line waits a second for its first byte
        balance(key1, timeout=httpx.Timeout(10, read=0.5))

    unknown = http.post(f"{base}/control/fault", json={"kind": "trickle", "key": "key7"})
    assert unknown.status_code == 400
    assert "key0, key1" in unknown.json()["error"] and "control-key" not in unknown.text

"""The sandbox provider's state machine and answers (in process, through `Sandbox.handle`)."""

import json
import re
import threading
import time
from decimal import Decimal
from io import BytesIO

import pytest
from django.test import Client

from catalog.sandbox_views import mounted_sandbox
from provider.sandbox.annexes import COUNTRIES, COUNTRIES_BY_ID, SERVICES, SERVICES_BY_ID
from provider.sandbox.catalog import catalog_offer
from provider.sandbox.rules import Sandbox
from tests.provider.client_support import DOC_BALANCE, DOC_COUNTRIES, DOC_NUMBER, DOC_SERVICES

KEY = "sandbox-unit-key-0001"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def sandbox(clock):
    sandbox = Sandbox(code_delay=5.0, lifetime=60.0, clock=clock)
    sandbox.add_account(KEY, Decimal("1000"))
    return sandbox


def ask(sandbox, action, lang="en", **params):
    answer = sandbox.handle({"api_key": KEY, "action": action, "lang": lang, **params})
    return answer.body


def buy(sandbox, service="tg", country="0", operator="any"):
    body = ask(sandbox, "getNumber", service=service, country=country, operator=operator)
    assert body.startswith("ACCESS_NUMBER:"), body
    _, activation_id, phone = body.split(":")
    return activation_id, phone


def test_the_catalog_has_every_annex_country_and_service():
    assert len(COUNTRIES) == 110
    assert COUNTRIES_BY_ID[0].operators[:3] == ("aiva", "any", "beeline")
    assert COUNTRIES_BY_ID[122].name == "Bahamas"
    assert len(SERVICES) == 224
    assert SERVICES_BY_ID["go"].name == "Google,youtube,Gmail"
    assert SERVICES_BY_ID["ot"].name == "Not on the list"
    # Services the annex lists without a name are named by their id.
    assert [s.id for s in SERVICES if s.name == s.id] == ["wa", "wb", "fb", "tw", "ig", "kf"]


def test_it_answers_the_balance_like_the_document(sandbox):
    assert ask(sandbox, "getBalance") == "1000.00"


def compact(data):
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def test_honest_answers_are_written_like_the_documents_examples(sandbox):
    sandbox.set_balance(KEY, DOC_BALANCE)
    assert ask(sandbox, "getBalance") == DOC_BALANCE

    countries = ask(sandbox, "getCountryAndOperators", lang="ru")
    assert countries.startswith(DOC_COUNTRIES[: DOC_COUNTRIES.index("{", 2) + 1])
    for doc_row, row in zip(json.loads(DOC_COUNTRIES), json.loads(countries), strict=False):
        assert list(row) == list(doc_row) and row["name"] == doc_row["name"]
        assert doc_row["operators"].items() <= row["operators"].items()

    for service, price, quantity in [("vk", "29.88", 19), ("ok", "1.34", 2776), ("wa", 0, 0)]:
        sandbox.set_offer(service, 0, "any", price=price, quantity=quantity)
    services = ask(sandbox, "getServicesAndCost", lang="ru", country="0", operator="any")
    rows = {row["id"]: row for row in json.loads(services)}
    for doc_row in json.loads(DOC_SERVICES):
        row = rows[doc_row["id"]]
        assert compact(row) in services  # what was sent, not a re-encoding of it
        # Our names come from the annex; everything else is written as the document writes it.
        assert compact({**row, "name": doc_row["name"]}) in DOC_SERVICES

    number = ask(sandbox, "getNumber", service="vk", country="0")
    assert re.fullmatch(re.sub(r"\d+", r"\\d+", DOC_NUMBER), number)  # ACCESS_NUMBER:\d+:\d+
    phone, doc_phone = number.split(":")[2], DOC_NUMBER.split(":")[2]
    assert (phone[0], len(phone)) == (doc_phone[0], len(doc_phone))  # Russia: 7 and 10 digits


def test_it_sells_a_number_charges_and_delivers_a_code_after_the_delay(sandbox, clock):
    price = sandbox.offer("tg", 0).price
    activation_id, phone = buy(sandbox)
    assert phone.startswith("79") and len(phone) == 11
    assert sandbox.balance(KEY) == Decimal("1000") - price
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    clock.now += 5.0
    code = sandbox.activation(activation_id).code
    assert ask(sandbox, "getStatus", id=activation_id) == f"STATUS_OK:{code}"
    assert sandbox.activation(activation_id).code_available_at == [clock.now]


def test_it_lists_countries_with_operators_as_json(sandbox):
    data = json.loads(ask(sandbox, "getCountryAndOperators"))
    assert data[0] == {
        "id": 0,
        "name": "Russia",
        "operators": {op: op for op in COUNTRIES_BY_ID[0].operators},
    }
    assert json.loads(ask(sandbox, "getCountryAndOperators", lang="ru"))[0]["name"] == "Россия"


def test_prices_and_stock_are_deterministic_with_some_out_of_stock():
    offers = [catalog_offer(s.id, c.id, "any") for s in SERVICES for c in COUNTRIES[:20]]
    assert offers == [catalog_offer(s.id, c.id, "any") for s in SERVICES for c in COUNTRIES[:20]]
    empty = [o for o in offers if o.quantity == 0]
    assert 0 < len(empty) < len(offers) / 4
    assert all(o.price == 0 for o in empty)


def test_it_lists_every_service_with_a_price_and_a_stock(sandbox):
    data = json.loads(ask(sandbox, "getServicesAndCost", country="0", operator="any"))
    assert [item["id"] for item in data] == [s.id for s in SERVICES]
    for item in data:
        assert set(item) == {"id", "name", "price", "quantity"}
        assert isinstance(item["price"], int | float)
        assert isinstance(item["quantity"], str) and item["quantity"].isdigit()
        offer = sandbox.offer(item["id"], 0, "any")
        assert Decimal(str(item["price"])) == offer.price
        assert int(item["quantity"]) == offer.quantity
    ru = json.loads(ask(sandbox, "getServicesAndCost", lang="ru", country="0", operator="any"))
    assert ru[0]["name"] == "Вконтакте"


def test_services_of_an_unknown_country_or_operator_are_an_empty_list(sandbox):
    assert ask(sandbox, "getServicesAndCost", country="9999", operator="any") == "[]"
    assert ask(sandbox, "getServicesAndCost", country="0", operator="nope") == "[]"
    assert ask(sandbox, "getServicesAndCost") == "BAD_ACTION"


def test_it_answers_the_documents_request_errors(sandbox):
    assert sandbox.handle({"api_key": "wrong", "action": "getBalance", "lang": "en"}).body == (
        "BAD_KEY"
    )
    assert ask(sandbox, "getBalance", lang="de") == "BAD_LANG"
    assert sandbox.handle({"api_key": KEY, "action": "getBalance"}).body == "BAD_LANG"
    assert ask(sandbox, "getEverything") == "BAD_ACTION"
    assert ask(sandbox, "") == "BAD_ACTION"
    assert ask(sandbox, "getStatus", id="424242") == "NO_ACTIVATION"
    assert ask(sandbox, "getStatus", id="abc") == "NO_ACTIVATION"
    assert ask(sandbox, "getStatus") == "BAD_ACTION"


def test_get_number_answers_its_errors(sandbox):
    assert ask(sandbox, "getNumber", country="0") == "BAD_ACTION"
    assert ask(sandbox, "getNumber", service="zz9", country="0") == "BAD_SERVICE"
    assert ask(sandbox, "getNumber", service="tg", country="0", operator="nope") == "NO_NUMBERS"
    assert ask(sandbox, "getNumber", service="tg", country="9999") == "NO_NUMBERS"
    sandbox.set_offer("tg", 0, "any", quantity=0)
    assert ask(sandbox, "getNumber", service="tg", country="0", operator="any") == "NO_NUMBERS"
    sandbox.add_account(KEY, Decimal("0.10"))
    assert ask(sandbox, "getNumber", service="vk", country="0", operator="any") == "NO_BALANCE"
    assert sandbox.balance(KEY) == Decimal("0.10")


def test_another_keys_activation_does_not_exist_for_you(sandbox):
    activation_id, _ = buy(sandbox)
    sandbox.add_account("someone-else-key")
    answer = sandbox.handle(
        {"api_key": "someone-else-key", "action": "getStatus", "id": activation_id, "lang": "en"}
    )
    assert answer.body == "NO_ACTIVATION"


def test_numbers_follow_the_country_format(sandbox):
    for country, dial, length in [(1, "380", 12), (16, "447", 12), (43, "4915", 13), (12, "1", 11)]:
        operator = COUNTRIES_BY_ID[country].operators[0]
        sandbox.set_offer("tg", country, operator, quantity=5)
        _, phone = buy(sandbox, country=str(country), operator=operator)
        assert phone.startswith(dial) and len(phone) == length and phone.isdigit()


def test_a_cancel_before_the_code_refunds_and_is_idempotent(sandbox):
    activation_id, _ = buy(sandbox)
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "ACCESS_CANCEL"
    assert sandbox.balance(KEY) == Decimal("1000")
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_CANCEL"
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "ACCESS_CANCEL"
    assert sandbox.balance(KEY) == Decimal("1000")
    assert ask(sandbox, "setStatus", id=activation_id, status="6") == "BAD_STATUS"


def test_a_cancel_after_the_code_is_bad_status_and_complete_keeps_the_charge(sandbox, clock):
    price = sandbox.offer("tg", 0).price
    activation_id, _ = buy(sandbox)
    clock.now += 5
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "BAD_STATUS"
    assert ask(sandbox, "setStatus", id=activation_id, status="6") == "ACCESS_ACTIVATION"
    assert ask(sandbox, "setStatus", id=activation_id, status="6") == "ACCESS_ACTIVATION"
    assert sandbox.balance(KEY) == Decimal("1000") - price
    code = sandbox.activation(activation_id).code
    assert ask(sandbox, "getStatus", id=activation_id) == f"STATUS_OK:{code}"


def test_complete_before_a_code_and_unknown_statuses_are_bad_status(sandbox):
    activation_id, _ = buy(sandbox)
    assert ask(sandbox, "setStatus", id=activation_id, status="6") == "BAD_STATUS"
    assert ask(sandbox, "setStatus", id=activation_id, status="3") == "BAD_STATUS"
    assert ask(sandbox, "setStatus", id=activation_id, status="1") == "BAD_STATUS"
    assert ask(sandbox, "setStatus", id=activation_id) == "BAD_ACTION"


def test_a_retry_waits_for_another_code(sandbox, clock):
    activation_id, _ = buy(sandbox)
    clock.now += 5
    first = sandbox.activation(activation_id).code
    assert ask(sandbox, "setStatus", id=activation_id, status="3") == "ACCESS_RETRY_GET"
    assert ask(sandbox, "setStatus", id=activation_id, status="3") == "ACCESS_RETRY_GET"
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    sandbox.wait_retry_answers = True
    assert ask(sandbox, "getStatus", id=activation_id) == f"STATUS_WAIT_RETRY:{first}"
    clock.now += 5
    activation = sandbox.activation(activation_id)
    assert len(activation.codes) == 2 and activation.codes[0] == first
    assert ask(sandbox, "getStatus", id=activation_id) == f"STATUS_OK:{activation.codes[1]}"
    assert ask(sandbox, "setStatus", id=activation_id, status="6") == "ACCESS_ACTIVATION"


def test_an_early_cancel_is_denied(sandbox, clock):
    sandbox.min_cancel_age = 10
    activation_id, _ = buy(sandbox)
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "EARLY_CANCEL_DENIED"
    clock.now += 3  # the code is still 2 s away
    sandbox.set_code_delay(activation_id, 60)
    clock.now += 7
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "ACCESS_CANCEL"


def test_an_activation_past_its_lifetime_is_cancelled_and_refunded(sandbox, clock):
    sandbox.code_delay = 100  # after the end of the 60 s lifetime: never arrives
    activation_id, _ = buy(sandbox)
    clock.now += 59
    assert ask(sandbox, "getBalance") != "1000.00"
    clock.now += 1
    assert ask(sandbox, "getBalance") == "1000.00"  # refunded without anyone asking
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_CANCEL"
    activation = sandbox.activation(activation_id)
    assert activation.expired and activation.refunded and activation.codes == []
    assert sandbox.balance(KEY) == Decimal("1000")


def test_an_activation_with_a_code_past_its_lifetime_is_cancelled_and_refunded(sandbox, clock):
    activation_id, _ = buy(sandbox)
    clock.now += 61
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_CANCEL"
    assert sandbox.activation(activation_id).codes  # the code came, nobody completed it
    assert sandbox.balance(KEY) == Decimal("1000")


def test_codes_can_be_timed_per_activation(sandbox, clock):
    sandbox.code_delay_fn = lambda activation, n: 1.0 + n
    first, _ = buy(sandbox)
    second, _ = buy(sandbox)
    sandbox.set_code_delay(second, 30)
    started = clock.now
    clock.now += 1
    assert sandbox.activation(first).code_available_at == [started + 1]
    assert sandbox.activation(second).code is None
    assert sandbox.deliver_code(second, "0042") == "0042"
    assert ask(sandbox, "getStatus", id=second) == "STATUS_OK:0042"
    assert sandbox.activation(second).first_code_available_at == clock.now
    with pytest.raises(ValueError):
        sandbox.deliver_code(second)


def test_codes_keep_leading_zeros_and_can_be_whole_messages(sandbox, clock):
    sandbox.code_fn = lambda activation, n: "Your code: 00123. Do not share it: ever"
    activation_id, _ = buy(sandbox)
    clock.now += 5
    assert ask(sandbox, "getStatus", id=activation_id) == (
        "STATUS_OK:Your code: 00123. Do not share it: ever"
    )


def test_the_rate_limit_answers_http_429():
    sandbox = Sandbox(rate_limit=2)
    sandbox.add_account(KEY)
    answers = [
        sandbox.handle({"api_key": KEY, "action": "getBalance", "lang": "en"}) for _ in "abc"
    ]
    assert [a.status for a in answers] == [200, 200, 429]
    assert ("Retry-After", "1") in answers[2].headers
    sandbox.rate_limit = None
    assert sandbox.handle({"api_key": KEY, "action": "getBalance", "lang": "en"}).status == 200


@pytest.mark.parametrize(
    ("kind", "status", "body"),
    [("http_500", 500, "Internal Server Error"), ("error_sql", 200, "ERROR_SQL")],
)
def test_faults_replace_the_answer(sandbox, kind, status, body):
    sandbox.set_fault(kind)
    answer = sandbox.handle({"api_key": KEY, "action": "getBalance", "lang": "en"})
    assert (answer.status, answer.body) == (status, body)
    sandbox.clear_faults()
    assert ask(sandbox, "getBalance") == "1000.00"


def test_garbage_is_never_a_protocol_answer(sandbox):
    sandbox.set_fault("garbage")
    for _ in range(20):
        body = ask(sandbox, "getBalance")
        assert body.strip() not in {"1000.00", "[]"} and not body.startswith(
            ("ACCESS", "STATUS_OK")
        )


def test_faults_can_target_one_key_and_a_share_of_requests(sandbox):
    sandbox.add_account("other-key")
    sandbox.set_fault("error_sql", api_key="other-key")
    sandbox.set_fault("http_500", probability=0.0)
    assert ask(sandbox, "getBalance") == "1000.00"
    other = sandbox.handle({"api_key": "other-key", "action": "getBalance", "lang": "en"})
    assert other.body == "ERROR_SQL"
    sandbox.clear_faults()
    sandbox.set_fault("error_sql", probability=0.5)
    bodies = [ask(sandbox, "getBalance") for _ in range(200)]
    assert 50 < bodies.count("ERROR_SQL") < 150


def test_latency_and_timeouts_hold_the_request(sandbox):
    sandbox.set_fault("latency", seconds=0.1)
    started = time.perf_counter()
    assert ask(sandbox, "getBalance") == "1000.00"
    assert time.perf_counter() - started >= 0.1
    sandbox.clear_faults()
    sandbox.set_fault("timeout", seconds=0.1)
    activation_count = len(sandbox.activations)
    answer = sandbox.handle(
        {"api_key": KEY, "action": "getNumber", "service": "tg", "country": "0", "lang": "en"}
    )
    assert answer.status == 504
    assert len(sandbox.activations) == activation_count  # not acted upon


def test_unknown_faults_are_refused(sandbox):
    with pytest.raises(ValueError):
        sandbox.set_fault("meteor")
    with pytest.raises(ValueError):
        sandbox.set_fault("latency", probability=2)


def test_reset_forgets_everything_and_restores_the_configuration(sandbox):
    buy(sandbox)
    sandbox.code_delay, sandbox.min_cancel_age = 99, 99
    sandbox.set_fault("error_sql")
    sandbox.reset()
    assert sandbox.activations == {}
    assert (sandbox.code_delay, sandbox.min_cancel_age) == (5.0, 0.0)
    assert ask(sandbox, "getBalance") == "BAD_KEY"


def test_parallel_purchases_never_overspend():
    sandbox = Sandbox()
    sandbox.set_offer("tg", 0, "any", price="10")
    sandbox.add_account(KEY, Decimal("100"))
    answers = []

    def purchase():
        for _ in range(5):
            answers.append(ask(sandbox, "getNumber", service="tg", country="0", operator="any"))

    threads = [threading.Thread(target=purchase) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(a.startswith("ACCESS_NUMBER") for a in answers) == 10
    assert answers.count("NO_BALANCE") == 30
    assert sandbox.balance(KEY) == 0
    assert len({a.split(":")[1] for a in answers if a.startswith("ACCESS")}) == 10


def test_the_wsgi_app_serves_only_the_handler_with_get_and_post(sandbox):
    def call(method, path, query="", body=b""):
        seen = {}
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": BytesIO(body),
        }
        chunks = sandbox.wsgi_app(environ, lambda status, headers: seen.update(status=status))
        return seen["status"], b"".join(chunks).decode()

    query = f"api_key={KEY}&action=getBalance&lang=en"
    assert call("GET", "/stubs/handler_api", query) == ("200 OK", "1000.00")
    assert call("POST", "/stubs/handler_api", body=query.encode()) == ("200 OK", "1000.00")
    assert call("GET", "/other", query)[0] == "404 Not Found"
    assert call("PUT", "/stubs/handler_api", query)[0] == "405 Method Not Allowed"


@pytest.mark.parametrize("url", ["/sandbox/stubs/handler_api", "/sandbox/b/stubs/handler_api"])
def test_the_dashboard_mounts_the_sandboxes_without_login_or_csrf(db, settings, url):
    browser = Client(enforce_csrf_checks=True)
    params = {"api_key": settings.SANDBOX_API_KEY, "action": "getBalance", "lang": "en"}
    response = browser.get(url, params)
    assert response.status_code == 200
    assert re.fullmatch(r"\d+\.\d{2}", response.content.decode())
    assert browser.post(url, params).content == response.content
    countries = browser.post(url, {**params, "action": "getCountryAndOperators"})
    assert countries["Content-Type"].startswith("application/json")
    assert len(json.loads(countries.content)) == len(COUNTRIES)
    assert browser.get(url, {**params, "api_key": "wrong"}).content == b"BAD_KEY"
    assert browser.put(url).status_code == 405


def test_the_mounted_sandboxes_are_configured_from_settings(settings):
    sandbox, sandbox_b = mounted_sandbox(""), mounted_sandbox("b")
    assert sandbox is mounted_sandbox() and sandbox_b is mounted_sandbox("b")
    for mounted, entry in zip((sandbox, sandbox_b), settings.SANDBOX_MARKETS, strict=True):
        assert mounted.market.seed == entry["seed"]
        assert mounted.market.never_code_share == entry["never_code_share"]
        assert mounted.market.median_delay == entry["median_delay"]
        assert mounted.lifetime == settings.ACTIVATION_LIFETIME_MINUTES * 60
        assert mounted.balance(settings.SANDBOX_API_KEY) <= Decimal("1000")
    assert sandbox.market.median_delay == settings.SANDBOX_CODE_DELAY
    assert sandbox.offer("tg", 0) == catalog_offer("tg", 0, "any")  # the classic catalog


def test_the_two_mounted_sandboxes_are_two_markets(db, settings):
    """Different prices and reliability, so routing has a choice to make."""
    browser = Client()
    params = {"api_key": settings.SANDBOX_API_KEY, "lang": "en", "country": "0"}
    prices = []
    for url in ("/sandbox/stubs/handler_api", "/sandbox/b/stubs/handler_api"):
        rows = browser.get(url, {**params, "action": "getServicesAndCost", "operator": "any"})
        prices.append({row["id"]: row["price"] for row in json.loads(rows.content)})
    assert prices[0].keys() == prices[1].keys()
    assert sum(prices[0][s] != prices[1][s] for s in prices[0]) > len(prices[0]) / 2
    assert sum(prices[1][s] < prices[0][s] for s in prices[0]) > len(prices[0]) / 2  # B cheaper
    a, b = (mounted_sandbox(m).market.reliability("tg", 0, "any") for m in ("", "b"))
    assert a.never_code_share < b.never_code_share
    assert a.median_delay < b.median_delay

"""The sandbox provider's state machine and answers (in process, through `Sandbox.handle`)."""

import json
from decimal import Decimal

import pytest

from activations.sandbox import Sandbox, catalog_offer
from activations.sandbox_catalog import COUNTRIES, COUNTRIES_BY_ID, SERVICES, SERVICES_BY_ID

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

"""Garbage parameters (huge, non-numeric, unicode, repeated, missing, broken bodies) get the
document's (or the family's) word as text/plain: never a 500, never an HTML page."""

import json
import re

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from activations.gateway import endpoint
from tests.activations.gateway.conftest import GATEWAY_PATH

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"

WORDS = {
    "BAD_KEY",
    "BAD_ACTION",
    "BAD_LANG",
    "BAD_SERVICE",
    "BAD_STATUS",
    "NO_ACTIVATION",
    "NO_BALANCE",
    "NO_NUMBERS",
    "ERROR_SQL",
    "EARLY_CANCEL_DENIED",
    "STATUS_WAIT_CODE",
    "STATUS_CANCEL",
    "STATUS_WAIT_RETRY",
    "TOO_MANY_REQUESTS",
    "ACCESS_CANCEL",
    "ACCESS_RETRY_GET",
    "ACCESS_ACTIVATION",
}
SHAPES = re.compile(
    r"[0-9]+\.[0-9]{2}|ACCESS_BALANCE:[0-9]+\.[0-9]{2}|ACCESS_NUMBER:[0-9]+:[0-9]+"
    r"|STATUS_OK:.+|STATUS_WAIT_RETRY:.+"
)
ACTIONS = list(endpoint.ACTIONS)
FIELDS = ["id", "status", "service", "country", "operator", "maxPrice", "lang", "action"]

values = st.one_of(
    st.text(max_size=20),
    st.text(min_size=190, max_size=400),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["", "0", "3", "6", "8", "tg", "any", "en", "ru", "1e999", "NaN", "٣"]),
)


def well_formed(response) -> bool:
    if response.status_code not in (200, 429):
        return False
    if response["Content-Type"] != "text/plain; charset=utf-8":
        return False
    body = response.content.decode()
    if body in WORDS or SHAPES.fullmatch(body):
        return True
    try:
        return isinstance(json.loads(body), list)
    except ValueError:
        return False


@pytest.fixture
def secret(make_token, alice, alice_account, tg_offer, settings):
    """A token of a team whose provider is unreachable: a purchase is attempted and fails."""
    settings.GATEWAY_REQUESTS_PER_SECOND = 10**6
    return make_token(alice)


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    action=st.one_of(st.sampled_from(ACTIONS), values),
    params=st.dictionaries(st.sampled_from(FIELDS), st.lists(values, min_size=1, max_size=3)),
    post=st.booleans(),
)
def test_random_parameters_for_every_action_never_break_the_answer(
    client, secret, action, params, post
):
    data = {**params, "api_key": secret}
    data.setdefault("action", action)
    response = (client.post if post else client.get)(GATEWAY_PATH, data)
    assert well_formed(response), (response.status_code, response.content[:200])


@pytest.mark.parametrize(
    ("params", "answer"),
    [
        ({"action": "getStatus", "id": "1" * 300}, b"NO_ACTIVATION"),
        ({"action": "getStatus", "id": "\uff11\uff12"}, b"NO_ACTIVATION"),  # full-width 12
        ({"action": "setStatus", "id": "x", "status": "8"}, b"NO_ACTIVATION"),
        ({"action": "getNumber", "service": "t" * 300}, b"BAD_SERVICE"),
        ({"action": "getNumber", "service": "тг"}, b"BAD_SERVICE"),
        ({"action": "getNumber", "service": "tg", "country": "ru"}, b"NO_NUMBERS"),
        ({"action": "getNumber", "service": "tg", "country": "9" * 40}, b"NO_NUMBERS"),
        ({"action": "getNumber", "service": "tg", "operator": "o" * 300}, b"NO_NUMBERS"),
        ({"action": "getNumber", "service": "tg", "country": "0" * 300}, b"NO_NUMBERS"),
        # An unusable maxPrice is ignored: the purchase is tried (the provider is unreachable).
        ({"action": "getNumber", "service": "tg", "maxPrice": "9" * 300}, b"ERROR_SQL"),
        ({"action": "getServicesAndCost", "country": "x"}, b"[]"),
        ({"action": "getBalance", "lang": "e" * 300}, b"BAD_LANG"),
        ({"action": "getBalance", "lang": ""}, b"BAD_LANG"),
        ({"action": "a" * 300}, b"BAD_ACTION"),
        ({"action": ["getBalance", "getNumber"]}, b"100.00"),  # the first of repeated values
        ({"action": ["nope", "getBalance"]}, b"BAD_ACTION"),
    ],
)
def test_each_field_gets_its_documented_error(client, secret, params, answer):
    response = client.get(GATEWAY_PATH, {**params, "api_key": secret})
    assert response.status_code == 200
    assert response.content == answer


def test_an_over_long_or_repeated_token_is_a_bad_key(client, secret):
    assert client.get(GATEWAY_PATH, {"api_key": "x" * 5000}).content == b"BAD_KEY"
    repeated = client.get(GATEWAY_PATH, {"api_key": ["wrong", secret], "action": "getBalance"})
    assert repeated.content == b"BAD_KEY"
    repeated = client.get(GATEWAY_PATH, {"api_key": [secret, "wrong"], "action": "getBalance"})
    assert repeated.content == b"100.00"


def test_broken_bodies_and_other_methods_get_text(client, secret, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    too_many = {f"f{n}": "x" for n in range(100)} | {"api_key": secret, "action": "getBalance"}
    cases = [
        client.post(GATEWAY_PATH, too_many),
        client.post(GATEWAY_PATH, {"api_key": secret, "action": "getBalance", "x": "y" * 20_000}),
        client.post(GATEWAY_PATH, b"--broken\r\n", content_type="multipart/form-data"),
        client.post(
            GATEWAY_PATH, b"\xff\xfe=\xff", content_type="application/x-www-form-urlencoded"
        ),
        client.get(GATEWAY_PATH + "?api_key=%ff%fe&action=%00"),
    ]
    for response in cases:
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response.content in (b"BAD_ACTION", b"BAD_KEY"), response.content
    put = client.put(GATEWAY_PATH, "api_key=x")
    assert put.status_code == 405
    assert put["Content-Type"] == "text/plain; charset=utf-8"
    assert b"<" not in put.content

"""The gateway's brakes: a token's request rate (429, Retry-After: 1) and the lockout of an
address that keeps sending bad tokens (429, Retry-After: the seconds left). Time is moved,
not waited for."""

import uuid
from unittest import mock

import pytest
from django.core.cache import caches

from activations.gateway import throttle
from activations.gateway.usage import requests_on
from activations.models import Activation
from dashboard.models import ApiToken
from dashboard.teams import team_today
from tests.activations.gateway.helpers import ask, said
from tests.fixtures.redis import TEST_REDIS_URL

pytestmark = pytest.mark.django_db

BAD = "smsd_" + "B" * 40


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, stopped at a given second; `clock.now += n` moves it."""

    class Clock:
        now = 1_000_000.25

        def __call__(self) -> float:
            return self.now

    stopped = Clock()
    monkeypatch.setattr(throttle, "clock", stopped)
    return stopped


def test_a_token_over_its_rate_is_answered_429_for_the_rest_of_the_second(
    client, settings, clock, make_token, alice, alice_account
):
    settings.GATEWAY_REQUESTS_PER_SECOND = 3
    secret, other = make_token(alice), make_token(alice)
    assert [said(client, secret, action="getBalance") for _ in range(3)] == ["100.00"] * 3

    response = ask(client, secret, action="getBalance")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b"TOO_MANY_REQUESTS"
    # A purchase over the rate buys nothing.
    assert ask(client, secret, action="getNumber", service="tg").status_code == 429
    assert not Activation.objects.exists()
    # Another token has its own allowance.
    assert said(client, other, action="getBalance") == "100.00"

    clock.now += 0.5  # the same second
    assert ask(client, secret, action="getBalance").status_code == 429
    clock.now += 0.5  # the next one
    assert said(client, secret, action="getBalance") == "100.00"


def test_an_address_sending_bad_tokens_is_locked_out_for_the_window(
    client, settings, clock, make_token, alice, alice_account
):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 60
    good = make_token(alice)
    for _ in range(3):
        assert said(client, BAD, action="getBalance") == "BAD_KEY"
    elsewhere = client.get("/stubs/handler_api", {"api_key": BAD}, REMOTE_ADDR="10.0.0.9")
    assert elsewhere.content == b"BAD_KEY"  # counted for its own address

    # Even a good token from that address, and without looking any token up.
    with mock.patch("activations.gateway.endpoint.token_for") as token_for:
        response = ask(client, good, action="getBalance")
        assert token_for.call_count == 0
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.content == b"TOO_MANY_REQUESTS"
    # Another address is not locked out.
    other = client.get(
        "/stubs/handler_api", {"api_key": good, "action": "getBalance"}, REMOTE_ADDR="10.0.0.2"
    )
    assert other.content == b"100.00"

    clock.now += 45
    assert ask(client, good, action="getBalance")["Retry-After"] == "15"
    clock.now += 15
    assert said(client, good, action="getBalance") == "100.00"


def test_failures_older_than_the_window_start_a_new_count(
    client, settings, clock, make_token, alice, alice_account
):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 60
    good = make_token(alice)
    for _ in range(2):
        said(client, BAD, action="getBalance")
    clock.now += 61
    said(client, BAD, action="getBalance")
    assert said(client, good, action="getBalance") == "100.00"  # one failure in this window
    said(client, BAD, action="getBalance")
    said(client, BAD, action="getBalance")
    assert ask(client, good, action="getBalance").status_code == 429


def test_good_requests_write_no_failure_count(client, make_token, alice, alice_account):
    secret = make_token(alice)
    for _ in range(5):
        said(client, secret, action="getBalance")
    assert throttle.locked_for("127.0.0.1") == 0
    key = throttle._address_key("127.0.0.1")
    assert caches["default"].get(key) is None
    assert caches["gateway"].get(key) is None


@pytest.fixture
def production_caches(settings, redis_server):
    """The production arrangement: both caches in Redis, under a prefix of this test's own
    (not cleared after: clearing a Redis cache empties its whole database; the keys expire)."""
    prefix = f"test-gateway-{uuid.uuid4().hex}"
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": TEST_REDIS_URL}
    settings.CACHES = {
        "default": {**redis, "KEY_PREFIX": prefix},
        "gateway": {**redis, "KEY_PREFIX": prefix + "-gateway"},
    }


def test_the_brakes_work_in_redis_and_cost_get_status_no_query(
    client,
    settings,
    clock,
    make_token,
    alice,
    make_activation,
    production_caches,
    django_assert_max_num_queries,
):
    settings.GATEWAY_REQUESTS_PER_SECOND = 4
    settings.LOGIN_FAILURE_LIMIT = 2
    secret = make_token(alice)
    activation_id = str(make_activation().pk)
    said(client, secret, action="getStatus", id=activation_id)  # stamps "last used"
    for _ in range(3):
        with django_assert_max_num_queries(2):
            assert said(client, secret, action="getStatus", id=activation_id) == (
                "STATUS_WAIT_CODE"
            )
    assert ask(client, secret, action="getStatus", id=activation_id).status_code == 429
    token = ApiToken.objects.get()
    assert caches["gateway"].get(f"rate:{token.pk}:{int(clock.now)}") == 5
    # The day's count (the home page's "requests today") goes along, refused requests too.
    assert requests_on(team_today(token.team), [token.pk]) == {token.pk: 5}

    said(client, BAD, action="getBalance")
    said(client, BAD, action="getBalance")
    clock.now += 1
    assert ask(client, secret, action="getBalance").status_code == 429

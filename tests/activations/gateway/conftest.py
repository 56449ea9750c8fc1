"""Fixtures of the gateway tests: personal tokens for Alice (owner) and Bob (member) on the
sandbox's offer, clean gateway counters, and the gateway's address on the live server."""

import pytest
from django.core.cache import caches

from activations.gateway import recent_tokens
from dashboard.models import Membership
from dashboard.tokens import create_token

GATEWAY_PATH = "/stubs/handler_api"


@pytest.fixture(autouse=True)
def clean_gateway_counters(request):
    """Rate windows, request counts and bad-token counts from earlier tests start afresh
    (token ids are reused from one test database to the next). The bad-token counts are in
    the default cache, the database's table in these tests."""
    caches["gateway"].clear()
    recent_tokens.forget_all()
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        caches["default"].clear()
    yield
    caches["gateway"].clear()


@pytest.fixture
def make_token(alice_team):
    """make_token(user, **limits) -> the secret of a new token of the user's membership."""

    def make(user, name="bot", **limits) -> str:
        membership = Membership.objects.select_related("team", "user").get(
            team=alice_team, user=user
        )
        return create_token(acting=membership, name=name, **limits).secret

    return make


@pytest.fixture
def alice_token(alice, make_token, sandbox_account, sandbox_offer) -> str:
    return make_token(alice, name="alice bot")


@pytest.fixture
def bob_token(bob, make_token, sandbox_account, sandbox_offer) -> str:
    return make_token(bob, name="bob bot")

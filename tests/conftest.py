"""Shared fixtures: Alice owns a team, Bob is a member of it, Charlie has no access."""

import pytest
from django.contrib.auth.models import User
from django.utils import translation

from dashboard.models import Membership, Role, Team

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.catalog",
    "tests.fixtures.activations",
    "tests.fixtures.browser",
    "tests.fixtures.key_scan",
    "tests.fixtures.redis",
]


@pytest.fixture(autouse=True)
def back_to_english():
    """A request in Russian leaves Russian active in the thread (LocaleMiddleware chooses at
    the next request, but a test calling gettext directly would read Russian): put the
    default back after each test."""
    yield
    translation.deactivate()


@pytest.fixture
def alice_team(db) -> Team:
    return Team.objects.create(name="Alice's Team", slug="alices-team")


@pytest.fixture
def alice(alice_team) -> User:
    user = User.objects.create_user("alice", "alice@example.org", "password")
    Membership.objects.create(team=alice_team, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def bob(alice_team) -> User:
    user = User.objects.create_user("bob", "bob@example.org", "password")
    Membership.objects.create(team=alice_team, user=user, role=Role.MEMBER)
    return user


@pytest.fixture
def victor(alice_team) -> User:
    """A viewer in Alice's team."""
    user = User.objects.create_user("victor", "victor@example.org", "password")
    Membership.objects.create(team=alice_team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def charlie(db) -> User:
    """Signed in, but a member of another team only."""
    user = User.objects.create_user("charlie", "charlie@example.org", "password")
    team = Team.objects.create(name="Charlie's Team", slug="charlies-team")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return user

"""Sessions live in Redis (written through to the database) when REDIS_URL is set, and in the
database alone otherwise. Signing in and out, the sign-in limit and the end of other sessions
on a password change work the same; losing the cache signs nobody out."""

import os
import subprocess
import sys
import uuid
from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.fixtures.redis import TEST_REDIS_URL

ROOT = Path(__file__).resolve().parents[2]
CACHED_DB = "django.contrib.sessions.backends.cached_db"


def session_engine(tmp_path, **env) -> str:
    """SESSION_ENGINE as the settings choose it from this environment (development)."""
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.SESSION_ENGINE)"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_sessions_go_to_the_cache_with_redis_and_stay_in_the_database_without(tmp_path):
    assert session_engine(tmp_path, REDIS_URL=TEST_REDIS_URL) == CACHED_DB
    assert session_engine(tmp_path) == "django.contrib.sessions.backends.db"


@pytest.fixture
def redis_sessions(settings, redis_server):
    """The production arrangement: Django's cache in Redis, sessions read from it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": f"test-sessions-{uuid.uuid4().hex}",
        }
    }
    settings.SESSION_ENGINE = CACHED_DB


def sign_in(password="password", ip="10.0.0.1") -> Client:
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": password}, REMOTE_ADDR=ip)
    return client


def is_signed_in(client: Client) -> bool:
    return client.get("/t/alices-team/").status_code == 200


def test_a_signed_in_page_reads_its_session_from_redis(alice, redis_sessions):
    client = sign_in()
    assert is_signed_in(client)
    with CaptureQueriesContext(connection) as queries:
        assert is_signed_in(client)
    assert "django_session" not in " ".join(q["sql"] for q in queries.captured_queries)


def test_losing_the_cache_signs_nobody_out(alice, redis_sessions):
    client = sign_in()
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    store = import_module(CACHED_DB).SessionStore(key)
    assert cache.get(store.cache_key) is not None
    cache.delete(store.cache_key)
    assert is_signed_in(client)  # read from the database, and cached again
    assert cache.get(store.cache_key) is not None


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(alice, redis_sessions):
    client = sign_in()
    copy = Client()
    copy.cookies = client.cookies
    assert is_signed_in(copy)
    key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    client.post("/accounts/logout/")
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = key
    assert not is_signed_in(replay)


def test_a_password_change_ends_the_other_sessions(alice, redis_sessions):
    here, elsewhere = sign_in(), sign_in(ip="10.0.0.2")
    assert is_signed_in(elsewhere)
    response = here.post(
        "/accounts/password_change/",
        {
            "old_password": "password",
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)


def test_the_sign_in_limit_counts_in_redis(alice, redis_sessions, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert not is_signed_in(sign_in(password="wrong"))
    assert not is_signed_in(sign_in())  # the right password, refused while locked
    assert is_signed_in(sign_in(ip="10.0.0.9"))  # another address is not locked

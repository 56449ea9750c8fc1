import re

import pytest

from tests.activations.poller_support import (  # noqa: F401 (the poller tests' fixtures)
    buy,
    poll_account,
    poll_offer,
    poll_provider,
)
from tests.fixtures.activations import TEST_API_KEY

# The keys tests use: the fixed one and the sandbox's per-test ones (sandbox-test-<hex>).
TEST_KEYS = re.compile(rf"{re.escape(TEST_API_KEY)}|sandbox-test-[0-9a-f]{{16}}")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The people fixtures set passwords; a slow hasher makes every test slow to set up."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_key_in_any_log_line(caplog):
    """Every test here also proves that no log line it caused holds a test API key."""
    yield
    leaks = [r.getMessage() for r in caplog.records if TEST_KEYS.search(r.getMessage())]
    assert not leaks, f"an API key was logged: {leaks[:3]}"

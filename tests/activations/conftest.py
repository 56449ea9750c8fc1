"""The poller tests' fixtures (the password hasher and the key scan serve the whole suite:
tests/fixtures/browser.py and tests/fixtures/key_scan.py)."""

from tests.activations.poller_support import (  # noqa: F401 (the poller tests' fixtures)
    buy,
    poll_account,
    poll_offer,
    poll_provider,
)

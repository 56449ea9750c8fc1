"""The security sweep's world (tests/security/conftest.py): Alice's and Charlie's teams with
one of every object, for walking every page."""

from tests.security.conftest import no_sign_in_failures_left, world  # noqa: F401

import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The people fixtures set passwords; a slow hasher makes every test slow to set up."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

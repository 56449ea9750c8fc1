"""With DJANGO_ENV=production: no start-up without secrets, and `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

SECRETS = {
    "SECRET_KEY": "k" * 20 + "a-long-random-production-secret-key-0123456789",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "desk.example.org",
}


def manage(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """manage.py in a clean environment: nothing but PATH, DJANGO_ENV and what is given."""
    clean = {"PATH": os.environ["PATH"], "DJANGO_ENV": "production", "VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", list(SECRETS))
def test_it_refuses_to_start_without_a_secret(tmp_path, missing):
    given = {name: value for name, value in SECRETS.items() if name != missing}
    result = manage(tmp_path, "check", **given)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing was generated as a fallback


def test_check_deploy_reports_nothing(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **SECRETS)
    assert result.returncode == 0, result.stderr
    # On SQLite the covering index's W040 (no INCLUDE columns there) is the one silenced check.
    assert "System check identified no issues" in result.stdout


def test_secrets_can_come_from_files(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(SECRETS["SECRET_KEY"] + "\n")
    given = {k: v for k, v in SECRETS.items() if k != "SECRET_KEY"}
    result = manage(tmp_path, "check", "--deploy", SECRET_KEY_FILE=str(key_file), **given)
    assert result.returncode == 0, result.stderr


def test_it_refuses_to_start_with_a_malformed_encryption_key(tmp_path):
    malformed = "not-a-fernet-key-but-a-secret-all-the-same"
    keys = f"{SECRETS['FIELD_ENCRYPTION_KEYS']},{malformed}"
    given = SECRETS | {"FIELD_ENCRYPTION_KEYS": keys}
    result = manage(tmp_path, "check", "--deploy", **given)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS entry 2 of 2 is not a Fernet key" in result.stderr
    assert malformed not in result.stderr + result.stdout
    assert SECRETS["FIELD_ENCRYPTION_KEYS"] not in result.stderr + result.stdout

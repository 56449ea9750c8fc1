"""var/ (secrets, the SQLite database with sessions and password hashes) is owner-only
whatever the umask: created 0700 with 0600 files, and tightened at start-up if found looser."""

import os
import stat
import subprocess
import sys

import pytest

from tests.dashboard.test_production_settings import ROOT, SECRETS

USUAL_UMASK = 0o022


def manage(var_dir, *args, **env) -> subprocess.CompletedProcess:
    """manage.py with the usual umask, a clean environment and its own var/."""
    clean = {"PATH": os.environ["PATH"], "VAR_DIR": str(var_dir)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=lambda: os.umask(USUAL_UMASK),
    )


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    "env",
    [{"DJANGO_ENV": "development"}, {"DJANGO_ENV": "production", **SECRETS}],
    ids=["development", "production without DATABASE_URL"],
)
def test_var_and_the_database_are_created_owner_only(tmp_path, env):
    var = tmp_path / "var"
    result = manage(var, "migrate", "--no-input", **env)
    assert result.returncode == 0, result.stderr
    assert mode(var) == 0o700
    files = {path.name: mode(path) for path in var.iterdir()}
    assert "db.sqlite3" in files
    assert files == dict.fromkeys(files, 0o600)


def test_looser_modes_found_at_start_up_are_tightened(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    var.chmod(0o755)
    for name, text in {"db.sqlite3": "", "secret_key": "an-old-development-secret"}.items():
        (var / name).write_text(text)
        (var / name).chmod(0o644)
    result = manage(var, "check", DJANGO_ENV="development")
    assert result.returncode == 0, result.stderr
    assert mode(var) == 0o700
    files = {path.name: mode(path) for path in var.iterdir()}
    assert files == dict.fromkeys(files, 0o600)
    assert (var / "secret_key").read_text() == "an-old-development-secret"
    assert f"{var / 'db.sqlite3'} was open to others (mode 644); made it 600." in result.stderr

"""Boot SMS Desk's production stack on loopback, the way README.md "Production run on one
machine" describes it, for the production scripts (`prod_smoke.py`, `faults_under_load.py`,
`scale_out_check.py`, `load/run_load.py`).

PostgreSQL (a throwaway database, dropped and created again), Redis (a dedicated database
number, flushed), `DJANGO_ENV=production` with generated secrets, the Procfile's `release`
line (migrate), `collectstatic`, then the Procfile's `web` (gunicorn) and `worker`
(qcluster) lines as processes of their own.
Every process is started in its own session and ended by its process group id when the
stack stops (or when the script is interrupted), so nothing is left running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis
from cryptography.fernet import Fernet
from processes import Process, WebProcess, free_port, wait_first_line
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG_URL = os.environ.get("STACK_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_BASE = os.environ.get("STACK_REDIS_URL", "redis://127.0.0.1:6379")
# Shared by the scripts: collected once, again only when a static source changed.
STATIC_ROOT = ROOT / "var" / "stack" / "static"


class Step:
    """Prints each step of a script with its result; counts failures."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.passed = 0
        self.started = time.monotonic()

    def ok(self, what: str, detail: str = "") -> None:
        self.passed += 1
        print(f"[{self.elapsed():6.1f}s] ok    {what}{': ' + detail if detail else ''}", flush=True)

    def fail(self, what: str, detail: str = "") -> None:
        self.failures.append(what)
        print(f"[{self.elapsed():6.1f}s] FAIL  {what}{': ' + detail if detail else ''}", flush=True)

    def info(self, what: str) -> None:
        print(f"[{self.elapsed():6.1f}s]       {what}", flush=True)

    def check(self, condition: bool, what: str, detail: str = "") -> bool:
        (self.ok if condition else self.fail)(what, detail)
        return condition

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def summary(self, name: str) -> int:
        """Print the failed checks and the closing count line; the exit status."""
        if self.failures:
            print(f"{name}: failed: {'; '.join(self.failures)}")
        print(f"{name} took {self.elapsed():.0f} s")
        print(f"{name}: {self.passed} passed, {len(self.failures)} failed")
        return 1 if self.failures else 0


def run_checks(step: Step, name: str, stack: Stack, run: Callable[[Stack], None]) -> int:
    """Run a script's checks on its stack (ended whatever happens); the exit status. An
    interruption or an unexpected error is reported as a failed step before the summary."""
    try:
        with stack:
            run(stack)
    except KeyboardInterrupt:
        step.fail("interrupted")
    except Exception as error:
        step.fail("unexpected error", f"{type(error).__name__}: {error}")
        traceback.print_exc()
    return step.summary(name)


def static_sources_fingerprint() -> str:
    """Names, sizes and times of every file collectstatic reads (ours and installed apps')."""
    import django

    roots = [ROOT / "static", Path(django.__file__).parent / "contrib" / "admin" / "static"]
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def procfile_lines(path: Path = ROOT / "Procfile") -> dict[str, str]:
    lines = {}
    for line in path.read_text().splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            kind, command = line.split(":", 1)
            lines[kind.strip()] = command.strip()
    return lines


@dataclass
class Stack:
    """The production stack of one script: its database, Redis number, processes and logs."""

    name: str
    redis_db: int
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.database = f"smsdesk_{self.name}"
        self.var = ROOT / "var" / "stack" / self.name
        self.var.mkdir(parents=True, exist_ok=True)
        self.env = self._environment()

    # --- configuration ------------------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "SANDBOX"))
        }
        env.update(
            {
                "DJANGO_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": f"{PG_URL}/{self.database}",
                "REDIS_URL": f"{REDIS_BASE}/{self.redis_db}",
                "SANDBOX": "false",
                "STATIC_ROOT": str(STATIC_ROOT),
                "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(self.settings)
        return env

    @property
    def redis_url(self) -> str:
        return self.env["REDIS_URL"]

    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    # --- PostgreSQL and Redis -----------------------------------------------------------------

    def reset_database(self) -> None:
        """Drop the script's database (ending its leftover sessions) and create it empty."""
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            name = sql.Identifier(self.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def drop_database(self) -> None:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn,
        ):
            name = sql.Identifier(self.database)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    def flush_redis(self) -> None:
        redis.Redis.from_url(self.redis_url).flushdb()

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Rows of one query on the stack's database (a fresh connection each time)."""
        with psycopg.connect(self.database_url(), connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    # --- processes ----------------------------------------------------------------------------

    def run(
        self, argv: list[str], label: str, timeout: float, env: dict | None = None
    ) -> subprocess.CompletedProcess:
        """Run ARGV to completion in the project with the stack's environment (plus ENV), its
        output captured; RuntimeError with the ends of both outputs if it fails."""
        result = subprocess.run(
            argv,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{label} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def manage(self, *args: str, timeout: float = 300, env: dict | None = None) -> str:
        """Run `python manage.py ARGS` to completion; its output, or RuntimeError."""
        argv = [sys.executable, "manage.py", *args]
        result = self.run(argv, f"manage.py {' '.join(args)}", timeout, env)
        return result.stdout + result.stderr

    def script(self, *argv: str, timeout: float = 600) -> str:
        """Run `python ARGV` (one of these scripts) with the stack's environment; its output."""
        return self.run([sys.executable, *argv], " ".join(argv), timeout).stdout

    def seed_members(self, keys: list[str], *argv: str) -> tuple[list[str], Path]:
        """Run scripts/seed_members.py with ARGV and these provider keys (in a file only while
        it runs); its output lines and the members file it wrote."""
        key_file = self.var / "keys.txt"
        key_file.write_text("\n".join(keys))
        members_file = self.var / "members.json"
        try:
            out = self.script(
                *("scripts/seed_members.py", "--key-file", str(key_file)),
                *("--out", str(members_file), *argv),
            )
        finally:
            key_file.unlink()
        return out.strip().splitlines(), members_file

    def release(self, timeout: float = 300) -> str:
        """Run the Procfile's `release` line (migrate) to completion."""
        command = procfile_lines()["release"]
        return self.run(["bash", "-c", command], f"release: {command}", timeout).stdout

    def start(self, name: str, argv: list[str], env: dict | None = None) -> Process:
        """Start a long-running process in its own session, output to var/stack/NAME/NAME.log."""
        log_path = self.var / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        process = Process(name, popen, log_path)
        self.processes.append(process)
        return process

    def start_procfile(self, kind: str, name: str, env: dict | None = None) -> Process:
        """Run one line of the Procfile (`web` or `worker`) exactly as written, under bash."""
        command = procfile_lines()[kind]
        return self.start(name, ["bash", "-c", command], env)

    def start_web(self, name: str = "web", port: int | None = None, **env: str) -> WebProcess:
        port = port or free_port()
        process = self.start_procfile("web", name, {"PORT": str(port), **env})
        web = WebProcess(process, port)
        web.wait_ready()
        return web

    def start_worker(self, name: str = "worker", **env: str) -> Process:
        process = self.start_procfile("worker", name, env)
        process.stop_signal = signal.SIGINT
        return process

    def start_sandbox_provider(
        self, *args: str, name: str = "sandbox", port: int | None = None
    ) -> tuple[Process, str]:
        """`manage.py sandbox_provider --port P ARGS`: the process and its handler URL."""
        port = port or free_port()
        process = self.start(
            name, [sys.executable, "manage.py", "sandbox_provider", "--port", str(port), *args]
        )
        return process, wait_first_line(process, prefix="http")

    def start_controlled_sandbox(
        self, *args: str, name: str = "sandbox", port: int | None = None
    ) -> tuple[Process, str, str]:
        """scripts/sandbox_control.py: the process, its handler URL and its control URL."""
        port = port or free_port()
        process = self.start(
            name,
            [sys.executable, "scripts/sandbox_control.py", "--port", str(port), *args],
        )
        return process, wait_first_line(process, "http"), wait_first_line(process, "control ")[8:]

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()

    # --- the usual start ----------------------------------------------------------------------

    def prepare(self, step: Step, *, always_collect: bool = False) -> None:
        """A fresh database and Redis number, migrated, static files collected.

        collectstatic (hashing and compressing every file) takes a while on a small machine,
        so scripts other than the smoke test reuse the files it collected while no static
        source has changed since (`always_collect` forces it, as the smoke test does)."""
        self.reset_database()
        step.ok("PostgreSQL database created", self.database)
        self.flush_redis()
        step.ok("Redis database flushed", self.redis_url)
        self.release()
        step.ok("Procfile release (migrate)")
        stamp = STATIC_ROOT / ".sources"
        sources = static_sources_fingerprint()
        if not always_collect and stamp.exists() and stamp.read_text() == sources:
            step.ok("static files collected earlier, sources unchanged", str(STATIC_ROOT))
            return
        out = self.manage("collectstatic", "--no-input")
        stamp.write_text(sources)
        step.ok("manage.py collectstatic", out.strip().splitlines()[-1] if out.strip() else "")

    def __enter__(self) -> Stack:
        install_signal_handlers()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()
        # The database goes too (STACK_KEEP=1 keeps it to look at; logs stay in var/stack/).
        if os.environ.get("STACK_KEEP") != "1":
            self.drop_database()


def install_signal_handlers() -> None:
    """SIGTERM (a CI timeout) unwinds like Ctrl+C, so `with Stack(...)` ends every child."""

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, raise_interrupt)


def wait_until(predicate, timeout: float, interval: float = 0.5):
    """Call predicate until it returns something truthy (returned) or timeout (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    started = time.monotonic()
    try:
        yield box
    finally:
        box.append(time.monotonic() - started)


def quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)

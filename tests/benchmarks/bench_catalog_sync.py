"""The catalog sync of the full sandbox catalog: what fetching and what writing cost, on
SQLite and on PostgreSQL.

The sandbox is served over real HTTP on loopback with 20 ms added to every answer, to stand in
for a real provider's round trip. Each run syncs the whole catalog (110 countries, 307
country/operator pairs, 224 services: 68,768 offers) with the sync's usual concurrency and,
as the baseline, with a single request in flight: first into an empty throwaway database,
then again (the scheduled re-sync, where nothing changed). Every line gives the fetch time,
the write time (the rest of the sync: reading the stored catalog, writing, committing) and
their ratio. The provider's request budget is set high so that it does not bind: this
measures what concurrency buys; with a real provider's few requests per second the budget
sets the pace.

Then three providers, each served by its own sandbox with the full catalog, sync for the
first time the way a worker runs the scheduled prices job's tasks (one after another), and
their total is compared with the prices interval.

(The catalog pages' time, on three full catalogs: `bench_catalog_pages`.)

It runs twice, each time in a child process: on SQLite (in memory) and on PostgreSQL
(database test_sync_bench on CATALOG_BENCH_POSTGRES_URL's server, by default
postgres://postgres@127.0.0.1:5432, created and dropped here; skipped, saying so, when the
server does not answer). Queries are not logged (DEBUG off, as in production).

By default the sandbox runs in a child process, as a real provider runs elsewhere: served
from a thread of this process it would build its answers under the same interpreter lock as
the sync parsing them, and the benchmark would mostly measure that contention.
`CATALOG_BENCH_SANDBOX=thread` serves it from a thread instead (like the test fixture).
"""

import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LATENCY = 0.02  # seconds added to every sandbox answer
RATE = 10_000.0  # requests per second: high enough never to wait for the budget
# The PostgreSQL half runs in test_sync_bench (created and dropped here) on this server.
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/sync_bench"


def serve_sandbox(api_key: str, latency: float, pipe) -> None:
    """A sandbox in its own process: sends its URL, serves until told to stop."""
    from provider.sandbox.rules import Sandbox, SandboxServer

    server = SandboxServer(Sandbox()).start()
    server.sandbox.add_account(api_key, Decimal("1000"))
    server.sandbox.set_fault("latency", seconds=latency)
    pipe.send(server.url)
    pipe.recv()
    server.stop()


@contextmanager
def sandbox(api_key: str, mode: str):
    if mode == "thread":
        from provider.sandbox.rules import Sandbox, SandboxServer

        server = SandboxServer(Sandbox()).start()
        server.sandbox.add_account(api_key, Decimal("1000"))
        server.sandbox.set_fault("latency", seconds=LATENCY)
        try:
            yield server.url
        finally:
            server.stop()
        return
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=serve_sandbox, args=(api_key, LATENCY, theirs), daemon=True)
    child.start()
    try:
        if not ours.poll(60):
            raise RuntimeError("The sandbox process did not start.")
        yield ours.recv()
    finally:
        ours.send("stop")
        child.join(10)
        if child.is_alive():
            child.terminate()


def main() -> None:
    """Each database in a child process of its own (Django binds its database at setup)."""
    root = Path(__file__).resolve().parents[2]
    postgres = os.environ.get("CATALOG_BENCH_POSTGRES_URL", POSTGRES_URL)
    for url in ("sqlite://:memory:", postgres):
        if url.startswith("postgres") and not reachable(url):
            print(f"PostgreSQL at {urlsplit(url).netloc} is not reachable: its half is skipped.")
            continue
        subprocess.run(
            [sys.executable, "-c", f"from {__name__} import bench_database; bench_database()"],
            cwd=root,
            env={**os.environ, "DATABASE_URL": url},
            check=True,
        )


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 5432), timeout=3).close()
    except OSError:
        return False
    return True


def bench_database() -> None:
    """The whole benchmark against the database of DATABASE_URL."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = os.environ.get("CATALOG_BENCH_SANDBOX", "process")
    api_key = f"bench-{secrets.token_hex(8)}"
    # As in production and under Django's test runner: no query log (DEBUG keeps every
    # statement's text with its parameters, a cost of its own).
    setup_test_environment(debug=False)
    old_name = connection.settings_dict["NAME"]
    # A throwaway database (in memory for SQLite, test_<name> for PostgreSQL), dropped after.
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with sandbox(api_key, mode) as url:
            sequential, concurrent = (
                new_provider(url, "sequential"),
                new_provider(url, "concurrent"),
            )
            results = [
                measure("first sync, 1 request at a time (baseline)", sequential, api_key, 1),
                measure("first sync, concurrent", concurrent, api_key, None),
                measure("re-sync, 1 request at a time (baseline)", sequential, api_key, 1),
                measure("re-sync, concurrent", concurrent, api_key, None),
            ]
        with ExitStack() as stack:
            urls = [stack.enter_context(sandbox(api_key, mode)) for _ in range(3)]
            three = [new_provider(url, f"of three {n}") for n, url in enumerate(urls, 1)]
            scheduled = [
                measure_task(f"provider {n} of 3", p, api_key) for n, p in enumerate(three, 1)
            ]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    print(
        f"Full sandbox catalog over loopback HTTP, {LATENCY * 1000:.0f} ms per answer, sandbox "
        f"in a {mode}, {connection.vendor} database, budget {RATE:.0f} requests/s"
    )
    print_runs(results)
    for kind, (baseline, ours) in (("first sync", results[:2]), ("re-sync", results[2:])):
        print(
            f"{kind} speed-up: fetching {baseline.fetch / ours.fetch:.1f}x, "
            f"whole sync {baseline.total / ours.total:.1f}x"
        )
    print(
        "(a first sync also writes 68,768 new offers and their first prices; "
        "a re-sync writes only what changed: nothing here)"
    )
    interval = settings.CATALOG_PRICES_INTERVAL_MINUTES * 60
    print(
        "Three providers, each its own sandbox with the full catalog: their first syncs as the "
        "scheduled prices job's tasks run them on one worker, one after another:"
    )
    print_runs(scheduled)
    total = sum(r.total for r in scheduled)
    print(
        f"three first syncs: {total:.2f} s in all, {total / interval:.1%} of the prices "
        f"interval ({interval / 60:.0f} min)"
    )


def print_runs(runs: list["Measured"]) -> None:
    """One line per sync: the write (all but fetching) next to the fetch, and their ratio."""
    print(
        f"{'':44} {'requests':>8} {'changed':>7} {'fetch s':>8} {'write s':>8} "
        f"{'write/fetch':>11} {'total s':>8}"
    )
    for r in runs:
        print(
            f"{r.label:44} {r.run.calls:8d} {r.run.offers_changed:7d} {r.fetch:8.2f} "
            f"{r.write:8.2f} {r.write / r.fetch:11.2f} {r.total:8.2f}"
        )


def new_provider(url: str, name: str):
    from catalog.models import Provider

    return Provider.objects.create(
        name=f"bench {name}", handler_url=url, is_sandbox=True, max_requests_per_second=RATE
    )


@dataclass
class Measured:
    label: str
    run: Any  # catalog.models.SyncRun
    fetch: float  # seconds fetching (catalog.sync.fetch.fetch_catalog)
    total: float  # seconds of the whole sync

    @property
    def write(self) -> float:
        """Everything but fetching: the stored catalog read, the writes and their commit."""
        return self.total - self.fetch


@contextmanager
def timed_sync(api_key: str):
    """Syncs within use the sandbox's key and append their fetch seconds to the list given."""
    from django.conf import settings

    from catalog.sync import run as sync_run

    fetches: list[float] = []
    fetch = sync_run.fetch_catalog

    async def timed_fetch(*args, **kwargs):
        started = time.perf_counter()
        try:
            return await fetch(*args, **kwargs)
        finally:
            fetches.append(time.perf_counter() - started)

    sync_run.fetch_catalog = timed_fetch
    configured_key, settings.SANDBOX_API_KEY = settings.SANDBOX_API_KEY, api_key
    try:
        yield fetches
    finally:
        sync_run.fetch_catalog = fetch
        settings.SANDBOX_API_KEY = configured_key


def measure(label: str, provider, api_key: str, concurrency: int | None) -> Measured:
    """One sync of the provider."""
    from catalog.sync import fetch as sync_fetch
    from catalog.sync import run as sync_run

    with timed_sync(api_key) as fetches:
        started = time.perf_counter()
        run = sync_run.sync_provider(provider, concurrency=concurrency or sync_fetch.CONCURRENCY)
        total = time.perf_counter() - started
    return checked(Measured(label, run, fetches[-1], total))


def measure_task(label: str, provider, api_key: str) -> Measured:
    """The provider's sync as a worker runs the scheduled prices job's task for it (a prices
    sync of a provider with no countries yet does the full one)."""
    from catalog.models import SyncRun
    from catalog.tasks import sync_provider_catalog

    with timed_sync(api_key) as fetches:
        started = time.perf_counter()
        sync_provider_catalog(provider.pk, SyncRun.Kind.PRICES)
        total = time.perf_counter() - started
    return checked(Measured(label, provider.sync_runs.latest(), fetches[-1], total))


def checked(measured: Measured) -> Measured:
    if measured.run.error_count:
        raise RuntimeError(f"{measured.label}: the sync had errors: {measured.run.errors[:3]}")
    return measured

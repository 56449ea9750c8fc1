"""The catalog sync of the full sandbox catalog: concurrent requests against one at a time.

The sandbox is served over real HTTP on loopback with 20 ms added to every answer, to stand in
for a real provider's round trip. Each run syncs the whole catalog (110 countries, 307
country/operator pairs, 224 services: 68,768 offers) with the sync's usual concurrency and,
as the baseline, with a single request in flight: first into an empty throwaway database,
then again (the scheduled re-sync, where nothing changed). The provider's request budget is
set high so that it does not bind: this measures what concurrency buys; with a real
provider's few requests per second the budget sets the pace.

Then, with both catalogs in the database, it times the catalog page's table (its count and
one page) in the two orders that have an index, and again after dropping those indexes.

By default the sandbox runs in a child process, as a real provider runs elsewhere: served
from a thread of this process it would build its answers under the same interpreter lock as
the sync parsing them, and the benchmark would mostly measure that contention.
`CATALOG_BENCH_SANDBOX=thread` serves it from a thread instead (like the test fixture).
"""

import multiprocessing
import os
import secrets
import statistics
import time
from contextlib import contextmanager
from decimal import Decimal

LATENCY = 0.02  # seconds added to every sandbox answer
RATE = 10_000.0  # requests per second: high enough never to wait for the budget


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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = os.environ.get("CATALOG_BENCH_SANDBOX", "process")
    api_key = f"bench-{secrets.token_hex(8)}"
    setup_test_environment()
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
        browse = time_browse(concurrent)
        drop_browse_indexes()
        browse_baseline = time_browse(concurrent)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    print(
        f"Full sandbox catalog over loopback HTTP, {LATENCY * 1000:.0f} ms per answer, sandbox "
        f"in a {mode}, {connection.vendor} database, budget {RATE:.0f} requests/s"
    )
    print(f"{'':44} {'requests':>8} {'changed':>7} {'fetch s':>8} {'total s':>8}")
    for label, run, fetch_seconds, total_seconds in results:
        print(
            f"{label:44} {run.calls:8d} {run.offers_changed:7d} {fetch_seconds:8.2f} "
            f"{total_seconds:8.2f}"
        )
    for kind, (baseline, ours) in (("first sync", results[:2]), ("re-sync", results[2:])):
        print(
            f"{kind} speed-up: fetching {baseline[2] / ours[2]:.1f}x, "
            f"whole sync {baseline[3] / ours[3]:.1f}x"
        )
    print(
        "(a first sync also writes 68,768 new offers and their first prices; "
        "a re-sync writes only what changed: nothing here)"
    )
    print(
        "Catalog page query (count and one page of 50, both catalogs in the database), "
        "median of 7, ms:"
    )
    print(f"{'':44} {'indexed':>8} {'without':>8}")
    for (sort, page), ms in browse.items():
        label = f"sort {sort}, page {page}"
        print(f"{label:44} {ms:8.1f} {browse_baseline[sort, page]:8.1f}")


def time_browse(provider) -> dict[tuple[str, str], float]:
    """What the catalog page's table costs: its count and one page, in the two orders that
    have an index (median milliseconds by sort and page)."""
    from django.core.paginator import Paginator
    from django.db import connection

    from catalog import queries
    from catalog.views import PER_PAGE

    if connection.vendor == "postgresql":
        # What autovacuum does soon after a sync wrote the offers: the planner's statistics.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_offer")
    timings = {}
    for sort in ("price", "-quantity"):
        filters = {"q": "", "country": None, "operator": "", "in_stock": False, "sort": sort}
        for page in ("1", "30"):
            samples = []
            for _ in range(7):
                started = time.perf_counter()
                rows = Paginator(queries.offers(provider, filters), PER_PAGE).get_page(page)
                list(rows.object_list)
                samples.append(time.perf_counter() - started)
            timings[sort, page] = statistics.median(samples) * 1000
    return timings


def drop_browse_indexes() -> None:
    """The baseline for `time_browse`: the same database without the catalog order indexes."""
    from django.db import connection

    from catalog.models import Offer

    with connection.schema_editor() as editor:
        for index in Offer._meta.indexes:
            if index.name.startswith("offer_browse_"):
                editor.remove_index(Offer, index)


def new_provider(url: str, name: str):
    from catalog.models import Provider

    return Provider.objects.create(
        name=f"bench {name}", handler_url=url, is_sandbox=True, max_requests_per_second=RATE
    )


def measure(label: str, provider, api_key: str, concurrency: int | None):
    """One sync of the provider; returns its run and the fetch and total seconds."""
    from django.conf import settings

    from catalog.sync import fetch as sync_fetch
    from catalog.sync import run as sync_run

    fetch_seconds = 0.0
    fetch = sync_run.fetch_catalog

    async def timed_fetch(*args, **kwargs):
        nonlocal fetch_seconds
        started = time.perf_counter()
        try:
            return await fetch(*args, **kwargs)
        finally:
            fetch_seconds = time.perf_counter() - started

    sync_run.fetch_catalog = timed_fetch
    configured_key, settings.SANDBOX_API_KEY = settings.SANDBOX_API_KEY, api_key
    try:
        started = time.perf_counter()
        run = sync_run.sync_provider(provider, concurrency=concurrency or sync_fetch.CONCURRENCY)
        total_seconds = time.perf_counter() - started
    finally:
        sync_run.fetch_catalog = fetch
        settings.SANDBOX_API_KEY = configured_key
    if run.error_count:
        raise RuntimeError(f"{label}: the sync had errors: {run.errors[:3]}")
    return label, run, fetch_seconds, total_seconds

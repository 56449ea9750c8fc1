"""`make bench BENCH=poller`: how fast codes get from the provider into our database.

The workload is a busy team's steady state, in real time (no time scaling): 1,000 open
activations per strategy, on the sandbox served over loopback HTTP:

- 400 bought 2 to 18 minutes before the run that will never get a code (numbers that never
  receive their SMS stay open until they expire; in a steady state they are many);
- 600 bought during the first 40 seconds of the run, 90 % of which receive a code after a
  random delay (log-normal, median 15 s, between 2 s and 80 s: most within the first two
  minutes, as with real services); 10 % never do.

Every strategy gets the same activations (same purchase times and code delays, its own API
key and provider row), and all strategies of a scenario run at the same time, each on its own
key, in one run. The delay of a code is from the moment it became available at the provider
(the sandbox records it) to the moment it was stored in our database (`first_code_at`).

(a) No provider rate limit: the poller (POLL_INTERVAL 3 s) next to polling one activation at
    a time (round-robin over the activations still waiting for a code).
(b) The sandbox limits each key to 20 requests per second (HTTP 429 above): the poller, whose
    budget says 20 per second, next to plain round-robin at 20 requests per second.

The provider answers after 50 ms (the sandbox adds it; a real provider is a network away).
The sandbox runs in its own process behind a small keep-alive HTTP server (the project's
threaded wsgiref server closes every connection and would measure itself, not the poller).
The database is a throw-away test database (a SQLite file, or PostgreSQL with DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import random
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from tests.benchmarks.throwaway import throwaway_database

INTERVAL = 3.0  # POLL_INTERVAL, the default
LATENCY = 0.05
WARM_UP = 20.0  # the old activations alone first: a steady state, not a cold start
RUN_SECONDS = 145.0
OLD, NEW = 400, 600
PURCHASE_WINDOW = 40.0
NEVER_SHARE = 0.10
DELAY_MEDIAN, DELAY_SIGMA, DELAY_MIN, DELAY_MAX = 15.0, 0.9, 2.0, 80.0
LIMITED_RATE = 20.0
SEED = 20261125


# --- The sandbox in its own process, behind a keep-alive HTTP server ----------------------------


def _serve(conn, latency: float) -> None:
    """Child process: the Sandbox on an asyncio HTTP/1.1 server; commands over `conn`."""
    from provider.sandbox.rules import Sandbox

    sandbox = Sandbox(code_delay=10**9, lifetime=7200.0)
    counts: Counter[tuple[str, str]] = Counter()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                target = line.split()[1].decode()
                params = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
                params.update({k: v[0] for k, v in parse_qs(body.decode()).items()})
                await asyncio.sleep(latency)
                answer = sandbox.handle(params)
                counts[(params.get("api_key", ""), params.get("action", ""))] += 1
                if params.get("action") == "getStatus":
                    counts[("id", params.get("id", ""))] += 1
                if answer.status == 429:
                    counts[(params.get("api_key", ""), "429")] += 1
                payload = answer.body.encode()
                head = [f"HTTP/1.1 {answer.status} X", f"Content-Length: {len(payload)}"]
                head += [f"{k}: {v}" for k, v in answer.headers]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def control() -> None:
        while True:
            command, *args = conn.recv()
            if command == "stop":
                conn.send(None)
                os._exit(0)
            conn.send(_command(sandbox, counts, command, *args))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        conn.send(server.sockets[0].getsockname()[1])
        threading.Thread(target=control, daemon=True).start()
        await server.serve_forever()

    asyncio.run(main())


def _command(sandbox, counts, command, *args):
    if command == "account":
        (key,) = args
        sandbox.add_account(key, 10**9)
        return None
    if command == "buy":
        key, n = args
        bought = []
        # Buying is setting up, not the workload: no rate limit for it.
        limit, sandbox.rate_limit = sandbox.rate_limit, None
        for _ in range(n):
            params = {"api_key": key, "action": "getNumber", "service": "tg"}
            answer = sandbox.handle({**params, "country": "0", "operator": "any", "lang": "en"})
            _, activation_id, phone = answer.body.split(":")
            bought.append((activation_id, phone))
        sandbox.rate_limit = limit
        return bought
    if command == "codes_at":
        (due,) = args  # {activation id: epoch seconds}
        for activation_id, at in due.items():
            activation = sandbox.activation(activation_id)
            sandbox.set_code_delay(activation_id, at - activation.waiting_since)
        return None
    if command == "rate_limit":
        (sandbox.rate_limit,) = args
        return None
    if command == "arrivals":
        (ids,) = args
        return {i: sandbox.activation(i).first_code_available_at for i in ids}
    if command == "polls_by_id":
        (ids,) = args
        return {i: counts[("id", i)] for i in ids}
    if command == "counts":
        (key,) = args
        return counts[(key, "getStatus")], counts[(key, "429")]
    raise ValueError(command)


class BenchSandbox:
    def __init__(self, latency: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, latency), daemon=True)
        self.process.start()
        if not self.conn.poll(60):
            self.process.kill()
            raise RuntimeError("The bench sandbox did not start.")
        self.port = self.conn.recv()
        self.url = f"http://127.0.0.1:{self.port}/stubs/handler_api"

    def __call__(self, *command):
        self.conn.send(command)
        if not self.conn.poll(120):
            raise RuntimeError(f"The bench sandbox did not answer {command[0]!r}.")
        return self.conn.recv()

    def stop(self) -> None:
        self("stop")
        self.process.join(5)


# --- The workload ---------------------------------------------------------------------------


@dataclass
class Planned:
    offset: float  # purchase time relative to the start (negative: bought before)
    code_after: float | None  # seconds after purchase the code arrives; None: never


def plan() -> list[Planned]:
    rng = random.Random(SEED)
    planned = [Planned(-rng.uniform(120, 1080), None) for _ in range(OLD)]
    for offset in sorted(rng.uniform(WARM_UP, WARM_UP + PURCHASE_WINDOW) for _ in range(NEW)):
        delay = None
        if rng.random() >= NEVER_SHARE:
            drawn = rng.lognormvariate(math.log(DELAY_MEDIAN), DELAY_SIGMA)
            delay = min(DELAY_MAX, max(DELAY_MIN, drawn))
        planned.append(Planned(offset, delay))
    return planned


@dataclass
class Lane:
    label: str
    key: str
    provider: object = None
    activations: list = field(default_factory=list)
    planned: list = field(default_factory=list)
    summary: str = ""


def prepare(sandbox: BenchSandbox, team, user, lanes: list[Lane], rate: float, start: float):
    from activations.models import Activation
    from catalog.models import Provider, ProviderAccount
    from dashboard.encryption import encrypt_key
    from tests.fixtures.activations import make_offer

    planned = plan()
    rng = random.Random(SEED + 1)
    first_poll = [rng.uniform(0, INTERVAL * 5) for _ in planned]
    for lane in lanes:
        sandbox("account", lane.key)
        lane.provider = Provider.objects.create(
            name=f"bench {lane.label} {lane.key[-6:]}",
            handler_url=sandbox.url,
            max_requests_per_second=rate,
        )
        offer = make_offer(lane.provider, price="1.00", quantity=10**6)
        account = ProviderAccount.objects.create(
            team=team,
            provider=lane.provider,
            key_ciphertext=encrypt_key(lane.key),
            key_last4=lane.key[-4:],
        )
        bought = sandbox("buy", lane.key, len(planned))
        due = {}
        rows = []
        for (activation_id, phone), item, poll_after in zip(
            bought, planned, first_poll, strict=True
        ):
            created = _at(start + item.offset)
            if item.code_after is not None:
                due[activation_id] = start + item.offset + item.code_after
            # Old ones were polled before the run: their next poll falls somewhere ahead.
            next_poll = created if item.offset >= 0 else _at(start + poll_after)
            rows.append(
                Activation(
                    team=team,
                    user=user,
                    account=account,
                    provider=lane.provider,
                    service=offer.service,
                    country=offer.country,
                    operator=offer.operator,
                    phone=phone,
                    provider_activation_id=activation_id,
                    price=offer.price,
                    created_at=created,
                    updated_at=created,
                    next_poll_at=next_poll,
                    expires_at=created + timedelta(minutes=20),
                )
            )
        sandbox("codes_at", due)
        lane.activations = Activation.objects.bulk_create(rows)
        lane.planned = planned


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


# --- The strategies -------------------------------------------------------------------------


def run_poller(lane: Lane, start: float, seconds: float) -> None:
    from activations.poller import Poller

    time.sleep(max(0.0, start - time.time()))
    summary = Poller(interval=INTERVAL, provider_ids={lane.provider.pk}).run(seconds)
    lane.summary = f"{summary.polls} polls, {summary.errors} errors"


def run_round_robin(lane: Lane, url: str, start: float, seconds: float, rate=None) -> None:
    """Plain round-robin over the activations still waiting for a code, in id order: without
    `rate`, one request at a time (each waits for the previous answer); with `rate`, one
    request sent every 1/rate seconds without waiting for earlier answers (up to 16 in
    flight), so that it really uses the whole budget. A code seen is stored at once."""
    from asgiref.sync import async_to_sync, sync_to_async
    from django.db import connection
    from django.utils import timezone

    from activations import states
    from activations.models import Activation
    from provider.client import AsyncProviderClient, ProviderError

    waiting = (Activation.State.WAITING, Activation.State.WAITING_RETRY)
    counts = Counter()

    def next_after(last_pk: int):
        return (
            Activation.objects.filter(
                provider=lane.provider,
                state__in=waiting,
                created_at__lte=timezone.now(),
                pk__gt=last_pk,
            )
            .order_by("pk")
            .first()
        )

    async def poll(client, activation, slots) -> None:
        try:
            counts["polls"] += 1
            status = await client.get_status(activation.provider_activation_id)
            if status.code:
                await sync_to_async(states.record_code)(activation, status.code)
        except ProviderError:
            counts["errors"] += 1
        finally:
            slots.release()

    async def loop() -> None:
        end = start + seconds
        slots = asyncio.Semaphore(16 if rate else 1)
        tasks = set()
        last_pk = 0
        next_send = time.monotonic()
        async with AsyncProviderClient(url, lane.key, timeout=10) as client:
            while time.time() < end:
                activation = await sync_to_async(next_after)(last_pk)
                if activation is None:
                    if last_pk == 0:
                        await asyncio.sleep(0.05)
                    last_pk = 0
                    continue
                last_pk = activation.pk
                if rate:
                    await asyncio.sleep(max(0.0, next_send - time.monotonic()))
                    next_send = max(next_send + 1 / rate, time.monotonic())
                await slots.acquire()
                task = asyncio.create_task(poll(client, activation, slots))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.wait(tasks)

    time.sleep(max(0.0, start - time.time()))
    try:
        async_to_sync(loop)()
    finally:
        connection.close()
    lane.summary = f"{counts['polls']} polls, {counts['errors']} errors"


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class Measured:
    label: str
    codes: int
    stored: int
    median: float
    p95: float
    worst: float
    rps: float
    limited: int
    notes: str


def measure(sandbox: BenchSandbox, lane: Lane, start: float, end: float) -> Measured:
    from activations.models import Activation

    stored_at = dict(
        Activation.objects.filter(provider=lane.provider).values_list(
            "provider_activation_id", "first_code_at"
        )
    )
    arrivals = sandbox("arrivals", list(stored_at))
    delays = []
    stored = 0
    for activation_id, available in arrivals.items():
        if available is None or available > end:
            continue
        at = stored_at[activation_id]
        if at is not None:
            stored += 1
            delays.append(at.timestamp() - available)
        else:
            delays.append(end - available)  # not stored by the end: at least this late
    requests, limited = sandbox("counts", lane.key)
    delays.sort()
    return Measured(
        label=lane.label,
        codes=len(delays),
        stored=stored,
        median=statistics.median(delays) if delays else math.nan,
        p95=delays[max(0, math.ceil(0.95 * len(delays)) - 1)] if delays else math.nan,
        worst=delays[-1] if delays else math.nan,
        rps=requests / (end - start),
        limited=limited,
        notes=lane.summary,
    )


def scenario(sandbox, team, user, title, rate, strategies) -> list[Measured]:
    import secrets

    lanes = [Lane(label, f"bench-{secrets.token_hex(8)}") for label, _ in strategies]
    start = time.time() + 5.0
    prepare(sandbox, team, user, lanes, rate, start)
    if start - time.time() < 0.5:
        raise RuntimeError("Setting up took longer than planned; raise the start margin.")
    threads = []
    for lane, (_, runner) in list(zip(lanes, strategies, strict=True))[1:]:
        thread = threading.Thread(target=runner, args=(lane, sandbox.url, start, RUN_SECONDS))
        thread.start()
        threads.append(thread)
    strategies[0][1](lanes[0], sandbox.url, start, RUN_SECONDS)  # ours, in this thread
    for thread in threads:
        thread.join()
    end = start + RUN_SECONDS
    return [measure(sandbox, lane, start, end) for lane in lanes]


def report(title: str, rows: list[Measured], target: str, passed: bool) -> None:
    print(f"\n{title}")
    print(
        f"  {'strategy':<34}{'codes':>6}{'stored':>7}{'median':>9}{'p95':>9}{'worst':>9}"
        f"{'req/s':>8}{'429s':>6}  notes"
    )
    for r in rows:
        print(
            f"  {r.label:<34}{r.codes:>6}{r.stored:>7}{r.median:>8.2f}s{r.p95:>8.2f}s"
            f"{r.worst:>8.2f}s{r.rps:>8.1f}{r.limited:>6}  {r.notes}"
        )
    print(f"  target: {target}: {'met' if passed else 'NOT MET'}", flush=True)


# --- Entry point ----------------------------------------------------------------------------


def main() -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User

    from dashboard.models import Team

    started = time.monotonic()
    with throwaway_database("bench-poller-") as vendor:
        sandbox = BenchSandbox(LATENCY)
        try:
            team = Team.objects.create(name="Bench", slug="bench")
            user = User.objects.create_user("bench")
            print(
                f"{OLD + NEW} open activations per strategy ({OLD} waiting 2-18 min "
                "without a code, "
                f"{NEW} bought over {PURCHASE_WINDOW:.0f} s, {1 - NEVER_SHARE:.0%} get a code "
                f"after {DELAY_MIN:.0f}-{DELAY_MAX:.0f} s, median {DELAY_MEDIAN:.0f} s); "
                f"provider latency {LATENCY * 1000:.0f} ms; POLL_INTERVAL {INTERVAL} s; "
                f"{RUN_SECONDS:.0f} s per scenario in real time (no scaling); "
                f"database {vendor}",
                flush=True,
            )

            def ours(lane, url, start, seconds):
                run_poller(lane, start, seconds)

            rows = scenario(
                sandbox,
                team,
                user,
                "(a)",
                10_000.0,  # no budget to speak of
                [
                    ("poller (concurrent, by age)", ours),
                    ("one at a time (round-robin)", run_round_robin),
                ],
            )
            target = 2 * INTERVAL
            report(
                "(a) no provider rate limit",
                rows,
                f"poller p95 < 2 x POLL_INTERVAL = {target:.1f} s",
                rows[0].p95 < target,
            )

            sandbox("rate_limit", LIMITED_RATE)
            rows = scenario(
                sandbox,
                team,
                user,
                "(b)",
                LIMITED_RATE,
                [
                    ("poller (budget 20/s, by age)", ours),
                    (
                        "round-robin at 20/s",
                        lambda lane, url, start, seconds: run_round_robin(
                            lane, url, start, seconds, rate=LIMITED_RATE
                        ),
                    ),
                ],
            )
            report(
                f"(b) sandbox limited to {LIMITED_RATE:.0f} requests/second per key",
                rows,
                "poller median < round-robin median",
                rows[0].median < rows[1].median,
            )
        finally:
            sandbox.stop()
        print(f"\n(bench_poller took {time.monotonic() - started:.0f} s)", flush=True)

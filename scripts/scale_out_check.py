"""`make scale-out`: two gunicorn and two qcluster processes on PostgreSQL + Redis, checked.

Boots the production stack with two web processes (the Procfile's `web` line on two ports)
and two qcluster processes (the `worker` line twice), the sandbox provider of
scripts/sandbox_control.py (its request log is the evidence), and 40 open activations whose
codes come late. The provider allows fewer requests per second than polling them all every
POLL_INTERVAL would take, so the shared budget binds. On top of the poller's own schedule it
queues extra poller loops, so that loops run at once in both clusters (the worst case for
claims). Members poll their pages through both web processes meanwhile. Then it proves:

- no activation was asked for its status twice within one POLL_INTERVAL (the poller's own
  lower bound, 0.9 x POLL_INTERVAL, minus a little for request transit), from the
  provider's request log, while poller loops of both clusters overlapped;
- the provider never got more requests in a second than its rate plus the burst the shared
  (Redis) bucket allows, summed over every process;
- every schedule fired at most once per period (django-q2's task records of both clusters
  and their logs): no more firings than periods in the window, and no two firings of one
  schedule closer than its period less one scheduler tick (each cluster's scheduler runs
  about every 30 s, so a slot fired by both would show two firings under 30 s apart, while
  consecutive slots are more than 28 s apart);
- both web processes served the same signed-in members (one database session store).

    python scripts/scale_out_check.py [--seconds 150] [--activations 40] [--rate 8]
        [--clusters 2] [--extra-loops 2]

The provider's request log of the last run is kept in var/stack/scaleout/requests.json.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import math
import re
import secrets
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browse
import httpx
from stack import Stack, Step, run_checks

PROVIDER = "Sandbox (scale-out)"
POLL_INTERVAL = 3.0
TRANSIT_SLACK = 0.25  # seconds: request-arrival jitter between two polls of one activation
EXTRA_LOOPS = 2  # poller loops queued each minute on top of the schedule's one
SCHEDULE_PERIODS = {  # seconds, as configured through the environment below
    "activations: poller": 60,
    "catalog: prices and stock": 60,
    "catalog: countries and operators": 120,
}
SCHEDULER_TICK = 30  # django-q2's sentinel runs the scheduler about every 30 s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150, help="Observation window.")
    parser.add_argument("--activations", type=int, default=40)
    parser.add_argument("--rate", type=float, default=8, help="Provider requests per second.")
    parser.add_argument(
        "--clusters", type=int, default=2, help="qcluster processes (1 to see one alone)."
    )
    parser.add_argument(
        "--extra-loops", type=int, default=EXTRA_LOOPS, help="Poller loops queued each minute."
    )
    args = parser.parse_args()
    step = Step()
    settings = {
        "POLL_INTERVAL": str(POLL_INTERVAL),
        "Q_WORKERS": "3",
        "CATALOG_PRICES_INTERVAL_MINUTES": "1",
        "CATALOG_COUNTRIES_INTERVAL_MINUTES": "2",
    }
    stack = Stack("scaleout", redis_db=14, settings=settings)
    return run_checks(step, "scale-out", stack, lambda stack: run(stack, step, args))


def run(stack: Stack, step: Step, args) -> None:
    stack.prepare(step)
    keys = [secrets.token_hex(16) for _ in range(2)]
    _sandbox, handler_url, control_url = stack.start_controlled_sandbox(
        *[a for key in keys for a in ("--api-key", key)],
        # Codes come late, so activations stay young and want a poll every interval.
        *("--code-delay", "60", "--code-delay-max", "400", "--countries", "3"),
        *("--balance", "100000"),
    )
    step.ok("sandbox provider (request log) serves", handler_url)
    webs = [stack.start_web("web-a"), stack.start_web("web-b")]
    step.ok("two gunicorn processes answer", ", ".join(w.url for w in webs))
    browse.operator_setup(stack, step, webs[0].url, handler_url, PROVIDER, rate=args.rate).close()

    lines, members_file = stack.seed_members(
        keys,
        *("--provider", PROVIDER, "--owner", "owner", "--teams", "2"),
        *("--members", str(args.activations // 2), "--sync", "--buy", "tg:0:any"),
        *("--prefix", "scale"),
    )
    for line in lines:
        step.ok("seeded", line)
    members = json.loads(members_file.read_text())

    # The second cluster starts half a scheduler tick later, so that the two schedulers take
    # turns in finding a schedule due (both try every slot; one of them wins).
    started_at = time.time()
    workers = [stack.start_worker("worker-a")]
    for name in ("worker-b", "worker-c", "worker-d")[: args.clusters - 1]:
        time.sleep(SCHEDULER_TICK / args.clusters)
        workers.append(stack.start_worker(name))
    step.ok(f"{len(workers)} qcluster processes started", ", ".join(str(w.pid) for w in workers))

    pages = PageLoad(webs, members)
    pages.start()
    deadline = time.monotonic() + args.seconds
    queued = 0
    while time.monotonic() < deadline:
        queued += queue_extra_loops(stack, args.extra_loops)
        time.sleep(min(60.0, max(0.0, deadline - time.monotonic())))
    pages.finish()
    ended_at = time.time()
    step.ok(
        "observed",
        f"{ended_at - started_at:.0f} s, {queued} extra poller loops queued, "
        f"{pages.count} page requests through both web processes",
    )
    for worker in workers:
        worker.stop(timeout=20)

    requests = httpx.get(control_url + "requests", timeout=30).json()
    (stack.var / "requests.json").write_text(json.dumps(requests))
    check_poll_gaps(step, requests, workers)
    check_rate(step, requests, args.rate)
    check_schedules(stack, step, workers, started_at, ended_at)
    step.check(
        pages.statuses and set(pages.statuses) <= {200, 286},
        "both web processes served the same signed-in members",
        ", ".join(f"{web}: {dict(c)}" for web, c in pages.by_web.items()),
    )


def queue_extra_loops(stack: Stack, loops: int) -> int:
    """Queue extra poller loops through the Redis broker (whichever cluster takes them)."""
    if not loops:
        return 0
    stack.manage(
        "shell",
        "-c",
        "from django_q.tasks import async_task\n"
        f"for _ in range({loops}):\n"
        "    async_task('activations.tasks.poll_for_a_minute', 55.0, group='extra poller')",
    )
    return loops


class PageLoad:
    """Each member polls its activation partial every 2 s, alternating the web processes."""

    def __init__(self, webs, members) -> None:
        self.webs = webs
        self.members = members
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.by_web: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.threads = [threading.Thread(target=self.member, args=(m,)) for m in members[:20]]

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def member(self, me: dict) -> None:
        sessions = [browse.Session(web.url, timeout=15) for web in self.webs]
        for session in sessions:
            session.cookies["sessionid"] = me["session"]
        path = f"/t/{me['team']}/activations/{me['activation']}/?seen=0"
        n = 0
        while not self.stop.wait(2.0):
            n += 1
            web = n % len(sessions)
            try:
                status = sessions[web].get(path, headers={"HX-Request": "true"}).status_code
            except (httpx.RemoteProtocolError, httpx.ReadError):
                continue  # an idle keep-alive connection closed under us; a browser resends
            except httpx.HTTPError:
                status = 0
            with self.lock:
                self.statuses[status] += 1
                self.by_web[self.webs[web].process.name][status] += 1
        for session in sessions:
            session.close()


def loop_spans(workers) -> dict[str, list[tuple[float, float, str]]]:
    """Per qcluster: (start, end, task name) of each poller loop, from its log."""
    spans: dict[str, list[tuple[float, float, str]]] = {}
    for worker in workers:
        text = worker.log_path.read_text(errors="replace")
        starts = {
            name: stamp(when)
            for when, name in re.findall(
                r"^(\S+ \S+) INFO django-q Process-\S+ processing (\S+) "
                r"'activations\.tasks\.poll_for_a_minute'",
                text,
                re.M,
            )
        }
        ends = {
            name: stamp(when)
            for when, name in re.findall(
                r"^(\S+ \S+) INFO django-q Processed 'activations\.tasks\.poll_for_a_minute' "
                r"\((\S+)\)",
                text,
                re.M,
            )
        }
        spans[worker.name] = [
            (start, ends.get(name, float("inf")), name) for name, start in starts.items()
        ]
    return spans


def stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").astimezone().timestamp()


def union_length(spans: list[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def check_poll_gaps(step: Step, requests: list, workers) -> None:
    spans = loop_spans(workers)
    for name, loops in spans.items():
        step.info(f"{name}: {len(loops)} poller loops")
    both = [
        (max(a[0], b[0]), min(a[1], b[1]))
        for a in spans.get("worker-a", [])
        for b in spans.get("worker-b", [])
        if max(a[0], b[0]) < min(a[1], b[1])
    ]
    overlap = union_length([(start, min(end, time.time())) for start, end in both])
    if len(workers) > 1:
        step.check(
            overlap > 20,
            "poller loops of both clusters ran at the same time",
            f"{overlap:.0f} s of overlap",
        )
    polls: dict[str, list[float]] = collections.defaultdict(list)
    for when, action, activation_id, _key in requests:
        if action == "getStatus":
            polls[activation_id].append(when)
    gaps = sorted(
        later - earlier
        for times in polls.values()
        for earlier, later in itertools.pairwise(sorted(times))
    )
    bound = 0.9 * POLL_INTERVAL - TRANSIT_SLACK
    too_close = [gap for gap in gaps if gap < bound]
    in_overlap = sum(
        1
        for times in polls.values()
        for t in times
        if any(start <= t <= end for start, end in both)
    )
    if gaps:
        median = gaps[len(gaps) // 2]
        detail = (
            f"{sum(len(t) for t in polls.values())} polls of {len(polls)} activations "
            f"({in_overlap} while both clusters polled); shortest gap {gaps[0]:.2f} s, "
            f"median {median:.2f} s, {len(too_close)} under {bound:.2f} s"
        )
    else:
        detail = "no polls at all"
    step.check(
        bool(gaps) and not too_close,
        f"no activation polled twice within one POLL_INTERVAL ({POLL_INTERVAL:g} s)",
        detail,
    )
    if too_close:
        start = min(t for times in polls.values() for t in times)
        pairs = sorted(
            (later - earlier, activation_id, earlier - start)
            for activation_id, times in polls.items()
            for earlier, later in itertools.pairwise(sorted(times))
        )[:5]
        for gap, activation_id, at in pairs:
            step.info(f"  activation {activation_id}: polled again {gap:.2f} s after {at:.1f} s")


def busiest(times: list[float], seconds: float) -> int:
    """The most requests that arrived within any `seconds` (a sliding window)."""
    most, left = 0, 0
    for right, when in enumerate(times):
        while times[left] <= when - seconds:
            left += 1
        most = max(most, right - left + 1)
    return most


def check_rate(step: Step, requests: list, rate: float) -> None:
    """Over any 5 s the shared bucket lets through at most 5 s of its rate plus its capacity
    (half a second of requests, `catalog.ratelimit`). A bucket per process would let each
    of the six worker processes and two web processes spend the whole rate."""
    times = sorted(when for when, *_ in requests)
    capacity = max(1.0, rate * 0.5)
    window = 5.0
    # + a quarter second of rate for requests in transit, + the token refilled at the edge
    allowed = int(rate * (window + 0.25) + capacity + 1)
    most = busiest(times, window)
    step.check(
        most <= allowed,
        "the provider's rate held across every process (one bucket in Redis)",
        f"busiest {window:g} s: {most} requests (at most {allowed:g} at {rate:g}/s); "
        f"busiest second {busiest(times, 1.0)}; {len(times)} requests in all",
    )


def check_schedules(stack: Stack, step: Step, workers, started_at: float, ended_at: float):
    """Each firing belongs to the schedule's latest slot (next_run - k * period) before it;
    a slot fired twice, by one cluster or by both, is a double firing."""
    created: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
    for worker in workers:
        text = worker.log_path.read_text(errors="replace")
        for when, schedule in re.findall(
            r"^(\S+ \S+) INFO django-q Process-\S+ created task \S+ from schedule \[([^\]]+)\]",
            text,
            re.M,
        ):
            created[schedule].append((stamp(when), worker.name))
    next_runs = dict(stack.sql("SELECT name, EXTRACT(EPOCH FROM next_run) FROM django_q_schedule"))
    recorded = dict(
        stack.sql(
            'SELECT "group", count(*) FROM django_q_task WHERE "group" = ANY(%s) GROUP BY 1',
            (list(SCHEDULE_PERIODS),),
        )
    )
    window = ended_at - started_at
    for schedule, period in SCHEDULE_PERIODS.items():
        firings = sorted(created.get(schedule, []))
        next_run = float(next_runs[schedule])
        slots = collections.Counter(
            math.floor((when - next_run) / period) for when, _worker in firings
        )
        doubled = [slot for slot, n in slots.items() if n > 1]
        by_cluster = collections.Counter(worker for _when, worker in firings)
        most = int(window // period) + 2
        step.check(
            0 < len(firings) <= most and not doubled and recorded.get(schedule, 0) <= len(firings),
            f"schedule '{schedule}' fired at most once per {period} s period",
            f"{len(firings)} firings in {len(slots)} periods, none twice"
            if not doubled
            else f"periods fired twice: {doubled}",
        )
        step.info(
            f"  by cluster {dict(by_cluster)}; {recorded.get(schedule, 0)} task records; "
            f"times " + ", ".join(f"{when - started_at:.0f}" for when, _ in firings) + " s"
        )


if __name__ == "__main__":
    sys.exit(main())

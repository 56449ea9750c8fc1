"""`make load`: the production stack on loopback under 200 team members, measured with locust.

Boots the stack as `prod_smoke.py` does (PostgreSQL, Redis, the Procfile's gunicorn and
qcluster, the standalone sandbox provider), syncs the catalog, seeds 10 teams of 20 members,
each signed in with one open activation (scripts/seed_members.py), measures the activation
partial's database queries (rendered, and unchanged: 204) and gunicorn's CPU per request, then
runs locust headless (scripts/load/locustfile.py) for a bounded time and prints throughput,
median and 95th percentile per page, errors, how the partial's polls were answered, the cores
busy, and whether the targets hold: no errors, partial p95 < 100 ms, pages p95 < 300 ms.

    python scripts/load/run_load.py [--users 200] [--seconds 60] [--web-workers 2] [--in-step]

Exits 1 when a target is missed. Its numbers depend on the machine: locust shares it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import browse  # noqa: E402
from htmx_poll import poll_path  # noqa: E402
from processes import group_cpu_seconds, machine_cpu_seconds  # noqa: E402
from stack import VENV_BIN, Stack, Step  # noqa: E402

PROVIDER = "Sandbox (standalone)"
PARTIAL = "activation partial"
TARGETS_MS = {PARTIAL: 100.0}
PAGE_TARGET_MS = 300.0

QUERY_PROBE = """
import re
from html import unescape
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from activations.models import Activation
a = Activation.objects.select_related("team", "user").order_by("pk").first()
c = Client(HTTP_HOST="127.0.0.1")
c.force_login(a.user)
page = c.get(f"/t/{a.team.slug}/activations/{a.pk}/", secure=True).content.decode()
polled = unescape(re.search(r'hx-get="([^"]+)"', page).group(1))
for name, url in (("changed", polled.replace("shown=", "shown=x")), ("unchanged", polled)):
    with CaptureQueriesContext(connection) as ctx:
        r = c.get(url, secure=True, headers={"HX-Request": "true"})
    print(name, "status", r.status_code, "queries", len(ctx.captured_queries))
    for q in ctx.captured_queries:
        print("  ", q["sql"][:160])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60, help="Measured time after ramp-up.")
    parser.add_argument("--spawn-rate", type=float, default=40)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn WEB_CONCURRENCY")
    parser.add_argument("--provider-rate", type=float, default=10)
    parser.add_argument(
        "--in-step",
        action="store_true",
        help="Each spawn batch of members polls at the same moments (bursts of --spawn-rate "
        "requests), instead of each member from a moment of its own.",
    )
    parser.add_argument(
        "--hold",
        type=float,
        default=0,
        help="Keep the seeded stack up this many seconds before the run (to look at it).",
    )
    args = parser.parse_args()

    step = Step()
    keys = [secrets.token_hex(16) for _ in range(args.teams)]
    try:
        with Stack("load", redis_db=12) as stack:
            return run(stack, step, args, keys)
    except KeyboardInterrupt:
        step.fail("interrupted")
        return step.summary("load")


def run(stack: Stack, step: Step, args, keys: list[str]) -> int:
    stack.prepare(step)
    key_args = [a for key in keys for a in ("--api-key", key)]
    _sandbox, handler_url = stack.start_sandbox_provider(
        *key_args, "--code-delay", "20", "--balance", "100000"
    )
    step.ok("sandbox provider serves", handler_url)
    web = stack.start_web(WEB_CONCURRENCY=str(args.web_workers))
    step.ok("gunicorn (Procfile web) answers", f"{web.url}, {args.web_workers} workers")
    stack.start_worker()
    session = browse.operator_setup(
        stack, step, web.url, handler_url, PROVIDER, rate=args.provider_rate
    )
    session.close()
    per_team = -(-args.users // args.teams)
    lines, members_file = stack.seed_members(
        keys,
        *("--provider", PROVIDER, "--owner", "owner", "--teams", str(args.teams)),
        *("--members", str(per_team), "--sync", "--buy", "tg:0:any"),
    )
    for line in lines:
        step.ok("seeded", line)

    probe = stack.manage("shell", "-c", QUERY_PROBE)
    counts = dict(re.findall(r"^(changed|unchanged) status \d+ queries (\d+)", probe, re.M))
    queries = (
        f"{counts.get('changed', '?')} when it renders, "
        f"{counts.get('unchanged', '?')} when unchanged (204)"
    )
    step.ok("activation partial: database queries per request", queries)
    print(probe.rstrip())

    per_request = server_cpu_per_request(stack, web, json.loads(members_file.read_text()))
    rates = planned_rates(args.users)
    cores = sum(rate * per_request[name] / 1000 for name, rate in rates.items())
    step.info(
        "gunicorn CPU per request (sequential, ms): "
        + ", ".join(f"{name} {ms:.1f}" for name, ms in per_request.items())
        + f"; the planned load needs about {cores:.2f} cores for gunicorn alone"
    )
    if args.hold:
        step.info(f"holding {args.hold:g} s: {web.url}, members in {members_file}")
        time.sleep(args.hold)
    csv_prefix = stack.var / "locust"
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        # Spawning, then two poll intervals until every member polls (the locustfile resets
        # the statistics then), then the measured time.
        f"{int(args.users / args.spawn_rate) + 2 * 2 + 1 + args.seconds}s",
        "--stop-timeout",
        "5",
        "--host",
        web.url,
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    step.info("running: " + " ".join(command[1:]))
    log_offset = web.process.log_path.stat().st_size
    locust = stack.start(
        "locust",
        command,
        env={"LOAD_MEMBERS": str(members_file), "LOAD_IN_STEP": "1" if args.in_step else "0"},
    )
    cpu_before, machine_before, started = group_cpu_seconds(), machine_cpu_seconds(), time.time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust.popen.wait(timeout=args.seconds + 180)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # locust has exited: its CPU is in our children's account, not in /proc any more.
    locust_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    wall = time.time() - started
    step.ok("locust finished", f"exit {locust.popen.returncode}")
    cpu_after, machine_after = group_cpu_seconds(), machine_cpu_seconds()
    ours = 0.0
    parts = []
    for process in stack.processes:
        used = cpu_after.get(process.pid, 0.0) - cpu_before.get(process.pid, 0.0)
        if process is locust:
            used = locust_cpu
        ours += used
        parts.append(f"{process.name} {used / wall:.2f}")
    postgres = sum(
        cpu_after.get(pgid, 0.0) - cpu_before.get(pgid, 0.0)
        for pgid in cpu_after
        if pgid in postgres_groups()
    )
    busy = machine_after - machine_before
    step.info(
        f"CPU cores busy during the run: {busy / wall:.2f} of {os.cpu_count()}: "
        + ", ".join(parts)
        + f", postgres {postgres / wall:.2f}, everything else {(busy - ours - postgres) / wall:.2f}"
    )
    step.info(partial_answers(web.process.log_path, log_offset))
    return report(step, csv_prefix, queries)


PROBES = {
    "activation partial, unchanged (204)": ("{polled}", True),
    "activation partial, changed (200)": ("/t/{team}/activations/{activation}/?seen=0", True),
    "activation page": ("/t/{team}/activations/{activation}/", False),
    "activations list": ("/t/{team}/activations/", False),
    "catalog": ("/t/{team}/catalog/?q=tele", False),
}
# Of a member's polls, about one renders: when the code arrives and when the minute of
# "expires in" turns (a poll every 2 s); the others find nothing changed.
RENDERED_POLLS = 1 / 30


def planned_rates(users: int) -> dict[str, float]:
    """Requests per second of each kind the locustfile makes (a poll every 2 s per user,
    a page one poll in ten: 55% catalog, 35% activations list, 10% the activation page again,
    as in locustfile.browse)."""
    polls = users / 2.0
    pages = polls / 10
    return {
        "activation partial, unchanged (204)": polls * (1 - RENDERED_POLLS),
        "activation partial, changed (200)": polls * RENDERED_POLLS,
        "catalog": pages * 0.55,
        "activations list": pages * 0.35,
        "activation page": pages * 0.10,
    }


def server_cpu_per_request(stack: Stack, web, members: list[dict], n: int = 40) -> dict:
    """gunicorn's CPU per request of each page, one request at a time (no queueing)."""
    import httpx

    costs = {}
    with httpx.Client(base_url=web.url, headers={"X-Forwarded-Proto": "https"}) as client:

        def get(path: str, member: dict, headers: dict) -> httpx.Response:
            cookie = {"Cookie": f"sessionid={member['session']}"}
            return client.get(path.format(**member), headers={**headers, **cookie})

        members = [dict(member) for member in members[: n + 5]]
        for member in members:
            page = get(PROBES["activation page"][0], member, {})
            member["polled"] = poll_path(page.text)
        for name, (path, htmx) in PROBES.items():
            headers = {"HX-Request": "true"} if htmx else {}
            for i in range(n + 5):
                if i == 5:  # after a warm-up
                    before = group_cpu_seconds().get(web.process.pid, 0.0)
                get(path, members[i % len(members)], headers)
            after = group_cpu_seconds().get(web.process.pid, 0.0)
            costs[name] = (after - before) * 1000 / n
    return costs


def partial_answers(access_log: Path, offset: int) -> str:
    """How gunicorn answered the partial's polls during the run (its access log)."""
    with access_log.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    answers = Counter(re.findall(r'"GET \S+[?&]shown=\S* HTTP/[\d.]+" (\d{3})', text))
    total = sum(answers.values()) or 1
    return "partial answers during the run: " + ", ".join(
        f"{status} {count} ({count / total:.0%})" for status, count in sorted(answers.items())
    )


def postgres_groups() -> set[int]:
    """Process groups of the PostgreSQL server (its processes run as user postgres)."""
    import pwd

    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return set()
    groups = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.parent.stat().st_uid == uid:
                groups.add(int(stat.read_text().rsplit(")", 1)[1].split()[2]))
        except OSError:
            continue
    return groups


def report(step: Step, csv_prefix: Path, queries: str) -> int:
    with Path(f"{csv_prefix}_stats.csv").open() as stats:
        rows = list(csv.DictReader(stats))
    print()
    print(f"{'page':22} {'requests':>8} {'req/s':>7} {'median':>7} {'p95':>6} {'p99':>6}", end="")
    print(f" {'errors':>6}")
    missed = []
    for row in rows:
        name = row["Name"]
        p95 = float(row["95%"] or 0)
        print(
            f"{name:22} {row['Request Count']:>8} {float(row['Requests/s']):>7.1f} "
            f"{row['Median Response Time']:>5}ms {row['95%']:>4}ms {row['99%']:>4}ms "
            f"{row['Failure Count']:>6}"
        )
        if name == "Aggregated":
            if int(row["Failure Count"]):
                missed.append(f"{row['Failure Count']} errors")
            continue
        target = TARGETS_MS.get(name, PAGE_TARGET_MS)
        if p95 >= target:
            missed.append(f"{name} p95 {p95:g} ms >= {target:g} ms")
    failures = Path(f"{csv_prefix}_failures.csv")
    if failures.exists():
        with failures.open() as lines:
            for row in list(csv.DictReader(lines))[:10]:
                print(f"  failure: {row['Name']} {row['Error']} x{row['Occurrences']}")
    print(f"partial: {queries} database queries per request")
    print(json.dumps({"missed": missed}))
    for miss in missed:
        step.fail("target", miss)
    if not missed:
        step.ok("targets held", "no errors, partial p95 < 100 ms, pages p95 < 300 ms")
    return step.summary("load")


if __name__ == "__main__":
    sys.exit(main())

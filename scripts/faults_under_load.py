"""`make faults`: the production stack under modest load, through three faults, then checks.

Boots the stack (PostgreSQL, Redis, the Procfile's gunicorn and qcluster) with the sandbox
provider of scripts/sandbox_control.py (so the script can make it time out and read what it
sold), seeds two teams of members with budgets, and starts the load: every member's page
polls its activation partial every 2 s, opens the activations list now and then, and buys
another number every ~40 s until its limit or the team's budget refuses. While loaded:

1. kill -9 the whole qcluster (every process of it) and start a new one;
2. restart PostgreSQL, down for 5 s (`pg_ctlcluster --skip-systemctl-redirect VERSION CLUSTER
   stop`, then `start`; a plain `restart` is down for a fraction of a second only);
3. make the provider time out for 30 s (every request held, then HTTP 504).

Then it stops the load and checks, printing each check: every code the provider delivered
is in our database; nothing was bought twice (every activation the provider sold is ours
once, or was cancelled and refunded at once because it could not be recorded); no team
budget or member limit was exceeded; what we count as free was refunded at the provider;
while PostgreSQL restarted no page answered 500 (503 "temporarily unavailable" is allowed;
the 5xx answers are counted by status and page); the pages answered again without anyone
doing anything (and when).

    python scripts/faults_under_load.py [--members 10] [--outage 30] [--pg-down 5]
                                        [--pg-cluster "15 main"]

Restarting PostgreSQL disturbs everyone using that cluster: run it where nothing else does
(CI runs it after the test suites), or point it at a cluster of its own with STACK_PG_URL
(e.g. postgres://postgres@127.0.0.1:5499) and --pg-cluster "15 NAME".
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import secrets
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browse
from page_load import OK_STATUSES, Load, control
from stack import Stack, Step, run_checks, wait_until

PROVIDER = "Sandbox (faults)"


def default_pg_cluster() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    return f"{versions[-1]} main"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10, help="Per team (two teams).")
    parser.add_argument("--outage", type=float, default=30, help="Provider timeout, seconds.")
    parser.add_argument("--pg-down", type=float, default=5, help="PostgreSQL stopped, seconds.")
    parser.add_argument("--pg-cluster", default=None, help='e.g. "15 main" (the default)')
    parser.add_argument("--settle", type=float, default=150, help="Most seconds to catch up.")
    args = parser.parse_args()
    step = Step()
    stack = Stack("faults", redis_db=13)
    return run_checks(step, "faults", stack, lambda stack: run(stack, step, args))


def run(stack: Stack, step: Step, args) -> None:
    pg_cluster = (args.pg_cluster or default_pg_cluster()).split()
    stack.prepare(step)
    keys = [secrets.token_hex(16) for _ in range(2)]
    key_args = [a for key in keys for a in ("--api-key", key)]
    _sandbox, handler_url, control_url = stack.start_controlled_sandbox(
        *key_args,
        *("--code-delay", "3", "--code-delay-max", "45", "--countries", "3"),
        *("--balance", "100000"),
    )
    step.ok("sandbox provider (with control) serves", handler_url)
    web = stack.start_web()
    step.ok("gunicorn (Procfile web) answers", web.url)
    worker = stack.start_worker()
    browse.operator_setup(stack, step, web.url, handler_url, PROVIDER, rate=30).close()

    lines, members_file = stack.seed_members(
        keys,
        *("--provider", PROVIDER, "--owner", "owner", "--teams", "2"),
        *("--members", str(args.members), "--sync", "--buy", "tg:0:any", "--prefix", "faults"),
        # Four purchases per member, but the team's budget ends before they all have.
        *("--member-limit-buys", "4", "--team-budget-buys", str(args.members * 2 + 10)),
    )
    offer_line = next(line for line in lines if line.startswith("offer "))
    offer = dict(re.findall(r"(\w+)=(\S+)", offer_line))
    for line in lines:
        step.ok("seeded", line)
    members = json.loads(members_file.read_text())
    buy_query = (
        f"service={offer['service']}&country={offer['country']}&operator={offer['operator']}"
    )

    load = Load(web.url, members, buy_query, buy_every=40)
    load.start()
    step.ok("load started", f"{len(members)} members, partial every 2 s, a purchase every ~40 s")
    timeline: dict[str, tuple[float, float]] = {}

    time.sleep(15)
    load.phase = "qcluster killed"
    started = time.time()
    worker.kill()
    step.ok("kill -9 of every qcluster process", f"pid group {worker.pid}")
    time.sleep(3)
    worker = stack.start_worker(name="worker-2")
    timeline["qcluster"] = (started, time.time())
    step.ok("qcluster started again", f"pid {worker.pid}")

    time.sleep(20)
    load.phase = "PostgreSQL restart"
    started = time.time()
    try:
        stop = pg_ctlcluster(pg_cluster, "stop")
        time.sleep(args.pg_down)
    finally:
        start = pg_ctlcluster(pg_cluster, "start")
    timeline["postgres"] = (started, time.time())
    step.check(
        stop.returncode == 0 and start.returncode == 0,
        f"PostgreSQL cluster {' '.join(pg_cluster)} stopped and {args.pg_down:g} s later started",
        f"down and up in {time.time() - started:.1f} s "
        f"{stop.stderr.strip()[:200]} {start.stderr.strip()[:200]}".strip(),
    )

    time.sleep(15)
    load.phase = "provider timing out"
    started = time.time()
    control(control_url, "fault", {"kind": "timeout", "seconds": args.outage + 5})
    step.ok("provider times out every request", f"for {args.outage:g} s")
    time.sleep(args.outage)
    control(control_url, "clear")
    timeline["provider"] = (started, time.time())
    step.ok("provider answers again")

    load.phase = "recovery"
    time.sleep(25)
    load.phase = "after"
    time.sleep(20)
    load.finish()
    step.ok("load stopped", f"{len(load.answers)} requests, {len(load.bought)} purchases")

    report_answers(step, load, timeline)
    check_outcome(stack, step, load, control_url, args.settle, web.url, members)
    for process in list(stack.processes):
        process.stop(timeout=20)


def pg_ctlcluster(cluster: list[str], action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, action],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def report_answers(step: Step, load: Load, timeline: dict) -> None:
    by_phase: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for _t, phase, kind, status in load.answers:
        by_phase[phase][f"{kind} {status}"] += 1
    for phase, counts in by_phase.items():
        step.info(f"{phase:22} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if load.errors:
        step.info("no answer: " + ", ".join(f"{k}: {v}" for k, v in load.errors.items()))
    if load.refused:
        step.info("purchases refused: " + ", ".join(f"{k}: {v}" for k, v in load.refused.items()))
    check_restart_answers(step, load)
    for fault, (_started, ended) in timeline.items():
        after = [(t, status) for t, _p, kind, status in load.answers if t > ended]
        first_ok = next((t for t, status in after if status in OK_STATUSES), None)
        step.check(
            first_ok is not None,
            f"pages answer again after the {fault} fault",
            f"first good answer {first_ok - ended:.1f} s after it ended" if first_ok else "",
        )
    steady = [
        (phase, kind, status)
        for _t, phase, kind, status in load.answers
        if phase in ("warm-up", "after") and status not in OK_STATUSES
    ]
    step.check(
        not steady,
        "no error before the faults, none once recovered (the last 20 s)",
        f"{len(steady)} errors: {collections.Counter(steady).most_common(5)}" if steady else "",
    )


def check_restart_answers(step: Step, load: Load) -> None:
    """While PostgreSQL restarts, pages may say "temporarily unavailable" (503), never 500."""
    failed: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for _t, phase, kind, status in load.answers:
        if phase == "PostgreSQL restart" and status >= 500:
            failed[status][kind] += 1
    counts = [
        f"{status}: {kinds.total()} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})"
        for status, kinds in sorted(failed.items())
    ]
    step.check(
        set(failed) <= {503},
        "no 500 during the PostgreSQL restart (503 'temporarily unavailable' allowed)",
        "; ".join(counts) or "no 5xx answers",
    )


def check_outcome(stack, step, load, control_url, settle, web_url, members) -> None:
    def missing_codes():
        sold = control(control_url, "activations")
        ours = {
            pid: codes
            for pid, codes in stack.sql(
                "SELECT provider_activation_id, codes FROM activations_activation"
            )
        }
        missing = [
            a for a in sold if a["codes"] and not set(a["codes"]) <= set(ours.get(str(a["id"]), []))
        ]
        return sold, ours, missing

    started = time.monotonic()
    settled = wait_until(lambda: not missing_codes()[2], timeout=settle, interval=3)
    sold, ours, missing = missing_codes()
    with_codes = [a for a in sold if a["codes"]]
    step.check(
        not missing,
        "every code the provider delivered is in our database",
        f"{len(with_codes)} activations with codes, {len(missing)} missing, caught up in "
        f"{time.monotonic() - started:.0f} s" + ("" if settled else " (gave up)"),
    )

    sold_ids = {str(a["id"]) for a in sold}
    not_ours = [a for a in sold if str(a["id"]) not in ours]
    unrecorded_ok = [a for a in not_ours if a["state"] == "cancelled" and a["refunded"]]
    step.check(
        len(not_ours) == len(unrecorded_ok),
        "every number the provider sold is ours (or was cancelled and refunded at once)",
        f"sold {len(sold)}, ours {len(ours)}, refunded unrecorded {len(unrecorded_ok)}, "
        f"charged but unrecorded {len(not_ours) - len(unrecorded_ok)}",
    )
    phantom = set(ours) - sold_ids
    step.check(not phantom, "we hold no activation the provider did not sell", str(len(phantom)))
    duplicates = [pid for pid, n in collections.Counter(load.bought).items() if n > 1]
    seeded = {m["activation"] for m in members}
    step.check(
        # None bought would leave the budget checks below with nothing to check.
        bool(load.bought) and not duplicates and not (set(load.bought) & seeded),
        "purchases were made during the load, each a distinct activation",
        f"{len(load.bought)} purchases during the load",
    )

    over = stack.sql(
        """
        SELECT t.slug, t.monthly_budget, SUM(a.price)
        FROM dashboard_team t JOIN activations_activation a ON a.team_id = t.id
        WHERE a.state NOT IN ('cancelled', 'expired')
        GROUP BY t.slug, t.monthly_budget
        """
    )
    for slug, budget, spent in over:
        step.check(
            budget is None or spent <= budget,
            f"team {slug} within its monthly budget",
            f"spent {spent} of {budget}",
        )
    members_over = stack.sql(
        """
        SELECT u.username, m.monthly_limit, SUM(a.price)
        FROM dashboard_membership m
        JOIN auth_user u ON u.id = m.user_id
        JOIN activations_activation a ON a.user_id = m.user_id AND a.team_id = m.team_id
        WHERE a.state NOT IN ('cancelled', 'expired') AND m.monthly_limit IS NOT NULL
        GROUP BY u.username, m.monthly_limit
        HAVING SUM(a.price) > m.monthly_limit
        """
    )
    step.check(not members_over, "no member over their monthly limit", str(members_over[:3]))

    by_id = {str(a["id"]): a for a in sold}
    states = stack.sql("SELECT provider_activation_id, state FROM activations_activation")
    free_not_refunded = [
        pid
        for pid, state in states
        if state in ("cancelled", "expired") and pid in by_id and not by_id[pid]["refunded"]
    ]
    charged_but_free = [
        pid
        for pid, state in states
        if state not in ("cancelled", "expired") and pid in by_id and by_id[pid]["refunded"]
    ]
    step.check(
        not free_not_refunded and not charged_but_free,
        "what we count as free was refunded at the provider, and only that",
        f"{len(free_not_refunded)} free but charged, {len(charged_but_free)} charged but refunded",
    )
    balances = control(control_url, "balances")
    spent_at_provider = sum(
        Decimal(a["price"]) for a in sold if not a["refunded"] and a["key"] in balances
    )
    step.info(f"provider charged {spent_at_provider} in total; balances {balances}")

    session = browse.Session(web_url)
    session.cookies["sessionid"] = members[0]["session"]
    team = members[0]["team"]
    pages = {
        "activation page": f"/t/{team}/activations/{members[0]['activation']}/",
        "activations list": f"/t/{team}/activations/",
        "home": f"/t/{team}/",
        "catalog": f"/t/{team}/catalog/",
    }
    answers = {name: session.get(path).status_code for name, path in pages.items()}
    step.check(
        all(status == 200 for status in answers.values()),
        "pages answer 200 after the faults, nobody having done anything",
        str(answers),
    )
    session.close()
    beat = stack.sql(
        "SELECT EXTRACT(EPOCH FROM now() - last_seen_at) FROM activations_workerheartbeat"
    )
    step.check(
        bool(beat) and beat[0][0] < 30,
        "the restarted qcluster's poller is running",
        f"heartbeat {beat[0][0]:.0f} s ago" if beat else "no heartbeat",
    )


if __name__ == "__main__":
    sys.exit(main())

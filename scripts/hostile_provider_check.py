"""`make hostile`: one provider account trickling every answer slows no one else.

Boots the production stack as `make faults` does (PostgreSQL, Redis, the Procfile's gunicorn
with 2 workers x 4 threads, the qcluster with the poller) with the sandbox provider of
scripts/sandbox_control.py holding two keys, and seeds two teams on it: the honest team's
key is key0, the trickling team's key1. Then:

1. reference (--reference seconds): each team buys a number through the web every few
   seconds; the delay between the sandbox making a code available and our database holding
   it is measured for the honest team (about one POLL_INTERVAL when all is well);
2. fault (--fault seconds): key1 answers one byte per second (`POST /control/fault
   {"kind": "trickle", "key": "key1", "seconds": 1}`), and --buyers members of the trickling
   team buy at once, again and again (8 stuck purchases used to hold every gunicorn thread),
   while the honest team keeps buying as before;
3. the fault is cleared and everything the script started is ended.

Throughout, the sign-in page is fetched every 200 ms on a new connection (a visitor who is
not signed in). Checks, each printed: the sign-in page answered within 1 s before and
during the fault; honest codes arrived before the fault (the reference) and kept arriving
during it no later than the reference's worst delay plus one POLL_INTERVAL (a code still
missing counts with the time it has waited); key1's answers did trickle (one of its
purchases took 2 s or more, so the check is not vacuous).

    python scripts/hostile_provider_check.py [--reference 20] [--fault 60] [--buyers 10]
        [--fault-body '{"kind": "latency", "seconds": 1}']   # another fault, for all keys
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import browse
import httpx
from page_load import Load, control
from stack import Stack, Step, run_checks, wait_until

PROVIDER = "Sandbox (hostile)"
HONEST, TRICKLING = "key0", "key1"
POLL_INTERVAL = 3.0
SIGN_IN_BOUND = 1.0  # seconds: the "the sign-in page answers within 1 s"
SAMPLE_EVERY = 0.2
SAMPLE_TIMEOUT = 5.0
REFERENCE_CODES = 3
REFERENCE_EXTENSION = 60.0  # seconds the reference may run past --reference to see them
CODE_DELAY = ("3", "30")  # seconds, drawn per activation: codes keep coming through the run
TRICKLED_PURCHASE = 2.0  # seconds: a purchase at least this long shows the fault is real


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=float, default=20, help="Seconds before the fault.")
    parser.add_argument("--fault", type=float, default=60, help="Seconds key1 trickles.")
    parser.add_argument("--buyers", type=int, default=10, help="Trickling team's buyers.")
    parser.add_argument(
        "--fault-body",
        default=json.dumps({"kind": "trickle", "key": TRICKLING, "seconds": 1}),
        help="What POST /control/fault gets (JSON).",
    )
    args = parser.parse_args()
    step = Step()
    settings = {"POLL_INTERVAL": str(POLL_INTERVAL)}
    stack = Stack("hostile", redis_db=10, settings=settings)
    return run_checks(step, "hostile", stack, lambda stack: run(stack, step, args))


class SignInSampler(threading.Thread):
    """GET /accounts/login/ every SAMPLE_EVERY seconds, each on a new connection."""

    def __init__(self, web_url: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{web_url}/accounts/login/"
        self.stop = threading.Event()
        self.samples: list[tuple[float, float, int]] = []  # (started, seconds, status or 0)

    def run(self) -> None:
        while not self.stop.is_set():
            started, clock = time.time(), time.monotonic()
            try:
                status = httpx.get(
                    self.url, headers={"X-Forwarded-Proto": "https"}, timeout=SAMPLE_TIMEOUT
                ).status_code
            except httpx.HTTPError:
                status = 0
            took = time.monotonic() - clock
            self.samples.append((started, took, status))
            self.stop.wait(max(0.0, SAMPLE_EVERY - took))

    def check(self, step: Step, since: float, until: float, what: str) -> None:
        window = [
            (took, status) for started, took, status in self.samples if since <= started < until
        ]
        slow = [took for took, status in window if took > SIGN_IN_BOUND or status != 200]
        worst = max((took for took, _status in window), default=0.0)
        unanswered = sum(1 for _took, status in window if status == 0)
        step.check(
            bool(window) and not slow,
            f"the sign-in page answered 200 within {SIGN_IN_BOUND:g} s {what}",
            f"{len(window)} requests, worst {worst:.2f} s, {len(slow)} slower or not 200 "
            f"({unanswered} without an answer within {SAMPLE_TIMEOUT:g} s)",
        )


@dataclass
class Buyers:
    """One team's members buying through the buy page (page_load's Load.buy), timed."""

    load: Load
    members: list[dict]
    pause: float
    stop: threading.Event = field(default_factory=threading.Event)
    # (phase it started in, seconds, activation id or None)
    purchases: list[tuple[str, float, int | None]] = field(default_factory=list)
    buying: int = 0  # members started
    waiting: dict[str, float] = field(default_factory=dict)  # member: when their purchase began

    def start(self, count: int, timeout: float) -> None:
        """COUNT more members buy, each in a thread of their own."""
        for me in self.members[self.buying : self.buying + count]:
            threading.Thread(
                target=self.buy_again_and_again, args=(me, timeout), daemon=True
            ).start()
        self.buying += count

    def buy_again_and_again(self, me: dict, timeout: float) -> None:
        session = browse.Session(self.load.web_url, timeout=timeout)
        session.cookies["sessionid"] = me["session"]
        while not self.stop.is_set():
            phase, clock = self.load.phase, time.monotonic()
            self.waiting[me["username"]] = clock
            bought = self.load.buy(session, me["team"])
            del self.waiting[me["username"]]
            self.purchases.append((phase, time.monotonic() - clock, bought))
            self.stop.wait(self.pause)
        session.close()

    def summary(self, phase: str) -> str:
        """What this team's purchases of PHASE came to (those that ended, by when they began)."""
        window = [(took, bought) for p, took, bought in self.purchases if p == phase]
        if not window:
            return "no purchase ended"
        took = sorted(t for t, _ in window)
        answers = collections.Counter(
            f"{kind} {status}" for _t, p, kind, status in self.load.answers if p == phase
        )
        return (
            f"{len(window)} ended, {sum(1 for _, b in window if b)} bought; took median "
            f"{statistics.median(took):.1f} s, max {took[-1]:.1f} s; answers {dict(answers)}"
        )

    def still_waiting(self) -> str:
        now = time.monotonic()
        ages = sorted((now - began for began in list(self.waiting.values())), reverse=True)
        if not ages:
            return "none"
        return f"{len(ages)}, the longest for {ages[0]:.1f} s"


def run(stack: Stack, step: Step, args) -> None:
    fault_body = json.loads(args.fault_body)
    stack.prepare(step)
    keys = [secrets.token_hex(16) for _ in range(2)]
    _sandbox, handler_url, control_url = stack.start_controlled_sandbox(
        *[a for key in keys for a in ("--api-key", key)],
        *("--code-delay", CODE_DELAY[0], "--code-delay-max", CODE_DELAY[1]),
        *("--countries", "3", "--balance", "100000"),
    )
    step.ok("sandbox provider (with control) serves", handler_url)
    web = stack.start_web()
    step.ok("gunicorn (Procfile web) answers", web.url)
    stack.start_worker()
    browse.operator_setup(stack, step, web.url, handler_url, PROVIDER, rate=50).close()
    # Seeded once the poller runs, so that the seeded numbers' codes fall in the reference.
    beat = wait_until(
        lambda: stack.sql(
            "SELECT 1 FROM activations_workerheartbeat WHERE last_seen_at > now() - interval '5 s'"
        ),
        timeout=90,
    )
    step.check(bool(beat), "the poller runs (a fresh heartbeat)")
    lines, members_file = stack.seed_members(
        keys,
        *("--provider", PROVIDER, "--owner", "owner", "--teams", "2"),
        *("--members", str(max(args.buyers, 2)), "--sync", "--buy", "tg:0:any"),
        *("--prefix", "hostile"),
    )
    for line in lines:
        step.ok("seeded", line)
    offer = dict(
        re.findall(r"(\w+)=(\S+)", next(line for line in lines if line.startswith("offer ")))
    )
    buy_query = (
        f"service={offer['service']}&country={offer['country']}&operator={offer['operator']}"
    )
    members = json.loads(members_file.read_text())
    honest_team, trickling_team = sorted({m["team"] for m in members})
    step.info(f"team {honest_team} buys with {HONEST}, team {trickling_team} with {TRICKLING}")

    sampler = SignInSampler(web.url)
    sampler.start()
    honest = Buyers(team_load(web.url, buy_query), by_team(members, honest_team), pause=3.0)
    trickling = Buyers(team_load(web.url, buy_query), by_team(members, trickling_team), pause=3.0)
    honest.start(1, timeout=30)
    trickling.start(1, timeout=60)
    reference_started = time.time()
    step.ok(
        "reference: each team buys through the web every ~3 s",
        f"for {args.reference:g} s, longer until {REFERENCE_CODES} honest codes arrived",
    )
    time.sleep(args.reference)
    # Codes come 3-30 s after a purchase, so a fixed window can hold too few to measure.
    while True:
        fault_started = time.time()
        reference = code_delays(
            stack, control_url, reference_started, fault_started - POLL_INTERVAL
        )
        if len(reference.delays) >= REFERENCE_CODES or (
            fault_started - reference_started >= args.reference + REFERENCE_EXTENSION
        ):
            break
        time.sleep(1)
    answer = control(control_url, "fault", fault_body)
    if not step.check(answer.get("ok") is True, f"fault set: {args.fault_body}", str(answer)):
        return
    honest.load.phase = trickling.load.phase = "fault"
    trickling.start(args.buyers - 1, timeout=60)
    step.ok(f"{args.buyers} members of {trickling_team} buy at once, again and again")
    time.sleep(args.fault)
    fault_ended = time.time()
    step.info(
        f"purchases still waiting when the fault ended: honest {honest.still_waiting()}, "
        f"trickling {trickling.still_waiting()}"
    )
    sampler.stop.set()
    honest.stop.set()
    trickling.stop.set()

    bound = max(reference.worst(), POLL_INTERVAL) + POLL_INTERVAL
    during = code_delays(stack, control_url, fault_started, fault_ended - bound)
    cleared = control(control_url, "clear")
    step.check(cleared.get("ok") is True, "fault cleared")

    sampler.check(step, reference_started, fault_started, "before the fault")
    sampler.check(step, fault_started, fault_ended, f"throughout the fault ({args.fault:g} s)")
    step.check(
        len(reference.delays) >= REFERENCE_CODES,
        "reference: honest codes arrived before the fault",
        reference.describe(),
    )
    step.check(
        len(during.delays) >= 3 and during.worst() <= bound,
        f"honest codes kept arriving during the fault, each within {bound:.1f} s "
        "(the reference's worst delay plus one POLL_INTERVAL)",
        during.describe(),
    )
    for name, buyers in (("honest", honest), ("trickling", trickling)):
        for phase in ("reference", "fault"):
            step.info(f"{name} team's purchases, {phase}: {buyers.summary(phase)}")
    longest = max((took for p, took, _ in trickling.purchases if p == "fault"), default=0.0)
    step.check(
        longest >= TRICKLED_PURCHASE,
        f"{TRICKLING}'s answers trickled (a purchase took {TRICKLED_PURCHASE:g} s or more)",
        f"longest {longest:.1f} s",
    )


def by_team(members: list[dict], team: str) -> list[dict]:
    return [m for m in members if m["team"] == team]


def team_load(web_url: str, buy_query: str) -> Load:
    """page_load's Load, for its purchase through the pages and its answer counts."""
    load = Load(web_url, [], buy_query, buy_every=0)
    load.phase = "reference"
    return load


@dataclass
class CodeDelays:
    """Seconds from a code's arrival at the provider to our database holding it."""

    delays: list[float]
    missing: list[float]  # codes not stored yet: how long each has waited so far

    def worst(self) -> float:
        return max(self.delays + self.missing, default=0.0)

    def describe(self) -> str:
        if not self.delays and not self.missing:
            return "no code became available"
        text = f"{len(self.delays)} codes"
        if self.delays:
            text += (
                f", delay median {statistics.median(self.delays):.1f} s, "
                f"worst {max(self.delays):.1f} s"
            )
        if self.missing:
            text += f"; {len(self.missing)} not stored, waiting {max(self.missing):.1f} s"
        return text


def code_delays(stack: Stack, control_url: str, since: float, until: float) -> CodeDelays:
    """The honest account's codes that became available between SINCE and UNTIL."""
    now = time.time()
    sold = control(control_url, "activations")
    stored = dict(
        stack.sql(
            "SELECT provider_activation_id, EXTRACT(EPOCH FROM first_code_at)::float "
            "FROM activations_activation WHERE first_code_at IS NOT NULL"
        )
    )
    delays, missing = [], []
    for activation in sold:
        available = activation["code_available_at"][:1]
        if activation["key"] != HONEST or not available or not since <= available[0] < until:
            continue
        got = stored.get(str(activation["id"]))
        if got is None:
            missing.append(now - available[0])
        else:
            delays.append(got - available[0])
    return CodeDelays(delays, missing)


if __name__ == "__main__":
    sys.exit(main())

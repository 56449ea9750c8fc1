"""`make bench BENCH=gateway`: bots polling the team gateway's getStatus, on the production stack.

The stack of scripts/stack.py (PostgreSQL, Redis db 8, the Procfile's gunicorn, 2 workers x
4 threads, and qcluster with the poller), the sandbox provider of scripts/sandbox_control.py
(its request log counts what the provider receives), added in admin with a budget of 5
requests per second (`max_requests_per_second`, the default's order). One team holds 1,000
open activations waiting for a code that does not come during the run (the sandbox's code
delay is a day): a few members bought theirs through the buy service (scripts/seed_members.py),
the rest were bought at the sandbox directly and stored as copies of those (the poller polls
them all, so the sandbox must know them). Each member has a personal token
(`dashboard.tokens.create_token`). The poller cannot poll 1,000 activations every
POLL_INTERVAL at 5/s, so it spends its whole budget in both runs.

- Run A (no bots, 30 s): the provider's getStatus requests per second, from its request log.
- Run B (30 s): bots POST `api_key=<token>&action=getStatus&id=<id>` to /api/handler_api as
  fast as the server answers, over 8 keep-alive connections (one per gunicorn thread), token
  and id drawn at random per request (ids among that token's member's activations), with
  wrk (a C load generator: it costs the 2-core machine little CPU) and a Lua script. Anything
  but HTTP 200 `STATUS_WAIT_CODE` is an error. GATEWAY_REQUESTS_PER_SECOND is raised in the
  stack's environment so that the per-token limit (429) does not refuse the bots.

Printed: getStatus throughput, p50/p95/p99 latency, errors, and the provider's getStatus
requests per second in run B next to run A (the difference in %), each beside its target on
a 2-core machine (300/s, p95 < 25 ms, no errors, within 5 %): PASS or MISS, the bench never
fails on them. Also the CPU each part of the stack used during run B.

Needs wrk: `apt-get install -y wrk` (Debian); without it the bench says so and skips.
BENCH_GATEWAY_SECONDS (30) and BENCH_GATEWAY_CONNECTIONS (8) change the runs. The stack's
database and processes are gone afterwards (STACK_KEEP=1 keeps the database); logs stay in
var/stack/gateway/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "scripts"

ACTIVATIONS = 1000
MEMBERS = 4  # one token each
PROVIDER = "Sandbox (gateway bench)"
PROVIDER_RATE = 5.0  # requests per second: the Provider's budget
REDIS_DB = 8
SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "30"))
CONNECTIONS = int(os.environ.get("BENCH_GATEWAY_CONNECTIONS", "8"))
WRK_THREADS = 2
WARM_UP = 10.0  # seconds of steady polling before run A
BOTS_WARM_UP = 3  # seconds of bots before run B, not measured (connections, caches)
GATEWAY_RATE = 1_000_000  # per token and second: high enough to never refuse the bots
GATEWAY_PATH = "/api/handler_api"
EXPECTED = "STATUS_WAIT_CODE"
TARGET_RPS = 300.0
TARGET_P95_MS = 25.0
TARGET_PROVIDER_PERCENT = 5.0


def main() -> None:
    if shutil.which("wrk") is None:
        print("bench_gateway needs wrk, a C HTTP load generator: apt-get install -y wrk. Skipped.")
        return
    sys.path.insert(0, str(SCRIPTS))
    from stack import Stack, Step, run_checks

    step = Step()
    settings = {
        "GATEWAY_REQUESTS_PER_SECOND": str(GATEWAY_RATE),
        # One poller loop runs through both runs (queued below): its timeout must allow it.
        "Q_TIMEOUT": "600",
        "Q_RETRY": "700",
        "Q_WORKERS": "3",
        # No catalog sync during the runs (each is due once at the start, in the warm-up).
        "CATALOG_PRICES_INTERVAL_MINUTES": str(24 * 60),
    }
    stack = Stack("gateway", redis_db=REDIS_DB, settings=settings)
    status = run_checks(step, "bench_gateway", stack, lambda stack: run(stack, step))
    if status:
        print("bench_gateway: the stack could not be set up or measured (see above)", flush=True)


def run(stack, step) -> None:
    import secrets

    import browse
    import httpx
    from processes import group_cpu_seconds, machine_cpu_seconds
    from stack import wait_until

    stack.prepare(step)
    key = secrets.token_hex(16)
    _sandbox, handler_url, control_url = stack.start_controlled_sandbox(
        *("--api-key", key, "--countries", "3", "--balance", "1000000"),
        # No code during the bench: every activation stays open, waiting.
        *("--code-delay", "86400", "--lifetime", "86400"),
    )
    step.ok("sandbox provider (request log) serves", handler_url)
    web = stack.start_web()
    step.ok("gunicorn (Procfile web) answers", web.url)
    browse.operator_setup(stack, step, web.url, handler_url, PROVIDER, rate=PROVIDER_RATE).close()
    lines, members_file = stack.seed_members(
        [key],
        *("--provider", PROVIDER, "--owner", "owner", "--teams", "1"),
        *("--members", str(MEMBERS), "--sync", "--buy", "tg:0:any", "--prefix", "gateway"),
    )
    for line in lines:
        step.ok("seeded", line)

    tokens_file = stack.var / "tokens.json"
    lua_file = stack.var / "bots.lua"
    key_file = stack.var / "key.txt"
    key_file.write_text(key)
    try:
        out = stack.script(
            *(__file__, "seed", "--key-file", str(key_file), "--members", str(members_file)),
            *("--activations", str(ACTIVATIONS), "--out", str(tokens_file)),
        )
        key_file.unlink()
        step.ok("seeded", out.strip())
        tokens = json.loads(tokens_file.read_text())
        tokens_file.unlink()  # secrets: only in the Lua script while the bots run
        lua_file.write_text(bots_script(tokens))

        worker = stack.start_worker()
        loop_seconds = WARM_UP + 2 * SECONDS + BOTS_WARM_UP + 90
        stack.manage(
            "shell",
            "-c",
            "from django_q.tasks import async_task\n"
            f"async_task('activations.tasks.poll_for_a_minute', {loop_seconds}, group='bench')",
        )
        step.ok(
            "qcluster started, one poller loop queued", f"{loop_seconds:.0f} s, pid {worker.pid}"
        )

        def requests_since(since: float) -> list:
            rows = httpx.get(control_url + "requests?action=getStatus", timeout=30).json()
            return [row for row in rows if row[0] >= since]

        polling_since = time.time()
        if not wait_until(lambda: len(requests_since(polling_since)) >= 20, timeout=120):
            raise RuntimeError("the poller did not start polling the provider within 120 s")
        step.ok("the poller polls the provider", f"warming up for {WARM_UP:g} s")
        time.sleep(WARM_UP)

        a_start = time.time()
        time.sleep(SECONDS)
        a_end = time.time()
        run_a = provider_rate(requests_since(a_start), a_start, a_end)
        step.ok("run A (no bots)", f"{run_a['rate']:.2f} provider getStatus/s")

        wrk(lua_file, web.url, BOTS_WARM_UP, CONNECTIONS)
        cpu_before, machine_before = group_cpu_seconds(), machine_cpu_seconds()
        b_start = time.time()
        bots = wrk(lua_file, web.url, SECONDS, CONNECTIONS)
        b_end = time.time()
        cpu_after, machine_after = group_cpu_seconds(), machine_cpu_seconds()
        run_b = provider_rate(requests_since(b_start), b_start, b_end)
        step.ok("run B (bots)", f"{bots['requests']} getStatus answered by the gateway")
    finally:
        for path in (key_file, tokens_file, lua_file):
            path.unlink(missing_ok=True)

    cpu = {
        process.name: (cpu_after.get(process.pid, 0.0) - cpu_before.get(process.pid, 0.0))
        for process in stack.processes
    }
    cpu["wrk (bots)"] = bots["cpu"]
    machine = machine_after - machine_before
    report(bots, run_a, run_b, cpu, machine, b_end - b_start, len(tokens))


def provider_rate(rows: list, start: float, end: float) -> dict:
    inside = [row for row in rows if start <= row[0] < end]
    return {
        "count": len(inside),
        "rate": len(inside) / (end - start),
        "activations": len({row[2] for row in inside}),
    }


def wrk(lua_file: Path, base_url: str, seconds: float, connections: int) -> dict:
    """Run wrk with the bots' script for `seconds`; its numbers (and its CPU seconds)."""
    argv = [
        *("wrk", "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{seconds:g}s"),
        *("--timeout", "5s", "-s", str(lua_file), base_url + GATEWAY_PATH),
    ]
    started = os.times()
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=False, cwd=ROOT
    )
    ended = os.times()
    if result.returncode != 0 or "BENCH " not in result.stdout:
        raise RuntimeError(f"wrk exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH "))
    numbers = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    samples = [
        x[len("BENCH_SAMPLE ") :]
        for x in result.stdout.splitlines()
        if x.startswith("BENCH_SAMPLE ")
    ]
    numbers["samples"] = [s for s in samples if s.strip()]
    numbers["cpu"] = (ended.children_user + ended.children_system) - (
        started.children_user + started.children_system
    )
    return numbers


def bots_script(tokens: list[dict]) -> str:
    """wrk's Lua: each request a random token, and a random id among its member's activations;
    answers counted per thread, gathered in done()."""
    table = ",\n".join(
        f'  {{secret = "{t["secret"]}", ids = {{{", ".join(str(i) for i in t["ids"])}}}}}'
        for t in tokens
    )
    return f"""-- Written by tests/benchmarks/bench_gateway.py: holds secrets, deleted after the run
local tokens = {{
{table}
}}
local headers = {{
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["X-Forwarded-Proto"] = "https",
}}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  math.randomseed(number * 7919 + os.time())
  ok, bad, limited, sample = 0, 0, 0, ""
end

function request()
  local t = tokens[math.random(#tokens)]
  local id = t.ids[math.random(#t.ids)]
  return wrk.format("POST", nil, headers, "api_key=" .. t.secret .. "&action=getStatus&id=" .. id)
end

function response(status, headers, body)
  if status == 200 and body == "{EXPECTED}" then
    ok = ok + 1
  else
    bad = bad + 1
    if status == 429 then limited = limited + 1 end
    if sample == "" then
      sample = status .. " " .. string.gsub(string.sub(body or "", 1, 80), "%s+", " ")
    end
  end
end

function done(summary, latency, requests)
  local ok, bad, limited = 0, 0, 0
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("ok")
    bad = bad + thread:get("bad")
    limited = limited + thread:get("limited")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d ok=%d bad=%d limited=%d connect=%d read=%d write=%d "
      .. "status=%d timeout=%d p50=%d p95=%d p99=%d max=%d\\n",
    summary.requests, summary.duration, ok, bad, limited, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
  for _, thread in ipairs(threads) do
    io.write("BENCH_SAMPLE " .. thread:get("sample") .. "\\n")
  end
end
"""


def report(bots, run_a, run_b, cpu, machine, seconds, token_count) -> None:
    duration = bots["duration_us"] / 1e6
    throughput = bots["ok"] / duration  # answered as expected
    socket_errors = sum(bots[k] for k in ("connect", "read", "write", "timeout"))
    errors = bots["bad"] + socket_errors
    p50, p95, p99 = (bots[k] / 1000 for k in ("p50", "p95", "p99"))
    diff = (run_b["rate"] - run_a["rate"]) / run_a["rate"] * 100 if run_a["rate"] else float("nan")

    def verdict(met: bool) -> str:
        return "PASS" if met else "MISS"

    print(
        f"\n{ACTIVATIONS} open activations of one team on the sandbox, provider budget "
        f"{PROVIDER_RATE:g} requests/s; gunicorn {os.environ.get('WEB_CONCURRENCY', '2')} "
        f"workers x 4 threads; bots: wrk, "
        f"{CONNECTIONS} connections, {token_count} tokens, POST getStatus, {SECONDS:g} s per run; "
        f"GATEWAY_REQUESTS_PER_SECOND={GATEWAY_RATE} (per token) so the limit refuses no bot"
    )
    print(f"  {'':<32}{'run A (no bots)':>16}{'run B (bots)':>16}   {'target':<18}")
    print(
        f"  {'getStatus/s (STATUS_WAIT_CODE)':<32}{'-':>16}{throughput:>16.1f}   "
        f"{f'>= {TARGET_RPS:g}':<18}{verdict(throughput >= TARGET_RPS)}"
    )
    print(f"  {'latency p50':<32}{'-':>16}{p50:>13.1f} ms")
    print(
        f"  {'latency p95':<32}{'-':>16}{p95:>13.1f} ms   "
        f"{f'< {TARGET_P95_MS:g} ms':<18}{verdict(p95 < TARGET_P95_MS)}"
    )
    print(f"  {'latency p99':<32}{'-':>16}{p99:>13.1f} ms")
    print(
        f"  {'errors':<32}{'-':>16}{errors:>16}   {'0':<18}{verdict(errors == 0)}"
        f"  ({bots['requests']} answers: {bots['ok']} {EXPECTED}, {bots['bad']} other "
        f"({bots['limited']} HTTP 429), {socket_errors} socket errors/timeouts)"
    )
    print(
        f"  {'provider getStatus/s':<32}{run_a['rate']:>16.2f}{run_b['rate']:>16.2f}   "
        f"{f'within {TARGET_PROVIDER_PERCENT:g} %':<18}"
        f"{verdict(abs(diff) <= TARGET_PROVIDER_PERCENT)}  ({diff:+.1f} %)"
    )
    print(
        f"  {'activations polled':<32}{run_a['activations']:>16}{run_b['activations']:>16}"
        f"   (provider requests: {run_a['count']} and {run_b['count']})"
    )
    for sample in bots["samples"][:3]:
        print(f"  first other answer: {sample}")
    used = ", ".join(f"{name} {seconds_ / seconds:.2f}" for name, seconds_ in cpu.items())
    print(
        f"  CPU during run B (cores): {used}; whole machine {machine / seconds:.2f} of "
        f"{os.cpu_count()} (PostgreSQL, Redis and the rest: "
        f"{(machine - sum(cpu.values())) / seconds:.2f})",
        flush=True,
    )


# --- Seeding, run in the stack's environment (python tests/benchmarks/bench_gateway.py seed) --


def seed(argv: list[str]) -> None:
    """Tokens for the seeded members, and activations up to --activations: bought at the
    sandbox (getNumber with the team's key) and stored as copies of the members' own."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--members", required=True, help="scripts/seed_members.py's --out")
    parser.add_argument("--activations", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from datetime import timedelta

    import httpx
    from django.conf import settings
    from django.utils import timezone

    from activations.models import Activation
    from dashboard.models import Membership
    from dashboard.tokens import create_token

    key = Path(args.key_file).read_text().strip()
    members = json.loads(Path(args.members).read_text())
    bought = list(
        Activation.objects.filter(pk__in=[m["activation"] for m in members])
        .select_related("provider", "service", "country", "operator")
        .order_by("pk")
    )
    ids: dict[int, list[int]] = {a.user_id: [a.pk] for a in bought}
    rows = []
    with httpx.Client(timeout=30) as client:
        for n in range(args.activations - len(bought)):
            like = bought[n % len(bought)]
            answer = client.get(
                like.provider.handler_url,
                params={
                    "api_key": key,
                    "action": "getNumber",
                    "service": like.service.code,
                    "country": like.country.external_id,
                    "operator": like.operator.code,
                    "lang": "en",
                },
            ).text
            if not answer.startswith("ACCESS_NUMBER:"):
                raise SystemExit(f"the sandbox sold no number: {answer[:80]}")
            _, provider_id, phone = answer.split(":")
            now = timezone.now()
            rows.append(
                Activation(
                    team_id=like.team_id,
                    user_id=like.user_id,
                    account_id=like.account_id,
                    provider=like.provider,
                    service=like.service,
                    country=like.country,
                    operator=like.operator,
                    phone=phone,
                    provider_activation_id=provider_id,
                    price=like.price,
                    created_at=now,
                    updated_at=now,
                    next_poll_at=now,
                    expires_at=now + timedelta(minutes=settings.ACTIVATION_LIFETIME_MINUTES),
                )
            )
    for activation in Activation.objects.bulk_create(rows):
        ids[activation.user_id].append(activation.pk)
    tokens = []
    for membership in Membership.objects.filter(user_id__in=ids, team_id=bought[0].team_id):
        new = create_token(acting=membership, name="bench bots")
        tokens.append({"secret": new.secret, "ids": ids[membership.user_id]})
    Path(args.out).write_text(json.dumps(tokens))
    print(
        f"{sum(len(v) for v in ids.values())} open activations for {len(tokens)} members "
        f"({len(rows)} bought at the sandbox directly), a token each"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        seed(sys.argv[2:])
    else:
        main()

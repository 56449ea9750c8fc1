"""`make prod-smoke`: README.md "Production run on one machine", followed step by step.

Boots the production stack on loopback (PostgreSQL, Redis, `DJANGO_ENV=production`, the
Procfile's gunicorn and qcluster lines, the standalone sandbox provider), then does what an
operator and a team owner do: create the owner, add the provider and the team in admin, sign
in, attach the sandbox key, sync the catalog, buy a number, and watch its code appear on the
activation page (stored by the real qcluster poller). Prints each step with its result and
exits 0 only if every check passed. Stops every process it started, whatever happens.
"""

from __future__ import annotations

import re
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import browse
import httpx
from stack import Stack, Step, run_checks, wait_until

from provider.client import ProviderClient, StatusState

OWNER = "owner"
TEAM = "acme"
PROVIDER = "Sandbox (standalone)"
CODE_TIMEOUT = 120.0  # the poller starts at the scheduler's first tick (~30 s), then 3 s polls


def main() -> int:
    step = Step()
    api_key = secrets.token_hex(16)
    password = secrets.token_urlsafe(16)
    stack = Stack("smoke", redis_db=11)
    return run_checks(step, "prod-smoke", stack, lambda stack: run(stack, step, api_key, password))


def run(stack: Stack, step: Step, api_key: str, password: str) -> None:
    stack.prepare(step, always_collect=True)
    out = stack.manage("check", "--deploy", "--fail-level", "WARNING")
    step.ok("manage.py check --deploy", out.strip().splitlines()[-1])

    sandbox, handler_url = stack.start_sandbox_provider(
        "--api-key", api_key, "--code-delay", "2", "--balance", "100"
    )
    step.ok("sandbox provider serves", handler_url)
    web = stack.start_web()
    step.ok("gunicorn (Procfile web) answers", web.url)
    worker = stack.start_worker()
    step.ok("qcluster (Procfile worker) started", f"pid {worker.pid}")

    stack.manage(
        "createsuperuser",
        "--no-input",
        env={
            "DJANGO_SUPERUSER_USERNAME": OWNER,
            "DJANGO_SUPERUSER_EMAIL": "owner@example.org",
            "DJANGO_SUPERUSER_PASSWORD": password,
        },
    )
    step.ok("createsuperuser --no-input", OWNER)

    session = browse.Session(web.url)
    try:
        anonymous = session.get("/")
        step.check(
            anonymous.status_code == 302 and "/accounts/login/" in anonymous.headers["location"],
            "anonymous visitor is sent to sign-in",
            anonymous.headers.get("location", str(anonymous.status_code)),
        )
        plain = httpx.get(f"{web.url}/accounts/login/", timeout=10)
        step.check(
            plain.status_code == 301 and plain.headers["location"].startswith("https://"),
            "plain HTTP without the proxy header is redirected to HTTPS",
        )
        session.sign_in(OWNER, password)
        step.check(
            {"sessionid", "csrftoken"} <= session.secure_cookies,
            "signed in; the session and CSRF cookies are Secure",
        )

        browse.add_provider(session, PROVIDER, handler_url, rate=200)
        step.ok("admin: provider added", f"{PROVIDER} at {handler_url}")
        browse.add_team(session, "Acme", TEAM, OWNER)
        step.ok("admin: team and owner membership added", TEAM)

        home = session.page("/")
        step.check(f"/t/{TEAM}/" in str(home.url), "home page opens the team", str(home.url))
        css = re.search(r'href="(/static/[^"]+\.css)"', home.text)
        if step.check(bool(css), "page links hashed static files (collectstatic manifest)"):
            asset = session.get(css.group(1))
            step.check(
                asset.status_code == 200 and "max-age" in asset.headers.get("cache-control", ""),
                "whitenoise serves the stylesheet with a cache lifetime",
                f"{css.group(1)} {asset.status_code} {asset.headers.get('cache-control')}",
            )
        step.check(
            "unsafe-inline" not in home.headers.get("content-security-policy", "script-src"),
            "Content-Security-Policy header without unsafe-inline",
        )

        accounts = browse.attach_key(session, TEAM, PROVIDER, api_key)
        step.check(
            api_key[-4:] in accounts.text and api_key not in accounts.text,
            "provider key attached (shown masked, never whole)",
        )
        stored = stack.sql("SELECT key_ciphertext FROM activations_provideraccount")
        step.check(len(stored) == 1 and api_key not in stored[0][0], "key stored encrypted at rest")

        out = stack.manage("sync_catalog", "--provider", PROVIDER)
        counts = dict(re.findall(r"(\w+)=(\d+)", out))
        step.check(
            int(counts.get("offers", 0)) > 0 and int(counts.get("errors", 1)) == 0,
            "manage.py sync_catalog",
            out.strip().splitlines()[0],
        )
        catalog = session.page(f"/t/{TEAM}/catalog/?q=Telegram")
        step.check("Telegram" in catalog.text, "catalog page lists the synced services")

        bought = browse.buy(session, TEAM, "tg", "Russia")
        step.check(bought.response.status_code == 200, "bought a number", bought.path)
        row = stack.sql(
            "SELECT provider_activation_id, phone, state FROM activations_activation WHERE id=%s",
            (bought.activation_id,),
        )
        provider_id, phone, _state = row[0]
        step.check(phone in bought.response.text, "activation page shows the phone", phone)

        with ProviderClient(handler_url, api_key) as client:
            status = wait_until(
                lambda: (s := client.get_status(provider_id)).state == StatusState.OK and s,
                timeout=15,
            )
        step.check(status is not None, "the provider has a code", f"activation {provider_id}")
        code = status.code if status else "?"
        waited = browse.wait_for_text(session, bought.path, code, CODE_TIMEOUT)
        step.check(
            waited is not None,
            "the code appears in the page's live partial (stored by the qcluster poller)",
            f"after {waited:.1f} s" if waited is not None else f"not within {CODE_TIMEOUT:g} s",
        )
        page = session.page(bought.path)
        title = re.search(r"<title>(.*?)</title>", page.text, re.S)
        step.check(
            code in page.text and bool(title) and code in title.group(1),
            "a full reload shows the code, in the title too",
        )
        beat = stack.sql("SELECT last_seen_at FROM activations_workerheartbeat")
        step.check(
            bool(beat), "the poller's heartbeat is recorded", str(beat[0][0]) if beat else ""
        )
        audited = stack.sql(
            "SELECT count(*) FROM activations_auditevent WHERE action = 'getNumber'"
        )[0][0]
        step.check(audited == 1, "the purchase is in the audit log", f"{audited} getNumber")
        everything = " ".join(
            str(r) for r in stack.sql("SELECT params, answer FROM activations_auditevent")
        )
        step.check(api_key not in everything, "no audit row holds the key")
    finally:
        session.close()

    for process in (worker, web.process, sandbox):
        started = time.monotonic()
        process.stop(timeout=20)
        step.check(
            not process.alive(),
            f"{process.name} stopped",
            f"exit {process.popen.returncode} in {time.monotonic() - started:.1f} s",
        )
    logs = " ".join(p.log_path.read_text(errors="replace") for p in (worker, web.process))
    step.check(api_key not in logs, "no log line holds the key")
    step.check("Traceback" not in logs, "no traceback in the web or worker logs")


if __name__ == "__main__":
    sys.exit(main())

"""`make bench BENCH=catalog_pages`: the catalog pages with three full sandbox catalogs.

Three providers each list the sandbox's whole catalog (110 countries, 307 country/operator
pairs, 224 services: 68,768 offers each, 206,304 in all, the same combinations at different
prices and stock), written with bulk inserts rather than a sync. The team holds a key at two
of them. Each page is requested through Django's test client as a member of the team, one
warm-up then RUNS requests, and its median time is printed beside the target (300 ms): the
whole catalog by price (pages 1 and 30) and by stock, filtered by a service name, a country,
with sold-out offers too (by default the catalog shows offers in stock only), the htmx
fragment, and a service's page (Telegram across the three providers).

Then the team pages that read the catalog and the team's history (the home page with its usual
purchases, the buy page empty and with Telegram in Russia chosen, the activations list, the
audit log), after HISTORY numbers bought over the last 60 days, each with its audit row and
provider call, requested as the team's owner; with each page's query count.

Runs once on SQLite (a throwaway database file) and once on PostgreSQL (a throwaway
`test_bench_catalog_pages` on the server of BENCH_DATABASE_URL, else of DATABASE_URL when
that is PostgreSQL, else postgres://postgres@127.0.0.1:5432/), each in a child process so
that each gets its own settings. PostgreSQL not reachable: its half says so and is skipped.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/bench_catalog_pages"
PROVIDERS = ("Sandbox A", "Sandbox B", "Sandbox C")
RUNS = 7
TARGET_MS = 300
HISTORY = 2000
TEAM_PAGES = [
    ("home (usual purchases, balances, budget)", "", False),
    ("buy, nothing chosen", "buy/", False),
    ("buy, Telegram in Russia chosen", "buy/?service=tg&country=0&operator=any", False),
    ("activations list", "activations/", False),
    ("audit log", "audit/", False),
]
PAGES = [
    ("catalog by price, page 1", "", False),
    ("catalog by price, page 30", "?sort=price&page=30", False),
    ("catalog by stock", "?sort=-quantity", False),
    ("catalog, price highest first", "?sort=-price", False),
    ("search 'tele'", "?q=tele", False),
    ("one country (Russia)", "?country=0", False),
    ("with sold-out offers too", "?sold_out=on", False),
    ("htmx fragment, page 2", "?page=2", True),
]


def postgres_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(url)._replace(path="/bench_catalog_pages"))
    return DEFAULT_POSTGRES


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{folder}/bench.sqlite3"
        for url in (sqlite, postgres_url()):
            env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="dashboard.settings")
            subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.bench_catalog_pages", "--child"],
                cwd=ROOT,
                env=env,
                check=True,
            )


# The child process ------------------------------------------------------------------------


def child() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import OperationalError, connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    settings.DEBUG = False
    old_name = connection.settings_dict["NAME"]
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    except OperationalError as error:
        print(f"{connection.vendor}: skipped, the database is not reachable ({error})")
        return
    try:
        started = time.perf_counter()
        team_slug, member = fill()
        filled = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # what autovacuum does soon after a sync
        timings = measure(team_slug, member)
        fill_history(team_slug, member)
        timings |= measure_team_pages(team_slug, member)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    report(connection.vendor, filled, timings)


def fill():
    """Three full sandbox catalogs at prices of their own, a team with keys at two of them."""
    from decimal import Decimal

    from django.contrib.auth.models import User

    from catalog.models import Country, Offer, Operator, Provider, Service, SyncRun
    from dashboard.models import Membership, Role, Team
    from provider.sandbox.annexes import COUNTRIES, SERVICES
    from provider.sandbox.catalog import catalog_offer
    from tests.fixtures.activations import make_account

    team = Team.objects.create(name="Bench team", slug="bench-team")
    member = User.objects.create_user("bench-member", "member@example.org", "-")
    Membership.objects.create(team=team, user=member, role=Role.OWNER)  # sees every page
    catalog = [
        (country, operator, service, catalog_offer(service.id, country.id, operator))
        for country in COUNTRIES
        for operator in country.operators
        for service in SERVICES
    ]
    for index, name in enumerate(PROVIDERS):
        provider = Provider.objects.create(name=name, handler_url="http://127.0.0.1:9/h")
        countries = {
            c.external_id: c
            for c in Country.objects.bulk_create(
                Country(provider=provider, external_id=c.id, name=c.name) for c in COUNTRIES
            )
        }
        operators = {
            (o.country.external_id, o.code): o
            for o in Operator.objects.bulk_create(
                Operator(country=countries[c.id], code=code)
                for c in COUNTRIES
                for code in c.operators
            )
        }
        services = {
            s.code: s
            for s in Service.objects.bulk_create(
                Service(provider=provider, code=s.id, name=s.name) for s in SERVICES
            )
        }
        # Each provider's prices differ from the sandbox's by a few percent, some stock too.
        Offer.objects.bulk_create(
            (
                Offer(
                    provider=provider,
                    country=countries[country.id],
                    operator=operators[country.id, operator],
                    service=services[service.id],
                    price=(offer.price * (90 + (row * 7 + index * 13) % 21) / 100).quantize(
                        Decimal("0.01")
                    ),
                    quantity=offer.quantity if (row + index) % 9 else 0,
                )
                for row, (country, operator, service, offer) in enumerate(catalog)
            ),
            batch_size=5000,
        )
        SyncRun.objects.create(provider=provider, offers=len(catalog), finished_at=_now())
        if index < 2:
            make_account(team, provider)
    return team.slug, member


def _now():
    from django.utils import timezone

    return timezone.now()


def fill_history(team_slug: str, member) -> None:
    """HISTORY numbers over the last 60 days (most of them a few usual combinations, the rest
    spread over the catalog), each with its "bought" action and its getNumber call."""
    from datetime import timedelta

    from django.utils import timezone

    from activations.models import Activation
    from catalog.models import Offer, ProviderAccount
    from dashboard.models import AuditEvent

    accounts = list(ProviderAccount.objects.filter(team__slug=team_slug).select_related("team"))
    usual = list(Offer.objects.filter(service__code__in=["tg", "wa", "vk"], country__external_id=0))
    spread = list(Offer.objects.filter(provider=accounts[0].provider)[::97])
    now = timezone.now()
    numbers, events = [], []
    for i in range(HISTORY):
        account = accounts[i % len(accounts)]
        offers = usual if i % 5 else spread
        offer = offers[i % len(offers)]
        bought = now - timedelta(minutes=43 * i % (60 * 24 * 60))
        numbers.append(
            Activation(
                team=account.team,
                user=member,
                account=account,
                provider=offer.provider,
                service=offer.service,
                country=offer.country,
                operator=offer.operator,
                phone=f"7900{i:07d}",
                provider_activation_id=str(i),
                price=offer.price,
                state="completed" if i % 4 else "cancelled",
                codes=["12345"] if i % 4 else [],
                created_at=bought,
                updated_at=bought,
                expires_at=bought + timedelta(minutes=20),
                next_poll_at=bought,
            )
        )
    numbers = Activation.objects.bulk_create(numbers, batch_size=1000)
    for number in numbers:
        for kind, action in (("call", "getNumber"), ("action", "bought")):
            events.append(
                AuditEvent(
                    created_at=number.created_at,
                    kind=kind,
                    action=action,
                    team=number.team,
                    user=member,
                    object_type="activations.activation",
                    object_id=str(number.pk),
                    answer=f"ACCESS_NUMBER:{number.provider_activation_id}:{number.phone}",
                    outcome="ok",
                )
            )
    AuditEvent.objects.bulk_create(events, batch_size=1000)


def measure_team_pages(team_slug: str, member) -> dict[str, float]:
    """Median milliseconds and the query count of each team page."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(member)
    timings = {}
    for label, path, _ in TEAM_PAGES:
        samples = []
        for run in range(RUNS + 1):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(f"/t/{team_slug}/{path}")
                elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")
            if run:
                samples.append(elapsed)
        timings[f"{label}, {len(queries)} queries"] = statistics.median(samples) * 1000
    return timings


def measure(team_slug: str, member) -> dict[str, float]:
    """Median milliseconds of each page, after one warm-up request."""
    from django.test import Client

    from catalog.models import Service

    client = Client()
    client.force_login(member)
    base = f"/t/{team_slug}/catalog/"
    telegram = Service.objects.filter(code="tg").order_by("pk").first()
    pages = [(label, base + query, htmx) for label, query, htmx in PAGES]
    pages.append(("service page (Telegram)", f"{base}services/{telegram.pk}/", False))
    timings = {}
    for label, url, htmx in pages:
        headers = {"HX-Request": "true"} if htmx else {}
        samples = []
        for run in range(RUNS + 1):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {response.status_code}")
            if run:
                samples.append(elapsed)
        timings[label] = statistics.median(samples) * 1000
    return timings


def report(vendor: str, filled: float, timings: dict[str, float]) -> None:
    print(
        f"{vendor}: {len(PROVIDERS)} full sandbox catalogs (206,304 offers), written in "
        f"{filled:.1f} s; each page's median of {RUNS} requests, ms (target {TARGET_MS}); "
        f"the team pages after {HISTORY} numbers:"
    )
    for label, ms in timings.items():
        verdict = "ok" if ms < TARGET_MS else "MISS"
        print(f"  {label:52} {ms:8.1f}  {verdict}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        main()

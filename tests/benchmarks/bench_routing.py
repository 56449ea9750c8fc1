"""`make bench BENCH=routing`: what routing gets a team from three providers of different
reliability, under each policy, side by side in one run.

Three sandbox providers, each a `Market` (provider.sandbox.market) of its own seed, served on
loopback and listing Russia with operator "any" (their catalogs synced as the product syncs
them). Their prices rise as their reliability does, so the cheapest is the least reliable:

    Cheap   prices x0.7, 30 % of numbers never get a code, the others after a median of 45 s
    Middle  prices x1.0, 12 % never, median 20 s
    Steady  prices x1.3,  3 % never, median 8 s

One team holds a key at all three and buys Telegram numbers in Russia (`Want("tg", 0)`):

1. warm-up: WARM_UP numbers at each provider (its offer picked first), until each has a code or
   has expired: the team's own record, as routing reads it (`activations.routing.records`);
2. PURCHASES under *most reliable* (the team's policy), then under *cheapest*, then *random*
   (a random candidate picked as `first`, cheapest order behind it), paced at RATE a second.

The product's poller (`activations.poller.Poller`) polls every activation the whole time, so a
code's time is `first_code_at` as the product stores it; a number without a code expires at
the end of its lifetime (LIFETIME_MARKET seconds here) and is cancelled at the provider, which
refunds it, as in the product. Spend is the price of every number not refunded (cancelled and
expired ones cost nothing). "(at provider)" is the median time until the code reached the
provider (the sandbox records it): the difference is the polling's share.

Market time: the markets' delays, the poll interval and the lifetime are scaled by TIME_SCALE
(0.1: ten market seconds pass in one second), so the run takes about five minutes; times are
reported in market seconds. The database is a throw-away test database (a SQLite file, or
PostgreSQL with DATABASE_URL).

Target: *most reliable* has the highest share with a code and the lowest median time to code.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from provider.sandbox.annexes import COUNTRIES_BY_ID
from provider.sandbox.market import Market
from provider.sandbox.rules import Sandbox, SandboxServer
from tests.benchmarks.throwaway import throwaway_database

TIME_SCALE = 0.1
POLL_INTERVAL_MARKET = 3.0  # the product's POLL_INTERVAL
LIFETIME_MARKET = 180.0
PURCHASES = 600
WARM_UP = 20
RATE = 8.0  # purchases per second (real time)
SEED = 20261201
SERVICE, COUNTRY = "tg", 0
MARKETS = {
    "Cheap": Market(seed=11, price_factor=0.7, never_code_share=0.30, median_delay=45.0),
    "Middle": Market(seed=12, price_factor=1.0, never_code_share=0.12, median_delay=20.0),
    "Steady": Market(seed=13, price_factor=1.3, never_code_share=0.03, median_delay=8.0),
}


@dataclass
class Phase:
    label: str
    activation_ids: list[int] = dataclasses.field(default_factory=list)
    refused: Counter = dataclasses.field(default_factory=Counter)


@dataclass
class Measured:
    label: str
    bought: int
    with_code: int
    median: float  # market seconds, from purchase to first_code_at (as the product stores it)
    median_at_provider: float  # the same to the moment the code reached the provider
    spend: Decimal
    where: Counter

    @property
    def share(self) -> float:
        return self.with_code / self.bought if self.bought else 0.0

    @property
    def spend_per_code(self) -> Decimal:
        return self.spend / self.with_code if self.with_code else Decimal("NaN")


# --- The providers ------------------------------------------------------------------------------


def serve_markets() -> dict[str, SandboxServer]:
    """One sandbox per market, scaled to bench time, listing Russia with operator "any"."""
    russia = dataclasses.replace(COUNTRIES_BY_ID[COUNTRY], operators=("any",))
    servers = {}
    for name, market in MARKETS.items():
        # With no variation, the market's share and median are exactly its numbers' own.
        scaled = dataclasses.replace(market, variation=0.0, time_scale=TIME_SCALE)
        # The sandbox outlives the product's lifetime a little: the product closes it.
        sandbox = Sandbox(
            market=scaled, lifetime=LIFETIME_MARKET * TIME_SCALE + 5.0, countries=[russia]
        )
        servers[name] = SandboxServer(sandbox).start()
    return servers


def set_up_team(servers: dict[str, SandboxServer]):
    """The team, its owner, a key at every provider and their synced catalogs."""
    from django.contrib.auth.models import User

    from catalog.models import Provider, ProviderAccount
    from catalog.sync.run import sync_provider
    from dashboard.encryption import encrypt_key, last4
    from dashboard.models import Membership, Role, Team

    team = Team.objects.create(name="Routing bench", slug="routing-bench")
    user = User.objects.create_user("routing-bench")
    acting = Membership.objects.create(team=team, user=user, role=Role.OWNER)
    for name, server in servers.items():
        key = f"bench-{secrets.token_hex(8)}"
        server.sandbox.add_account(key, Decimal(10**7))
        provider = Provider.objects.create(
            name=f"Sandbox {name}", handler_url=server.url, max_requests_per_second=1000
        )
        ProviderAccount.objects.create(
            team=team, provider=provider, key_ciphertext=encrypt_key(key), key_last4=last4(key)
        )
        run = sync_provider(provider)
        if run is None or run.error_count:
            raise RuntimeError(f"The catalog sync of {provider.name} failed.")
    return acting


# --- Buying -------------------------------------------------------------------------------------


def buy(acting, phase: Phase, n: int, pick=lambda: None) -> None:
    """`n` routed purchases, RATE a second; `pick()` gives the offer to try first, if any."""
    from activations.routing import Want, buy_routed

    want = Want(SERVICE, COUNTRY)
    next_at = time.monotonic()
    for _ in range(n):
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1 / RATE
        purchase = buy_routed(
            acting=acting, want=want, request_token=secrets.token_hex(16), first=pick()
        )
        if purchase.ok:
            phase.activation_ids.append(purchase.activation.pk)
        else:
            phase.refused[purchase.answer or purchase.message] += 1


def set_policy(team, policy: str) -> None:
    from activations.models import TeamRouting

    TeamRouting.objects.update_or_create(team=team, defaults={"policy": policy})


def offers_by_provider(team) -> dict[str, int]:
    from activations.routing import Want, candidates

    return {c.offer.provider.name: c.offer.pk for c in candidates(team, Want(SERVICE, COUNTRY))}


def random_pick(team):
    from activations.routing import Want, candidates

    rng = random.Random(SEED)
    return lambda: rng.choice(candidates(team, Want(SERVICE, COUNTRY))).offer.pk


def wait_until_finished(activation_ids: list[int], timeout: float) -> None:
    """Until every activation has a code or is closed (a number without a code expires)."""
    from activations.models import Activation
    from activations.states import CLOSED_STATES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = (
            Activation.objects.filter(pk__in=activation_ids, first_code_at__isnull=True)
            .exclude(state__in=CLOSED_STATES)
            .count()
        )
        if not waiting:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{waiting} activations still waiting after {timeout:.0f} s.")


# --- Measuring ----------------------------------------------------------------------------------


def measure(phase: Phase, servers: dict[str, SandboxServer]) -> Measured:
    from activations.models import Activation

    rows = Activation.objects.filter(pk__in=phase.activation_ids).values_list(
        "provider__name", "provider_activation_id", "price", "state", "created_at", "first_code_at"
    )
    delays, at_provider, spend, where = [], [], Decimal(0), Counter()
    for provider, provider_id, price, state, created_at, first_code_at in rows:
        name = provider.removeprefix("Sandbox ")
        where[name] += 1
        if state not in Activation.FREE_STATES:
            spend += price
        if first_code_at is not None:
            delays.append((first_code_at - created_at).total_seconds() / TIME_SCALE)
        sold = servers[name].sandbox.activation(provider_id)
        if sold.first_code_available_at is not None:
            at_provider.append((sold.first_code_available_at - sold.created_at) / TIME_SCALE)
    return Measured(
        label=phase.label,
        bought=len(rows),
        with_code=len(delays),
        median=_median(delays),
        median_at_provider=_median(at_provider),
        spend=spend,
        where=where,
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(rows: list[Measured]) -> bool:
    print(
        f"\n  {'policy':<15}{'bought':>7}{'with a code':>13}{'median to code':>16}"
        f"{'(at provider)':>15}{'spend':>11}{'per code':>10}  bought at"
    )
    for r in rows:
        where = ", ".join(f"{name} {r.where[name]}" for name in MARKETS if r.where[name])
        print(
            f"  {r.label:<15}{r.bought:>7}{r.share:>13.1%}{r.median:>15.1f}s"
            f"{r.median_at_provider:>14.1f}s{r.spend:>11.2f}{r.spend_per_code:>10.2f}  {where}"
        )
    reliable = rows[0]
    passed = all(reliable.share > r.share and reliable.median < r.median for r in rows[1:])
    print(
        "  target: most reliable has the highest share with a code and the lowest median "
        f"time to code: {'met' if passed else 'NOT MET'}",
        flush=True,
    )
    return passed


# --- Entry point --------------------------------------------------------------------------------


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    from activations.models import RoutingPolicy
    from activations.poller import Poller

    started = time.monotonic()
    with throwaway_database("bench-routing-") as vendor:
        lifetime_minutes = settings.ACTIVATION_LIFETIME_MINUTES
        settings.ACTIVATION_LIFETIME_MINUTES = LIFETIME_MARKET * TIME_SCALE / 60
        servers = serve_markets()
        poller = Poller(interval=POLL_INTERVAL_MARKET * TIME_SCALE)
        polling = threading.Thread(target=poller.run, args=(24 * 3600,), daemon=True)
        try:
            acting = set_up_team(servers)
            team = acting.team
            print_markets(vendor)
            polling.start()
            finish = LIFETIME_MARKET * TIME_SCALE + 60

            warm_up = Phase("warm-up")
            offers = offers_by_provider(team)
            for _ in range(WARM_UP):
                for offer in offers.values():
                    buy(acting, warm_up, 1, lambda offer=offer: offer)
            wait_until_finished(warm_up.activation_ids, finish)
            warmed = measure(warm_up, servers)
            print(
                f"warm-up: {warmed.bought} numbers, {warmed.share:.0%} with a code, median "
                f"{warmed.median:.1f} s",
                flush=True,
            )

            phases = [Phase("most reliable"), Phase("cheapest"), Phase("random")]
            set_policy(team, RoutingPolicy.RELIABLE)
            buy(acting, phases[0], PURCHASES)
            set_policy(team, RoutingPolicy.CHEAPEST)
            buy(acting, phases[1], PURCHASES)
            buy(acting, phases[2], PURCHASES, random_pick(team))
            wait_until_finished([i for p in phases for i in p.activation_ids], finish)
            for phase in phases:
                if phase.refused:
                    print(f"{phase.label}: not bought: {dict(phase.refused)}")
            report([measure(phase, servers) for phase in phases])
        finally:
            poller.stop()
            polling.join(30)
            for server in servers.values():
                server.stop()
            settings.ACTIVATION_LIFETIME_MINUTES = lifetime_minutes
        print(f"\n(bench_routing took {time.monotonic() - started:.0f} s)", flush=True)


def print_markets(vendor: str) -> None:
    from catalog.models import Offer

    prices = dict(
        Offer.objects.filter(
            service__code=SERVICE, country__external_id=COUNTRY, operator__code="any"
        ).values_list("provider__name", "price")
    )
    print(
        f"{PURCHASES} purchases per policy of {SERVICE} in country {COUNTRY} at {RATE:g}/s, "
        f"after a warm-up of {WARM_UP} at each provider; market time x{TIME_SCALE:g}, poll "
        f"interval {POLL_INTERVAL_MARKET:g} s, lifetime {LIFETIME_MARKET:g} s; database "
        f"{vendor}"
    )
    for name, market in MARKETS.items():
        print(
            f"  Sandbox {name:<7} price {prices[f'Sandbox {name}']:>6}: "
            f"{market.never_code_share:.0%} of numbers never get a code, the others after a "
            f"median of {market.median_delay:g} s",
            flush=True,
        )

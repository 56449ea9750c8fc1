"""A sandbox with a market: its seed's prices and stock, numbers that never get a code, and code
delays drawn per activation (provider.sandbox.market)."""

import dataclasses
import hashlib
import json
import re
import statistics
from decimal import Decimal
from io import StringIO
from unittest import mock

import httpx
import pytest
from django.core.management import CommandError, call_command

from catalog.sandbox_views import sandbox_mounts
from provider.sandbox.annexes import COUNTRIES, SERVICES
from provider.sandbox.catalog import CENT, catalog_offer
from provider.sandbox.market import Market
from provider.sandbox.rules import Sandbox, SandboxServer
from tests.provider.client_support import DOC_NUMBER
from tests.provider.test_sandbox import KEY, Clock, ask, buy

# The whole classic catalog (every annex country, operator and service, 68,768 offers) as it
# was before markets existed: seed 0 must keep every existing test, demo and bench as it was.
CLASSIC_CATALOG_SHA256 = "882e0ccc7582ffd48a70e1fd961a5bf60f88cb6e8122d94ec39afdea8271281b"
LIFETIME = 1200.0


def catalog_fingerprint(offer) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    for country in COUNTRIES:
        for operator in country.operators:
            for service in SERVICES:
                o = offer(service.id, country.id, operator)
                digest.update(
                    f"{service.id}|{country.id}|{operator}|{o.price}|{o.quantity};".encode()
                )
                count += 1
    return count, digest.hexdigest()


def market_sandbox(market: Market, clock: Clock) -> Sandbox:
    sandbox = Sandbox(market=market, lifetime=LIFETIME, clock=clock)
    sandbox.add_account(KEY, Decimal(10**6))
    return sandbox


def buy_many(sandbox: Sandbox, n: int, service="tg", operator="any") -> list[str]:
    return [buy(sandbox, service=service, operator=operator)[0] for _ in range(n)]


def test_seed_0_is_the_classic_catalog():
    assert catalog_fingerprint(Market(seed=0).offer) == (68_768, CLASSIC_CATALOG_SHA256)


def test_a_sandbox_without_a_market_is_unchanged():
    """The classic catalog, and every code after code_delay (the rest of the test suite relies
    on both)."""
    clock = Clock()
    sandbox = Sandbox(code_delay=5.0, lifetime=LIFETIME, clock=clock)
    sandbox.add_account(KEY, Decimal(10**6))
    assert sandbox.market is None
    assert sandbox.offer("tg", 0) == catalog_offer("tg", 0, "any")
    ids = buy_many(sandbox, 200)
    clock.now += 5.0
    assert all(ask(sandbox, "getStatus", id=i).startswith("STATUS_OK:") for i in ids)
    assert {sandbox.activation(i).first_code_available_at for i in ids} == {clock.now}


def test_each_seed_has_its_own_prices_and_stock():
    combos = [(s.id, c.id, "any") for s in SERVICES[:40] for c in COUNTRIES[:10]]
    seeded = [Market(seed=7).offer(*combo) for combo in combos]
    assert seeded == [Market(seed=7).offer(*combo) for combo in combos]
    classic = [catalog_offer(*combo) for combo in combos]
    both = [
        (a.price, b.price)
        for a, b in zip(seeded, classic, strict=True)
        if a.quantity and b.quantity
    ]
    assert sum(a != b for a, b in both) > 0.9 * len(both)
    assert all(Decimal("0.8") * b - CENT <= a <= Decimal("1.2") * b + CENT for a, b in both)
    stocked = [(a.quantity > 0, b.quantity > 0) for a, b in zip(seeded, classic, strict=True)]
    assert sum(a != b for a, b in stocked) > 0.05 * len(combos)  # each its own stock
    out_of_stock = [o for o in seeded if o.quantity == 0]
    assert 0 < len(out_of_stock) < len(seeded) / 4
    # Demos always have something to buy: every service in Russia with "any", in every market.
    assert all(Market(seed=7).offer(s.id, 0, "any").quantity > 0 for s in SERVICES)


def test_a_price_factor_makes_a_cheap_or_a_dear_provider():
    combos = [(s.id, 0, "any") for s in SERVICES]
    plain, cheap = Market(seed=7), Market(seed=7, price_factor=0.5)
    for combo in combos:
        price, halved = plain.offer(*combo).price, cheap.offer(*combo).price
        assert halved == max(CENT, (price / 2).quantize(CENT))
    assert cheap.offer("tg", 0, "any").quantity == plain.offer("tg", 0, "any").quantity


def test_the_sandbox_sells_at_its_markets_prices():
    sandbox = market_sandbox(Market(seed=7), Clock())
    data = json.loads(ask(sandbox, "getServicesAndCost", country="0", operator="any"))
    for item in data:
        offer = Market(seed=7).offer(item["id"], 0, "any")
        assert (Decimal(str(item["price"])), int(item["quantity"])) == (
            offer.price,
            offer.quantity,
        )
    sandbox.set_offer("tg", 0, price="3.30")  # an override still wins
    assert sandbox.offer("tg", 0).price == Decimal("3.30")


def test_outcomes_are_the_same_for_the_same_seed_and_activation_id():
    market, other = Market(seed=3), Market(seed=4)
    ids = range(1_000, 1_400)
    first = [market.code_delay("tg", 0, "any", i) for i in ids]
    assert first == [Market(seed=3).code_delay("tg", 0, "any", i) for i in ids]
    assert first != [other.code_delay("tg", 0, "any", i) for i in ids]
    assert None in first and any(delay is not None for delay in first)


def test_the_sandbox_times_each_code_as_its_market_draws_it():
    clock, market = Clock(), Market(seed=5, median_delay=20.0)
    sandbox = market_sandbox(market, clock)
    ids = buy_many(sandbox, 100)
    clock.now += LIFETIME - 1
    for activation_id in ids:
        activation = sandbox.activation(activation_id)
        drawn = market.code_delay("tg", 0, "any", int(activation_id))
        arrived = activation.first_code_available_at
        if drawn is None:
            assert arrived is None
        else:
            assert arrived - activation.created_at == pytest.approx(drawn)


@pytest.mark.parametrize(
    ("market", "service", "operator"),
    [
        (Market(seed=11, never_code_share=0.2, median_delay=30.0), "tg", "any"),
        (Market(seed=12, never_code_share=0.05, median_delay=8.0, spread=1.0), "wa", "megafon"),
    ],
)
def test_shares_without_a_code_and_median_delays_follow_the_market(market, service, operator):
    clock = Clock()
    sandbox = market_sandbox(market, clock)
    expected = market.reliability(service, 0, operator)
    ids = buy_many(sandbox, 3000, service, operator)
    start = clock.now
    clock.now += LIFETIME - 1  # every code that comes has come
    delays = [sandbox.activation(i).first_code_available_at for i in ids]
    never = sum(delay is None for delay in delays) / len(ids)
    assert never == pytest.approx(expected.never_code_share, abs=0.03)
    median = statistics.median(at - start for at in delays if at is not None)
    assert median == pytest.approx(expected.median_delay, rel=0.1)


def test_combinations_differ_within_the_variation_and_not_without_it():
    market = Market(seed=2, never_code_share=0.2, median_delay=10.0, variation=0.5)
    seen = [market.reliability(s.id, 0, "any") for s in SERVICES]
    shares = [r.never_code_share for r in seen]
    medians = [r.median_delay for r in seen]
    assert 0.1 <= min(shares) < max(shares) <= 0.3
    assert 10.0 * 0.6 <= min(medians) < max(medians) <= 10.0 * 1.66
    flat = Market(seed=2, never_code_share=0.2, median_delay=10.0, variation=0.0)
    assert {flat.reliability(s.id, 0, "any") for s in SERVICES} == {
        flat.reliability("tg", 0, "any")
    }


def test_time_scale_shrinks_every_delay_and_keeps_every_fate():
    market = Market(seed=9)
    fast = Market(seed=9, time_scale=0.01)
    for activation_id in range(300):
        slow_delay = market.code_delay("tg", 0, "any", activation_id)
        fast_delay = fast.code_delay("tg", 0, "any", activation_id)
        if slow_delay is None:
            assert fast_delay is None
        else:
            assert fast_delay == pytest.approx(slow_delay * 0.01)


def never_coming(sandbox: Sandbox, market: Market) -> str:
    """An activation bought from `sandbox` whose number never gets a code; the numbers bought
    on the way are cancelled (refunded), so that it is the only one open."""
    for _ in range(200):
        activation_id, _ = buy(sandbox)
        if market.code_delay("tg", 0, "any", int(activation_id)) is None:
            return activation_id
        assert ask(sandbox, "setStatus", id=activation_id, status="8") == "ACCESS_CANCEL"
    raise AssertionError("No number without a code in 200.")


def test_a_number_without_a_code_waits_until_its_lifetime_ends_and_is_refunded():
    clock, market = Clock(), Market(seed=1, never_code_share=0.5)
    sandbox = market_sandbox(market, clock)
    activation_id = never_coming(sandbox, market)
    clock.now += LIFETIME - 1
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_WAIT_CODE"
    before = sandbox.balance(KEY)
    clock.now += 1
    assert ask(sandbox, "getStatus", id=activation_id) == "STATUS_CANCEL"
    assert sandbox.activation(activation_id).expired
    assert sandbox.balance(KEY) == before + sandbox.activation(activation_id).price


def test_a_number_without_a_code_can_be_cancelled_for_a_refund():
    clock, market = Clock(), Market(seed=1, never_code_share=0.5)
    sandbox = market_sandbox(market, clock)
    activation_id = never_coming(sandbox, market)
    clock.now += 600
    before = sandbox.balance(KEY)
    assert ask(sandbox, "setStatus", id=activation_id, status="8") == "ACCESS_CANCEL"
    assert sandbox.balance(KEY) == before + sandbox.activation(activation_id).price


def test_answers_are_still_the_documents_literal_strings():
    clock = Clock()
    sandbox = market_sandbox(Market(seed=4, never_code_share=0.3), clock)
    numbers = [ask(sandbox, "getNumber", service="tg", country="0") for _ in range(60)]
    assert all(re.fullmatch(re.sub(r"\d+", r"\\d+", DOC_NUMBER), n) for n in numbers)
    ids = [n.split(":")[1] for n in numbers]
    assert {ask(sandbox, "getStatus", id=i) for i in ids} == {"STATUS_WAIT_CODE"}
    clock.now += 600
    statuses = [ask(sandbox, "getStatus", id=i) for i in ids]
    assert all(re.fullmatch(r"STATUS_WAIT_CODE|STATUS_OK:\d{6}", s) for s in statuses)
    assert {s[:9] for s in statuses} == {"STATUS_WA", "STATUS_OK"}
    got = next(i for i, s in zip(ids, statuses, strict=True) if s.startswith("STATUS_OK"))
    assert ask(sandbox, "setStatus", id=got, status="3") == "ACCESS_RETRY_GET"
    assert ask(sandbox, "getStatus", id=got) == "STATUS_WAIT_CODE"


@pytest.mark.parametrize(
    "wrong",
    [
        {"never_code_share": 1.5},
        {"never_code_share": -0.1},
        {"median_delay": -1},
        {"spread": -1},
        {"time_scale": 0},
        {"price_factor": 0},
    ],
)
def test_impossible_markets_are_refused(wrong):
    with pytest.raises(ValueError):
        Market(**wrong)


def serve_one_request(*options: str, params: dict) -> tuple[str, object]:
    """Run the sandbox_provider command with `options`, answer one request and stop (as with
    Ctrl+C); returns what it printed and the answer."""
    served = {}
    serve_forever = SandboxServer.serve_forever

    def one_request(server):
        with mock.patch.object(SandboxServer, "serve_forever", serve_forever):
            server.start()  # the command's `finally` stops it
        query = {"api_key": "market-cmd-key", "lang": "en", **params}
        served["answer"] = httpx.get(server.url, params=query, timeout=10)
        raise KeyboardInterrupt

    out = StringIO()
    with mock.patch.object(SandboxServer, "serve_forever", one_request):
        call_command(
            "sandbox_provider", "--port", "0", "--api-key", "market-cmd-key", *options, stdout=out
        )
    return out.getvalue(), served["answer"]


@pytest.mark.parametrize(
    ("options", "played", "changes"),
    [
        (["--seed", "42"], None, {"seed": 42}),
        (["--market", "Sandbox B"], "Sandbox B", {}),
        (
            ["--market", "Sandbox B", "--seed", "3", "--code-delay", "2"],
            "Sandbox B",
            {"seed": 3, "median_delay": 2.0},
        ),
    ],
)
def test_the_command_plays_a_market(options, played, changes):
    mounted = {mount.name: mount.market for mount in sandbox_mounts()}
    market = dataclasses.replace(mounted[played] if played else Market(), **changes)
    params = {"action": "getServicesAndCost", "country": "0", "operator": "any"}
    out, answer = serve_one_request(*options, params=params)
    prices = {row["id"]: Decimal(str(row["price"])) for row in answer.json()}
    assert prices == {s.id: market.offer(s.id, 0, "any").price for s in SERVICES}
    assert f"market seed {market.seed}" in out
    assert f"{market.never_code_share:.0%} of numbers never get a code" in out
    assert f"median of {market.median_delay:g} s" in out


def test_the_command_refuses_an_unknown_market():
    with pytest.raises(CommandError, match="Sandbox B"):
        call_command("sandbox_provider", "--port", "0", "--market", "Nowhere")

"""The catalog sync against a provider that answers what it likes (issue 12, finding 4): each
bad row or pair costs that row or pair, never the rest of the catalog, and the run and the
pages say so."""

import json
from datetime import timedelta
from decimal import Decimal
from functools import partial
from urllib.parse import parse_qsl

import httpx
import pytest
from django.db import IntegrityError, transaction

from catalog import upstream
from catalog.models import Country, Offer, PriceChange, Provider
from catalog.sync import fetch
from catalog.sync.run import sync_provider
from provider import client as protocol
from provider.client import MAX_RETRY_AFTER_SECONDS, Listing, RateLimited, ServiceOffer

KEY = "hostile-test-key-5678"
GOOD = {"id": "tg", "name": "Telegram", "price": "1.50", "quantity": 10}


class FakeProvider:
    """Answers the sync's requests with what the test sets: `countries` (a list) and
    `services[(country, operator)]` (a list of rows, or raw text)."""

    def __init__(self) -> None:
        self.countries: list = [{"id": 0, "name": "Russia", "operators": ["any"]}]
        self.services: dict[tuple[int, str], list | str] = {(0, "any"): [GOOD]}
        self.status = 200
        self.headers: dict[str, str] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = dict(request.url.params) | dict(parse_qsl(request.content.decode()))
        if params["action"] == "getCountryAndOperators":
            answer = self.countries
        else:
            answer = self.services[(int(params["country"]), params["operator"])]
        text = answer if isinstance(answer, str) else json.dumps(answer)
        return httpx.Response(self.status, text=text, headers=self.headers)


@pytest.fixture
def fake(db, settings, monkeypatch) -> FakeProvider:
    fake = FakeProvider()
    settings.SANDBOX_API_KEY = KEY
    client = partial(protocol.AsyncProviderClient, transport=httpx.MockTransport(fake))
    monkeypatch.setattr(upstream, "AsyncProviderClient", client)
    monkeypatch.setattr(fetch, "RETRY_DELAY", 0.001)
    return fake


@pytest.fixture
def hostile(fake) -> Provider:
    return Provider.objects.create(
        name="Hostile",
        handler_url="http://hostile.test/stubs/handler_api",
        is_sandbox=True,
        max_requests_per_second=1000,
    )


def stored(provider) -> set[tuple[int, str, str]]:
    return set(
        Offer.objects.filter(provider=provider, available=True).values_list(
            "country__external_id", "operator__code", "service__code"
        )
    )


BAD_ROWS = {
    "an absurd price": ({"price": 1e308}, "price"),
    "a price of 13 digits": ({"price": "1234567890123"}, "price"),
    "a negative quantity": ({"quantity": -5}, "quantity"),
    "a huge quantity": ({"quantity": 10**30}, "quantity"),
    "a 100 KB name": ({"name": "x" * 100_000}, "name"),
    "a NUL in the name": ({"name": "Vk\x00ontakte"}, "name"),
    "a lone surrogate in the name": ({"name": "Vk\ud800"}, "name"),
    "an over-long service id": ({"id": "v" * 40}, "id"),
}


@pytest.mark.parametrize("change", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_bad_row_is_left_out_and_recorded_and_the_rest_is_stored(fake, hostile, change):
    bad_row, field = change
    fake.countries = [{"id": 0, "name": "Russia", "operators": ["any", "mts"]}]
    fake.services = {
        (0, "any"): [GOOD, {"id": "vk", "name": "VK", "price": "2", "quantity": 3} | bad_row],
        (0, "mts"): [GOOD],
    }

    run = sync_provider(hostile)

    assert stored(hostile) == {(0, "any", "tg"), (0, "mts", "tg")}
    assert (run.offers, run.error_count) == (2, 1)
    [error] = run.errors
    assert (error["action"], error["country"], error["operator"]) == (
        "getServicesAndCost",
        0,
        "any",
    )
    assert field in error["error"]
    assert len(error["error"]) <= 300


BAD_COUNTRIES = {
    "a 100 KB name": {"id": 7, "name": "x" * 100_000, "operators": ["any"]},
    "a NUL in the name": {"id": 7, "name": "Atlan\x00tis", "operators": ["any"]},
    "a huge id": {"id": 10**30, "name": "Atlantis", "operators": ["any"]},
}


@pytest.mark.parametrize("bad", BAD_COUNTRIES.values(), ids=BAD_COUNTRIES.keys())
def test_a_bad_country_is_left_out_and_the_others_are_synced(fake, hostile, bad):
    fake.countries = [{"id": 0, "name": "Russia", "operators": ["any"]}, bad]
    fake.services[(bad["id"], "any")] = [GOOD]

    run = sync_provider(hostile)

    assert list(Country.objects.values_list("external_id", "name")) == [(0, "Russia")]
    assert stored(hostile) == {(0, "any", "tg")}
    assert run.error_count == 1
    assert run.errors[0]["action"] == "getCountryAndOperators"
    assert run.calls == 2  # the bad country's prices were not asked


def test_a_bad_operator_is_left_out_and_its_country_kept(fake, hostile):
    fake.countries = [{"id": 0, "name": "Russia", "operators": ["any", "o" * 100]}]

    run = sync_provider(hostile)

    assert stored(hostile) == {(0, "any", "tg")}
    assert run.error_count == 1
    assert "operator" in run.errors[0]["error"]


def test_a_pair_the_database_refuses_is_recorded_and_the_other_pairs_are_stored(
    fake, hostile, monkeypatch
):
    # The client refuses a negative price; read without it, the CheckConstraint refuses it.
    monkeypatch.setattr(
        protocol,
        "parse_services",
        lambda text, **_: Listing(
            ServiceOffer(r["id"], r["name"], Decimal(r["price"]), r["quantity"])
            for r in json.loads(text)
        ),
    )
    fake.countries = [{"id": 0, "name": "Russia", "operators": ["any", "mts", "tele2"]}]
    fake.services = {
        (0, "any"): [GOOD],
        (0, "mts"): [GOOD, {"id": "vk", "name": "VK", "price": "-50.00", "quantity": 1}],
        (0, "tele2"): [GOOD],
    }

    run = sync_provider(hostile)

    assert stored(hostile) == {(0, "any", "tg"), (0, "tele2", "tg")}
    assert not Offer.objects.filter(price__lt=0).exists()
    assert (run.offers, run.error_count) == (2, 1)
    [error] = run.errors
    assert (error["action"], error["country"], error["operator"]) == ("store", 0, "mts")
    assert "IntegrityError" in error["error"]


def test_rows_the_client_left_out_are_recorded(fake, hostile, monkeypatch):
    read = protocol.parse_services
    monkeypatch.setattr(
        protocol,
        "parse_services",
        lambda text, **options: Listing(
            read(text, **options), problems=["row 2 (id 'vk'): price is negative"], left_out=3
        ),
    )

    run = sync_provider(hostile)

    assert stored(hostile) == {(0, "any", "tg")}
    assert run.error_count == 3  # one listed, two more counted
    assert [e["error"] for e in run.errors] == ["row 2 (id 'vk'): price is negative"]
    assert (run.errors[0]["country"], run.errors[0]["operator"]) == (0, "any")


def test_an_answer_that_breaks_the_client_costs_only_its_pair(fake, hostile):
    fake.countries = [{"id": 0, "name": "Russia", "operators": ["any", "mts"]}]
    fake.services[(0, "mts")] = "[" * 100_000 + "]" * 100_000

    run = sync_provider(hostile)

    assert stored(hostile) == {(0, "any", "tg")}
    assert run.error_count == 1
    assert run.errors[0]["operator"] == "mts"


def test_the_error_list_is_bounded_and_the_count_is_whole(fake, hostile):
    bad = [{"id": f"s{i}", "name": "S", "price": "1", "quantity": -1} for i in range(250)]
    fake.services = {(0, "any"): [GOOD, *bad]}

    run = sync_provider(hostile)

    run.refresh_from_db()
    assert stored(hostile) == {(0, "any", "tg")}
    assert run.error_count == 250
    assert len(run.errors) == 100  # the first hundred


def test_errors_never_quote_the_key_nor_characters_a_column_refuses(fake, hostile):
    fake.services = {(0, "any"): [GOOD, {**GOOD, "id": f"{KEY}\x00" * 5}]}

    run = sync_provider(hostile)

    run.refresh_from_db()  # it was stored: PostgreSQL's jsonb refuses a NUL
    assert run.error_count == 1
    assert KEY not in str(run.errors)
    assert "\x00" not in str(run.errors)


def test_the_pages_say_what_the_last_sync_could_not_read(fake, hostile, client, bob, alice_team):
    fake.services = {(0, "any"): [GOOD, {**GOOD, "id": "vk", "price": 1e308}]}
    sync_provider(hostile)
    client.force_login(bob)
    warning = "The last sync of Hostile could not read 1 row; the rest is up to date."

    browse = client.get(f"/t/{alice_team.slug}/catalog/").content.decode()
    tg = Offer.objects.get().service_id
    service = client.get(f"/t/{alice_team.slug}/catalog/services/{tg}/").content.decode()

    assert warning in browse
    assert "Telegram" in browse
    assert warning in service


# --- Retry-After ------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_an_absurd_retry_after_does_not_stall_the_sync(fake, hostile, monkeypatch):
    # The budget stands for the sync's own: less than the longest wait a Retry-After may ask.
    monkeypatch.setattr(
        fetch, "FETCH_BUDGET", timedelta(seconds=MAX_RETRY_AFTER_SECONDS / 2), raising=False
    )
    fake.status, fake.headers = 429, {"Retry-After": "100000000"}

    run = sync_provider(hostile)

    assert run.calls == 1  # the wait would outlast the budget: given up at once
    assert run.error_count == 1
    assert run.errors[0]["error"].startswith("RateLimited")
    assert run.finished_at - run.started_at < timedelta(seconds=10)


@pytest.mark.parametrize("asked", [100_000_000, float("inf"), float("nan"), -5])
def test_no_retry_waits_longer_than_the_bound(asked):
    delay = fetch.retry_delay(0, RateLimited(retry_after=asked))
    assert 0 < delay <= MAX_RETRY_AFTER_SECONDS


def test_no_call_starts_after_the_budget(fake, hostile, monkeypatch):
    monkeypatch.setattr(fetch, "FETCH_BUDGET", timedelta(0))
    run = sync_provider(hostile)
    assert run.calls == 0
    assert "ran out of time" in run.errors[0]["error"]


# --- How the key travels ------------------------------------------------------------------------


def test_a_new_provider_is_asked_with_post_and_the_key_stays_out_of_urls(fake, hostile):
    assert hostile.request_method == "POST"
    sync_provider(hostile)
    assert {request.method for request in fake.requests} == {"POST"}
    assert all(KEY not in str(request.url) for request in fake.requests)


def test_a_provider_set_to_get_is_asked_with_get(fake, hostile):
    Provider.objects.filter(pk=hostile.pk).update(request_method="GET")
    hostile.refresh_from_db()
    assert sync_provider(hostile).error_count == 0
    assert {request.method for request in fake.requests} == {"GET"}


# --- Prices can never be negative ------------------------------------------------------------


def test_the_database_refuses_a_negative_price(provider, make_offer):
    offer = make_offer(provider, "tg", price="1.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.filter(pk=offer.pk).update(price=Decimal("-50.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceChange.objects.create(offer=offer, price=Decimal("-0.01"))
    offer.refresh_from_db()
    assert offer.price == Decimal("1.00")
    assert not PriceChange.objects.exists()

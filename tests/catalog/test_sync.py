import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import ratelimit
from catalog.models import (
    Country,
    Offer,
    Operator,
    PriceChange,
    Provider,
    ProviderAccount,
    Service,
    SyncRun,
)
from catalog.sync import fetch
from catalog.sync import run as sync_run
from catalog.sync.run import sync_provider
from dashboard.encryption import encrypt_key
from provider.sandbox.annexes import COUNTRIES, SERVICES
from tests.fixtures.catalog import seed_pairs

PRICES = SyncRun.Kind.PRICES
RUSSIA = 0


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(fetch, "RETRY_DELAY", 0.001)


def offer(provider, service, country, operator) -> Offer:
    return Offer.objects.get(
        provider=provider,
        service__code=service,
        country__external_id=country,
        operator__code=operator,
    )


# Two syncs of the whole catalog (68,768 offers): the slowest test of the suite.
@pytest.mark.timeout(300)
def test_the_first_run_loads_the_annexes_and_a_second_changes_nothing(
    catalog_sandbox, sandbox_server
):
    run = sync_provider(catalog_sandbox)

    pairs = sum(len(c.operators) for c in COUNTRIES)
    assert Country.objects.filter(provider=catalog_sandbox).count() == len(COUNTRIES) == 110
    assert Operator.objects.filter(country__provider=catalog_sandbox).count() == pairs == 307
    assert Service.objects.filter(provider=catalog_sandbox).count() == len(SERVICES) == 224
    assert Offer.objects.count() == pairs * len(SERVICES)
    assert PriceChange.objects.count() == Offer.objects.count()  # every first price
    assert (run.countries, run.operators, run.services, run.offers) == (110, 307, 224, 68768)
    assert run.calls == 1 + pairs
    assert run.error_count == 0
    assert run.offers_changed == Offer.objects.count()
    assert run.finished_at is not None

    # A few literal rows of the provider document.
    russia = Country.objects.get(provider=catalog_sandbox, external_id=RUSSIA)
    assert russia.name == "Russia"
    assert {"tinkoff", "any", "yota", "sber"} <= set(
        russia.operators.values_list("code", flat=True)
    )
    assert Country.objects.get(provider=catalog_sandbox, external_id=122).name == "Bahamas"
    assert set(Operator.objects.filter(country__external_id=2).values_list("code", flat=True)) == {
        "activ",
        "altel",
        "any",
        "beeline",
        "tele2",
    }
    assert Service.objects.get(provider=catalog_sandbox, code="tg").name == "Telegram"
    assert Service.objects.get(provider=catalog_sandbox, code="go").name == "Google,youtube,Gmail"
    tg = offer(catalog_sandbox, "tg", RUSSIA, "tinkoff")
    sold = sandbox_server.sandbox.offer("tg", RUSSIA, "tinkoff")
    assert (tg.price, tg.quantity) == (sold.price, sold.quantity)

    second = sync_provider(catalog_sandbox)

    assert second.offers_changed == 0
    assert second.error_count == 0
    assert (second.countries, second.operators, second.offers) == (110, 307, 68768)
    assert Offer.objects.count() == pairs * len(SERVICES)
    assert PriceChange.objects.count() == Offer.objects.count()
    assert Country.objects.count() == 110
    assert Service.objects.count() == 224
    assert not Offer.objects.filter(available=False).exists()


def test_a_prices_sync_asks_only_for_the_stored_pairs(catalog_sandbox):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any", "tinkoff"]})
    run = sync_provider(catalog_sandbox, PRICES)
    assert run.calls == 2
    assert (run.countries, run.operators, run.services, run.offers) == (1, 2, 224, 448)
    assert Offer.objects.count() == 448


def test_a_prices_sync_without_countries_does_the_full_sync(catalog_sandbox, monkeypatch):
    asked = []

    async def fake_fetch(provider, key, *, pairs, **options):
        asked.append(pairs)
        return fetch.Fetched(countries=[])

    monkeypatch.setattr(sync_run, "fetch_catalog", fake_fetch)
    sync_provider(catalog_sandbox, PRICES)
    assert asked == [None]  # None: ask for the countries first


def test_a_price_change_creates_history(catalog_sandbox, sandbox_server):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any", "tinkoff"]})
    sync_provider(catalog_sandbox, PRICES)
    before = offer(catalog_sandbox, "tg", RUSSIA, "tinkoff")
    sandbox_server.sandbox.set_offer("tg", RUSSIA, "tinkoff", price="123.45")

    run = sync_provider(catalog_sandbox, PRICES)

    after = offer(catalog_sandbox, "tg", RUSSIA, "tinkoff")
    assert after.pk == before.pk
    assert after.price == Decimal("123.45")
    assert run.offers_changed == 1
    history = list(after.price_changes.order_by("recorded_at").values_list("price", flat=True))
    assert history == [before.price, Decimal("123.45")]
    assert PriceChange.objects.count() == 448 + 1


def test_a_stock_change_updates_the_offer_without_history(catalog_sandbox, sandbox_server):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any"]})
    sync_provider(catalog_sandbox, PRICES)
    sandbox_server.sandbox.set_offer("vk", RUSSIA, "any", quantity=0)

    run = sync_provider(catalog_sandbox, PRICES)

    assert run.offers_changed == 1
    assert offer(catalog_sandbox, "vk", RUSSIA, "any").quantity == 0
    assert PriceChange.objects.count() == 224


def test_a_disappearing_offer_is_kept_and_marked_unavailable(catalog_sandbox, make_offer):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any", "mts"]})
    gone = make_offer(catalog_sandbox, "zz9", country=RUSSIA, operator="mts", price="5.00")

    run = sync_provider(catalog_sandbox, PRICES)

    gone.refresh_from_db()
    assert gone.available is False
    assert gone.price == Decimal("5.00")
    assert run.offers_changed == 448 + 1
    assert Offer.objects.filter(available=True).count() == 448


def test_an_offer_that_comes_back_is_available_again(catalog_sandbox):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any"]})
    sync_provider(catalog_sandbox, PRICES)
    Offer.objects.filter(service__code="tg").update(available=False)

    run = sync_provider(catalog_sandbox, PRICES)

    assert run.offers_changed == 1
    assert offer(catalog_sandbox, "tg", RUSSIA, "any").available is True
    assert PriceChange.objects.count() == 224  # the price itself did not change


def test_an_operator_the_provider_drops_is_marked_unavailable_with_its_offers(
    catalog_sandbox, make_offer
):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any"]})
    old = make_offer(catalog_sandbox, "tg", country=RUSSIA, operator="closed_down")
    atlantis = make_offer(catalog_sandbox, "tg", country=999, operator="any")

    run = sync_provider(catalog_sandbox, SyncRun.Kind.COUNTRIES)

    assert run.calls == 1
    assert Operator.objects.get(code="closed_down").available is False
    assert Country.objects.get(external_id=999).available is False
    old.refresh_from_db()
    atlantis.refresh_from_db()
    assert (old.available, atlantis.available) == (False, False)
    assert run.offers_changed == 2
    assert Country.objects.filter(available=True).count() == 110


def test_a_fault_in_some_pairs_is_recorded_and_their_data_stays(catalog_sandbox, sandbox_server):
    operators = COUNTRIES[0].operators
    seed_pairs(catalog_sandbox, {RUSSIA: list(operators)})
    sync_provider(catalog_sandbox, PRICES)
    before = {o.operator.code: o.price for o in Offer.objects.filter(service__code="tg")}
    for operator in operators:
        sandbox_server.sandbox.set_offer("tg", RUSSIA, operator, price="99.99")
    # Garbage answers are not retried: the pairs that get one fail for this run.
    sandbox_server.sandbox.set_fault("garbage", probability=0.3)

    run = sync_provider(catalog_sandbox, PRICES)

    failed = {error["operator"] for error in run.errors}
    assert 0 < len(failed) < len(operators)
    assert run.error_count == len(failed)
    assert all(error["error"].startswith("ProtocolError") for error in run.errors)
    assert run.finished_at is not None
    after = {
        o.operator.code: (o.price, o.available) for o in Offer.objects.filter(service__code="tg")
    }
    for operator in operators:
        if operator in failed:
            assert after[operator] == (before[operator], True)  # untouched, still listed
        else:
            assert after[operator] == (Decimal("99.99"), True)
    assert not Offer.objects.filter(available=False).exists()


def test_a_provider_that_is_down_leaves_the_catalog_as_it_was(catalog_sandbox, sandbox_server):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any", "mts", "tele2"]})
    sync_provider(catalog_sandbox, PRICES)
    sandbox_server.sandbox.set_fault("http_500")

    run = sync_provider(catalog_sandbox, PRICES)

    assert run.error_count == 3
    assert run.calls == 3 * fetch.ATTEMPTS  # each pair retried with backoff
    assert all("ProviderUnavailable" in error["error"] for error in run.errors)
    assert Offer.objects.filter(available=True).count() == 3 * 224
    assert PriceChange.objects.count() == 3 * 224


def test_retries_turn_passing_faults_into_successes(catalog_sandbox, sandbox_server):
    seed_pairs(catalog_sandbox, {RUSSIA: list(COUNTRIES[0].operators)})
    sandbox_server.sandbox.set_fault("error_sql", probability=0.5)

    run = sync_provider(catalog_sandbox, PRICES, concurrency=1)

    pairs = len(COUNTRIES[0].operators)
    assert run.calls > pairs
    assert run.offers == (pairs - run.error_count) * 224
    assert run.error_count < pairs // 2


def test_a_failing_country_list_changes_nothing(catalog_sandbox, sandbox_server, make_offer):
    kept = make_offer(catalog_sandbox, "tg", country=RUSSIA, operator="any")
    sandbox_server.sandbox.set_fault("garbage")

    run = sync_provider(catalog_sandbox)

    assert run.calls == 1
    assert run.errors[0]["action"] == "getCountryAndOperators"
    kept.refresh_from_db()
    assert kept.available is True
    assert Country.objects.get().available is True


def test_every_call_takes_a_slot_of_the_budget_at_sync_priority(catalog_sandbox, monkeypatch):
    taken = []
    acquire = ratelimit.acquire

    async def recording_acquire(provider_id, rate, priority):
        taken.append((provider_id, rate, priority))
        await acquire(provider_id, rate, priority)

    monkeypatch.setattr(ratelimit, "acquire", recording_acquire)
    seed_pairs(catalog_sandbox, {RUSSIA: ["any", "mts"]})
    run = sync_provider(catalog_sandbox, PRICES)
    assert run.calls == 2
    assert taken == [(catalog_sandbox.pk, 1000, ratelimit.Priority.SYNC)] * 2


def test_a_second_sync_exits_at_once(catalog_sandbox):
    claim = timezone.now() + timedelta(minutes=5)
    Provider.objects.filter(pk=catalog_sandbox.pk).update(sync_claimed_until=claim)
    assert sync_provider(catalog_sandbox) is None
    assert not SyncRun.objects.exists()


def test_a_stale_claim_is_taken_over_and_released(catalog_sandbox):
    seed_pairs(catalog_sandbox, {RUSSIA: ["any"]})
    stale = timezone.now() - timedelta(seconds=1)
    Provider.objects.filter(pk=catalog_sandbox.pk).update(sync_claimed_until=stale)
    assert sync_provider(catalog_sandbox, PRICES) is not None
    catalog_sandbox.refresh_from_db()
    assert catalog_sandbox.sync_claimed_until is None


def test_the_claim_is_released_when_the_sync_crashes(catalog_sandbox, monkeypatch):
    def crash(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(sync_run, "run_sync", crash)
    with pytest.raises(RuntimeError):
        sync_provider(catalog_sandbox)
    catalog_sandbox.refresh_from_db()
    assert catalog_sandbox.sync_claimed_until is None
    assert SyncRun.objects.get().finished_at is not None


def test_it_lists_with_a_team_accounts_key(served_provider, sandbox_server, alice_team):
    ProviderAccount.objects.create(
        team=alice_team,
        provider=served_provider,
        key_ciphertext=encrypt_key(sandbox_server.api_key),
        key_last4=sandbox_server.api_key[-4:],
    )
    seed_pairs(served_provider, {RUSSIA: ["any"]})
    run = sync_provider(served_provider, PRICES)
    assert run.error_count == 0
    assert run.offers == 224


def test_an_account_whose_key_cannot_be_decrypted_is_passed_over(
    served_provider, sandbox_server, alice_team, charlie
):
    ProviderAccount.objects.create(
        team=alice_team, provider=served_provider, key_ciphertext="garbled", key_last4="xxxx"
    )
    ProviderAccount.objects.create(
        team=charlie.memberships.get().team,
        provider=served_provider,
        key_ciphertext=encrypt_key(sandbox_server.api_key),
        key_last4=sandbox_server.api_key[-4:],
    )
    seed_pairs(served_provider, {RUSSIA: ["any"]})
    assert sync_provider(served_provider, PRICES).error_count == 0


def test_a_provider_without_a_key_records_why(provider):
    run = sync_provider(provider)
    assert run.calls == 0
    assert "No team has attached a usable API key" in run.errors[0]["error"]


def test_the_key_stays_out_of_errors_and_logs(catalog_sandbox, settings, caplog):
    settings.SANDBOX_API_KEY = "secret-key-that-the-sandbox-rejects"
    caplog.set_level(logging.DEBUG)
    run = sync_provider(catalog_sandbox)
    assert run.errors[0]["error"].startswith("BadKey")
    assert "secret-key" not in str(run.errors)
    assert "secret-key" not in caplog.text

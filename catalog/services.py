"""The catalog sync: what a provider sells, fetched concurrently and stored in bulk.

A sync asks getCountryAndOperators, then getServicesAndCost for every (country, operator) pair
at once through one pooled async client, each call first taking a slot of the provider's
request budget at the lowest priority. The network part touches no database; the answers are
then written in one transaction with a few bulk statements (never one query per row), so a
fault leaves the earlier catalog as it was. One sync per provider runs at a time.
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import batched
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from activations.client import AsyncProviderClient, Country, ProviderError, ServiceOffer
from activations.keys import KeyDecryptionError, decrypt_key
from activations.models import ProviderAccount
from catalog import ratelimit
from catalog.models import Country as CountryRow
from catalog.models import Offer, Operator, PriceChange, Provider, Service, SyncRun

logger = logging.getLogger(__name__)

# A claim older than this belongs to a sync that died; the next one may take over.
SYNC_CLAIM = timedelta(minutes=10)
# Calls in flight at once (the request budget still sets the pace).
CONCURRENCY = 16
# Attempts per call on a retryable error (ProviderUnavailable, ERROR_SQL), with exponential
# backoff from RETRY_DELAY seconds plus jitter.
ATTEMPTS = 4
RETRY_DELAY = 0.5
# Rows per INSERT/UPDATE statement and ids per IN (...) list.
BATCH = 500
ERROR_LIMIT = 200  # errors kept in SyncRun.errors
CENT = Decimal("0.01")  # prices are stored with two decimals; compare them the same way


class NoSyncKey(Exception):
    """No key to list the provider's catalog with: no team has attached an account yet."""


def sync_api_key(provider: Provider) -> str:
    """The key the catalog sync lists prices with (listing costs nothing, so any will do):
    the key of any team's account at this provider, else the built-in sandbox's own key.

    The key stays in this process: it never goes into a task's arguments, a log line or a
    SyncRun; tasks are given the provider's id and call this.
    """
    ciphertexts = (
        ProviderAccount.objects.filter(provider=provider)
        .exclude(key_ciphertext="")
        .order_by("pk")
        .values_list("key_ciphertext", flat=True)
    )
    for ciphertext in ciphertexts:
        try:
            return decrypt_key(ciphertext)
        except KeyDecryptionError:
            continue  # encrypted with a retired key: another account's may do
    if provider.is_sandbox and settings.SANDBOX_API_KEY:
        return settings.SANDBOX_API_KEY
    raise NoSyncKey(f"No team has attached a usable API key for {provider.name} yet.")


# --- One sync at a time ---------------------------------------------------------------------


def claim_sync(provider: Provider) -> datetime | None:
    """Claim the provider's sync; None when another sync holds a claim that is not stale."""
    now = timezone.now()
    until = now + SYNC_CLAIM
    claimed = (
        Provider.objects.filter(pk=provider.pk)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .update(sync_claimed_until=until)
    )
    return until if claimed else None


def release_sync(provider: Provider, claim: datetime) -> None:
    # Only our own claim: if it went stale and another sync took over, leave theirs alone.
    Provider.objects.filter(pk=provider.pk, sync_claimed_until=claim).update(
        sync_claimed_until=None
    )


def sync_in_progress(provider: Provider) -> bool:
    claim = Provider.objects.filter(pk=provider.pk).values_list("sync_claimed_until", flat=True)
    until = claim.first()
    return until is not None and until >= timezone.now()


# --- Fetching (network only, no database) ---------------------------------------------------


@dataclass(frozen=True)
class Pair:
    country: int  # the provider's country id
    operator: str  # the provider's operator id


@dataclass
class Fetched:
    countries: list[Country] | None = None  # None when this run did not ask for them
    offers: dict[Pair, list[ServiceOffer]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


def describe(exc: BaseException, secret: str) -> str:
    text = f"{type(exc).__name__}: {exc}"[:300]
    return text.replace(secret, "***") if secret else text


async def fetch_catalog(
    provider: Provider,
    api_key: str,
    *,
    pairs: list[Pair] | None,
    concurrency: int = CONCURRENCY,
    prices: bool = True,
) -> Fetched:
    """Ask the provider for its countries (when `pairs` is None) and the prices of every pair.

    A pair that still fails after its retries is recorded in `errors`; the others go on.
    """
    fetched = Fetched()
    limit = asyncio.Semaphore(max(1, concurrency))

    async def call[T](request: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(ATTEMPTS):
            await ratelimit.acquire(
                provider.pk, provider.max_requests_per_second, ratelimit.Priority.SYNC
            )
            fetched.calls += 1
            try:
                return await request()
            except ProviderError as exc:
                if not exc.retryable or attempt == ATTEMPTS - 1:
                    raise
                delay = RETRY_DELAY * 2**attempt
                delay = max(delay, getattr(exc, "retry_after", None) or 0.0)
                await asyncio.sleep(delay * random.uniform(1.0, 1.25))
        raise AssertionError("unreachable")

    async with AsyncProviderClient(provider.handler_url, api_key, lang=provider.lang) as client:
        if pairs is None:
            try:
                fetched.countries = await call(client.get_countries)
            except ProviderError as exc:
                fetched.errors.append(
                    {"action": "getCountryAndOperators", "error": describe(exc, api_key)}
                )
                return fetched
            pairs = [Pair(c.id, op) for c in fetched.countries for op in dict.fromkeys(c.operators)]
        if not prices:
            return fetched

        async def prices_of(pair: Pair) -> None:
            async with limit:
                try:
                    fetched.offers[pair] = await call(
                        lambda: client.get_services(pair.country, pair.operator)
                    )
                except ProviderError as exc:
                    fetched.errors.append(
                        {
                            "action": "getServicesAndCost",
                            "country": pair.country,
                            "operator": pair.operator,
                            "error": describe(exc, api_key),
                        }
                    )

        await asyncio.gather(*(prices_of(pair) for pair in pairs))
    fetched.errors.sort(key=lambda e: (e.get("country", -1), e.get("operator", "")))
    return fetched


# --- Storing (bulk, one transaction) --------------------------------------------------------


def mark_unavailable(model: type, ids: Iterable[int], **also: Any) -> int:
    changed = 0
    for batch in batched(ids, BATCH):
        changed += model.objects.filter(pk__in=batch).update(available=False, **also)
    return changed


def store_countries(provider: Provider, countries: list[Country], now: datetime) -> int:
    """Upsert countries and operators; those the provider no longer lists become unavailable,
    and so do their offers. Returns the number of offers that became unavailable."""
    CountryRow.objects.bulk_create(
        [
            CountryRow(
                provider=provider, external_id=c.id, name=c.name, available=True, last_seen_at=now
            )
            for c in {c.id: c for c in countries}.values()
        ],
        update_conflicts=True,
        unique_fields=["provider", "external_id"],
        update_fields=["name", "available", "last_seen_at"],
        batch_size=BATCH,
    )
    country_ids = dict(
        CountryRow.objects.filter(provider=provider).values_list("external_id", "pk")
    )
    listed = {(country_ids[c.id], op) for c in countries for op in c.operators}
    Operator.objects.bulk_create(
        [
            Operator(country_id=country_id, code=code, available=True, last_seen_at=now)
            for country_id, code in sorted(listed)
        ],
        update_conflicts=True,
        unique_fields=["country", "code"],
        update_fields=["available", "last_seen_at"],
        batch_size=BATCH,
    )
    seen = {c.id for c in countries}
    mark_unavailable(CountryRow, [pk for ext, pk in country_ids.items() if ext not in seen])
    gone_operators = [
        pk
        for pk, country_id, code in Operator.objects.filter(
            country__provider=provider, available=True
        ).values_list("pk", "country_id", "code")
        if (country_id, code) not in listed
    ]
    mark_unavailable(Operator, gone_operators)
    gone_offers = 0
    for batch in batched(gone_operators, BATCH):
        gone_offers += Offer.objects.filter(operator_id__in=batch, available=True).update(
            available=False, updated_at=now
        )
    return gone_offers


def operators_by_pair(provider: Provider) -> dict[Pair, tuple[int, int]]:
    """The provider's available operators: {(country id, operator id): (Operator pk,
    Country pk)}."""
    rows = Operator.objects.filter(
        country__provider=provider, country__available=True, available=True
    ).values_list("country__external_id", "code", "pk", "country_id")
    return {Pair(country, code): (pk, country_pk) for country, code, pk, country_pk in rows}


@dataclass
class Stored:
    services: int = 0
    offers: int = 0
    changed: int = 0


def store_offers(
    provider: Provider,
    answers: dict[Pair, list[ServiceOffer]],
    operators: dict[Pair, tuple[int, int]],
    now: datetime,
) -> Stored:
    """Upsert the offers in the answers; record a price change only when a price changed.

    Offers of answered pairs that the answer no longer lists, and offers of operators the
    provider no longer lists, are kept and marked unavailable. Pairs that failed are left as
    they were.
    """
    stored = Stored()
    country_of = dict(operators.values())

    # Services: write only new or renamed ones.
    names: dict[str, str] = {}
    for offers in answers.values():
        for offer in offers:
            names[offer.id] = offer.name
    stored.services = len(names)
    known = dict(Service.objects.filter(provider=provider).values_list("code", "name"))
    Service.objects.bulk_create(
        [
            Service(provider=provider, code=code, name=name)
            for code, name in names.items()
            if known.get(code) != name
        ],
        update_conflicts=True,
        unique_fields=["provider", "code"],
        update_fields=["name"],
        batch_size=BATCH,
    )
    service_ids = dict(Service.objects.filter(provider=provider).values_list("code", "pk"))

    # Offers: compare with what is stored, write only what changed.
    current: dict[tuple[int, int], tuple[Decimal, int]] = {}
    for pair, offers in answers.items():
        if pair not in operators:
            continue
        operator_id = operators[pair][0]
        for offer in offers:
            price = offer.price.quantize(CENT)
            current[(operator_id, service_ids[offer.id])] = (price, offer.quantity)
    stored.offers = len(current)
    existing = {
        (operator_id, service_id): (pk, price, quantity, available)
        for pk, operator_id, service_id, price, quantity, available in Offer.objects.filter(
            provider=provider
        ).values_list("pk", "operator_id", "service_id", "price", "quantity", "available")
    }
    writes, repriced = [], []
    for key, (price, quantity) in current.items():
        before = existing.get(key)
        if before is not None and before[1:] == (price, quantity, True):
            continue
        if before is None or before[1] != price:
            repriced.append(key)
        writes.append(
            Offer(
                provider_id=provider.pk,
                country_id=country_of[key[0]],
                operator_id=key[0],
                service_id=key[1],
                price=price,
                quantity=quantity,
                available=True,
                last_seen_at=now,
                updated_at=now,
            )
        )
    Offer.objects.bulk_create(
        writes,
        update_conflicts=True,
        unique_fields=["operator", "service"],
        update_fields=["price", "quantity", "available", "last_seen_at", "updated_at"],
        batch_size=BATCH,
    )

    # A row of history for every new price (the first price included).
    offer_ids = {key: row[0] for key, row in existing.items()}
    # PostgreSQL and SQLite hand back the ids of upserted rows; look up any that are missing.
    offer_ids.update(((o.operator_id, o.service_id), o.pk) for o in writes if o.pk is not None)
    new_operators = {key[0] for key in repriced if key not in offer_ids}
    for batch in batched(new_operators, BATCH):
        offer_ids.update(
            ((operator_id, service_id), pk)
            for pk, operator_id, service_id in Offer.objects.filter(
                operator_id__in=batch
            ).values_list("pk", "operator_id", "service_id")
        )
    PriceChange.objects.bulk_create(
        [
            PriceChange(offer_id=offer_ids[key], price=current[key][0], recorded_at=now)
            for key in repriced
        ],
        batch_size=BATCH,
    )

    # Offers no longer listed: of an answered pair, or of an operator that is gone.
    answered = {operators[pair][0] for pair in answers if pair in operators}
    live = set(country_of)
    gone = [
        row[0]
        for key, row in existing.items()
        if row[3] and key not in current and (key[0] in answered or key[0] not in live)
    ]
    mark_unavailable(Offer, gone, updated_at=now)

    # The rest were seen unchanged: one UPDATE per batch of operators, not one per offer.
    for batch in batched(answered, BATCH):
        Offer.objects.filter(operator_id__in=batch, available=True).update(last_seen_at=now)

    stored.changed = len(writes) + len(gone)
    return stored


# --- The sync -------------------------------------------------------------------------------


def sync_provider(
    provider: Provider,
    kind: str = SyncRun.Kind.FULL,
    *,
    concurrency: int = CONCURRENCY,
) -> SyncRun | None:
    """Sync one provider's catalog and return its SyncRun; None if another sync is running.

    `kind` is countries (getCountryAndOperators only), prices (getServicesAndCost for the
    stored operators) or full (both). A prices sync of a provider with no countries yet does
    the full one.
    """
    claim = claim_sync(provider)
    if claim is None:
        return None
    run = SyncRun.objects.create(provider=provider, kind=kind, started_at=timezone.now())
    started = time.monotonic()
    try:
        run_sync(provider, run, concurrency)
    except NoSyncKey as exc:
        run.errors = [{"action": "key", "error": str(exc)}]
    finally:
        run.error_count = len(run.errors)
        run.errors = run.errors[:ERROR_LIMIT]
        run.finished_at = run.started_at + timedelta(seconds=time.monotonic() - started)
        run.save()
        release_sync(provider, claim)
    logger.info("Catalog sync of %s: %s", provider.name, summary(run))
    return run


def run_sync(provider: Provider, run: SyncRun, concurrency: int) -> None:
    api_key = sync_api_key(provider)
    stored_pairs = operators_by_pair(provider)
    ask_countries = run.kind != SyncRun.Kind.PRICES or not stored_pairs
    pairs = sorted(stored_pairs, key=lambda p: (p.country, p.operator))
    fetched = asyncio.run(
        fetch_catalog(
            provider,
            api_key,
            pairs=None if ask_countries else pairs,
            concurrency=concurrency,
            prices=run.kind != SyncRun.Kind.COUNTRIES,
        )
    )
    run.calls = fetched.calls
    run.errors = fetched.errors
    now = timezone.now()
    with transaction.atomic():
        if fetched.countries is not None:
            run.offers_changed += store_countries(provider, fetched.countries, now)
        elif ask_countries:
            return  # getCountryAndOperators failed: nothing else was asked
        operators = operators_by_pair(provider)
        run.countries = CountryRow.objects.filter(provider=provider, available=True).count()
        run.operators = len(operators)
        if run.kind != SyncRun.Kind.COUNTRIES:
            stored = store_offers(provider, fetched.offers, operators, now)
            run.services, run.offers = stored.services, stored.offers
            run.offers_changed += stored.changed


def summary(run: SyncRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    return (
        f"countries={run.countries} operators={run.operators} services={run.services} "
        f"offers={run.offers} calls={run.calls} errors={run.error_count} seconds={seconds:.1f}"
    )

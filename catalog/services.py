"""The catalog sync: what a provider sells, fetched concurrently and stored in bulk.

A sync asks getCountryAndOperators, then getServicesAndCost for every (country, operator) pair
at once through one pooled async client, each call first taking a slot of the provider's
request budget at the lowest priority. The network part touches no database; the answers are
then written in one transaction with a few bulk statements (never one query per row), so a
fault leaves the earlier catalog as it was. One sync per provider runs at a time.

Answers are untrusted input. The protocol client leaves out every row our columns cannot hold
(its bounds are the columns', and a property test holds them to the models) and names it in
`Listing.problems`, which the run's errors record; should the database still refuse
the bulk write (a value no check foresaw, a negative price against the CheckConstraint), the
answers are written again pair by pair, each in a savepoint, and only the pairs it refuses
are lost. Waits are bounded: a Retry-After counts up to MAX_RETRY_AFTER_SECONDS, and no wait
or call starts past the sync's FETCH_BUDGET.
"""

import asyncio
import logging
import math
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

from catalog import ratelimit
from catalog.models import Country as CountryRow
from catalog.models import Offer, Operator, PriceChange, Provider, ProviderAccount, Service, SyncRun
from catalog.sync_errors import ErrorLog
from dashboard.db import REFUSED_ROW
from dashboard.encryption import KeyDecryptionError, decrypt_key
from provider.client import (
    MAX_RETRY_AFTER_SECONDS,
    AsyncProviderClient,
    Country,
    ProviderError,
    ServiceOffer,
)

logger = logging.getLogger(__name__)

# A claim older than this belongs to a sync that died; the next one may take over.
SYNC_CLAIM = timedelta(minutes=10)
# No call or retry wait starts later than this after the sync began, so that the writes
# still finish within the task's timeout (catalog.tasks.SYNC_TIMEOUT, a minute later).
FETCH_BUDGET = SYNC_CLAIM - timedelta(minutes=2)
# Calls in flight at once (the request budget still sets the pace).
CONCURRENCY = 16
# Attempts per call on a retryable error (ProviderUnavailable, ERROR_SQL), with exponential
# backoff from RETRY_DELAY seconds plus jitter.
ATTEMPTS = 4
RETRY_DELAY = 0.5
# Rows per INSERT/UPDATE statement and ids per IN (...) list.
BATCH = 500


class NoSyncKey(Exception):
    """No key to list the provider's catalog with: no team has attached an account yet."""


def sync_api_key(provider: Provider) -> str:
    """The key the catalog sync lists prices with, the first usable one of:

    1. the account the operator chose in admin (`Provider.sync_account`);
    2. for the built-in sandbox, its own key (settings.SANDBOX_API_KEY), so no team's is used;
    3. the account attached first (lowest id).

    An account's key is unusable once removed or when it was encrypted with a retired key.
    Listing costs nothing, but the provider sees whose key asked. The key stays in this
    process: it never goes into a task's arguments, a log line or a SyncRun; tasks are given
    the provider's id and call this.
    """
    accounts = ProviderAccount.objects.filter(provider=provider).exclude(key_ciphertext="")
    if provider.sync_account_id is not None:
        chosen = accounts.filter(pk=provider.sync_account_id)
        if key := first_decryptable(chosen.values_list("key_ciphertext", flat=True)):
            return key
    if provider.is_sandbox and settings.SANDBOX_API_KEY:
        return settings.SANDBOX_API_KEY
    if key := first_decryptable(accounts.order_by("pk").values_list("key_ciphertext", flat=True)):
        return key
    raise NoSyncKey(f"No team has attached a usable API key for {provider.name} yet.")


def first_decryptable(ciphertexts: Iterable[str]) -> str | None:
    for ciphertext in ciphertexts:
        try:
            return decrypt_key(ciphertext)
        except KeyDecryptionError:
            continue  # encrypted with a retired key: another account's may do
    return None


# --- One sync at a time ---------------------------------------------------------------------


def claim_sync(provider: Provider) -> datetime | None:
    """Claim the provider's sync; None when another sync holds a claim that is not stale.
    A claimed sync is no longer queued: "Sync now" may queue the next one once it ends."""
    now = timezone.now()
    until = now + SYNC_CLAIM
    claimed = (
        Provider.objects.filter(pk=provider.pk)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .update(sync_claimed_until=until, sync_queued_until=None)
    )
    return until if claimed else None


def release_sync(provider: Provider, claim: datetime) -> None:
    # Only our own claim: if it went stale and another sync took over, leave theirs alone.
    Provider.objects.filter(pk=provider.pk, sync_claimed_until=claim).update(
        sync_claimed_until=None
    )


def mark_sync_queued(provider: Provider) -> bool:
    """Mark a sync of the provider as queued; False when one is already queued or running.

    A conditional UPDATE, so that of two presses at once (in any processes) one wins; a mark
    whose task never ran (a lost broker message) goes stale after SYNC_CLAIM.
    """
    now = timezone.now()
    marked = (
        Provider.objects.filter(pk=provider.pk)
        .filter(Q(sync_queued_until__isnull=True) | Q(sync_queued_until__lt=now))
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .update(sync_queued_until=now + SYNC_CLAIM)
    )
    return bool(marked)


def unmark_sync_queued(provider: Provider) -> None:
    Provider.objects.filter(pk=provider.pk).update(sync_queued_until=None)


# --- Fetching (network only, no database) ---------------------------------------------------


@dataclass(frozen=True)
class Pair:
    country: int  # the provider's country id
    operator: str  # the provider's operator id


@dataclass
class Fetched:
    countries: list[Country] | None = None  # None when this run did not ask for them
    offers: dict[Pair, list[ServiceOffer]] = field(default_factory=dict)
    errors: ErrorLog = field(default_factory=ErrorLog)
    calls: int = 0


class OutOfTime(Exception):
    """The sync's FETCH_BUDGET ran out before this call (or its retry) could start."""

    def __init__(self) -> None:
        super().__init__("The sync ran out of time before asking.")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def retry_delay(attempt: int, exc: ProviderError) -> float:
    """Seconds to wait before attempt `attempt + 1`: exponential backoff with jitter, longer
    when the provider asked (Retry-After), never longer than MAX_RETRY_AFTER_SECONDS."""
    delay = RETRY_DELAY * 2**attempt
    asked = getattr(exc, "retry_after", None)
    if asked is not None and math.isfinite(asked):
        delay = max(delay, asked)
    return min(delay * random.uniform(1.0, 1.25), MAX_RETRY_AFTER_SECONDS)


async def fetch_catalog(
    provider: Provider,
    api_key: str,
    *,
    pairs: list[Pair] | None,
    concurrency: int = CONCURRENCY,
    prices: bool = True,
) -> Fetched:
    """Ask the provider for its countries (when `pairs` is None) and the prices of every pair.

    A pair that still fails after its retries is recorded in `errors`, and so is each row the
    client left out of an answer; the rest go on.
    """
    fetched = Fetched(errors=ErrorLog(secret=api_key))
    limit = asyncio.Semaphore(max(1, concurrency))
    deadline = time.monotonic() + FETCH_BUDGET.total_seconds()

    async def call[T](request: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(ATTEMPTS):
            if time.monotonic() >= deadline:
                raise OutOfTime()
            await ratelimit.acquire(
                provider.pk, provider.max_requests_per_second, ratelimit.Priority.SYNC
            )
            fetched.calls += 1
            try:
                return await request()
            except ProviderError as exc:
                if not exc.retryable or attempt == ATTEMPTS - 1:
                    raise
                delay = retry_delay(attempt, exc)
                if time.monotonic() + delay >= deadline:
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def ask[T](action: str, request: Callable[[], Awaitable[T]], **where: Any) -> T | None:
        """The answer, or None once the reason there is none is recorded."""
        try:
            return await call(request)
        except Exception as exc:
            if not isinstance(exc, ProviderError | OutOfTime):
                # The client promises a ProviderError for any answer; should a hostile one
                # still break it (say, a RecursionError), that costs this call, not the sync.
                logger.exception("Unexpected error reading %s %s", action, where)
            fetched.errors.add(action, describe(exc), **where)
            return None

    async with AsyncProviderClient(
        provider.handler_url, api_key, lang=provider.lang, method=provider.request_method
    ) as client:
        if pairs is None:
            action = "getCountryAndOperators"
            answer = await ask(action, client.get_countries)
            if answer is None:
                return fetched
            fetched.countries = list(answer)
            fetched.errors.add_left_out(action, answer)
            pairs = [Pair(c.id, op) for c in fetched.countries for op in dict.fromkeys(c.operators)]
        if not prices:
            return fetched

        async def prices_of(pair: Pair) -> None:
            action = "getServicesAndCost"
            where = {"country": pair.country, "operator": pair.operator}
            async with limit:
                answer = await ask(
                    action, lambda: client.get_services(pair.country, pair.operator), **where
                )
            if answer is not None:
                fetched.offers[pair] = list(answer)
                fetched.errors.add_left_out(action, answer, **where)

        await asyncio.gather(*(prices_of(pair) for pair in pairs))
    fetched.errors.entries.sort(key=lambda e: (e.get("country", -1), e.get("operator", "")))
    return fetched


# --- Storing (bulk, one transaction) --------------------------------------------------------


def write_each[T](
    items: list[T],
    write: Callable[[list[T]], None],
    errors: ErrorLog,
    where: Callable[[T], dict[str, Any]],
) -> list[T]:
    """Write `items` in one go; should the database refuse (a value a column cannot hold),
    write them one at a time, each in a savepoint, and record each it refuses. Returns the
    items written. A database outage is no refusal: it propagates and fails the run."""
    try:
        with transaction.atomic():
            write(items)
        return items
    except REFUSED_ROW:
        pass
    written = []
    for item in items:
        try:
            with transaction.atomic():
                write([item])
        except REFUSED_ROW as exc:
            errors.add("store", describe(exc), **where(item))
        else:
            written.append(item)
    return written


def mark_unavailable(model: type, ids: Iterable[int], **also: Any) -> int:
    changed = 0
    for batch in batched(ids, BATCH):
        changed += model.objects.filter(pk__in=batch).update(available=False, **also)
    return changed


def upsert_countries(provider: Provider, countries: list[Country], now: datetime) -> None:
    CountryRow.objects.bulk_create(
        [
            CountryRow(
                provider=provider, external_id=c.id, name=c.name, available=True, last_seen_at=now
            )
            for c in countries
        ],
        update_conflicts=True,
        unique_fields=["provider", "external_id"],
        update_fields=["name", "available", "last_seen_at"],
        batch_size=BATCH,
    )
    country_ids = dict(
        CountryRow.objects.filter(provider=provider).values_list("external_id", "pk")
    )
    Operator.objects.bulk_create(
        [
            Operator(country_id=country_ids[c.id], code=code, available=True, last_seen_at=now)
            for c in countries
            for code in sorted(set(c.operators))
        ],
        update_conflicts=True,
        unique_fields=["country", "code"],
        update_fields=["available", "last_seen_at"],
        batch_size=BATCH,
    )


def store_countries(
    provider: Provider, countries: list[Country], now: datetime, errors: ErrorLog
) -> int:
    """Upsert countries and operators; those the provider no longer lists (or listed in a way
    that cannot be stored) become unavailable, and so do their offers. Returns the number of
    offers that became unavailable."""
    unique = list({c.id: c for c in countries}.values())
    countries = write_each(
        unique,
        lambda some: upsert_countries(provider, some, now),
        errors,
        lambda country: {"country": country.id},
    )
    country_ids = dict(
        CountryRow.objects.filter(provider=provider).values_list("external_id", "pk")
    )
    listed = {(country_ids[c.id], op) for c in countries for op in c.operators}
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
    errors: ErrorLog,
) -> Stored:
    """Store the answers (all at once; pair by pair when the database refuses a value, losing
    only the pairs it refuses), then retire the offers of operators that are gone."""
    stored = Stored()
    answered = [(pair, offers) for pair, offers in answers.items() if pair in operators]

    def write(some: list[tuple[Pair, list[ServiceOffer]]]) -> None:
        stored.changed += store_answers(provider, dict(some), operators, now)

    written = write_each(
        answered,
        write,
        errors,
        lambda item: {"country": item[0].country, "operator": item[0].operator},
    )
    stored.services = len({offer.id for _, offers in written for offer in offers})
    stored.offers = len({(pair, offer.id) for pair, offers in written for offer in offers})
    stored.changed += retire_offers_of_gone_operators(provider, now)
    return stored


def store_answers(
    provider: Provider,
    answers: dict[Pair, list[ServiceOffer]],
    operators: dict[Pair, tuple[int, int]],
    now: datetime,
) -> int:
    """Upsert the offers of answered pairs; record a price change only when a price changed.
    Offers of answered pairs that the answer no longer lists are kept and marked unavailable.
    Returns the number of offers written or marked unavailable."""
    country_of = dict(operators.values())

    # Services: write only new or renamed ones.
    names: dict[str, str] = {}
    for offers in answers.values():
        for offer in offers:
            names[offer.id] = offer.name
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
        operator_id = operators[pair][0]
        for offer in offers:
            price = offer.price  # the client gives cents
            current[(operator_id, service_ids[offer.id])] = (price, offer.quantity)
    answered = sorted({operators[pair][0] for pair in answers})
    existing = {}
    for batch in batched(answered, BATCH):
        existing.update(
            ((operator_id, service_id), (pk, price, quantity, available))
            for pk, operator_id, service_id, price, quantity, available in Offer.objects.filter(
                operator_id__in=batch
            ).values_list("pk", "operator_id", "service_id", "price", "quantity", "available")
        )
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

    # Offers the answers no longer list.
    gone = [row[0] for key, row in existing.items() if row[3] and key not in current]
    mark_unavailable(Offer, gone, updated_at=now)

    # The rest were seen unchanged: one UPDATE per batch of operators, not one per offer.
    for batch in batched(answered, BATCH):
        Offer.objects.filter(operator_id__in=batch, available=True).update(last_seen_at=now)
    return len(writes) + len(gone)


def retire_offers_of_gone_operators(provider: Provider, now: datetime) -> int:
    """Mark unavailable the offers still listed whose operator or country is no longer."""
    return (
        Offer.objects.filter(provider=provider, available=True)
        .filter(Q(operator__available=False) | Q(operator__country__available=False))
        .update(available=False, updated_at=now)
    )


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
    errors = ErrorLog()
    try:
        run_sync(provider, run, concurrency, errors)
    except NoSyncKey as exc:
        errors.add("key", str(exc))
    finally:
        run.error_count = errors.count
        run.errors = errors.entries
        run.finished_at = run.started_at + timedelta(seconds=time.monotonic() - started)
        run.save()
        release_sync(provider, claim)
    logger.info("Catalog sync of %s: %s", provider.name, summary(run))
    return run


def run_sync(provider: Provider, run: SyncRun, concurrency: int, errors: ErrorLog) -> None:
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
    errors.extend(fetched.errors)
    now = timezone.now()
    with transaction.atomic():
        if fetched.countries is not None:
            run.offers_changed += store_countries(provider, fetched.countries, now, errors)
        elif ask_countries:
            return  # getCountryAndOperators failed: nothing else was asked
        operators = operators_by_pair(provider)
        run.countries = CountryRow.objects.filter(provider=provider, available=True).count()
        run.operators = len(operators)
        if run.kind != SyncRun.Kind.COUNTRIES:
            stored = store_offers(provider, fetched.offers, operators, now, errors)
            run.services, run.offers = stored.services, stored.offers
            run.offers_changed += stored.changed


def summary(run: SyncRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    return (
        f"countries={run.countries} operators={run.operators} services={run.services} "
        f"offers={run.offers} calls={run.calls} errors={run.error_count} seconds={seconds:.1f}"
    )

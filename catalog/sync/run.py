"""One catalog sync of a provider, from its claim to its SyncRun."""

import logging
import time
from datetime import timedelta

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from catalog.models import Country, Provider, SyncRun
from catalog.sync.claims import claim_sync, release_sync
from catalog.sync.errors import ErrorLog
from catalog.sync.fetch import CONCURRENCY, fetch_catalog
from catalog.sync.key import NoSyncKey, SyncKey, sync_key
from catalog.sync.names import sync_names
from catalog.sync.store import operators_by_pair, store_countries, store_offers
from dashboard.audit import one_request

logger = logging.getLogger(__name__)


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
        with one_request():  # the run's audited calls (its errors) are grouped together
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
    key = sync_key(provider)
    if main_sync(provider, key, run, concurrency, errors):
        # After the catalog is stored and outside its transaction: never fails the sync.
        sync_names(provider, key, run, errors)


def main_sync(
    provider: Provider, key: SyncKey, run: SyncRun, concurrency: int, errors: ErrorLog
) -> bool:
    """The catalog in the provider's lang; False when getCountryAndOperators failed."""
    stored_pairs = operators_by_pair(provider)
    ask_countries = run.kind != SyncRun.Kind.PRICES or not stored_pairs
    pairs = sorted(stored_pairs, key=lambda p: (p.country, p.operator))
    # async_to_sync, not asyncio.run: the audit log's writes (`catalog.upstream`) then run
    # in this thread, on its database connection.
    fetched = async_to_sync(fetch_catalog)(
        provider,
        key,
        pairs=None if ask_countries else pairs,
        concurrency=concurrency,
        prices=run.kind != SyncRun.Kind.COUNTRIES,
    )
    run.calls = fetched.calls
    errors.extend(fetched.errors)
    now = timezone.now()
    with transaction.atomic():
        if fetched.countries is not None:
            run.offers_changed += store_countries(provider, fetched.countries, now, errors)
        elif ask_countries:
            return False  # getCountryAndOperators failed: nothing else was asked
        operators = operators_by_pair(provider)
        run.countries = Country.objects.filter(provider=provider, available=True).count()
        run.operators = len(operators)
        if run.kind != SyncRun.Kind.COUNTRIES:
            stored = store_offers(provider, fetched.offers, operators, now, errors)
            run.services, run.offers = stored.services, stored.offers
            run.offers_changed += stored.changed
    return True


def summary(run: SyncRun) -> str:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else 0.0
    return (
        f"countries={run.countries} operators={run.operators} services={run.services} "
        f"offers={run.offers} calls={run.calls} errors={run.error_count} seconds={seconds:.1f}"
    )

"""The names pass: after the catalog sync in the provider's lang, the names of its countries
and services in the other language (`Provider.names_in_both_languages`).

Names only: the other language's answers carry prices (in the other currency) and stock,
which are never read, and operators, which are never stored. The calls are bounded:
getCountryAndOperators once, then getServicesAndCost per country (operator "any" where the
country lists it), the countries selling most first, a first one alone and then
NAMES_CONCURRENCY at a time, stopping once every service on offer is named or every country
was asked (at most 1 + countries calls, each tried up to NAMES_ATTEMPTS times; none after
getCountryAndOperators failed). Every call waits
for the same request budget as the sync's (`CatalogLister`, lowest priority) and none starts
past the sync's FETCH_BUDGET.

A failure here never fails the sync: it is recorded in the run's errors (with the `lang` it
concerns) and the names stored before stay.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from catalog.models import Country, Operator, Provider, Service, SyncRun
from catalog.names import name_field
from catalog.sync.errors import ErrorLog, describe
from catalog.sync.fetch import FETCH_BUDGET, Asker
from catalog.sync.key import SyncKey
from catalog.upstream import CatalogLister
from provider.client import MAX_COUNTRY_NAME_LENGTH, MAX_SERVICE_NAME_LENGTH

logger = logging.getLogger(__name__)

OTHER_LANG = {"en": "ru", "ru": "en"}
NAMES_CONCURRENCY = 4  # getServicesAndCost calls in flight at once, after the first one
NAMES_ATTEMPTS = 2  # tries per call (a retryable error only)
ANY_OPERATOR = "any"


@dataclass
class Names:
    countries: dict[int, str] = field(default_factory=dict)  # provider's country id: name
    services: dict[str, str] = field(default_factory=dict)  # service code: name
    calls: int = 0


def countries_to_ask(provider: Provider) -> list[tuple[int, str]]:
    """(country id, operator) to ask getServicesAndCost, the countries selling most first:
    operator "any" where listed, else the country's first operator (two queries)."""
    countries = (
        Country.objects.filter(provider=provider, available=True)
        .annotate(sold=Count("offers", filter=Q(offers__available=True)))
        .order_by("-sold", "external_id")
        .values_list("pk", "external_id")
    )
    operators: dict[int, list[str]] = {}
    for country_id, code in (
        Operator.objects.filter(country__provider=provider, available=True)
        .order_by("code")
        .values_list("country_id", "code")
    ):
        operators.setdefault(country_id, []).append(code)
    asked = []
    for pk, external_id in countries:
        codes = operators.get(pk)
        if codes:
            asked.append((external_id, ANY_OPERATOR if ANY_OPERATOR in codes else codes[0]))
    return asked


async def fetch_names(
    provider: Provider,
    key: SyncKey,
    lang: str,
    *,
    wanted: set[str],
    countries: list[tuple[int, str]] | None,
    deadline: float,
    errors: ErrorLog,
) -> Names:
    """The names in `lang`: the countries', then (unless `countries` is None) the services'
    in `wanted`, asked country by country until all are named."""
    names = Names()
    asker = Asker(deadline, errors, attempts=NAMES_ATTEMPTS, where={"lang": lang})
    try:
        await _ask_names(provider, key, lang, asker, names, wanted, countries)
    finally:
        names.calls = asker.calls
    return names


async def _ask_names(
    provider: Provider,
    key: SyncKey,
    lang: str,
    asker: Asker,
    names: Names,
    wanted: set[str],
    countries: list[tuple[int, str]] | None,
) -> None:
    errors = asker.errors
    async with CatalogLister(provider, key.api_key, account=key.account, lang=lang) as lister:
        listing = await asker.ask("getCountryAndOperators", lister.get_countries)
        if listing is None:
            return  # that language fails: ask no more of it this time
        errors.add_left_out("getCountryAndOperators", listing, lang=lang)
        for country in listing:
            names.countries.setdefault(country.id, country.name)
        if countries is None:
            return

        async def services_of(country: int, operator: str):
            where = {"country": country, "operator": operator}
            return await asker.ask(
                "getServicesAndCost", lambda: lister.get_services(country, operator), **where
            )

        pending = set(wanted)
        queue = list(countries)
        size = 1  # the first country alone: one answer often names every service
        while pending and queue:
            batch, queue = queue[:size], queue[size:]
            size = NAMES_CONCURRENCY

            answers = await asyncio.gather(*(services_of(*pair) for pair in batch))
            for (country, operator), answer in zip(batch, answers, strict=True):
                if answer is not None:
                    where = {"country": country, "operator": operator, "lang": lang}
                    errors.add_left_out("getServicesAndCost", answer, **where)
                for offer in answer or ():
                    if offer.id in pending:
                        pending.discard(offer.id)
                        if offer.name != offer.id:  # named by its id: no name given
                            names.services[offer.id] = offer.name


def store_names(provider: Provider, lang: str, names: Names) -> int:
    """Write the names in `lang` of known countries and services (ids not stored are
    ignored); returns the rows renamed."""
    column = name_field(lang)
    renamed = 0
    for model, key, found, limit in (
        (Country, "external_id", names.countries, MAX_COUNTRY_NAME_LENGTH),
        (Service, "code", names.services, MAX_SERVICE_NAME_LENGTH),
    ):
        rows = [
            row
            for row in model.objects.filter(provider=provider).only("pk", key, column)
            if found.get(getattr(row, key)) not in (None, "", getattr(row, column))
            and len(found[getattr(row, key)]) <= limit
        ]
        for row in rows:
            setattr(row, column, found[getattr(row, key)])
        model.objects.bulk_update(rows, [column], batch_size=500)
        renamed += len(rows)
    return renamed


def sync_names(provider: Provider, key: SyncKey, run: SyncRun, errors: ErrorLog) -> None:
    """The names pass of a sync (when the provider asks for it): never raises."""
    lang = OTHER_LANG.get(provider.lang)
    if not provider.names_in_both_languages or lang is None:
        return
    names_errors = ErrorLog(secret=key.api_key)
    try:
        elapsed = (timezone.now() - run.started_at).total_seconds()
        deadline = time.monotonic() + FETCH_BUDGET.total_seconds() - elapsed
        services = run.kind != SyncRun.Kind.COUNTRIES
        wanted = (
            set(
                Service.objects.filter(provider=provider, offers__available=True)
                .values_list("code", flat=True)
                .distinct()
            )
            if services
            else set()
        )
        names = async_to_sync(fetch_names)(
            provider,
            key,
            lang,
            wanted=wanted,
            countries=countries_to_ask(provider) if services else None,
            deadline=deadline,
            errors=names_errors,
        )
        run.calls += names.calls
        with transaction.atomic():
            renamed = store_names(provider, lang, names)
        logger.info("Names in %s of %s: %s renamed", lang, provider.name, renamed)
    except Exception as exc:
        logger.exception("The names pass in %s of %s failed", lang, provider.name)
        names_errors.add("names", describe(exc), lang=lang)
    errors.extend(names_errors)

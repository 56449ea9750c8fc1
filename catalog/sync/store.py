"""Storing a fetched catalog: bulk upserts in the caller's transaction, a price history row
for every new price, and offers the provider no longer lists kept but marked unavailable
(activations and reports point at them). A few statements per thousand rows, never one per
row; should the database refuse a value, the rows are written one at a time and only those
it refuses are lost."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import batched
from typing import Any

from django.db import transaction
from django.db.models import Q

from catalog.models import Country as CountryRow
from catalog.models import Offer, Operator, PriceChange, Provider, Service
from catalog.names import name_field
from catalog.sync.bulk import record_first_prices, upsert_offers
from catalog.sync.errors import ErrorLog, describe
from catalog.sync.fetch import Pair
from dashboard.db import REFUSED_ROW
from provider.client import Country, ServiceOffer

# Rows per INSERT/UPDATE statement and ids per IN (...) list.
BATCH = 500


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
    own_name = name_field(provider.lang)  # the names come in the provider's lang
    CountryRow.objects.bulk_create(
        [
            CountryRow(
                provider=provider,
                external_id=c.id,
                name=c.name,
                available=True,
                last_seen_at=now,
                **{own_name: c.name},
            )
            for c in countries
        ],
        update_conflicts=True,
        unique_fields=["provider", "external_id"],
        update_fields=["name", own_name, "available", "last_seen_at"],
        batch_size=BATCH,
    )
    country_ids = country_ids_of(provider)
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


def country_ids_of(provider: Provider) -> dict[int, int]:
    """The provider's stored countries: {provider's country id: Country pk}."""
    return dict(CountryRow.objects.filter(provider=provider).values_list("external_id", "pk"))


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
    country_ids = country_ids_of(provider)
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
    stored.offers = sum(len({offer.id for offer in offers}) for _, offers in written)
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
    own_name = name_field(provider.lang)  # the names come in the provider's lang
    known = {
        code: (name, own)
        for code, name, own in Service.objects.filter(provider=provider).values_list(
            "code", "name", own_name
        )
    }
    Service.objects.bulk_create(
        [
            Service(provider=provider, code=code, name=name, **{own_name: name})
            for code, name in names.items()
            if known.get(code) != (name, name)
        ],
        update_conflicts=True,
        unique_fields=["provider", "code"],
        update_fields=["name", own_name],
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
        writes.append((country_of[key[0]], *key, price, quantity))
    upsert_offers(provider.pk, writes, now)
    record_new_prices(repriced, current, existing, now)

    # Offers the answers no longer list.
    gone = [row[0] for key, row in existing.items() if row[3] and key not in current]
    mark_unavailable(Offer, gone, updated_at=now)

    # The rest were seen unchanged: one UPDATE per batch of operators, not one per offer.
    if len(writes) < len(current):
        for batch in batched(answered, BATCH):
            Offer.objects.filter(operator_id__in=batch, available=True).exclude(
                last_seen_at=now
            ).update(last_seen_at=now)
    return len(writes) + len(gone)


def record_new_prices(
    repriced: list[tuple[int, int]],
    current: dict[tuple[int, int], tuple[Decimal, int]],
    existing: dict[tuple[int, int], tuple[int, Decimal, int, bool]],
    now: datetime,
) -> None:
    """A row of history for every new price (the first price included), `repriced` being the
    (operator pk, service pk) of the offers just written with a price they did not have.
    Operators with no offer stored before (the whole catalog on a first sync) get theirs
    in one INSERT ... SELECT per batch; the others' rows are built here, with the ids of
    offers new to a known operator looked up."""
    known_operators = {operator_id for operator_id, _ in existing}
    first_seen = sorted({operator_id for operator_id, _ in repriced} - known_operators)
    record_first_prices(first_seen, now)
    keys = [key for key in repriced if key[0] in known_operators]
    offer_ids = {key: row[0] for key, row in existing.items()}
    new_to_operator = sorted({key[0] for key in keys if key not in offer_ids})
    for batch in batched(new_to_operator, BATCH):
        offer_ids.update(
            ((operator_id, service_id), pk)
            for pk, operator_id, service_id in Offer.objects.filter(
                operator_id__in=batch
            ).values_list("pk", "operator_id", "service_id")
        )
    PriceChange.objects.bulk_create(
        [
            PriceChange(offer_id=offer_ids[key], price=current[key][0], recorded_at=now)
            for key in keys
        ],
        batch_size=BATCH,
    )


def retire_offers_of_gone_operators(provider: Provider, now: datetime) -> int:
    """Mark unavailable the offers still listed whose operator or country is no longer."""
    return (
        Offer.objects.filter(provider=provider, available=True)
        .filter(Q(operator__available=False) | Q(operator__country__available=False))
        .update(available=False, updated_at=now)
    )

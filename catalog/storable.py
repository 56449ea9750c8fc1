"""Which rows of a catalog answer the catalog's columns can hold.

The protocol client checks an answer against the provider document; this checks each row
against our own models (lengths, digits, integer ranges) with the models' own field
validators, plus NUL bytes and lone surrogates, which no text column takes. A row the
database would refuse is then left out and named instead of failing the write of every other
row, and the outcome is the same on SQLite and PostgreSQL (SQLite alone would store a 100 KB
name or a 13-digit price, and refuse 10**30 with an OverflowError, not a database error).

A negative price passes here: the CheckConstraint on the price columns refuses it, and the
sync then stores the other pairs without that one (`catalog.services.write_each`).
"""

import reprlib
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from activations.client import Country, ServiceOffer
from catalog.models import Country as CountryRow
from catalog.models import Offer, Operator, Service

CENT = Decimal("0.01")  # prices are stored with two decimals


def field_problem(model: type[models.Model], name: str, value: Any) -> str | None:
    """Why the column `model.name` cannot hold `value` ("price: Ensure that ..."), or None."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return f"{name}: {' '.join(exc.messages)}"
    if isinstance(value, str) and not storable_text(value):
        return f"{name}: holds a NUL byte or a lone surrogate, which a text column refuses."
    return None


def storable_text(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def shown(value: Any) -> str:
    """A provider's value, short enough to quote in an error."""
    return reprlib.repr(value)


def storable_countries(countries: list[Country]) -> tuple[list[Country], list[str]]:
    """The countries that can be stored (each without the operators that cannot), and one
    line for each country or operator left out."""
    kept, problems = [], []
    for country in countries:
        problem = field_problem(CountryRow, "external_id", country.id) or field_problem(
            CountryRow, "name", country.name
        )
        if problem:
            problems.append(f"country {shown(country.id)}: {problem}")
            continue
        operators = []
        for code in country.operators:
            problem = field_problem(Operator, "code", code)
            if problem:
                problems.append(f"country {country.id}, operator {shown(code)}: {problem}")
            else:
                operators.append(code)
        kept.append(replace(country, operators=operators))
    return kept, problems


@lru_cache(maxsize=4096)
def service_problem(code: str, name: str) -> str | None:
    # Cached: every pair lists the same few hundred services.
    return field_problem(Service, "code", code) or field_problem(Service, "name", name)


def offer_problem(offer: ServiceOffer) -> str | None:
    problem = service_problem(offer.id, offer.name)
    if problem is None:
        try:
            price = offer.price.quantize(CENT)
        except InvalidOperation:
            return f"service {shown(offer.id)}: price: {shown(offer.price)} is out of range."
        problem = field_problem(Offer, "price", price) or field_problem(
            Offer, "quantity", offer.quantity
        )
    return problem and f"service {shown(offer.id)}: {problem}"


def storable_offers(offers: list[ServiceOffer]) -> tuple[list[ServiceOffer], list[str]]:
    """The offers that can be stored, and one line for each offer left out."""
    kept, problems = [], []
    for offer in offers:
        problem = offer_problem(offer)
        if problem:
            problems.append(problem)
        else:
            kept.append(offer)
    return kept, problems

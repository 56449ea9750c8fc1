"""What the sandbox sells: the annexes' countries and services at deterministic prices and
stock, and the phone numbers and codes it makes up. Deterministic, so that a test or a demo
sees the same catalog every time (`Sandbox.set_offer` overrides one combination)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from provider.sandbox.annexes import COUNTRIES_BY_ID, SERVICE_NAMES_RU, SERVICES, CatalogCountry


@dataclass(frozen=True, slots=True)
class Offer:
    price: Decimal
    quantity: int


def digest(*parts: object) -> int:
    """A 64-bit number, the same for the same parts (the sandbox's determinism)."""
    text = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


CENT = Decimal("0.01")


def catalog_offer(service: str, country: int, operator: str, seed: int = 0) -> Offer:
    """The deterministic price and stock of a combination in the market of `seed`. About one
    in eight is out of stock (price 0, quantity 0, as the document's example shows), except
    that every service is in stock in Russia (country 0) with operator "any", so demos always
    have something to buy. Seed 0 is the sandbox's classic catalog; every other seed is another
    provider: its own stock, and prices within 20 % of the classic ones (what a service costs
    in a country is much the same everywhere; providers differ by their margins)."""
    classic = digest(service, country, operator)
    h = digest(service, country, operator, seed) if seed else classic
    if h % 100 < 12 and not (country == 0 and operator == "any"):
        return Offer(Decimal(0), 0)
    price = Decimal(50 + (classic >> 8) % 14951) / 100  # 0.50 .. 150.00
    if seed:
        price = max(CENT, (price * Decimal(80 + (h >> 8) % 41) / 100).quantize(CENT))
    quantity = 1 + (h >> 24) % 3000
    return Offer(price, quantity)


def sells(country: int, operator: str) -> bool:
    """Whether the annex lists `country` with `operator`."""
    known = COUNTRIES_BY_ID.get(country)
    return known is not None and operator in known.operators


def country_rows(countries: Iterable[CatalogCountry], ru: bool) -> list[dict[str, Any]]:
    """getCountryAndOperators, as the document writes it (operators as {"id": "id"})."""
    return [
        {
            "id": country.id,
            "name": country.name_ru if ru else country.name,
            "operators": {op: op for op in country.operators},
        }
        for country in countries
    ]


def service_rows(offer: Callable[[str], Offer], ru: bool) -> list[dict[str, Any]]:
    """getServicesAndCost for one country and operator, `offer(service_id)` its offers; the
    price a JSON number and the quantity a string, as the document writes them."""
    rows = []
    for service in SERVICES:
        on_offer = offer(service.id)
        name = SERVICE_NAMES_RU.get(service.id, service.name) if ru else service.name
        price, quantity = _json_price(on_offer.price), str(on_offer.quantity)
        rows.append({"id": service.id, "name": name, "price": price, "quantity": quantity})
    return rows


def _json_price(price: Decimal) -> int | float:
    return int(price) if price == price.to_integral_value() else float(price)


def phone_number(activation_id: int, country: int) -> str:
    """A plausible mobile number in the country's format, with its calling code."""
    info = COUNTRIES_BY_ID[country]
    rng = random.Random(activation_id)
    national = info.mobile_prefix or str(rng.randint(2, 9))
    while len(national) < info.national_digits:
        national += str(rng.randint(0, 9))
    return info.dial_code + national


def sms_code(activation_id: int, n: int) -> str:
    """The n-th six-digit code of an activation (leading zeros happen, as in real SMS)."""
    return f"{digest('code', activation_id, n) % 1_000_000:06d}"

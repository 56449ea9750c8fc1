"""The sandbox provider's catalog, read at start-up from the data files in `data/`:

- `annex-1-countries.txt` and `annex-2-services.txt`: the provider document's Annex 1
  (countries and their operators) and Annex 2 (services), byte for byte as the document
  has them;
- `country-details.json`: what the sandbox adds per country id: the calling code, mobile
  prefix and national digits of the phone numbers it makes up (plausible, not authoritative),
  and the Russian name it answers with lang=ru (the document's own examples use "Россия" and
  "Украина"); a country without one falls back to the annex's English name;
- `service-names-ru.json`: the Russian names of a few services (others keep the annex's).

A few services in Annex 2 have no name; they are named by their id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any


@dataclass(frozen=True, slots=True)
class CatalogCountry:
    id: int
    name: str  # English, as in the annex
    name_ru: str
    operators: tuple[str, ...]
    dial_code: str  # the country calling code
    mobile_prefix: str  # how national mobile numbers start ("" for any non-zero digit)
    national_digits: int  # digits after the calling code, prefix included


@dataclass(frozen=True, slots=True)
class CatalogService:
    id: str
    name: str


def read_data(name: str) -> str:
    """The text of one file of `provider/sandbox/data/`."""
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


def _annex_lines(annex: str, header_lines: int) -> list[str]:
    return [line.strip() for line in annex.splitlines() if line.strip()][header_lines:]


def parse_countries(annex: str, details: dict[str, Any]) -> tuple[CatalogCountry, ...]:
    """Annex 1: after the four header lines, triples of id, name and "op, op, ..., " lines;
    `details` (country-details.json) must name every country's phone format."""
    lines = _annex_lines(annex, 4)
    if len(lines) % 3:
        raise ValueError("Annex 1 is not a list of (id, name, operators) triples.")
    countries = []
    for index in range(0, len(lines), 3):
        country_id, name, operators = int(lines[index]), lines[index + 1], lines[index + 2]
        detail = details[str(country_id)]
        countries.append(
            CatalogCountry(
                id=country_id,
                name=name,
                name_ru=detail.get("name_ru", name),
                operators=tuple(op.strip() for op in operators.split(",") if op.strip()),
                dial_code=detail["dial_code"],
                mobile_prefix=detail["mobile_prefix"],
                national_digits=detail["national_digits"],
            )
        )
    return tuple(countries)


_SERVICE_ID = re.compile(r"[a-z0-9]{2}")


def parse_services(annex: str) -> tuple[CatalogService, ...]:
    """Annex 2: after the three header lines, an id line followed by a name line, except
    that a few ids have no name (the next line is already the next id). No name in the annex
    is two lowercase letters, so a line like that is always an id."""
    lines = _annex_lines(annex, 3)
    services: list[CatalogService] = []
    index = 0
    while index < len(lines):
        service_id = lines[index]
        if not _SERVICE_ID.fullmatch(service_id):
            raise ValueError(f"Annex 2: expected a service id, found {service_id!r}.")
        following = lines[index + 1] if index + 1 < len(lines) else None
        if following is None or _SERVICE_ID.fullmatch(following):
            services.append(CatalogService(service_id, service_id))
            index += 1
        else:
            services.append(CatalogService(service_id, following))
            index += 2
    return tuple(services)


COUNTRIES: tuple[CatalogCountry, ...] = parse_countries(
    read_data("annex-1-countries.txt"), json.loads(read_data("country-details.json"))
)
SERVICES: tuple[CatalogService, ...] = parse_services(read_data("annex-2-services.txt"))
SERVICE_NAMES_RU: dict[str, str] = json.loads(read_data("service-names-ru.json"))
COUNTRIES_BY_ID = {country.id: country for country in COUNTRIES}
SERVICES_BY_ID = {service.id: service for service in SERVICES}

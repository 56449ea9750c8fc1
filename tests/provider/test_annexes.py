"""The sandbox's catalog data files (provider/sandbox/data/) and their loader."""

import hashlib
import json

import pytest

from provider.sandbox.annexes import (
    COUNTRIES,
    COUNTRIES_BY_ID,
    SERVICE_NAMES_RU,
    SERVICES,
    SERVICES_BY_ID,
    parse_countries,
    parse_services,
    read_data,
)
from provider.sandbox.rules import Sandbox

# SHA-256 of Annex 1 and Annex 2 as provider-api-doc.txt writes them (from "Annex N." to the
# end of the annex): the data files are the document's text, byte for byte.
DOCUMENT_ANNEXES = {
    "annex-1-countries.txt": "a1edc91103793c15cb4cb3bdc73ac352107cfcf7040e3ec4cb46fe5e2b6e0905",
    "annex-2-services.txt": "280a6f5a9d672b6a66ab850c79b341aa65a3845d33059a02c617cd5a05de0612",
}


@pytest.mark.parametrize(("name", "digest"), DOCUMENT_ANNEXES.items())
def test_the_annex_files_are_the_documents_text(name, digest):
    assert hashlib.sha256(read_data(name).encode()).hexdigest() == digest


def test_the_annexes_start_with_the_documents_headings():
    assert read_data("annex-1-countries.txt").startswith(
        "Annex 1. List of countries\nID\nНаименование\nДоступные операторы\n0\nRussia\n"  # noqa: RUF001
    )
    assert read_data("annex-2-services.txt").startswith(
        "Annex 2. Service list\nID\nНаименование\nvk\nVK.com\n"  # noqa: RUF001
    )


def test_the_sandboxs_additions_name_only_annex_countries_and_services():
    details = json.loads(read_data("country-details.json"))
    assert sorted(map(int, details)) == sorted(COUNTRIES_BY_ID)
    assert set(SERVICE_NAMES_RU) <= set(SERVICES_BY_ID)
    assert COUNTRIES_BY_ID[0].name_ru == "Россия" and COUNTRIES_BY_ID[1].name_ru == "Украина"
    assert COUNTRIES_BY_ID[122].name_ru == "Багамы"
    # A country without a Russian name answers with the annex's English one.
    assert COUNTRIES_BY_ID[99].name_ru == COUNTRIES_BY_ID[99].name == "That"
    assert (COUNTRIES_BY_ID[0].dial_code, COUNTRIES_BY_ID[0].national_digits) == ("7", 10)


def test_every_country_has_operators_and_every_service_a_name():
    assert all(country.operators and "any" in country.operators for country in COUNTRIES)
    assert COUNTRIES_BY_ID[11].operators == ("any", "beeline", "megacom", "o!")
    assert all(service.name for service in SERVICES)


def test_a_malformed_annex_is_refused_at_start_up():
    header = "Annex 1. List of countries\nID\nName\nOperators\n"
    with pytest.raises(ValueError, match="triples"):
        parse_countries(header + "0\nRussia\n", {})
    with pytest.raises(ValueError, match="expected a service id"):
        parse_services("Annex 2. Service list\nID\nName\nvk\nVK.com\nTwo Words\n")
    with pytest.raises(KeyError):  # a country the sandbox has no phone format for
        parse_countries(header + "999\nNowhere\nany,\n", {})


def test_a_sandbox_can_list_fewer_countries_and_still_sell_every_one():
    sandbox = Sandbox(countries=COUNTRIES[:2])
    sandbox.add_account("short-list-key")
    params = {"api_key": "short-list-key", "lang": "en"}
    listed = json.loads(sandbox.handle({**params, "action": "getCountryAndOperators"}).body)
    assert [row["id"] for row in listed] == [0, 1]
    services = sandbox.handle({**params, "action": "getServicesAndCost", "country": "2"})
    assert [row["id"] for row in json.loads(services.body)] == [s.id for s in SERVICES]
    sandbox.reset()
    assert sandbox.countries == COUNTRIES[:2]  # a reset keeps the configuration

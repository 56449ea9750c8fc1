"""Catalog names in the user's language (issue 17, point 3): the protocol's `lang` decides
the language of names and the currency of prices; a provider synced in both languages for
names keeps its prices and stock from its own lang only."""

import json
from functools import partial
from urllib.parse import parse_qsl

import httpx
import pytest
from django.test.utils import override_settings
from django.utils import translation

from catalog import upstream
from catalog.models import Country, Offer, PriceChange, Provider, Service, SyncRun
from catalog.names import localized_name
from catalog.queries import matching_offers
from catalog.sync import fetch
from catalog.sync import names as names_pass
from catalog.sync.run import sync_provider
from catalog.sync.status import failure_reason
from provider import client as protocol
from tests.fixtures.catalog import seed_pairs
from tests.provider.client_support import DOC_COUNTRIES, DOC_SERVICES

KEY = "names-test-key-1234"
# The document's answers (lang=ru, byte for byte) and the same catalog in English.
EN_COUNTRIES = json.dumps(
    [
        {"id": 0, "name": "Russia", "operators": {"any": "any", "tele2": "tele2"}},
        {"id": 1, "name": "Ukraine", "operators": {"any": "any", "mts": "mts"}},
    ]
)
EN_SERVICES = json.dumps(
    [
        {"id": "vk", "name": "VKontakte", "price": 0.45, "quantity": "19"},
        {"id": "ok", "name": "Ok.ru", "price": 0.02, "quantity": "2776"},
        {"id": "wa", "name": "Whatsapp", "price": 0, "quantity": "0"},
    ]
)


class TwoLanguages:
    """A provider answering the document's literal answers in ru and English ones in en;
    `broken[lang]` answers that language with (status, text) instead."""

    def __init__(self) -> None:
        self.answers = {
            ("ru", "getCountryAndOperators"): DOC_COUNTRIES,
            ("ru", "getServicesAndCost"): DOC_SERVICES,
            ("en", "getCountryAndOperators"): EN_COUNTRIES,
            ("en", "getServicesAndCost"): EN_SERVICES,
        }
        self.broken: dict[str, tuple[int, str]] = {}
        self.asked: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params) | dict(parse_qsl(request.content.decode()))
        self.asked.append(params)
        if params["lang"] in self.broken:
            status, text = self.broken[params["lang"]]
            return httpx.Response(status, text=text)
        return httpx.Response(200, text=self.answers[(params["lang"], params["action"])])


@pytest.fixture
def two(db, settings, monkeypatch) -> TwoLanguages:
    fake = TwoLanguages()
    settings.SANDBOX_API_KEY = KEY
    client = partial(protocol.AsyncProviderClient, transport=httpx.MockTransport(fake))
    monkeypatch.setattr(upstream, "AsyncProviderClient", client)
    monkeypatch.setattr(fetch, "RETRY_DELAY", 0.001)
    return fake


def make_provider(lang="en", both=True) -> Provider:
    return Provider.objects.create(
        name=f"Both {lang}",
        handler_url="http://both.test/stubs/handler_api",
        is_sandbox=True,
        lang=lang,
        names_in_both_languages=both,
        max_requests_per_second=1000,
    )


def names(model, **where) -> tuple[str, str, str]:
    row = model.objects.get(**where)
    return row.name, row.name_en, row.name_ru


# --- The client ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "country", "service"), [("ru", "Россия", "Вконтакте"), ("en", "Russia", "VKontakte")]
)
def test_the_client_reads_names_in_the_lang_it_asks(two, lang, country, service):
    client = protocol.ProviderClient(
        "http://both.test/stubs/handler_api",
        KEY,
        lang=lang,
        transport=httpx.MockTransport(two),
    )
    with client:
        assert [c.name for c in client.get_countries()][:1] == [country]
        assert [s.name for s in client.get_services(0, "any")][:1] == [service]
    assert {p["lang"] for p in two.asked} == {lang}


# --- The sync ------------------------------------------------------------------------------


def test_a_sync_stores_both_names_and_prices_only_from_its_own_lang(two):
    provider = make_provider("en")

    run = sync_provider(provider)

    assert run.error_count == 0, run.errors
    assert names(Country, provider=provider, external_id=0) == ("Russia", "Russia", "Россия")
    assert names(Country, provider=provider, external_id=1) == ("Ukraine", "Ukraine", "Украина")
    assert names(Service, provider=provider, code="vk") == ("VKontakte", "VKontakte", "Вконтакте")
    # The ru answers' prices (29.88 rubles) and stock changed nothing.
    vk = Offer.objects.filter(provider=provider, service__code="vk")
    assert {str(o.price) for o in vk} == {"0.45"}
    assert set(PriceChange.objects.values_list("price", flat=True)) <= {
        o.price for o in Offer.objects.all()
    }
    # Bounded: the main sync (1 + 4 pairs), then countries once and one country's services.
    ru_calls = [p for p in two.asked if p["lang"] == "ru"]
    assert [p["action"] for p in ru_calls] == ["getCountryAndOperators", "getServicesAndCost"]
    assert ru_calls[1]["operator"] == "any"
    assert run.calls == 1 + 4 + 2


def test_a_provider_in_russian_gets_english_names(two):
    provider = make_provider("ru")

    sync_provider(provider)

    assert names(Country, provider=provider, external_id=0) == ("Россия", "Russia", "Россия")
    assert names(Service, provider=provider, code="vk") == ("Вконтакте", "VKontakte", "Вконтакте")
    assert {str(o.price) for o in Offer.objects.filter(service__code="vk")} == {"29.88"}


def test_without_the_option_only_the_providers_lang_is_asked(two):
    provider = make_provider("en", both=False)

    run = sync_provider(provider)

    assert {p["lang"] for p in two.asked} == {"en"}
    assert names(Country, provider=provider, external_id=0) == ("Russia", "Russia", "")
    assert run.calls == 1 + 4


@pytest.mark.parametrize(
    "broken",
    [(500, "Internal Server Error"), (200, "<html>garbage</html>"), (200, '[{"id": "x"}]')],
    ids=["500", "garbage", "nonsense rows"],
)
def test_a_failing_names_pass_keeps_the_sync_and_the_old_names(two, broken):
    provider = make_provider("en")
    sync_provider(provider)
    two.broken["ru"] = broken
    two.answers[("en", "getServicesAndCost")] = EN_SERVICES.replace("0.45", "0.50")

    run = sync_provider(provider)

    assert run.offers == 12  # the main sync stored its answers (4 pairs, 3 services)
    assert {str(o.price) for o in Offer.objects.filter(service__code="vk")} == {"0.50"}
    assert names(Country, provider=provider, external_id=0) == ("Russia", "Russia", "Россия")
    assert names(Service, provider=provider, code="vk") == ("VKontakte", "VKontakte", "Вконтакте")
    if broken[1].startswith("[{"):  # rows without names of known ids: ignored, no error
        return
    assert [e["action"] for e in run.errors] == ["getCountryAndOperators"]
    assert run.errors[0]["lang"] == "ru"
    assert run.calls == 5 + names_pass.NAMES_ATTEMPTS * (broken[0] == 500) + (broken[0] != 500)
    # The status card says what failed: the names, not the catalog.
    assert failure_reason(run, provider.name) == (
        "Both en did not give the names in the other language. The catalog itself was stored; "
        "they are asked for again at the next sync."
    )


def test_names_not_of_known_ids_are_ignored(two):
    two.answers[("ru", "getCountryAndOperators")] = json.dumps(
        [{"id": 0, "name": "Россия", "operators": ["any"]}, {"id": 77, "name": "Атлантида"}]
    )
    provider = make_provider("en")

    sync_provider(provider)

    assert not Country.objects.filter(external_id=77).exists()
    assert Country.objects.get(external_id=0).name_ru == "Россия"


def test_an_error_storing_names_never_fails_the_sync(two, monkeypatch):
    def broken(*args):
        raise RuntimeError("the names could not be stored")

    monkeypatch.setattr(names_pass, "store_names", broken)
    provider = make_provider("en")

    run = sync_provider(provider)

    assert run.offers == 12
    assert names(Country, provider=provider, external_id=0) == ("Russia", "Russia", "")
    assert run.errors[-1]["action"] == "names"
    assert run.errors[-1]["lang"] == "ru"


def test_the_sandbox_names_pass_fills_both_names(catalog_sandbox):
    catalog_sandbox.names_in_both_languages = True
    catalog_sandbox.save()
    seed_pairs(catalog_sandbox, {0: ["any"], 1: ["any"]})

    run = sync_provider(catalog_sandbox, SyncRun.Kind.PRICES)

    assert run.error_count == 0, run.errors
    russia = Country.objects.get(provider=catalog_sandbox, external_id=0)
    assert (russia.name, russia.name_ru) == ("Russia", "Россия")
    assert Service.objects.filter(provider=catalog_sandbox).exclude(name_en="").count() > 0
    assert run.calls == 2 + 2  # the two pairs, then countries and one country's services in ru


# --- Shown and searched in the reader's language --------------------------------------------


@pytest.fixture
def russia_offer(provider, make_offer):
    offer = make_offer(provider, "vk", service_name="VKontakte", country_name="Russia")
    Country.objects.filter(pk=offer.country_id).update(name_en="Russia", name_ru="Россия")
    Service.objects.filter(pk=offer.service_id).update(name_en="VKontakte", name_ru="Вконтакте")
    make_offer(provider, "vk", country=1, country_name="Ukraine")
    return offer


def test_shown_name_follows_the_language(russia_offer):
    country = Country.objects.get(pk=russia_offer.country_id)
    with translation.override("ru"):
        assert country.shown_name == "Россия"
        assert str(country) == "Россия"
    with translation.override("en"):
        assert country.shown_name == "Russia"
    ukraine = Country.objects.get(external_id=1)
    with translation.override("ru"):
        assert ukraine.shown_name == "Ukraine"  # no Russian name known: the provider's


def test_localized_name_in_queries(russia_offer):
    rows = Offer.objects.filter(pk=russia_offer.pk)
    with translation.override("ru"):
        assert rows.values_list(localized_name("country__"), flat=True)[0] == "Россия"
    with translation.override("en"):
        assert rows.values_list(localized_name("service__"), flat=True)[0] == "VKontakte"


@override_settings(LANGUAGE_CODE="en")
def test_the_catalog_page_shows_names_in_the_readers_language(
    client, bob, alice_team, russia_offer
):
    client.force_login(bob)
    url = f"/t/{alice_team.slug}/catalog/"
    russian = client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Россия" in russian
    assert "Вконтакте" in russian
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Russia" in english
    assert "Россия" not in english


def test_the_search_finds_a_country_by_either_name(russia_offer):
    by_russian = set(matching_offers({"q": "Россия"}))
    by_english = set(matching_offers({"q": "Russia"}))
    assert by_russian == by_english == {russia_offer}
    assert set(matching_offers({"q": "Вконтакте"})) == set(matching_offers({"q": "vkontakte"}))
    assert len(set(matching_offers({"q": "Вконтакте"}))) == 2

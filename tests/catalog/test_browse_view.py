from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Provider, SyncRun
from tests.fixtures.activations import make_account
from tests.fixtures.catalog import fill_catalog


def url(team, query=""):
    return f"/t/{team.slug}/catalog/{query}"


def test_it_checks_membership(client, charlie, alice_team, provider):
    client.force_login(charlie)
    assert client.get(url(alice_team)).status_code == 404


def test_it_requires_sign_in(client, alice_team):
    response = client.get(url(alice_team))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_viewer_can_browse(client, victor, alice_team, provider, make_offer):
    make_offer(provider, "tg", service_name="Telegram")
    client.force_login(victor)
    response = client.get(url(alice_team))
    assert response.status_code == 200
    assert b"Telegram" in response.content
    assert b"Sync now" not in response.content


def test_it_says_when_no_provider_is_enabled(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(url(alice_team))
    assert b"No provider is enabled" in response.content


def test_it_searches_services_by_name_or_id(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg", service_name="Telegram")
    make_offer(provider, "wa", service_name="Whatsapp")
    client.force_login(bob)
    by_name = client.get(url(alice_team, "?q=telegr")).context["page"]
    assert [o.service_name for o in by_name] == ["Telegram"]
    by_id = client.get(url(alice_team, "?q=WA")).context["page"]
    assert [o.service_name for o in by_id] == ["Whatsapp"]


def test_it_filters_by_country_and_operator(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg", country=0, country_name="Russia", operator="mts")
    make_offer(provider, "vk", country=0, country_name="Russia", operator="beeline")
    make_offer(provider, "ok", country=1, country_name="Ukraine", operator="mts")
    client.force_login(bob)
    page = client.get(url(alice_team, "?country=0")).context["page"]
    assert {o.service_code for o in page} == {"tg", "vk"}
    page = client.get(url(alice_team, "?country=0&operator=mts")).context["page"]
    assert [o.service_code for o in page] == ["tg"]
    page = client.get(url(alice_team, "?operator=mts")).context["page"]
    assert {o.service_code for o in page} == {"tg", "ok"}


def test_the_operator_choices_follow_the_country(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg", country=0, operator="tinkoff")
    make_offer(provider, "tg", country=1, operator="kyivstar")
    client.force_login(bob)
    form = client.get(url(alice_team, "?country=1")).context["form"]
    assert [value for value, _ in form.fields["operator"].choices] == ["", "kyivstar"]


def test_bad_filter_values_mean_any(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg")
    client.force_login(bob)
    response = client.get(url(alice_team, "?country=abc&operator=nope&sort=evil&page=x"))
    assert response.status_code == 200
    assert len(response.context["page"]) == 1


def test_it_hides_unavailable_offers_and_shows_sold_out_ones_only_when_asked(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", quantity=0)
    make_offer(provider, "vk", operator="mts", quantity=5)
    make_offer(provider, "ok", operator="beeline", available=False)
    client.force_login(bob)
    response = client.get(url(alice_team))
    assert [o.service_code for o in response.context["page"]] == ["vk"]
    assert "offers in stock only" in response.content.decode()
    page = client.get(url(alice_team, "?sold_out=on")).context["page"]
    assert [o.service_code for o in page] == ["vk", "tg"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["b", "a", "c"]),
        ("-price", ["c", "a", "b"]),
        ("-quantity", ["c", "b", "a"]),
        ("quantity", ["a", "b", "c"]),
    ],
)
def test_it_sorts_by_price_or_stock(client, bob, alice_team, provider, make_offer, sort, expected):
    make_offer(provider, "a", price="2.00", quantity=1)
    make_offer(provider, "b", price="1.00", quantity=5)
    make_offer(provider, "c", price="3.00", quantity=9)
    client.force_login(bob)
    page = client.get(url(alice_team, f"?sort={sort}")).context["page"]
    assert [o.service_code for o in page] == expected


def test_an_htmx_request_gets_only_the_table(client, bob, alice_team, provider, make_offer):
    make_offer(provider, "tg", service_name="Telegram")
    client.force_login(bob)
    response = client.get(url(alice_team, "?q=tg"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="catalog-results"')
    assert "Telegram" in body
    assert "<html" not in body
    # The operator select comes along out of band, for the chosen country.
    assert 'id="operator-filter" hx-swap-oob="true"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_a_history_restore_gets_the_whole_page(client, bob, alice_team, provider):
    client.force_login(bob)
    response = client.get(
        url(alice_team), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in response.content
    assert b"hx-swap-oob" not in response.content


def test_the_filter_form_works_without_javascript_and_pushes_the_url(
    client, bob, alice_team, provider
):
    client.force_login(bob)
    body = client.get(url(alice_team)).content.decode()
    assert 'method="get"' in body
    assert 'hx-push-url="true"' in body
    assert 'hx-target="#catalog-results"' in body


def test_it_paginates(client, bob, alice_team, provider):
    fill_catalog(provider, services=30, operators=4)
    client.force_login(bob)
    first = client.get(url(alice_team, "?sort=price&sold_out=on")).context["page"]
    assert len(first) == 50
    assert first.has_next
    third = client.get(url(alice_team, "?sort=price&sold_out=on&page=3"))
    assert len(third.context["page"]) == 20
    assert not third.context["page"].has_next
    assert (
        b"?sort=price&amp;sold_out=on&amp;page=2" in third.content
    )  # the previous link keeps the filters
    rows = [
        (r.service_code, r.operator_code)
        for n in (1, 2, 3)
        for r in client.get(url(alice_team, f"?sort=price&sold_out=on&page={n}")).context["page"]
    ]
    assert len(set(rows)) == 120  # every combination once across the pages


def test_it_makes_the_same_number_of_queries_however_many_rows(
    client, bob, alice_team, provider, make_offer, django_assert_max_num_queries
):
    make_offer(provider, "tg")
    SyncRun.objects.create(provider=provider, finished_at=timezone.now(), offers=1)
    client.force_login(bob)
    client.get(url(alice_team))  # the session is warm
    with CaptureQueriesContext(connection) as one_row:
        client.get(url(alice_team, "?sort=-quantity"))
    assert len(one_row) <= 15

    fill_catalog(provider, services=60, operators=5)
    with django_assert_max_num_queries(len(one_row)):
        response = client.get(url(alice_team, "?sort=-quantity"))
    assert len(response.context["page"]) == 50


def test_it_warns_when_the_prices_are_stale(client, bob, alice_team, provider, settings):
    settings.CATALOG_PRICES_INTERVAL_MINUTES = 15
    run = SyncRun.objects.create(provider=provider, offers=10, calls=3)
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - timedelta(minutes=31),
        finished_at=timezone.now() - timedelta(minutes=31),
    )
    client.force_login(bob)
    body = client.get(url(alice_team)).content.decode()
    assert "Prices last synced 31 min ago: they may be out of date" in body

    SyncRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(minutes=29))
    body = client.get(url(alice_team)).content.decode()
    assert "may be out of date" not in body
    assert "Up to date, synced 29 min ago." in body


def test_a_run_that_stored_nothing_says_why_it_failed(client, bob, alice_team, provider):
    SyncRun.objects.create(
        provider=provider,
        finished_at=timezone.now(),
        error_count=3,
        errors=[{"action": "getCountryAndOperators", "error": "ProviderUnavailable: HTTP 502"}],
    )
    client.force_login(bob)
    body = client.get(url(alice_team)).content.decode()
    assert "Up to date" not in body
    assert "The last sync failed (<time" in body
    reason = "Acme SMS is not answering. The catalog was not updated; try again in a moment."
    assert reason in body


def test_a_manager_sees_sync_now(client, alice, alice_team, provider):
    client.force_login(alice)
    assert b"Sync now" in client.get(url(alice_team)).content


# --- Across providers -------------------------------------------------------------------------


@pytest.fixture
def beta(db) -> Provider:
    return Provider.objects.create(name="Beta SMS", handler_url="http://127.0.0.1:9/h")


def test_each_combination_shows_once_with_every_providers_offer(
    client, bob, alice_team, provider, beta, make_offer
):
    make_offer(provider, "tg", country=0, operator="mts", price="2.00", quantity=4)
    make_offer(beta, "tg", country=0, operator="mts", price="1.20", quantity=6)
    make_offer(beta, "tg", country=0, operator="beeline", price="0.90", quantity=0)
    make_offer(provider, "vk", country=0, operator="mts", price="1.00", quantity=2)
    client.force_login(bob)
    response = client.get(url(alice_team, "?sold_out=on"))
    assert [c.provider.name for c in response.context["columns"]] == ["Acme SMS", "Beta SMS"]
    rows = [
        (r.service_code, r.operator_code, [c and (str(c.price), c.quantity) for c in r.cells])
        for r in response.context["page"]
    ]
    # By the best price in stock: vk at 1.00, tg/mts at Beta's 1.20; tg/beeline has no stock.
    assert rows == [
        ("vk", "mts", [("1.00", 2), None]),
        ("tg", "mts", [("2.00", 4), ("1.20", 6)]),
        ("tg", "beeline", [None, ("0.90", 0)]),
    ]
    body = response.content.decode()
    assert "with the price and stock at each of 2 providers" in body
    assert body.count("Sync now") == 0  # a member: no sync buttons


def test_filters_keep_the_other_providers_offers(
    client, bob, alice_team, provider, beta, make_offer
):
    make_offer(provider, "tg", country=0, operator="mts", price="2.00", quantity=0)
    make_offer(
        beta, "tg", country=0, operator="mts", price="1.20", quantity=6, service_name="Телеграм"
    )
    make_offer(beta, "tg", country=1, operator="mts", price="1.20", quantity=0)
    client.force_login(bob)
    page = client.get(url(alice_team, "?q=TG&country=0&operator=mts&in_stock=on")).context["page"]
    # In stock at Beta: the row stays, with Acme's sold-out offer beside it.
    (row,) = page
    assert [(c.price, c.quantity) for c in row.cells] == [
        (Decimal("2.00"), 0),
        (Decimal("1.20"), 6),
    ]
    page = client.get(url(alice_team, "?country=1&in_stock=on")).context["page"]
    assert list(page) == []


def test_it_marks_the_providers_where_the_team_holds_a_key(
    client, bob, alice_team, provider, beta, make_offer
):
    make_offer(beta, "tg")
    make_account(alice_team, beta)
    client.force_login(bob)
    response = client.get(url(alice_team))
    assert [(c.provider.name, c.keyed) for c in response.context["columns"]] == [
        ("Acme SMS", False),
        ("Beta SMS", True),
    ]
    assert 'title="Your team holds a key here"' in response.content.decode()


def test_a_disabled_provider_has_no_column(client, bob, alice_team, provider, beta, make_offer):
    make_offer(provider, "tg", price="1.00")
    make_offer(beta, "tg", price="0.50")
    Provider.objects.filter(pk=beta.pk).update(enabled=False)
    client.force_login(bob)
    response = client.get(url(alice_team))
    assert [c.provider.name for c in response.context["columns"]] == ["Acme SMS"]
    (row,) = response.context["page"]
    assert row.best.price == Decimal("1.00")


def test_a_manager_syncs_each_provider_and_sees_each_status(
    client, alice, alice_team, provider, beta
):
    SyncRun.objects.create(provider=beta, finished_at=timezone.now(), error_count=2)
    client.force_login(alice)
    body = client.get(url(alice_team)).content.decode()
    assert body.count(">Sync now</button>") == 2
    assert f'name="provider" value="{provider.pk}"' in body
    assert f'name="provider" value="{beta.pk}"' in body
    beta_card = body[body.index(f'id="sync-status-{beta.pk}"') :]
    assert "The last sync failed" in beta_card[: beta_card.index("</div>")]
    acme_card = body[body.index(f'id="sync-status-{provider.pk}"') :]
    assert "Not synced yet. Press Sync now" in acme_card[: acme_card.index("</div>")]


def test_a_page_past_the_end_shows_the_last_one(client, bob, alice_team, provider):
    fill_catalog(provider, services=30, operators=2)
    client.force_login(bob)
    page = client.get(url(alice_team, "?sold_out=on&page=9")).context["page"]
    assert page.number == 2
    assert len(page) == 10


def test_the_query_count_does_not_grow_with_providers(
    client, bob, alice_team, provider, beta, make_offer, django_assert_max_num_queries
):
    make_offer(provider, "tg")
    SyncRun.objects.create(provider=provider, finished_at=timezone.now(), offers=1)
    client.force_login(bob)
    client.get(url(alice_team))  # the session is warm
    with CaptureQueriesContext(connection) as one_provider:
        client.get(url(alice_team))

    for index in range(3):
        extra = Provider.objects.create(name=f"Extra {index}", handler_url="http://127.0.0.1:9/h")
        fill_catalog(extra, services=20, operators=3)
        SyncRun.objects.create(provider=extra, finished_at=timezone.now(), offers=60)
        make_account(alice_team, extra)
    fill_catalog(beta, services=20, operators=3)
    with django_assert_max_num_queries(len(one_provider)):
        response = client.get(url(alice_team))
    assert len(response.context["columns"]) == 5
    # The same combinations at every provider: each shown once.
    assert len({(r.service_code, r.operator_code) for r in response.context["page"]}) == 50


# --- From the catalog to buying; a search too long ------------------------------------------


def test_each_row_in_stock_has_a_buy_with_everything_chosen(
    client, bob, alice_team, provider, beta, make_offer
):
    make_account(alice_team, beta)
    make_offer(provider, "tg", country=0, operator="mts", price="0.90", quantity=4)
    at_beta = make_offer(beta, "tg", country=0, operator="mts", price="1.20", quantity=6)
    make_offer(provider, "vk", country=3, operator="tele2", price="1.00", quantity=0)
    client.force_login(bob)
    body = client.get(url(alice_team, "?sold_out=on")).content.decode()
    # The offer picked first is the cheapest where the team holds a key (Beta), not Acme's.
    chosen = f"service=tg&amp;country=0&amp;operator=mts&amp;offer={at_beta.pk}"
    buy = f"/t/{alice_team.slug}/buy/?{chosen}"
    assert (
        f'<a class="button small" href="{buy}" aria-label="Buy TG in Country 0, mts">Buy</a>'
        in body
    )
    assert body.count('class="button small"') == 1  # the sold-out vk row has none
    assert '<tr class="sold-out">' in body


def test_without_a_key_in_stock_buy_lets_routing_choose(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", country=0, operator="mts", quantity=4)
    client.force_login(bob)
    body = client.get(url(alice_team)).content.decode()
    assert f'href="/t/{alice_team.slug}/buy/?service=tg&amp;country=0&amp;operator=mts"' in body


def test_a_viewer_sees_no_buy(client, victor, alice_team, provider, make_offer):
    make_offer(provider, "tg", quantity=4)
    client.force_login(victor)
    body = client.get(url(alice_team)).content.decode()
    assert "/buy/" not in body


def test_when_nothing_is_in_stock_it_says_so_and_offers_the_sold_out_ones(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", quantity=0)
    SyncRun.objects.create(provider=provider, finished_at=timezone.now(), offers=1)
    client.force_login(bob)
    body = client.get(url(alice_team, "?q=tg")).content.decode()
    assert "No offers in stock match these filters." in body
    assert 'href="?q=tg&amp;sold_out=on">Show sold-out offers too</a>' in body


def test_a_search_too_long_is_an_error_and_lists_nothing(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg", quantity=4)
    client.force_login(bob)
    response = client.get(url(alice_team, "?q=" + "t" * 5000))
    assert list(response.context["page"]) == []
    body = response.content.decode()
    assert 'aria-invalid="true" aria-describedby="id_q_error"' in body
    assert "Search for at most 100 characters (this is 5000)." in body
    assert "Nothing is listed until the search is shorter." in body
    # A search of the longest length allowed still searches.
    assert client.get(url(alice_team, "?q=" + "t" * 100)).status_code == 200

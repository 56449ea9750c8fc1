# ruff: noqa: RUF001  (Russian text: Cyrillic letters are meant)
"""The catalog in Russian: the page, the service page and the sync status card read Russian
with a browser asking for it (Accept-Language: ru), counts take the right plural form, prices
read "1 234,56 ₽", and a provider's failure is told in Russian (the provider package itself
stays English)."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from catalog.models import Provider, SyncRun
from catalog.provider_errors import BUYING, KEY_CHECK
from catalog.sync.claims import SYNC_CLAIM
from catalog.tasks import sync_provider_catalog
from provider.client import BadKey, NoBalance, ProviderUnavailable

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}
HTMX = {"HTTP_HX_REQUEST": "true"}
NBSP = "\xa0"


def card(client, team, provider, **headers) -> str:
    url = f"/t/{team.slug}/catalog/sync/{provider.pk}/"
    return client.get(url, **HTMX, **headers).content.decode()


def synced(provider, *, minutes_ago=1, offers=10, error_count=0) -> SyncRun:
    finished = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(
        provider=provider,
        started_at=finished - timedelta(seconds=5),
        finished_at=finished,
        offers=offers,
        error_count=error_count,
        errors=[{"action": "getPrices", "error": "ProtocolError: bad"}] * error_count,
    )


@pytest.fixture
def rub_provider(db) -> Provider:
    return Provider.objects.create(
        name="Acme SMS", handler_url="http://127.0.0.1:9/stubs/handler_api", lang="ru"
    )


def test_the_catalog_page_reads_russian_with_prices_in_roubles(
    client, alice, alice_team, rub_provider, make_offer
):
    make_offer(rub_provider, "tg", price="1234.56", quantity=3, service_name="Telegram")
    synced(rub_provider)
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/catalog/", **RU).content.decode()
    assert "<h1>Каталог</h1>" in body
    assert ">Сервис</th>" in body and ">Страна</th>" in body and ">Оператор</th>" in body
    assert 'placeholder="Название или ID, например Telegram или tg"' in body
    assert "Каждый сервис, страна и оператор по одному разу; только предложения в наличии." in body
    assert 'data-label="Страна"' in body
    assert f"1{NBSP}234,56{NBSP}₽" in body
    assert "3 в наличии" in body
    assert "Цена: сначала низкая" in body and "Любая страна" in body
    assert "Актуально, синхронизирован" in body
    assert ">Синхронизировать</button>" in body
    assert "Catalog</h1>" not in body and "in stock" not in body


def test_the_same_page_still_reads_english(client, alice, alice_team, rub_provider, make_offer):
    make_offer(rub_provider, "tg", price="1234.56", quantity=3)
    synced(rub_provider)
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/catalog/").content.decode()
    assert "<h1>Catalog</h1>" in body
    assert "3 in stock" in body
    assert "Up to date, synced" in body


def test_the_service_page_reads_russian(client, alice, alice_team, rub_provider, make_offer):
    service = make_offer(rub_provider, "tg", service_name="Telegram").service
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/catalog/services/{service.pk}/", **RU)
    body = body.content.decode()
    assert "Где его купить у всех провайдеров" in body
    assert "Последние изменения цен" in body
    assert "Цены этого сервиса не менялись" in body
    assert "&larr; Каталог</a>" in body


def test_the_sync_status_card_reads_russian_while_a_sync_runs(
    client, bob, alice_team, rub_provider
):
    Provider.objects.filter(pk=rub_provider.pk).update(
        sync_claimed_until=timezone.now() + SYNC_CLAIM
    )
    SyncRun.objects.create(provider=rub_provider, started_at=timezone.now() - timedelta(seconds=20))
    client.force_login(bob)
    body = card(client, alice_team, rub_provider, **RU)
    assert "Получаем каталог от Acme SMS… (начали 20 с назад)" in body


def test_a_queued_sync_reads_russian(client, bob, alice_team, rub_provider):
    Provider.objects.filter(pk=rub_provider.pk).update(
        sync_queued_until=timezone.now() + SYNC_CLAIM
    )
    client.force_login(bob)
    body = card(client, alice_team, rub_provider, **RU)
    assert "Синхронизация поставлена в очередь 0 с назад; она скоро начнётся." in body


def test_a_failed_sync_says_why_in_russian(client, alice, alice_team, provider):
    sync_provider_catalog(provider.pk)  # no key anywhere: the sync cannot list anything
    client.force_login(alice)
    body = card(client, alice_team, provider, **RU)
    assert "Последняя синхронизация не удалась" in body
    assert "Ни одна команда ещё не подключила API-ключ для Acme SMS" in body
    assert "Каталог не обновлён; владелец или менеджер может подключить его" in body
    # The run stores English facts; the page words them in the reader's language.
    assert "No team has attached" in card(client, alice_team, provider)


@pytest.mark.parametrize(
    ("rows", "russian", "english"),
    [
        (1, "не удалось прочитать 1 строку;", "could not read 1 row;"),
        (3, "не удалось прочитать 3 строки;", "could not read 3 rows;"),
        (5, "не удалось прочитать 5 строк;", "could not read 5 rows;"),
    ],
)
def test_rows_a_sync_could_not_read_take_the_plural_form_of_their_count(
    client, bob, alice_team, rub_provider, rows, russian, english
):
    synced(rub_provider, error_count=rows)
    client.force_login(bob)
    assert russian in card(client, alice_team, rub_provider, **RU)
    assert english in card(client, alice_team, rub_provider)


@pytest.mark.parametrize(
    ("stock", "russian"), [(1, "1 в наличии"), (3, "3 в наличии"), (5, "5 в наличии")]
)
def test_stock_counts_read_russian(
    client, alice, alice_team, rub_provider, make_offer, stock, russian
):
    make_offer(rub_provider, "tg", quantity=stock)
    synced(rub_provider)
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/catalog/", **RU).content.decode()
    assert russian in body


def test_a_provider_failure_reads_russian_and_the_same_in_english():
    with translation.override("ru"):
        assert (
            BUYING.message(ProviderUnavailable(), "Acme SMS")
            == "Acme SMS не отвечает. Ничего не куплено; попробуйте ещё раз чуть позже."
        )
        assert KEY_CHECK.message(BadKey(), "Acme SMS") == (
            "Acme SMS не принял этот ключ. Ничего не сохранено; проверьте его и попробуйте ещё раз."
        )
        assert BUYING.message(NoBalance(), "Acme SMS").startswith(
            "Баланса команды в Acme SMS недостаточно. Ничего не куплено;"
        )
    with translation.override("en"):
        assert (
            BUYING.message(ProviderUnavailable(), "Acme SMS")
            == "Acme SMS is not answering. Nothing was bought; try again in a moment."
        )


def test_sync_now_without_javascript_says_queued_in_russian(
    client, alice, alice_team, rub_provider, queued
):
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/catalog/sync/", {"provider": rub_provider.pk}, follow=True, **RU
    )
    assert "Синхронизация Acme SMS поставлена в очередь" in response.content.decode()


def test_a_search_too_long_is_refused_in_russian(client, alice, alice_team, rub_provider):
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/catalog/?q={'x' * 120}", **RU).content.decode()
    assert "Поиск — не длиннее 100 символов (сейчас 120)." in body
    assert "Пока запрос не станет короче, список пуст." in body

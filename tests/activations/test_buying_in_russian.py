"""Buying in Russian: the buy page, why Buy is disabled, a purchase's error, an activation's
state, plural counts, and amounts typed the Russian way (a decimal comma)."""

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from activations.models import PriceLimit
from activations.poller.results import poll_error_message, poll_error_shown
from activations.usual import UsualBuy, UsualChoice
from dashboard.models import Membership
from provider.client import ProviderError
from tests.fixtures.activations import buy_form

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


def buy_url(team, query=""):
    return f"/t/{team.slug}/buy/{query}"


def test_the_buy_page_reads_russian(client, alice, alice_team, alice_account, tg_offer):
    client.force_login(alice)
    page = client.get(buy_url(alice_team), **RU).content.decode()
    assert '<html lang="ru"' in page
    assert "Купить номер" in page
    assert "Сервис" in page
    assert "Сначала выберите сервис" in page
    assert "Choose a service first" not in page


def test_the_highest_price_input_keeps_a_point_in_russian(
    client, alice, alice_team, alice_account, tg_offer
):
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("12.50"))
    client.force_login(alice)
    page = client.get(buy_url(alice_team, "?service=tg&country=0"), **RU).content.decode()
    assert 'value="12.50"' in page  # a number input: never "12,50"
    assert "Предельная цена" in page


def test_the_over_budget_reason_reads_russian(client, alice, alice_team, alice_account, tg_offer):
    alice_team.monthly_budget = Decimal("5")
    alice_team.save()
    client.force_login(alice)
    query = "?service=tg&country=0&operator=any"
    page = client.get(buy_url(alice_team, query), **RU).content.decode()
    assert "Это превысит месячный бюджет команды" in page
    assert "10,00" in page  # the price, as Russian writes money
    assert "This would go over" not in page


def test_a_buy_error_message_reads_russian(client, alice, alice_team, alice_account, tg_offer):
    client.force_login(alice)
    response = client.post(buy_url(alice_team), {"service": "tg", "token": "t" * 12}, **RU)
    page = client.get(response.url, **RU).content.decode()
    assert "Выберите сервис, страну и оператора." in page


def test_an_expired_form_is_told_in_russian(client, alice, alice_team, alice_account, tg_offer):
    client.force_login(alice)
    response = client.post(buy_url(alice_team), buy_form(tg_offer, token="short"), **RU)
    page = client.get(response.url, **RU).content.decode()
    assert "Срок действия формы истёк" in page


def test_an_activations_state_reads_russian(client, alice, alice_team, make_activation):
    activation = make_activation(poll_failures=2, last_poll_error="Provider answered BAD, retrying")
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/activations/{activation.pk}/", **RU)
    text = page.content.decode()
    assert "Ждём код" in text
    assert "Провайдер ответил BAD, пробуем снова" in text
    assert "Waiting for code" not in text


def test_stored_poll_errors_read_in_the_readers_language():
    error = ProviderError()
    error.answer = "NO_ACTIVATION"
    stored = poll_error_message(error)
    assert stored == "Provider answered NO_ACTIVATION, retrying"  # stored in English
    with translation.override("ru"):
        assert poll_error_shown(stored) == "Провайдер ответил NO_ACTIVATION, пробуем снова"
        assert poll_error_shown("") == "Провайдер не отвечает, пробуем снова"
    with translation.override("en"):
        assert poll_error_shown(stored) == stored


@pytest.mark.parametrize(
    ("times", "said"),
    [(1, "куплено 1 раз"), (3, "куплено 3 раза"), (5, "куплено 5 раз"), (21, "куплено 21 раз")],
)
def test_a_usual_choice_says_how_often_with_the_right_plural(rf, alice, alice_team, times, said):
    choice = UsualChoice("tg", "Telegram", 0, "Россия", "any", times)
    context = {
        "usual": [UsualBuy(choice, Decimal("1.50"), "USD", "")],
        "membership": Membership.objects.get(user=alice),
        "team": alice_team,
    }
    with translation.override("ru"):
        html = render_to_string("activations/includes/usual_buys.html", context, rf.get("/"))
    assert f"{said} за последнее время" in html
    assert "любой оператор" in html
    with translation.override("en"):
        html = render_to_string("activations/includes/usual_buys.html", context, rf.get("/"))
    assert f"bought {times} time{'s' if times > 1 else ''} lately" in html


def test_a_budget_typed_the_russian_way_is_saved(client, alice, bob, alice_team):
    bobs = Membership.objects.get(user=bob)
    client.force_login(alice)
    data = {"monthly_budget": "1 234,50", f"limit_{bobs.pk}": "12,5"}
    response = client.post(f"/t/{alice_team.slug}/budgets/", data, **RU)
    assert response.status_code == 302
    alice_team.refresh_from_db()
    bobs.refresh_from_db()
    assert alice_team.monthly_budget == Decimal("1234.50")
    assert bobs.monthly_limit == Decimal("12.5")
    page = client.get(f"/t/{alice_team.slug}/budgets/", **RU).content.decode()
    assert "Сохранено 2 изменения." in page
    assert 'value="1234.50"' in page  # the input keeps a point, whatever the language


def test_in_english_a_comma_is_still_not_a_decimal_point(client, alice, alice_team):
    client.force_login(alice)
    response = client.post(f"/t/{alice_team.slug}/budgets/", {"monthly_budget": "12,50"})
    assert response.status_code == 200
    assert response.context["form"].errors
    alice_team.refresh_from_db()
    assert alice_team.monthly_budget is None

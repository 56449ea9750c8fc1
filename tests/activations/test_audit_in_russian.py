# ruff: noqa: RUF001  (Russian text: its Cyrillic letters are meant)
"""The audit log and the routing page in Russian: each sentence translated whole (Russian word
order, its links intact), roles and policies in Russian words, money as "35,48 $", counts of
calls with Russian plural forms, times in Russian."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.utils import timezone, translation

from activations.audit_story import phone_text
from activations.budgets import set_budgets
from activations.models import Activation, PriceLimit
from activations.routing_settings import set_policy
from dashboard.audit import one_request, record_call
from dashboard.display import exact, money
from dashboard.models import AuditEvent, Membership
from dashboard.services import change_role, invite_member
from dashboard.teams import zone_named
from tests.activations.acting import acting
from tests.activations.poller_support import one_pass
from tests.fixtures.activations import buy_form

RU = {"HTTP_ACCEPT_LANGUAGE": "ru"}


def audit(client, team):
    response = client.get(f"/t/{team.slug}/audit/", **RU)
    assert response.status_code == 200
    assert response["Content-Language"] == "ru"
    return response


def rows(response) -> list[AuditEvent]:
    return list(response.context["page"])


def text(html: str) -> str:
    # Only ASCII white space: Russian money keeps its no-break spaces.
    return unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", "", html)))


def ru_money(amount) -> str:
    with translation.override("ru"):
        return money(amount, "USD")


def test_money_reads_russian():
    assert ru_money(Decimal("35.48")) == "35,48\u00a0$"


def test_a_purchase_reads_russian_with_its_link_and_russian_money(
    client, alice, alice_team, sandbox_account, sandbox_offer
):
    client.force_login(alice)
    client.post(f"/t/{alice_team.slug}/buy/", buy_form(sandbox_offer, token="ru-audit-01"))
    activation = Activation.objects.get()
    response = audit(client, alice_team)
    [bought] = rows(response)
    link = f'<a href="/t/{alice_team.slug}/activations/{activation.pk}/">'
    assert str(bought.story) == (
        f"alice купил(а) {link}{phone_text(activation.phone)}</a> (TG, Country 0) у "
        f"Sandbox (test) за {ru_money(sandbox_offer.price)}"
    )
    assert ",".join(f"{sandbox_offer.price:.2f}".split(".")) + "\u00a0$" in str(bought.story)
    page = response.content.decode()
    assert "<summary>1 вызов провайдера</summary>" in page
    assert '<span class="audit-source">Браузер</span>' in page
    assert "<h1>Журнал аудита</h1>" in page
    # The time of the row in Russian, in the team's zone.
    with translation.override("ru"), timezone.override(zone_named(alice_team.time_zone)):
        shown = exact(bought.created_at)
    assert shown in page
    assert re.search(r"[а-я]", shown.split(",")[0])  # the month's name in Russian


def test_limits_roles_and_the_policy_read_russian(client, alice, bob, alice_team):
    me = acting(alice_team, alice)
    bobs = Membership.objects.get(team=alice_team, user=bob)
    set_budgets(acting=me, monthly_budget=Decimal("500"), member_limits={bobs.pk: Decimal("50")})
    set_policy(acting=me, policy="reliable")
    invite_member(acting=me, email="dora@example.com", role="manager")
    change_role(acting=me, target=bobs, role="manager")
    client.force_login(alice)
    listed = rows(audit(client, alice_team))
    assert [text(row.story) for row in listed] == [
        "alice изменил(а) роль bob: участник → менеджер",
        "alice пригласил(а) dora@example.com с ролью «менеджер»",
        "alice изменил(а) политику маршрутизации: Самое дешёвое → Самое надёжное",
        "alice изменил(а) месячный лимит участника bob: без лимита → 50,00\u00a0$",
        "alice изменил(а) месячный бюджет команды: без лимита → 500,00\u00a0$",
    ]
    slug = alice_team.slug
    assert f'<a href="/t/{slug}/budgets/">месячный лимит участника bob</a>' in listed[3].story
    assert f'<a href="/t/{slug}/routing/">политику маршрутизации</a>' in listed[2].story


def test_a_balance_refresh_reads_russian(
    client, alice, alice_team, sandbox_account, sandbox_server
):
    client.force_login(alice)
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, 1234.5)
    client.post(f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/")
    [row] = rows(audit(client, alice_team))
    assert text(row.story) == (
        "alice обновил(а) баланс у Sandbox (test): 1\u00a0000,00\u00a0$ → 1\u00a0234,50\u00a0$"
    )
    assert f'href="/t/{alice_team.slug}/provider-accounts/"' in row.story


def test_the_poller_s_code_reads_russian(client, alice, alice_team, buy, sandbox_server):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "012345")
    one_pass()
    client.force_login(alice)
    response = audit(client, alice_team)
    [row] = rows(response)
    link = f'<a href="/t/{alice_team.slug}/activations/{activation.pk}/">'
    assert str(row.story) == (
        f"фоновый опрос получил код на {link}{phone_text(activation.phone)}</a>"
    )
    source = re.search(r'<span class="audit-source">(.*?)</span>', response.content.decode())
    assert source.group(1) == "В фоне"


def failed_price_calls(team, account, count: int) -> None:
    """`count` calls of one request that the provider did not answer: one group."""
    with one_request():
        for country in range(count):
            record_call(
                team=team,
                account=account,
                action="getServicesAndCost",
                params={"country": str(country)},
                answer="",
                http_status=503,
                latency_ms=5,
                outcome="unavailable",
            )


@pytest.mark.parametrize(
    ("more", "summary", "rest"),
    [
        (1, "21 вызов провайдера", "и ещё 1 такой же"),
        (3, "23 вызова провайдера", "и ещё 3 таких же"),
        (5, "25 вызовов провайдера", "и ещё 5 таких же"),
    ],
)
def test_a_long_group_counts_the_rest_with_russian_plurals(
    client, alice, alice_team, alice_account, more, summary, rest
):
    failed_price_calls(alice_team, alice_account, 20 + more)
    client.force_login(alice)
    response = audit(client, alice_team)
    page = response.content.decode()
    assert f"<summary>{summary}</summary>" in page
    assert f'<li class="muted">{rest}</li>' in page
    assert page.count("<code>getServicesAndCost</code>") == 20
    [row] = rows(response)
    assert text(row.story) == (
        "синхронизация каталога запросил(а) цены у Test provider: провайдер не ответил"
    )


def test_the_english_page_is_unchanged(client, alice, alice_team, alice_account):
    failed_price_calls(alice_team, alice_account, 21)
    client.force_login(alice)
    page = client.get(f"/t/{alice_team.slug}/audit/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<summary>21 provider calls</summary>" in page
    assert '<li class="muted">and 1 more like these</li>' in page


def test_the_routing_page_reads_russian(client, alice, alice_team, alice_account, tg_offer):
    PriceLimit.objects.create(team=alice_team, service_code="tg", max_price=Decimal("12.30"))
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/routing/", **RU)
    page = response.content.decode()
    assert response.status_code == 200
    for words in [
        "<h1>Маршрутизация</h1>",
        "Каждая покупка идёт к лучшему предложению",
        "Сохранить политику",
        "<h2>Предельная цена по сервисам</h2>",
        "<th>Предельная цена (USD)</th>",
        "Предельная цена для tg в USD",
        ">Изменить</button>",
        ">Удалить</button>",
        "Добавить или изменить",
    ]:
        assert words in page, words
    assert 'value="12.30"' in page  # machine-read: not localized
    assert "Highest price per service" not in page


def test_routing_reasons_and_records_read_russian():
    from activations.route_story import route_story
    from activations.routing.records import MIN_SAMPLE, Record

    route = {
        "policy": "reliable",
        "tried": [
            {"provider": "Sandbox A", "operator": "mts", "answer": "NO_NUMBERS"},
            {"provider": "Sandbox B", "operator": "", "answer": "WEIRD"},
        ],
    }
    with translation.override("ru"):
        story = route_story(route)
        assert story.policy == "Самое надёжное"
        assert story.passed == ["у Sandbox A (mts) не было номеров", "Sandbox B отказал (WEIRD)"]
        assert [Record(finished=n).summary for n in (1, 3, 5)] == [
            "пока 1 активация",
            "пока 3 активации",
            "пока 5 активаций",
        ]
        assert Record(MIN_SAMPLE, 9, 17.5).summary == (
            "90 % получили код за последние 30 дней, медиана 18 с"
        )
    english = route_story(route)
    assert english.policy == "Most reliable"
    assert english.passed == ["Sandbox A (mts) had no numbers", "Sandbox B refused (WEIRD)"]
    assert Record(finished=1).summary == "1 activation so far"

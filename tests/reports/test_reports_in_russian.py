# ruff: noqa: RUF001 (Russian text: its Cyrillic letters are meant)
"""The reports in Russian: the pages (titles, money, dates, the charts' data), the CSV files
(Russian titles, machine-readable values) and the weekly email in each recipient's language."""

import csv
import io
import json
import re

import pytest
from django.core import mail
from django.core.cache import cache

from dashboard.models import Membership, Profile
from reports import emails

from .conftest import MARCH, State

NBSP = "\u00a0"


@pytest.fixture
def big_march(march, make_activation, alice):
    """March plus one big purchase: 40.60 + 1193.96 = 1234.56 spent."""
    make_activation("2026-03-20 10:00", alice, "tg", "mts", "1193.96", State.COMPLETED, wait=30)
    return march


def page(client, team, path: str, query: str = MARCH) -> str:
    response = client.get(f"/t/{team.slug}/reports/{path}?{query}", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200, response.content
    return response.content.decode()


def chart(html: str, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    assert found, name
    return json.loads(found.group(1))


def test_the_spending_report_reads_russian(client, alice, alice_team, big_march):
    client.force_login(alice)
    html = page(client, alice_team, "", MARCH + "&by=day")
    assert '<html lang="ru"' in html
    assert "<h1>Расходы</h1>" in html
    assert "Расходы по дням" in html and "По участникам" in html and "По сервисам" in html
    assert ">Потрачено<" in html and ">Куплено<" in html and ">Доля<" in html
    # Money: the team's dollars, Russian style.
    assert f'data-figure="spent">1{NBSP}234,56{NBSP}$</strong>' in html
    # A day row in Russian, and the period in the filters' caption.
    assert "Пн, 2 марта 2026" in html
    assert "1 марта 2026 – 31 марта 2026" in html
    # A share in Russian: 1221.21 of 1234.56 spent by alice is 98.9 %.
    assert f"98,9{NBSP}%" in html


def test_the_charts_carry_russian_labels_and_plain_numbers(client, alice, alice_team, big_march):
    client.force_login(alice)
    spend = chart(page(client, alice_team, "", MARCH + "&by=day"), "spend-chart")
    assert spend["series"][0]["label"] == "Потрачено"
    assert spend["labels"][1] == "Пн, 2 марта 2026"
    # The values stay machine-readable for the script, which formats them with <html lang>.
    assert "20.00" in spend["series"][0]["values"]
    activity = chart(page(client, alice_team, "usage/", MARCH + "&by=week"), "activity-chart")
    assert [s["label"] for s in activity["series"]] == ["Куплено", "Коды получены"]
    assert activity["labels"][1] == "Неделя с 2 марта 2026"
    success = chart(page(client, alice_team, "usage/"), "success-chart")
    assert success["series"][0]["label"] == "Доля успешных"


def test_the_usage_report_reads_russian(client, alice, alice_team, big_march):
    client.force_login(alice)
    html = page(client, alice_team, "usage/")
    assert "<h1>Использование</h1>" in html
    assert "Медианное время до первого кода" in html
    assert "По сервисам через операторов" in html
    assert " через " in html  # "Telegram (tg) через mts (Russia)"
    assert "Фильтры" in html and "Этот месяц" in html
    assert ">Участник:</label>" in html and ">Источник:</label>" in html


def csv_rows(client, team, report: str, table: str, query: str = MARCH) -> list[list[str]]:
    response = client.get(
        f"/t/{team.slug}/reports/{report}/{table}.csv?{query}", HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_a_russian_csv_has_russian_titles_and_machine_readable_numbers(
    client, alice, alice_team, big_march
):
    client.force_login(alice)
    table = csv_rows(client, alice_team, "spending", "member")
    assert table[0] == [
        "Участник",
        "Куплено",
        "Оплачено (не отменённые и не истёкшие)",
        "Потрачено (USD)",
        "Доля (%)",
    ]
    assert table[1] == ["alice", "5", "4", "1221.21", "98.9"]
    by_day = csv_rows(client, alice_team, "spending", "by_period", MARCH + "&by=day")
    assert by_day[0] == ["Начало периода", "Куплено", "Оплачено", "Потрачено (USD)"]
    assert by_day[2] == ["2026-03-02", "3", "2", "20.00"]
    usage = csv_rows(client, alice_team, "usage", "service")
    assert usage[0][6] == "Медиана секунд до первого кода"
    assert "," not in "".join(cell for row in usage[1:] for cell in row[1:])


@pytest.fixture
def monday(frozen_now, alice_team, alice, march):
    cache.clear()
    alice_team.monthly_budget = "100.00"
    alice_team.save()
    Membership.objects.filter(user=alice).update(monthly_limit="30.00")
    yield frozen_now("2026-03-16 06:00")
    cache.clear()


def test_the_weekly_email_goes_in_each_recipients_language(alice_team, alice, manager, monday):
    Profile.objects.create(user=manager, language="ru")
    assert emails.send_weekly_report(alice_team) == 2
    sent = {message.to[0]: message for message in mail.outbox}
    english, russian = sent["alice@example.org"], sent["mia@example.org"]
    assert english.subject == "SMS Desk: Alice's Team spent $13.35 in the week of 9 Mar 2026"
    assert "Spent: $13.35 on 2 activations (2 bought;" in english.body
    assert "Team: $40.60 of $100.00 (40.6 %)" in english.body
    assert russian.subject == (
        f"SMS Desk: Alice's Team — потрачено 13,35{NBSP}$ за неделю с 9 марта 2026"
    )
    body = russian.body
    assert "Пн, 9 марта 2026 — Вс, 15 марта 2026 (UTC)" in body
    assert f"Потрачено: 13,35{NBSP}$ за 2 активации (куплено: 2;" in body
    assert "БЮДЖЕТ НА СЕГОДНЯ: МАРТ 2026" in body
    assert f"Команда: 40,60{NBSP}$ из 100,00{NBSP}$ (40,6 %)" in body
    assert "1 мин 23 с" in body
    html, _kind = russian.alternatives[0]
    assert '<html lang="ru">' in html
    assert "Доля успешных (код получен)" in html
    assert f"<strong>13,35{NBSP}$</strong>" in html
    english_html, _kind = english.alternatives[0]
    assert '<html lang="en">' in english_html and "Success rates (a code arrived)" in english_html

"""English and Russian, the foundation: which language a page is in (the language cookie over
the browser's Accept-Language), the language switch, a person's own choice kept on their
profile and brought back at sign-in, Your settings, and amounts, times and plural forms in
each language (dashboard/languages.py, dashboard/display.py)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import django
import polib
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation
from django.utils.timesince import timesince
from django.utils.translation import ngettext

from dashboard import display
from dashboard.models import Currency, Profile

COOKIE = settings.LANGUAGE_COOKIE_NAME
ROOT = Path(__file__).resolve().parents[2]
NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def no_sign_in_failures_left(db):
    """The sign-in rate limit counts in the cache: start clean."""
    cache.clear()
    yield
    cache.clear()


def page_language(response) -> str:
    text = response.content.decode()
    start = text.index('<html lang="') + len('<html lang="')
    return text[start : text.index('"', start)]


def test_a_russian_browser_gets_russian_pages(alice, alice_team):
    browser = Client(HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.8")
    sign_in = browser.get("/accounts/login/")
    assert page_language(sign_in) == "ru"
    # The switch offers the other language, named in itself (not «Английский»).
    assert 'value="en" lang="en" class="linklike">English</button>' in sign_in.text
    browser.force_login(alice)
    page = browser.get("/account/")
    assert page_language(page) == "ru"
    assert "Ваши настройки" in page.text
    assert "Язык и часовой пояс" in page.text


def test_an_english_browser_and_an_unknown_language_get_english_pages():
    for asked in ("en-US,en;q=0.9", "de-DE,de;q=0.9", ""):
        page = Client(HTTP_ACCEPT_LANGUAGE=asked).get("/accounts/login/")
        assert page_language(page) == "en", asked
        assert 'value="ru" lang="ru" class="linklike">Русский</button>' in page.text


def test_the_language_cookie_beats_accept_language(db):
    browser = Client(HTTP_ACCEPT_LANGUAGE="ru")
    browser.cookies[COOKIE] = "en"
    assert page_language(browser.get("/accounts/login/")) == "en"
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.cookies[COOKIE] = "ru"
    assert page_language(browser.get("/accounts/login/")) == "ru"


def test_the_switch_sets_the_cookie_and_goes_back_to_the_page(db):
    browser = Client()
    response = browser.post("/language/", {"language": "ru", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert response.cookies[COOKIE].value == "ru"
    assert response.cookies[COOKIE]["max-age"] == settings.LANGUAGE_COOKIE_AGE
    assert response.cookies[COOKIE]["samesite"] == "Lax"
    assert page_language(browser.get("/accounts/login/")) == "ru"


def test_the_switch_keeps_a_signed_in_persons_choice_on_their_profile(client, alice):
    client.force_login(alice)
    client.post("/language/", {"language": "ru", "next": "/account/"})
    assert Profile.objects.get(user=alice).language == "ru"
    client.post("/language/", {"language": "en", "next": "/account/"})
    assert Profile.objects.get(user=alice).language == "en"


def test_the_switch_refuses_an_unknown_language(client, alice):
    Profile.objects.create(user=alice, language="ru")
    client.force_login(alice)
    response = client.post("/language/", {"language": "xx", "next": "/account/"})
    assert COOKIE not in response.cookies
    assert Profile.objects.get(user=alice).language == "ru"


@pytest.mark.parametrize(
    "unsafe",
    ["https://evil.example/", "//evil.example/", "http://evil.example/account/", "javascript:x"],
)
def test_the_switch_goes_back_only_to_a_page_of_ours(db, unsafe):
    browser = Client()
    response = browser.post("/language/", {"language": "ru", "next": unsafe})
    assert response.status_code == 302
    assert "evil" not in response["Location"] and not response["Location"].startswith("java")
    assert response["Location"].startswith("/")
    # Nor back to an unsafe page it came from.
    response = browser.post("/language/", {"language": "ru"}, HTTP_REFERER=unsafe)
    assert "evil" not in response["Location"]


def test_the_switch_answers_post_only(db):
    assert Client().get("/language/?language=ru&next=/").status_code == 405


def test_signing_in_brings_back_ones_own_language(alice, alice_team):
    Profile.objects.create(user=alice, language="ru")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post("/accounts/login/", {"username": "alice", "password": "password"})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "ru"
    assert page_language(browser.get("/account/")) == "ru"


def test_signing_in_without_a_choice_leaves_the_browsers_language(alice, alice_team):
    browser = Client(HTTP_ACCEPT_LANGUAGE="ru")
    response = browser.post("/accounts/login/", {"username": "alice", "password": "password"})
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    assert page_language(browser.get("/account/")) == "ru"


def test_a_failed_sign_in_sets_no_language(alice):
    Profile.objects.create(user=alice, language="ru")
    response = Client().post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert COOKIE not in response.cookies


def test_your_settings_save_the_language_and_answer_in_it(client, alice):
    client.force_login(alice)
    response = client.post("/account/", {"language": "ru", "time_zone": ""})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "ru"
    assert Profile.objects.get(user=alice).language == "ru"
    page = client.get("/account/")
    assert page_language(page) == "ru"
    assert "Ваши настройки сохранены." in page.text
    assert '<option value="ru" selected>' in page.text


def test_as_my_browser_asks_removes_the_cookie(alice):
    Profile.objects.create(user=alice, language="ru")
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.cookies[COOKIE] = "ru"
    browser.force_login(alice)
    response = browser.post("/account/", {"language": "", "time_zone": ""})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0  # deleted
    assert Profile.objects.get(user=alice).language == ""
    assert page_language(browser.get("/account/")) == "en"


def test_the_language_choices_of_your_settings(client, alice):
    client.force_login(alice)
    page = client.get("/account/", HTTP_ACCEPT_LANGUAGE="en").text
    assert '<option value="" selected>As my browser asks</option>' in page
    assert '<option value="en">English</option>' in page
    assert '<option value="ru">Русский</option>' in page


def test_money_in_each_language():
    with translation.override("en"):
        assert display.money(Decimal("1234.56"), Currency.USD) == "$1,234.56"
        assert display.money(Decimal("-3"), Currency.RUB) == "-\u20bd3.00"
        assert display.money(Decimal("35.48"), Currency.USD) == "$35.48"
    with translation.override("ru"):
        assert display.money(Decimal("1234.56"), Currency.USD) == f"1{NBSP}234,56{NBSP}$"
        assert display.money(Decimal("-3"), Currency.RUB) == f"-3,00{NBSP}\u20bd"
        assert display.money(Decimal("35.48"), Currency.USD) == f"35,48{NBSP}$"
        assert display.money(Decimal("1234567.5"), Currency.RUB) == (
            f"1{NBSP}234{NBSP}567,50{NBSP}\u20bd"
        )
        assert display.money(None, Currency.USD) == "\u2013"


def test_exact_times_in_each_language():
    moment = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
    with timezone.override("Europe/Moscow"):
        with translation.override("en"):
            assert display.exact(moment) == "1 Dec 2026, 15:00:05 MSK"
        with translation.override("ru"):
            assert display.exact(moment) == "1 декабря 2026, 15:00:05 MSK"
            assert display.exact(moment.replace(month=3)) == "1 марта 2026, 15:00:05 MSK"


def test_relative_times_in_each_language():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    cases = [
        (now - timedelta(seconds=10), "just now", "только что"),
        (now + timedelta(seconds=10), "in a few seconds", "через несколько секунд"),
        (now - timedelta(minutes=3), "3 min ago", "3 мин назад"),
        (now + timedelta(minutes=21), "in 21 min", "через 21 мин"),
        (now - timedelta(hours=2), "2 h ago", "2 ч назад"),
        (now + timedelta(hours=5), "in 5 h", "через 5 ч"),
    ]
    for moment, english, russian in cases:
        with translation.override("en"):
            assert display.relative(moment, now) == english
        with translation.override("ru"):
            assert display.relative(moment, now) == russian
    with timezone.override("UTC"), translation.override("ru"):
        assert display.relative(now - timedelta(days=3), now) == "28 ноября 2026, 12:00:00 UTC"


def repository_catalogs() -> dict[str, polib.POFile]:
    paths = [*ROOT.glob("locale/ru/LC_MESSAGES/*.po"), *ROOT.glob("*/locale/ru/LC_MESSAGES/*.po")]
    return {str(path.relative_to(ROOT)): polib.pofile(str(path)) for path in sorted(paths)}


# Russian's four forms (Django's catalogs): 1 and 21 one form, 2 another, 5 a third.
COUNTS = {1: 0, 2: 1, 5: 2, 21: 0, 11: 2, 22: 1}


def test_our_catalogs_count_in_russian_as_django_does():
    """Every .po of ours has Django's Russian plural rule, so that a count picks the right
    form (a catalog with another rule would be kept apart and pick by its own)."""
    django_rule = polib.pofile(
        str(Path(django.__file__).parent / "conf/locale/ru/LC_MESSAGES/django.po")
    ).metadata["Plural-Forms"]
    for file, po in repository_catalogs().items():
        assert po.metadata.get("Plural-Forms") == django_rule, file
    with translation.override("ru"):
        # Django's own counted strings, through the same rule.
        minutes = {
            n: timesince(
                datetime(2026, 1, 1, tzinfo=UTC),
                datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
            )
            for n in (1, 2, 5, 21)
        }
    assert minutes == {
        1: f"1{NBSP}минута",
        2: f"2{NBSP}минуты",
        5: f"5{NBSP}минут",
        21: f"21{NBSP}минута",
    }


def test_every_counted_string_of_ours_reads_right_for_1_2_5_and_21():
    """Each product string counted with ngettext / blocktranslate count, in Russian: the form
    the .po gives for each count, none empty."""
    plurals = [
        (file, entry)
        for file, po in repository_catalogs().items()
        for entry in po
        if entry.msgid_plural and not entry.obsolete
    ]
    if not plurals:
        pytest.skip("no string of the product is counted (ngettext) yet")
    problems = []
    with translation.override("ru"):
        for file, entry in plurals:
            for count, form in COUNTS.items():
                wanted = entry.msgstr_plural.get(form, "")
                got = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, count)
                    if entry.msgctxt
                    else ngettext(entry.msgid, entry.msgid_plural, count)
                )
                if not wanted or got != wanted:
                    problems.append(f"{file}: {entry.msgid!r} for {count}: {got!r}")
    assert not problems, "\n".join(problems)

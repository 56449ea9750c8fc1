"""In a real browser, in English and in Russian: choose the language with the switch on the
sign-in page, sign in, buy a number, see its code arrive, read the spending report; each page
in the chosen language (a few key labels), amounts and dates in its format. And the language
chosen with the menu's switch is kept on the person's profile: it comes back when they sign
in again from another browser.

The labels are the product's English strings, read through the catalogs (`said`): in Russian
each must have its translation. A label without one does not stop the walk: the test goes on
and fails at the end, listing every label that read English.
"""

import re
from datetime import datetime

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from activations.models import Activation
from dashboard import display
from dashboard.models import Profile
from tests.e2e.test_live_code import PollerInBackground

OTHER = {"en": "ru", "ru": "en"}
SWITCH = {"en": "English", "ru": "Русский"}  # the switch's buttons, each in its language
BROWSER_LOCALE = {"en": "ru-RU", "ru": "en-US"}  # start in the other language
# Amounts as each language writes them (thousands grouped, two decimals, the sign's place).
MONEY = {
    "en": re.compile(r"^-?\$\d{1,3}(,\d{3})*\.\d{2}$"),
    "ru": re.compile(r"^-?\d{1,3}(\u00a0\d{3})*,\d{2}\u00a0\$$"),
}
RU_MONTHS = "января февраля марта апреля мая июня июля августа сентября октября ноября декабря"


def day_as_written(moment: datetime, language: str) -> str:
    """ "2 Dec 2026" or "2 декабря 2026": how an exact time begins in each language."""
    local = timezone.localtime(moment, timezone.get_fixed_timezone(0))
    month = RU_MONTHS.split()[local.month - 1] if language == "ru" else f"{local:%b}"
    return f"{local.day} {month} {local.year}"


class Labels:
    """The product's strings in a language, noting those with no translation."""

    def __init__(self, language: str):
        self.language = language
        self.untranslated: list[str] = []

    def __call__(self, english: str) -> str:
        with translation.override(self.language):
            said = str(gettext(english))
        if self.language != "en" and said == english and english not in self.untranslated:
            self.untranslated.append(english)
        return said

    def money(self, amount, currency) -> str:
        with translation.override(self.language):
            return display.money(amount, currency)

    def exact(self, moment: datetime) -> str:
        with translation.override(self.language), timezone.override("UTC"):
            return display.exact(moment)


def read_in(page: Page, language: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", language)


def sign_in(page: Page, username: str = "alice") -> None:
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill("password")
    page.locator('form:has(input[name="password"]) button[type="submit"]').click()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_person_works_in_the_language_they_chose(
    browser,
    live_server,
    alice,
    alice_team,
    sandbox_account,
    sandbox_offer,
    sandbox_server,
    language,
):
    said = Labels(language)
    sandbox = sandbox_server.sandbox
    sandbox.code_delay = 2.0
    context = browser.new_context(locale=BROWSER_LOCALE[language], timezone_id="UTC")
    page = context.new_page()
    background = None
    try:
        # The sign-in page, in the browser's language; the switch turns it into the other.
        page.goto(f"{live_server.url}/accounts/login/")
        read_in(page, OTHER[language])
        page.get_by_role("button", name=SWITCH[language], exact=True).click()
        read_in(page, language)
        expect(page).to_have_url(re.compile(r"/accounts/login/$"))
        expect(page.locator('label[for="id_password"]')).to_contain_text(said("Password"))
        expect(page.locator('form:has(input[name="password"]) button[type="submit"]')).to_have_text(
            said("Sign in")
        )
        expect(page.get_by_role("button", name=SWITCH[OTHER[language]], exact=True)).to_be_visible()
        sign_in(page)

        # Home, then the buy page.
        expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
        read_in(page, language)
        expect(page.locator(f'nav a[href="/t/{alice_team.slug}/buy/"]').first).to_have_text(
            said("Buy")
        )
        expect(page.get_by_role("link", name=said("Your settings"), exact=True)).to_be_attached()
        page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/")
        read_in(page, language)
        expect(page.locator('label[for="id_service"]')).to_have_text(said("Service"))
        page.locator('select[name="service"]').select_option(sandbox_offer.service.code)
        country = page.locator('select[name="country"]')
        expect(country).to_be_enabled()
        country.select_option(str(sandbox_offer.country.external_id))
        operator = page.locator('select[name="operator"]')
        expect(operator).to_be_enabled()
        operator.select_option(sandbox_offer.operator.code)
        price = said.money(sandbox_offer.price, sandbox_offer.provider.currency)
        assert MONEY[language].match(price), price
        buy = page.locator("#buy-form button.primary")
        expect(buy).to_be_enabled()
        expect(buy).to_contain_text(price)
        buy.click()

        # The number's page: waiting, then the code arrives without a reload.
        expect(page).to_have_url(re.compile(r"/activations/\d+/$"))
        read_in(page, language)
        activation = Activation.objects.get()
        status = page.locator("#activation-status")
        expect(status).to_contain_text(said("Waiting for code"))
        details = page.locator("main")
        expect(details).to_contain_text(said.exact(activation.created_at))
        expect(details).to_contain_text(day_as_written(activation.created_at, language))
        expect(details).to_contain_text(price)
        background = PollerInBackground()
        codes = status.locator(".codes .code")
        expect(codes).to_have_count(1, timeout=15_000)
        code = sandbox.activation(activation.provider_activation_id).codes[0]
        expect(codes.first).to_have_text(code)
        expect(status).to_contain_text(said("Code received"))
        page.locator('form[action$="/complete/"] button[type="submit"]').click()
        expect(status).to_contain_text(said("Completed"))
        background.stop()
        background = None

        # The spending report of today: the amount spent, in the language's format.
        page.goto(f"{live_server.url}/t/{alice_team.slug}/reports/?range=today")
        read_in(page, language)
        expect(page.locator("h1")).to_contain_text(said("Spending"))
        spent = page.locator('[data-figure="spent"]')
        expect(spent).to_have_text(said.money(activation.price, alice_team.currency))
        assert MONEY[language].match(spent.inner_text().strip()), spent.inner_text()
        expect(page.locator(".figure:has([data-figure='spent'])")).to_contain_text(said("Spent"))
    finally:
        if background is not None:
            background.stop()
        context.close()
    assert not said.untranslated, (
        f"Labels that read English on the {language} pages (no translation in the catalogs; "
        "mark the string where it is shown and translate it): " + ", ".join(said.untranslated)
    )


@pytest.mark.browser
def test_the_language_chosen_in_the_menu_follows_the_person(
    browser, live_server, alice, alice_team
):
    first = browser.new_context(locale="en-US", timezone_id="UTC")
    page = first.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    read_in(page, "en")
    sign_in(page)
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
    read_in(page, "en")

    # The switch in the menu: the page comes back in Russian, the choice is on the profile.
    menu = page.locator("details.menu > summary")
    if menu.is_visible():
        menu.click()
    page.locator(".menu-panel").get_by_role("button", name="Русский", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
    read_in(page, "ru")
    assert Profile.objects.get(user=alice).language == "ru"
    if menu.is_visible():
        menu.click()
    page.locator('form[action$="/logout/"] button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    first.close()

    # Another browser, asking for English: the sign-in page is English, Alice's pages Russian.
    second = browser.new_context(locale="en-US", timezone_id="UTC")
    page = second.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    read_in(page, "en")
    sign_in(page)
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")
    read_in(page, "ru")
    page.goto(f"{live_server.url}/account/")
    read_in(page, "ru")
    expect(page.locator('select[name="language"]')).to_have_value("ru")
    second.close()

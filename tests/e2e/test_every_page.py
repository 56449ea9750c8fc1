"""The walk: every page of the product, signed in as a team's owner with a realistic team (a
synced catalog, an account with its key, numbers bought and one with a code, an API token, an
invitation, reports with data), at 360 px and 1280 px. Fails on a page wider than the window,
a control under 44 px high on the narrow screen, a console error, a content-security-policy
violation, or an axe-core finding of impact "serious" or "critical"; each failure names the
page, the width and the finding.

axe-core is the npm package in tests/e2e/axe/ (`make install` installs it); the test reads it
and evaluates it in each page itself, so the product never serves it and its policy stays
whole (the walk checks that policy too).

With SCREENSHOTS_DIR set (scripts/screenshots.py, `make screenshots`), the walk also saves a
full-page PNG of each main page at each width: <name>-<width>.png.
"""

import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, Page, expect

from activations.buying import buy_number
from activations.models import Activation
from activations.poller import Poller
from catalog.models import Offer
from catalog.sync.run import sync_provider
from dashboard import services
from dashboard.models import Membership
from dashboard.tokens import create_token
from tests.fixtures.browser import running_in_ci

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (360, 1280)
WIDTH_HEIGHT = {360: 740, 1280: 800}
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_source() -> str:
    if not AXE.exists():
        reason = f"{AXE} is missing: run `make install` (npm ci --prefix tests/e2e/axe)"
        if running_in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text()


@dataclass
class Walk:
    """The pages to visit: (name, path, screenshot?) and what each visit found."""

    pages: list[tuple[str, str, bool]]
    findings: list[str]


@pytest.fixture
def team_world(
    alice, bob, alice_team, sandbox_provider, sandbox_account, sandbox_server
) -> dict[str, str]:
    """Alice's team as it looks after a few days of use; the paths of its pages.

    Built in a thread of its own: the sync and the poller run async code, which Playwright's
    event loop, left running in the test thread, would refuse.
    """
    world: dict = {}

    def build() -> None:
        try:
            world.update(
                build_team_world(
                    alice, bob, alice_team, sandbox_provider, sandbox_account, sandbox_server
                )
            )
        except BaseException as error:  # reported in the test thread
            world["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=build)
    thread.start()
    thread.join(120)
    if "error" in world:
        raise world["error"]
    return world


def build_team_world(alice, bob, alice_team, sandbox_provider, sandbox_account, sandbox_server):
    sandbox_server.sandbox.code_delay = 3600
    # As `make run` sets up the sandbox: names in both languages, for the Russian walk.
    sandbox_provider.names_in_both_languages = True
    sandbox_provider.save(update_fields=["names_in_both_languages"])
    run = sync_provider(sandbox_provider)
    assert run is not None and run.error_count == 0, run and run.errors
    owner = Membership.objects.get(team=alice_team, user=alice)
    offers = Offer.objects.filter(provider=sandbox_provider, quantity__gt=0)
    telegram = offers.filter(service__code="tg", country__external_id=0).order_by("price")[0]
    whatsapp = offers.filter(service__code="wa").order_by("price")[0]

    bought = [
        buy_number(
            acting=owner, offer=offer, request_token=secrets.token_hex(8), ip="127.0.0.1"
        ).activation
        for offer in (telegram, whatsapp)
    ]
    with_code = bought[0]
    sandbox_server.sandbox.deliver_code(with_code.provider_activation_id)
    Poller(interval=0.3, request_timeout=2.0).run_once(all_open=True)
    with_code.refresh_from_db()
    assert with_code.codes, "the poller did not store the delivered code"

    # A week and a half of closed numbers, for the reports.
    now = timezone.now()
    for day in range(1, 11):
        offer = telegram if day % 3 else whatsapp
        Activation.objects.create(
            team=alice_team,
            user=alice if day % 2 else bob,
            account=sandbox_account,
            provider=sandbox_provider,
            service=offer.service,
            country=offer.country,
            operator=offer.operator,
            phone=f"79990000{day:03d}",
            provider_activation_id=f"past-{day}",
            price=offer.price,
            state=Activation.State.COMPLETED if day % 4 else Activation.State.CANCELLED,
            codes=["482913"] if day % 4 else [],
            created_at=now - timedelta(days=day, hours=2),
            closed_at=now - timedelta(days=day, hours=1),
            expires_at=now - timedelta(days=day, hours=1, minutes=40),
        )
    alice_team.monthly_budget = Decimal("500.00")
    alice_team.save(update_fields=["monthly_budget"])
    create_token(acting=owner, name="CI robot", max_price=Decimal("50"), daily_limit=20)
    invitation = services.invite_member(acting=owner, email="dana@example.org", role="member")

    team = f"/t/{alice_team.slug}"
    return {
        "team": team,
        "activation": f"{team}/activations/{with_code.pk}/",
        "service": f"{team}/catalog/services/{telegram.service_id}/",
        "invitation": invitation.get_absolute_url(),
    }


def walk_pages(world: dict[str, str]) -> list[tuple[str, str, bool]]:
    """(name, path, is a main page with a screenshot) for every page of the product."""
    team = world["team"]
    return [
        ("home", f"{team}/", True),
        ("buy", f"{team}/buy/", True),
        ("buy-chosen", f"{team}/buy/?service=tg&country=0&operator=any", False),
        ("activations", f"{team}/activations/", True),
        ("activation", world["activation"], True),
        ("catalog", f"{team}/catalog/", True),
        ("catalog-search", f"{team}/catalog/?q=tg&in_stock=on", False),
        ("service", world["service"], True),
        ("team", f"{team}/settings/", True),
        ("reports-spending", f"{team}/reports/?range=7d", True),
        ("reports-usage", f"{team}/reports/usage/?range=7d", True),
        ("provider-accounts", f"{team}/provider-accounts/", True),
        ("budgets", f"{team}/budgets/", False),
        ("routing", f"{team}/routing/", False),
        ("audit-log", f"{team}/audit/", True),
        ("api-access", f"{team}/api-access/", True),
        ("choose-team", "/", False),
        ("your-settings", "/account/", False),
        ("password-change", "/accounts/password_change/", False),
        ("password-change-done", "/accounts/password_change/done/", False),
        ("password-reset", "/accounts/password_reset/", False),
        ("password-reset-done", "/accounts/password_reset/done/", False),
        ("password-reset-link", "/accounts/reset/MQ/set-password/", False),
        ("password-reset-complete", "/accounts/reset/done/", False),
        ("not-found", "/no/such/page/", False),
        # Signed out last: the page after signing out, an invitation, the sign-in page.
        ("invitation", world["invitation"], False),
        ("sign-in", "/accounts/login/", True),
    ]


# The browser's Accept-Language for each language the walk reads the pages in.
BROWSER_LOCALES = {"en": "en-US", "ru": "ru-RU"}


def signed_in_context(browser: Browser, base_url: str, user, width: int, language: str = "en"):
    """A browser context of the given width with its own session for the user (each context
    signs in on its own, so that signing out in one leaves the other's session alone)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": width, "height": WIDTH_HEIGHT[width]},
        locale=BROWSER_LOCALES[language],
        timezone_id="UTC",
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            }
        ]
    )
    # Violations of the policy, as the page's own listener would see them (installed by the
    # browser before any page script; not a script the page runs under its policy).
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => {"
        " (window.__cspViolations ||= []).push("
        "`${e.violatedDirective} refused ${e.blockedURI || 'inline'}"
        " at ${e.sourceFile || ''}:${e.lineNumber || ''} (${e.sample || ''})`); });"
    )
    return context


WIDER_THAN_WINDOW = """() => {
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const right = (el) => el.getBoundingClientRect().right;
  // Inside a box that scrolls or clips (a table scrolling in its own box) is not sticking out;
  // an absolutely positioned element escapes every box up to its positioned ancestor.
  const placed = (style) => style.position === 'absolute' || style.position === 'fixed';
  const contained = (el) => {
    let escaping = placed(getComputedStyle(el));
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (escaping && style.position === 'static') continue;
      if (style.overflowX !== 'visible') return true;
      escaping = placed(style);
    }
    return false;
  };
  const sticksOut = (el) => el !== document.body && el.checkVisibility()
    && right(el) > width + 1 && !contained(el);
  const culprits = [...document.querySelectorAll('body *')]
    .filter((el) => sticksOut(el) && !sticksOut(el.parentElement))
    .slice(0, 5)
    .map((el) => `${describe(el)} (right edge ${Math.round(right(el))} px)`);
  return `${document.documentElement.scrollWidth} px wide in a ${width} px window; sticking out: `
    + (culprits.join(', ') || 'unknown');
}"""

SMALL_TARGETS = """() => {
  const controls = 'button, select, summary, a.button, '
    + 'input:not([type=checkbox], [type=radio], [type=hidden])';
  return [...document.querySelectorAll(controls)]
    .filter((el) => el.checkVisibility() && el.getBoundingClientRect().height < 43.5)
    .slice(0, 5)
    .map((el) => {
      const name = (el.textContent || el.name || '').trim().slice(0, 30);
      const high = Math.round(el.getBoundingClientRect().height);
      return `${el.tagName.toLowerCase()} "${name}" ${high} px high`;
    });
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' ')),
    count: v.nodes.length,
  }));
}"""


def check_page(page: Page, axe: str, label: str, *, expect_status: int = 200) -> list[str]:
    """What is wrong with the page now shown: width, CSP violations, axe findings."""
    findings = []
    wide = page.evaluate(WIDER_THAN_WINDOW)
    if wide:
        findings.append(f"{label}: page wider than the window: {wide}")
    if page.viewport_size["width"] < 800:
        for target in page.evaluate(SMALL_TARGETS):
            findings.append(f"{label}: touch target under 44 px: {target}")
    for violation in page.evaluate("() => window.__cspViolations || []"):
        findings.append(f"{label}: CSP violation: {violation}")
    page.evaluate(axe)
    for v in page.evaluate(AXE_RUN):
        if v["impact"] in BLOCKING_IMPACTS:
            findings.append(
                f"{label}: axe {v['impact']} {v['id']} ({v['help']}) on {v['count']} element(s): "
                + "; ".join(v["nodes"])
            )
    return findings


def walk(
    browser: Browser, base_url: str, user, pages, width: int, shots: Path | None, language="en"
) -> list:
    axe = axe_source()
    findings: list[str] = []
    context = signed_in_context(browser, base_url, user, width, language)
    suffix = "" if language == "en" else f"-{language}"
    with translation.override(language):
        audit_log = gettext("Audit log")
    page = context.new_page()
    current = {"label": ""}

    def console(message) -> None:
        if message.type != "error":
            return
        # The 404 page's own status is reported as a failed load of the document itself.
        if current["label"].startswith("not-found") and "status of 404" in message.text:
            return
        findings.append(f"{current['label']}: console error: {message.text}")

    page.on("console", console)
    page.on(
        "pageerror", lambda error: findings.append(f"{current['label']}: script error: {error}")
    )
    try:
        for name, path, main in pages:
            label = f"{name} at {width} px in {language} ({path})"
            current["label"] = label
            if name == "invitation":
                # The form of the menu's "Sign out" (hidden in the closed menu at 360 px).
                with page.expect_navigation():
                    page.evaluate("document.querySelector('form[action$=\"/logout/\"]').submit()")
                findings += check_page(
                    page, axe, f"signed-out at {width} px in {language} ({page.url})"
                )
            response = page.goto(base_url + path)
            status = response.status if response else None
            wanted = 404 if name == "not-found" else 200
            if status != wanted:
                findings.append(f"{label}: answered {status}, not {wanted}")
                continue
            findings += check_page(page, axe, label)
            menu = page.locator("details.menu > summary")
            if name == "home" and menu.is_visible():
                menu.click()
                expect(page.get_by_role("link", name=audit_log)).to_be_visible()
                findings += check_page(page, axe, f"{label} with the menu open")
                if shots:
                    page.screenshot(path=shots / f"menu-{width}{suffix}.png")
                menu.click()
            if shots and main:
                page.screenshot(path=shots / f"{name}-{width}{suffix}.png", full_page=True)
    finally:
        context.close()
    return findings


def screenshots_dir() -> Path | None:
    value = os.environ.get("SCREENSHOTS_DIR")
    if not value:
        return None
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_window_and_passes_the_checks(
    browser, live_server, alice, team_world, width, language
):
    """In English and in Russian (whose words run longer: a label that fits in English may
    push a phone's page wider than the window in Russian)."""
    findings = walk(
        browser,
        live_server.url,
        alice,
        walk_pages(team_world),
        width,
        # Russian pictures on the phone only, where the longer words matter.
        screenshots_dir() if language == "en" or width == min(WIDTHS) else None,
        language,
    )
    assert not findings, f"{len(findings)} finding(s):\n" + "\n".join(findings)


@pytest.mark.browser
def test_our_own_404_page_in_a_browser(signed_in_page, live_server, alice, alice_team):
    page = signed_in_page(alice)
    response = page.goto(f"{live_server.url}/t/{alice_team.slug}/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.get_by_role("link", name="Go to your teams").click()
    expect(page).to_have_url(f"{live_server.url}/t/{alice_team.slug}/")


@pytest.mark.browser
def test_choosing_on_the_buy_page_breaks_no_content_security_policy(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_offer
):
    """htmx settles the re-rendered form without writing a style attribute, which the
    policy (style-src 'self') would refuse."""
    page = signed_in_page(alice)
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) =>"
        " (window.__cspViolations ||= []).push(`${e.violatedDirective} ${e.sample}`));"
    )
    page.goto(f"{live_server.url}/t/{alice_team.slug}/buy/")
    # An element of the form styled through the CSSOM (allowed by the policy; as a browser's
    # autofill or an extension does): without the setting, htmx copies that style attribute
    # onto the new form's element with setAttribute while settling, which the policy refuses.
    page.evaluate(
        "document.querySelectorAll('#buy-form [id]').forEach((e) => e.style.color = 'inherit')"
    )
    page.get_by_label("Service").select_option(sandbox_offer.service.code)
    expect(page.get_by_label("Country")).to_be_enabled()
    page.get_by_label("Country").select_option(str(sandbox_offer.country.external_id))
    expect(page.get_by_label("Operator")).to_be_enabled()
    page.get_by_label("Operator").select_option(sandbox_offer.operator.code)
    expect(page.get_by_role("button", name=re.compile(r"^Buy for"))).to_be_enabled()
    assert page.evaluate("() => window.__cspViolations || []") == []
    assert errors == []

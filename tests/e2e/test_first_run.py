"""In a real browser, a first run: the empty catalog says what is happening, "Sync now" shows
the sync queued at once, and the offers appear when it is done, without a reload; the
balance is on the provider accounts page without pressing Refresh."""

import re
import threading

import pytest
from django.db import connection
from playwright.sync_api import expect

from catalog.models import Offer
from catalog.tasks import sync_provider_catalog
from tests.fixtures.browser import wait_until


class Worker:
    """The broker and the worker, in the test process: tasks queued by the page are kept,
    then run in a thread when the test says (as django-q2's worker would run them)."""

    def __init__(self, monkeypatch) -> None:
        self.queued: list[tuple] = []
        self.thread: threading.Thread | None = None
        monkeypatch.setattr("catalog.tasks.async_task", self.async_task)

    def async_task(self, func, *args, **options) -> str:
        self.queued.append((func, args))
        return "task-id"

    def run_queued(self) -> None:
        (func, args), *_ = self.queued
        assert func == "catalog.tasks.sync_provider_catalog"

        def run() -> None:
            try:
                sync_provider_catalog(*args)
            finally:
                connection.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join(60)


@pytest.mark.browser
def test_the_catalog_fills_in_after_sync_now_without_a_reload(
    signed_in_page, live_server, alice, alice_team, catalog_sandbox, monkeypatch
):
    worker = Worker(monkeypatch)
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/catalog/")
    results = page.locator("#catalog-results")
    card = page.locator(f"#sync-status-{catalog_sandbox.pk}")
    expect(card).to_contain_text("Not synced yet. Press Sync now to get its catalog.")
    expect(results).to_contain_text("No catalog yet. Press Sync now above to get it.")
    expect(results).not_to_contain_text("No offers match")
    page.evaluate("window.sameDocument = true")

    card.get_by_role("button", name="Sync now").click()
    # At once: the card and the empty catalog say the sync is queued.
    expect(card).to_contain_text("Sync queued")
    expect(results).to_contain_text("The catalog is on its way: first sync queued")
    assert wait_until(lambda: worker.queued, 5, page)

    try:
        worker.run_queued()
        # The card follows the sync while it runs, then says it is done, and the offers appear.
        expect(card).to_contain_text("Up to date, synced just now.", timeout=60_000)
        expect(results.locator("tbody tr")).to_have_count(50, timeout=10_000)  # a full page
    finally:
        worker.join()
    assert Offer.objects.filter(provider=catalog_sandbox).exists()
    expect(results).not_to_contain_text("on its way")
    expect(card.get_by_role("button", name="Sync now")).to_be_visible()
    # The country filter, empty before the first sync, lists the countries now, and filters.
    country = page.get_by_label("Country")
    expect(country.locator("option", has_text="Russia")).to_have_count(1)
    country.select_option(label="Russia")
    expect(results.locator("tbody tr").first).to_contain_text("Russia")
    assert page.evaluate("window.sameDocument") is True  # no reload on the way

    # The reload's filters are not added again to the links inside the results.
    results.get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/catalog/\?[^?]*page=2"))
    assert page.url.count("sort=") == 1


@pytest.mark.browser
def test_the_balance_appears_without_pressing_refresh(
    signed_in_page, live_server, alice, alice_team, sandbox_account, sandbox_server
):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "321.50")
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/provider-accounts/")
    balance = page.locator(f"#balance-{sandbox_account.pk}")
    expect(balance.locator(".balance")).to_have_text("$321.50")
    expect(balance).to_contain_text("checked")
    expect(balance).not_to_contain_text("checking")

    # Refresh, with JavaScript, updates it in place.
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "300.00")
    page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Refresh balance").click()
    expect(balance.locator(".balance")).to_have_text("$300.00")
    assert page.evaluate("window.sameDocument") is True

"""In a real browser: read the spending report, change its range, download a table as CSV."""

import csv
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activations.models import Activation


@pytest.mark.browser
def test_an_owner_changes_the_range_and_downloads_the_csv(
    signed_in_page, live_server, alice, alice_team, make_activation
):
    now = timezone.now()
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    today = midnight + (now - midnight) / 2  # today in UTC, whatever the hour
    make_activation(created_at=today, price=Decimal("10.00"), state=Activation.State.COMPLETED)
    make_activation(created_at=today, price=Decimal("5.00"), state=Activation.State.CANCELLED)
    make_activation(
        created_at=midnight - timedelta(days=3, hours=-12),
        price=Decimal("3.00"),
        state=Activation.State.COMPLETED,
    )
    errors = []
    page = signed_in_page(alice)
    # Script errors and CSP refusals (a missing favicon is not one).
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and "Failed to load resource" not in message.text
            and errors.append(message.text)
        ),
    )

    page.goto(f"{live_server.url}/t/{alice_team.slug}/")
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Period").select_option("today")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/reports/\?range=today&"))
    expect(page.locator('[data-figure="spent"]')).to_have_text("$10.00")
    expect(page.locator('[data-figure="bought"]')).to_have_text("2")
    # Chart.js drew the chart under the CSP (no inline script), the table beside it holds
    # the same numbers.
    expect(page.locator('canvas[data-chart="spend-chart"][data-drawn="true"]')).to_be_visible()
    # Its value axis reads as money in the team's currency.
    ticks = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart=\"spend-chart\"]'))"
        ".scales.y.ticks.map((tick) => tick.label)"
    )
    assert ticks and all(label.startswith("$") for label in ticks), ticks

    page.get_by_label("Period").select_option("7d")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"range=7d"))
    expect(page.locator('[data-figure="spent"]')).to_have_text("$13.00")
    expect(page.locator('[data-figure="charged"]')).to_have_text("2")

    # Editing a day turns the period into a custom one (static/js/reports.js).
    page.get_by_label("From").fill((midnight - timedelta(days=3)).date().isoformat())
    page.get_by_label("From").dispatch_event("change")
    expect(page.get_by_label("Period")).to_have_value("custom")

    service_table = page.locator(".table-head", has=page.locator("#table-service"))
    with page.expect_download() as info:
        service_table.get_by_role("link", name="CSV").click()
    download = info.value
    assert re.fullmatch(r"alices-team-spending-service-.*\.csv", download.suggested_filename)
    with open(download.path(), newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["Service", "Bought", "Charged (not cancelled or expired)", "Spent (USD)", "Share (%)"],
        ["TG (tg)", "3", "2", "13.00", "100.0"],
    ]
    assert errors == []


@pytest.mark.browser
def test_one_day_of_usage_is_charted_as_bars(
    signed_in_page, live_server, alice, alice_team, make_activation
):
    make_activation(price=Decimal("10.00"), state=Activation.State.COMPLETED)
    page = signed_in_page(alice)
    page.goto(f"{live_server.url}/t/{alice_team.slug}/reports/usage/?range=today")
    chart = page.locator('canvas[data-chart="activity-chart"][data-drawn="true"]')
    expect(chart).to_be_visible()
    kind = page.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart=\"activity-chart\"]'))"
        ".config.type"
    )
    assert kind == "bar"

"""What the activation page's htmx does when it polls its status section, for the load test.

The section (`templates/activations/detail.html`, partial `status`) carries
`hx-get="...?seen=N&shown=F" hx-trigger="every 2s" hx-swap="outerHTML"`, and the page's
`<body hx-headers='{"x-csrftoken": "..."}'>` adds the CSRF token to every htmx request. Each
poll htmx 2 sends the headers of `poll_headers()` (with the browser's cookies) to the section's
hx-get; it swaps in a 200 and polls the new section's hx-get from then on, swaps nothing on a
204 and polls the same URL again, and stops polling on a 286. tests/e2e/test_status_polling.py
checks these against what Chromium sends.
"""

from __future__ import annotations

import html
import json
import re

STATUS_SECTION = "activation-status"
_SECTION = re.compile(rf'<section id="{STATUS_SECTION}"[^>]*>')
_HX_GET = re.compile(r'\shx-get="([^"]*)"')
_HX_HEADERS = re.compile(r"<body[^>]*\shx-headers='([^']*)'")


def poll_path(markup: str) -> str | None:
    """The URL the status section in `markup` polls (its hx-get), or None if it does not."""
    section = _SECTION.search(markup)
    found = section and _HX_GET.search(section.group(0))
    return html.unescape(found.group(1)) if found else None


def page_headers(markup: str) -> dict[str, str]:
    """The page's hx-headers (the CSRF token), which htmx adds to each of its requests."""
    found = _HX_HEADERS.search(markup)
    return json.loads(html.unescape(found.group(1))) if found else {}


def poll_headers(page_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The headers htmx sends with each poll of the section, on the page at `page_url`."""
    return {
        "HX-Request": "true",
        "HX-Trigger": STATUS_SECTION,
        "HX-Target": STATUS_SECTION,
        "HX-Current-URL": page_url,
        **extra,
    }

"""Every page's Content-Security-Policy forbids inline scripts, and no page needs them.

Every route is opened (signed in as Alice, owner and staff, with real ids; public pages
signed out too; team pages also as the htmx fragment). tests/dashboard/test_home.py checks
the sign-in page's policy; here every page's policy and markup are read: no inline script
without the request's nonce (json_script data blocks are data, not scripts), no inline
style block, no `on...=` handler attribute, no `style=` attribute and no `hx-on`.
"""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.security.conftest import admin_object_values
from tests.security.routes import ROUTES, grouped

DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class Markup(HTMLParser):
    """The inline code a page carries, as a list of problems."""

    def __init__(self, nonce: str | None):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems: list[str] = []
        self.open_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, _value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (an inline event handler)")
            elif name == "style":
                self.problems.append(f"<{tag} style=...> (an inline style)")
            elif re.match(r"(data-)?hx-on", name):
                self.problems.append(f"<{tag} {name}=...> (htmx evaluates it as a script)")
        if tag == "script":
            self.open_script = attributes
            if "src" in attributes and attributes.get("nonce") != self.nonce:
                self.problems.append(f"<script src={attributes['src']}> without the nonce")
        if tag == "style" and attributes.get("nonce") != self.nonce:
            self.problems.append("<style> block without the nonce")

    def handle_data(self, data):
        script = self.open_script
        if script is None or "src" in script or not data.strip():
            return
        if script.get("type") in DATA_SCRIPT_TYPES:
            return
        if script.get("nonce") != self.nonce:
            self.problems.append(f"inline <script> without the nonce: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.open_script = None


def policy_problems(policy: str) -> list[str]:
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    scripts = directives.get("script-src", directives.get("default-src"))
    problems = []
    if scripts is None:
        problems.append("no script-src (nor default-src)")
    else:
        problems += [
            f"script-src {v}" for v in scripts if v in ("'unsafe-inline'", "'unsafe-eval'")
        ]
    for name in ("script-src-elem", "script-src-attr"):
        problems += [
            f"{name} {v}"
            for v in directives.get(name, [])
            if v in ("'unsafe-inline'", "'unsafe-eval'")
        ]
    if directives.get("object-src") != ["'none'"]:
        problems.append("object-src is not 'none'")
    return problems


def check(response, where: str) -> list[str]:
    problems = []
    policy = response.headers.get("Content-Security-Policy")
    is_html = response.headers.get("Content-Type", "").startswith("text/html")
    if policy is None:
        if is_html:
            problems.append(f"{where}: no Content-Security-Policy header")
        return problems
    problems += [f"{where}: {p}" for p in policy_problems(policy)]
    if is_html and not getattr(response, "streaming", False):
        match = re.search(r"'nonce-([^']+)'", policy)
        markup = Markup(match[1] if match else None)
        markup.feed(response.content.decode())
        problems += [f"{where}: {p}" for p in markup.problems]
    return problems


def test_the_checks_see_inline_code():
    markup = Markup("abc")
    markup.feed(
        '<script nonce="abc">ok()</script><script>bad()</script>'
        '<script type="application/json">{"a": 1}</script><script src="/x.js"></script>'
        '<b onclick="x()" style="color: red" hx-on:click="y()">b</b>'
    )
    assert len(markup.problems) == 5
    assert policy_problems("script-src 'self' 'unsafe-inline'; object-src 'none'") == [
        "script-src 'unsafe-inline'"
    ]


@pytest.mark.parametrize("routes", **grouped(ROUTES))
def test_every_page_keeps_scripts_out_of_the_markup(world, routes):
    world.alice.is_staff = world.alice.is_superuser = True
    world.alice.save()
    browser = Client(raise_request_exception=False)
    browser.force_login(world.alice)
    problems = []
    for route in routes:
        values = world.alice_values()
        if route.is_admin:
            values |= admin_object_values(route)
        url = route.url(values)
        response = browser.get(url)
        if response.status_code >= 500:
            problems.append(f"GET {url} -> {response.status_code}")
        problems += check(response, f"GET {url}")
        if route.team_scoped:
            fragment = browser.get(url, headers={"HX-Request": "true"})
            problems += check(fragment, f"htmx GET {url}")
        if route.public:
            problems += check(Client().get(url), f"signed out GET {url}")
    assert not problems, "\n".join(problems)

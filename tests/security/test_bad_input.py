"""Bad input in every form gets an answer about the input, never a server error.

The POST views are found as in the rest of the sweep: every route of the URLconf gets a POST
(as Alice, or signed out for the public pages), and each one that does not answer 405 must
have a valid request body below (so a new POST view fails here until it is given one). The
field names come from that body and from the forms found on every page. Then each field in
turn gets each hostile value (too long, a NUL byte, wrong types, huge numbers, two values,
another team's ids) while the others stay valid: the answer is never a 5xx. The same goes
for the query strings of the GET pages (filters, paging). Last, the cases a user can make
by hand get a form error (200/400 with the error shown, or a redirect with an error message)
and change nothing. The Django admin's own forms are Django's and staff-only: left out.
"""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from dashboard.models import Membership
from tests.fixtures.activations import buy_form
from tests.security.routes import ROUTES, Route

OUR_ROUTES = [route for route in ROUTES if not route.is_admin]
ROUTES_BY_ID = {route.id: route for route in OUR_ROUTES}

HOSTILE = {
    "too long": "x" * 10_000,
    # Valid for the email validator (at most 320 characters), too long for an EmailField's
    # 254-character column: PostgreSQL refuses it, SQLite stores it.
    "a long address": "a" * 250 + "@example.org",
    "a NUL byte": "bad\x00value",
    "negative": "-1",
    "zero": "0",
    "not a number": "abc",
    "a huge number": "9" * 30,
    "an overflowing float": "1e309",
    "NaN": "NaN",
    "a fraction": "1.5",
    "markup": "<script>alert(1)</script>",
    "empty": "",
    "two values": ["1", "2"],
    "emoji and right-to-left": "💥\u202etxt",
}

# Filters and paging read the query string on every page view: the values most likely to
# break a parser or a query (the rest are tried on every POST field).
QUERY_HOSTILE = ["too long", "a NUL byte", "not a number", "a huge number", "NaN", "two values"]


def valid_bodies(world) -> dict[str, dict]:
    """A body each POST view accepts, by route."""
    offer = world.offer
    limits = {f"limit_{m.pk}": "10" for m in Membership.objects.filter(team=world.alice_team)}
    reset_password = {
        "new_password1": "a fresh pass phrase",
        "new_password2": "a fresh pass phrase",
    }
    return {
        # The team chooser answers a POST like a GET (it only redirects or lists teams).
        "home": {},
        # The team's forms.
        "update_team": {
            "name": "Alice's Team",
            "time_zone": "UTC",
            "currency": "USD",
            "members_see_reports": "",
        },
        "invite_member": {"email": "new@example.org", "role": "member"},
        "revoke_invitation": {},
        "change_role": {"role": "viewer"},
        "remove_member": {},
        "leave_team": {},
        "catalog:sync": {"provider": offer.provider_id},
        "activations:retry": {},
        "activations:complete": {},
        "activations:cancel": {},
        "activations:buy": buy_form(offer, token="bad-input-token"),
        "activations:buy_usual": {
            "service": offer.service.code,
            "country": offer.country.external_id,
            "operator": offer.operator.code,
            "token": "bad-input-usual-token",
        },
        "activations:accounts": {"provider": offer.provider_id, "api_key": "fuzz-key-00000000"},
        "activations:remove_account": {},
        "activations:refresh_balance": {"next": "/t/alices-team/"},
        "activations:budgets": {"monthly_budget": "100", **limits},
        "activations:routing": {"policy": "reliable"},
        "activations:save_price_limit": {"service_code": offer.service.code, "max_price": "5"},
        "activations:remove_price_limit": {"service_code": offer.service.code},
        "activations:api_access": {
            "name": "fuzz bot",
            "max_price": "1.50",
            "daily_limit": "5",
            "services": offer.service.code,
            "balance_prefix": "on",
            "nonce": "fuzz-nonce",
        },
        "activations:revoke_token": {},
        # Signing in and accounts.
        "account_settings": {"time_zone": "Asia/Tokyo", "language": "ru"},
        "choose_language": {"language": "ru", "next": "/account/"},
        "login": {"username": "alice", "password": "wrong"},
        "logout": {},
        "password_change": {"old_password": "password", **reset_password},
        "password_reset": {"email": "alice@example.org"},
        "password_reset_confirm": reset_password,
        "accept_invitation": {"username": "newcomer", **reset_password},
        **{
            name: {"api_key": "fuzz-key-00000000", "action": "getBalance"}
            for name in ("sandbox_handler_api", "sandbox_b_handler_api")
        },
        # The team gateway (activations/gateway): a program's endpoint, keyed by a token.
        **{
            name: {"api_key": "smsd_" + "f" * 40, "action": "getStatus", "id": "1"}
            for name in ("gateway", "gateway_stubs", "gateway_stubs_php")
        },
    }


# Query-string parameters that views read without a form on the page.
EXTRA_QUERY = {
    "home": {"team"},
    "login": {"next"},
    "catalog:browse": {"page"},
    "catalog:service": {"page"},
    "activations:list": {"page"},
    "activations:detail": {"seen"},
    "activations:buy": {
        "service",
        "country",
        "operator",
        "max_price",
        "price_for",
        "offer",
        "token",
    },
    "activations:accounts": {"provider"},
    "activations:audit": {"page"},
    "reports:spending": {
        "service_sort",
        "by_period_sort",
        "member_sort",
        "country_sort",
        "provider_sort",
    },
    "reports:usage": {
        "service_sort",
        "by_period_sort",
        "member_sort",
        "country_sort",
        "provider_sort",
    },
    "reports:csv": {"service_sort"},
}
# After these a client is signed out or someone else: the next request gets a fresh one.
CHANGES_WHO_IS_SIGNED_IN = {"logout", "password_change", "accept_invitation", "login"}


def client_for(route: Route, world) -> Client:
    # A view's exception becomes the 500 a browser would get, so one run lists them all.
    browser = Client(raise_request_exception=False)
    if not route.public:  # the public pages are tried signed out
        browser.force_login(world.alice)
    return browser


def other_teams_ids(world) -> dict[str, object]:
    """For a field of that name, the id of something of Charlie's team."""
    offer = world.charlie_offer
    return {
        "service": offer.service_id,
        "country": offer.country_id,
        "operator": offer.operator_id,
        "provider": world.charlie_provider.pk,
        "member": world.charlie.pk,
        "source": world.charlie_token.pk,
    }


class Forms(HTMLParser):
    """(method, action, field names) of every form on a page."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[tuple[str, str, set[str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            action = attributes.get("action") or self.page_url
            self.forms.append(((attributes.get("method") or "get").lower(), action, set()))
        elif tag in ("input", "select", "textarea", "button") and self.forms:
            name = attributes.get("name")
            if name and name != "csrfmiddlewaretoken" and not re.fullmatch(r"limit_\d+", name):
                self.forms[-1][2].add(name)


_discovered: dict[tuple[str, str], set[str]] = {}


def discovered_fields(world) -> dict[tuple[str, str], set[str]]:
    """(method, route id) -> the field names of every form found on every page.

    The pages are crawled once per session: field names do not depend on the ids in the
    world, except the budget form's limit_<membership id>, which the valid body gives.
    """
    if not _discovered:
        _discovered.update(crawl_forms(world))
    return _discovered


def crawl_forms(world) -> dict[tuple[str, str], set[str]]:
    fields: dict[tuple[str, str], set[str]] = {}
    for route in OUR_ROUTES:
        url = route.url(world.alice_values())
        for browser in (client_for(route, world), Client()):
            response = browser.get(url)
            if not response.headers.get("Content-Type", "").startswith("text/html"):
                continue
            parser = Forms(url)
            parser.feed(response.content.decode())
            for method, action, names in parser.forms:
                try:
                    target = resolve(action.split("?")[0])
                except Resolver404:
                    continue
                match = next((r for r in OUR_ROUTES if r.view == target.func), None)
                if match is not None:
                    fields.setdefault((method, match.id), set()).update(names)
    return fields


def post_views(world) -> set[str]:
    """The routes that take a POST: every one not answering 405."""
    taking = set()
    for route in OUR_ROUTES:
        response = client_for(route, world).post(route.url(world.alice_values()))
        if response.status_code != 405:
            taking.add(route.id)
    return taking


def test_every_post_view_has_a_valid_body_here(world):
    assert post_views(world) == set(valid_bodies(world))
    assert {case.id for case in post_routes()} == set(valid_bodies(world))


def test_every_form_on_every_page_is_known(world):
    """Each page's forms post to a known POST view, with fields the sweep will fuzz."""
    bodies = valid_bodies(world)
    for method, route_id in discovered_fields(world):
        if method == "post":
            assert route_id in bodies, f"a form posts to {route_id}, unknown to the sweep"
    assert ("get", "activations:list") in discovered_fields(world)


def fuzz_requests(world, method: str, base: dict, names: set[str]):
    """(description, body) for each field and each hostile value."""
    theirs = other_teams_ids(world)
    hostile = HOSTILE if method == "post" else {k: HOSTILE[k] for k in QUERY_HOSTILE}
    for name in sorted(names):
        for what, value in hostile.items():
            yield f"{name} = {what}", base | {name: value}
        if name in theirs:
            yield f"{name} = another team's id", base | {name: theirs[name]}
    if method == "post":
        # Fields of another team's member (the budget form has one per member).
        yield "another team's member limit", base | {f"limit_{world.dora_membership.pk}": "1"}


def post_routes():
    names = [
        "home", "update_team", "invite_member",
        "revoke_invitation", "change_role", "remove_member", "leave_team", "catalog:sync",
        "activations:retry", "activations:complete", "activations:cancel", "activations:buy",
        "activations:buy_usual", "activations:accounts", "activations:remove_account",
        "activations:refresh_balance",
        "activations:budgets", "activations:routing", "activations:save_price_limit",
        "activations:remove_price_limit", "activations:api_access", "activations:revoke_token",
        "account_settings", "choose_language", "login", "logout", "password_change",
        "password_reset", "password_reset_confirm", "accept_invitation", "sandbox_handler_api",
        "sandbox_b_handler_api", "gateway", "gateway_stubs", "gateway_stubs_php",
    ]  # fmt: skip
    return [pytest.param(name, id=name) for name in names]


@pytest.mark.parametrize("route_id", post_routes())
def test_hostile_values_in_a_post_never_cause_a_server_error(world, route_id):
    route = ROUTES_BY_ID[route_id]
    url = route.url(world.alice_values())
    base = valid_bodies(world)[route_id]
    names = set(base) | discovered_fields(world).get(("post", route_id), set())
    failures = []
    browser = client_for(route, world)
    for description, body in fuzz_requests(world, "post", base, names):
        response = browser.post(url, body)
        if route_id in CHANGES_WHO_IS_SIGNED_IN:
            browser = client_for(route, world)
        if response.status_code >= 500:
            failures.append(f"POST {url} with {description} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def test_hostile_values_in_a_query_string_never_cause_a_server_error(world):
    failures = []
    for route in OUR_ROUTES:
        url = route.url(world.alice_values())
        names = discovered_fields(world).get(("get", route.id), set())
        names |= EXTRA_QUERY.get(route.id, set())
        browser = client_for(route, world)
        for description, query in fuzz_requests(world, "get", {}, names):
            response = browser.get(url, query)
            if response.status_code >= 500:
                failures.append(f"GET {url} with {description} -> {response.status_code}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", [pytest.param(r, id=r.id) for r in OUR_ROUTES if r.params])
def test_hostile_url_parts_never_cause_a_server_error(world, route):
    failures = []
    values = world.alice_values()
    for part in route.params:
        for value in ("9" * 30, "0", "x" * 300):
            url = route.url(values | {part: value})
            for method in ("get", "post"):
                response = getattr(client_for(route, world), method)(url)
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {url[:120]} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def form_error_cases():
    """(route id, what is wrong, body changes, expected status, text shown)."""
    field_error = "errorlist"
    return [
        ("update_team", "a name too long", {"name": "x" * 101}, 400, field_error),
        ("update_team", "an unknown time zone", {"time_zone": "Mars/Olympus"}, 400, field_error),
        ("update_team", "a NUL byte", {"name": "a\x00b"}, 400, "Null characters"),
        ("update_team", "an unknown currency", {"currency": "XBT"}, 400, field_error),
        (
            "account_settings",
            "an unknown time zone",
            {"time_zone": "Mars/Olympus"},
            400,
            field_error,
        ),
        ("account_settings", "an unknown language", {"language": "xx"}, 400, field_error),
        ("invite_member", "an address too long", {"email": "x" * 300 + "@e.org"}, 400, field_error),
        ("invite_member", "no address", {"email": "not an address"}, 400, field_error),
        ("invite_member", "an unknown role", {"role": "superuser"}, 400, field_error),
        ("change_role", "an unknown role", {"role": "god"}, 302, "Choose one of the roles"),
        ("activations:budgets", "letters", {"monthly_budget": "abc"}, 200, field_error),
        ("activations:budgets", "a negative budget", {"monthly_budget": "-1"}, 200, field_error),
        ("activations:budgets", "an overflow", {"monthly_budget": "1e309"}, 200, field_error),
        ("activations:budgets", "NaN", {"monthly_budget": "NaN"}, 200, field_error),
        ("activations:budgets", "13 digits", {"monthly_budget": "1" * 13}, 200, field_error),
        ("activations:buy", "another team's service", "their offer", 302, "Choose a service"),
        ("activations:buy", "a token too long", {"token": "t" * 65}, 302, "Choose a service"),
        ("activations:buy", "an unknown service", {"service": "abc"}, 302, "Choose a service"),
        ("activations:buy", "a negative price", {"max_price": "-1"}, 302, "Highest price"),
        ("activations:buy_usual", "a token too long", {"token": "t" * 65}, 302, "cannot be bought"),
        ("activations:buy_usual", "no country", {"country": "abc"}, 302, "cannot be bought"),
        ("activations:routing", "an unknown policy", {"policy": "random"}, 200, field_error),
        ("activations:save_price_limit", "a negative price", {"max_price": "-1"}, 200, field_error),
        (
            "activations:save_price_limit",
            "an unknown service",
            {"service_code": "zz"},
            200,
            field_error,
        ),
        ("activations:api_access", "a name too long", {"name": "n" * 101}, 200, field_error),
        ("activations:api_access", "no name", {"name": " "}, 200, field_error),
        ("activations:api_access", "a negative price", {"max_price": "-1"}, 200, field_error),
        ("activations:api_access", "no numbers a day", {"daily_limit": "0"}, 200, field_error),
        ("activations:api_access", "an unknown service", {"services": "zz"}, 200, field_error),
        ("activations:accounts", "a key too long", {"api_key": "k" * 201}, 200, field_error),
        ("activations:accounts", "a NUL in the key", {"api_key": "k\x00k"}, 200, field_error),
        ("activations:accounts", "no such provider", {"provider": "9" * 30}, 200, field_error),
        ("accept_invitation", "passwords differ", {"password2": "another"}, 400, field_error),
        ("accept_invitation", "a name too long", {"username": "u" * 200}, 400, field_error),
        ("login", "a name too long", {"username": "u" * 10_000}, 200, field_error),
        ("password_reset", "no address", {"email": "x" * 10_000}, 200, field_error),
        ("password_change", "a wrong old one", {"old_password": "nope"}, 200, field_error),
    ]


@pytest.mark.parametrize(
    ("route_id", "wrong", "changes", "status", "shown"),
    [pytest.param(*case, id=f"{case[0]} with {case[1]}") for case in form_error_cases()],
)
def test_a_hand_made_mistake_gets_a_form_error_and_changes_nothing(
    world, route_id, wrong, changes, status, shown
):
    route = ROUTES_BY_ID[route_id]
    url = route.url(world.alice_values())
    if changes == "their offer":
        changes = buy_form(world.charlie_offer)
    body = valid_bodies(world)[route_id] | changes
    before = world.snapshot()
    response = client_for(route, world).post(url, body, follow=status == 302)
    if status == 302:
        assert response.redirect_chain, f"{wrong}: no redirect"
        assert response.redirect_chain[0][1] == 302
        assert response.status_code == 200
    else:
        assert response.status_code == status, wrong
    assert shown in response.content.decode(), wrong
    assert world.snapshot() == before, wrong


def test_another_teams_member_limit_in_the_budget_form_is_ignored(client, world):
    client.force_login(world.alice)
    body = valid_bodies(world)["activations:budgets"]
    body[f"limit_{world.dora_membership.pk}"] = "1"
    assert client.post("/t/alices-team/budgets/", body).status_code == 302
    world.dora_membership.refresh_from_db()
    assert world.dora_membership.monthly_limit is None


@pytest.mark.parametrize("route_id", ["activations:list", "activations:audit", "reports:spending"])
def test_another_teams_ids_in_a_filter_show_nothing_of_that_team(client, world, route_id):
    url = ROUTES_BY_ID[route_id].url(world.alice_values())
    client.force_login(world.alice)
    theirs = other_teams_ids(world)
    for name in ("member", "service", "country"):
        response = client.get(url, {name: theirs[name]})
        assert response.status_code == 200, name
        page = response.content.decode()
        assert world.charlie_activation.phone not in page
        assert "charlie" not in page.lower()
        assert "dora" not in page


def test_a_balance_refresh_never_sends_the_browser_away(client, world):
    client.force_login(world.alice)
    url = f"/t/alices-team/provider-accounts/{world.account.pk}/refresh/"
    for away in ("//evil.example/t/alices-team/", "https://evil.example/", "/t/charlies-team/"):
        response = client.post(url, {"next": away})
        assert response.status_code == 302
        assert response.url == "/t/alices-team/provider-accounts/", away

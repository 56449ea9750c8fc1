"""A person using SMS Desk over real HTTP: an httpx session that fills in the pages' forms.

Production cookies are `Secure` and the production settings trust `X-Forwarded-Proto` from
the TLS proxy in front of gunicorn. On loopback there is no proxy, so every request says
`X-Forwarded-Proto: https` itself (as the proxy would), POSTs carry the `Origin` the CSRF
check expects, and the session keeps its cookies itself and sends the Secure ones over the
plain-HTTP loopback hop (httpx's jar, rightly, would not).

Also the steps an operator and a team owner take (sign in, add the provider in admin, create
the team and its owner's membership in admin, attach a key, buy a number), shared by the
production scripts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urljoin, urlsplit

import httpx


@dataclass
class Select:
    name: str
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, text, selected

    def value(self) -> str | None:
        chosen = [value for value, _text, selected in self.options if selected]
        if chosen:
            return chosen[0]
        return self.options[0][0] if self.options else None

    def find(self, pattern: str) -> str | None:
        """The value of the first option whose text matches `pattern` (a regex)."""
        for value, text, _selected in self.options:
            if value and re.search(pattern, text):
                return value
        return None


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    selects: dict[str, Select] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)

    def data(self, **overrides: str) -> dict[str, str]:
        """What a browser would submit, with `overrides` (the fields a person fills in)."""
        values: dict[str, str] = {}
        for name, value in self.fields:
            values.setdefault(name, value)
        for name, select in self.selects.items():
            value = select.value()
            if value is not None:
                values.setdefault(name, value)
        values.update(overrides)
        return values

    def names(self) -> set[str]:
        return {name for name, _ in self.fields} | set(self.selects)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._select: Select | None = None
        self._option: list | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower(), attrs=a))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        name = a.get("name", "")
        if tag == "input" and name and "__prefix__" not in name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            form.fields.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name and "__prefix__" not in name:
            self._select = form.selects.setdefault(name, Select(name))
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), "", "selected" in a]
        elif tag == "textarea" and name and "__prefix__" not in name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._option is not None:
            self._option[1] += data
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, text, selected = self._option
            text = " ".join(text.split())
            self._select.options.append((text if value is None else value, text, selected))
            self._option = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self.forms[-1].fields.append((name, text.removeprefix("\n")))
            self._textarea = None


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class PageError(AssertionError):
    pass


class Session:
    """One signed-in (or not yet) person's browser on the loopback stack."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        host = urlsplit(self.base_url).netloc
        self.origin = f"https://{host}"
        self.cookies: dict[str, str] = {}
        self.secure_cookies: set[str] = set()
        self.client = httpx.Client(
            base_url=self.base_url,
            headers={"X-Forwarded-Proto": "https", "User-Agent": "sms-desk-prod-script"},
            timeout=timeout,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        self.client.cookies.clear()  # ours are kept here, not in httpx's jar
        for header in response.headers.get_list("set-cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or (not morsel.value and morsel["expires"]):
                    self.cookies.pop(name, None)
                    continue
                self.cookies[name] = morsel.value
                if morsel["secure"]:
                    self.secure_cookies.add(name)
        return response

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> httpx.Response:
        headers = {
            "Origin": self.origin,
            "Referer": self.origin + path,
            **kwargs.pop("headers", {}),
        }
        return self.request("POST", path, data=data, headers=headers, **kwargs)

    def follow(self, response: httpx.Response, limit: int = 5) -> httpx.Response:
        """Follow redirects (GET), as a browser does after a POST."""
        for _ in range(limit):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = response.headers["location"]
            path = urlsplit(urljoin(str(response.url), location))
            response = self.get(path.path + (f"?{path.query}" if path.query else ""))
        return response

    def page(self, path: str, expect: int = 200, **kwargs) -> httpx.Response:
        response = self.follow(self.get(path, **kwargs))
        if response.status_code != expect:
            raise PageError(f"GET {path} answered {response.status_code}, expected {expect}")
        return response

    def form(self, path: str, match=None) -> tuple[Form, str]:
        """The first form on the page at `path` for which match(form) is true (or any)."""
        response = self.page(path)
        for form in forms_of(response.text):
            if match is None or match(form):
                action = form.action or str(response.url.path)
                return form, urlsplit(urljoin(str(response.url), action)).path
        raise PageError(f"No matching form on {path}")

    def submit(self, path: str, match=None, **values: str) -> httpx.Response:
        """Fill in the matching form on `path` with `values` and post it (no redirect follow)."""
        form, action = self.form(path, match)
        return self.post(action, form.data(**values))

    def sign_in(self, username: str, password: str) -> httpx.Response:
        response = self.submit(
            "/accounts/login/",
            lambda f: "password" in f.names(),
            username=username,
            password=password,
        )
        if response.status_code != 302:
            reason = re.search(r"<pre>(.*?)</pre>", response.text, re.S)
            raise PageError(
                f"sign-in as {username} answered {response.status_code}"
                + (f": {reason.group(1).strip()}" if reason else "")
            )
        return self.follow(response)

    @property
    def session_key(self) -> str | None:
        return self.cookies.get("sessionid")


def has_errors(response: httpx.Response) -> list[str]:
    """Form errors on a page (Django's errorlist), as text."""
    found = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found]


# --- What an operator does in admin -----------------------------------------------------------


def admin_add(session: Session, model_path: str, **values: str) -> None:
    """Fill in admin's add form of `model_path` ("catalog/provider") and save it."""
    path = f"/admin/{model_path}/add/"
    response = session.submit(path, lambda f: f.attrs.get("id", "").endswith("_form"), **values)
    if response.status_code != 302:
        raise PageError(f"admin add {model_path}: {has_errors(response) or response.status_code}")


def admin_object_id(session: Session, model_path: str, search: str) -> str:
    """The id of the first object admin's change list finds for `search`."""
    response = session.page(f"/admin/{model_path}/?q={search}")
    found = re.search(rf'href="/admin/{model_path}/(\d+)/change/', response.text)
    if not found:
        raise PageError(f"admin found no {model_path} for {search!r}")
    return found.group(1)


def add_provider(session: Session, name: str, handler_url: str, rate: float) -> None:
    admin_add(
        session,
        "catalog/provider",
        name=name,
        handler_url=handler_url,
        lang="en",
        max_requests_per_second=str(rate),
    )


def add_team(session: Session, name: str, slug: str, owner_username: str) -> None:
    """The team, then its owner's membership (admin's membership form)."""
    admin_add(session, "dashboard/team", name=name, slug=slug)
    team_id = admin_object_id(session, "dashboard/team", slug)
    user_id = admin_object_id(session, "auth/user", owner_username)
    admin_add(session, "dashboard/membership", team=team_id, user=user_id, role="owner")


# --- What a team owner does -------------------------------------------------------------------


def attach_key(session: Session, team: str, provider_name: str, api_key: str) -> httpx.Response:
    path = f"/t/{team}/provider-accounts/"
    form, action = session.form(path, lambda f: "api_key" in f.names())
    provider = form.selects["provider"].find(re.escape(provider_name))
    if provider is None:
        raise PageError(f"{provider_name} is not offered on {path}")
    response = session.post(action, form.data(provider=provider, api_key=api_key))
    if response.status_code != 302:
        raise PageError(f"attaching the key: {has_errors(response) or response.status_code}")
    return session.follow(response)


@dataclass
class Bought:
    activation_id: int
    path: str
    response: httpx.Response


def buy(
    session: Session, team: str, service_code: str, country: str, operator: str = "any"
) -> Bought:
    """Choose service, country and operator as the buy page narrows them, then buy."""
    path = f"/t/{team}/buy/"
    form, _ = session.form(path, lambda f: "service" in f.selects)
    service = form.selects["service"].find(rf"\({re.escape(service_code)}\)")
    if service is None:
        raise PageError(f"service {service_code} is not on the buy page")
    form, _ = session.form(f"{path}?service={service}", lambda f: "service" in f.selects)
    country_id = form.selects["country"].find(rf"^{re.escape(country)}\b")
    if country_id is None:
        raise PageError(f"{country} is not offered for {service_code}")
    form, action = session.form(
        f"{path}?service={service}&country={country_id}", lambda f: "service" in f.selects
    )
    # Operators are offered by their code ("any": let routing choose).
    if operator not in {value for value, _text, _selected in form.selects["operator"].options}:
        raise PageError(f"operator {operator} is not offered")
    data = form.data(service=service, country=country_id, operator=operator)
    response = session.post(action, data)
    location = response.headers.get("location", "")
    found = re.search(rf"/t/{re.escape(team)}/activations/(\d+)/", location)
    if response.status_code != 302 or not found:
        page = session.follow(response)
        messages = re.findall(r'class="message[^"]*"[^>]*>(.*?)<', page.text, re.S)
        raise PageError(f"buying answered {response.status_code} {location} {messages}")
    return Bought(int(found.group(1)), found.group(0), session.follow(response))


def wait_for_text(
    session: Session, path: str, text: str, timeout: float, *, htmx: bool = True
) -> float | None:
    """Poll `path` as the page's htmx does until `text` appears; seconds waited, or None."""
    started = time.monotonic()
    headers = {"HX-Request": "true"} if htmx else {}
    while time.monotonic() - started < timeout:
        response = session.get(path, headers=headers)
        if response.status_code in (200, 286) and text in response.text:
            return time.monotonic() - started
        time.sleep(1.0)
    return None


# --- The operator's first steps on a fresh stack ----------------------------------------------


def operator_setup(stack, step, web_url: str, handler_url: str, provider: str, rate: float):
    """createsuperuser, sign in, add the provider in admin; the owner's signed-in Session."""
    import secrets

    password = secrets.token_urlsafe(16)
    stack.manage(
        "createsuperuser",
        "--no-input",
        env={
            "DJANGO_SUPERUSER_USERNAME": "owner",
            "DJANGO_SUPERUSER_EMAIL": "owner@example.org",
            "DJANGO_SUPERUSER_PASSWORD": password,
        },
    )
    session = Session(web_url)
    session.sign_in("owner", password)
    add_provider(session, provider, handler_url, rate=rate)
    step.ok("operator: owner created, provider added in admin", f"{provider} at {rate:g} req/s")
    return session

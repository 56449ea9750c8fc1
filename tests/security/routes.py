"""Every URL pattern of the project, found by walking the URLconf, and URLs built for it.

The sweep's tests are parametrized over `ROUTES` at collection time, so a view added
tomorrow is visited by every one of them without anyone listing it. A route's parts get
values from a dict keyed by the part's name (`team_slug`, `activation_id`, ...): the sweep's
fixtures give real ids of real objects; a part nobody knows makes `url()` fail, naming it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern

# `<int:activation_id>` in a path() route; `(?P<app_label>auth|...)` in a re_path() one.
ROUTE_PART = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
REGEX_PART = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Route:
    segments: tuple  # the pattern objects from the root include() down to the path()
    name: str | None  # namespaced: "activations:detail"
    view: Callable

    @property
    def text(self) -> str:
        return "".join(str(segment) for segment in self.segments)

    @property
    def params(self) -> tuple[str, ...]:
        names = [m["name"] for m in ROUTE_PART.finditer(self.text)]
        names += [m["name"] for m in REGEX_PART.finditer(self.text)]
        return tuple(names)

    @property
    def team_scoped(self) -> bool:
        return "team_slug" in self.params

    @property
    def is_admin(self) -> bool:
        return self.text.startswith("admin/")

    @property
    def public(self) -> bool:
        """Open without signing in (`login_not_required`)."""
        return getattr(self.view, "login_required", True) is False

    @property
    def csrf_exempt(self) -> bool:
        return getattr(self.view, "csrf_exempt", False)

    @property
    def id(self) -> str:
        return self.name or self.text

    def url(self, values: dict[str, str]) -> str:
        """The route's URL with each part taken from values."""

        def value(name: str) -> str:
            if name not in values:
                raise KeyError(
                    f"The sweep has no value for <{name}> in {self.text!r}: give it one "
                    "(a real id of one of Alice's objects) in tests/security/conftest.py."
                )
            return str(values[name])

        parts = []
        for segment in self.segments:
            text = str(segment)
            if isinstance(segment, RegexPattern):
                text = REGEX_PART.sub(lambda m: value(m["name"]), text)
                text = text.lstrip("^").rstrip("$").replace("\\", "")
            else:
                text = ROUTE_PART.sub(lambda m: value(m["name"]), text)
            parts.append(text)
        return "/" + "".join(parts)


def _walk(patterns, segments=(), namespace=()):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace + ((entry.namespace,) if entry.namespace else ())
            yield from _walk(entry.url_patterns, (*segments, entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = ":".join((*namespace, entry.name)) if entry.name else None
            yield Route((*segments, entry.pattern), name, entry.callback)


def all_routes() -> list[Route]:
    """Every route that a request can reach: a route shadowed by an earlier one with the
    same pattern (Django's own accounts/login/ behind ours) is left out."""
    routes, seen = [], set()
    for route in _walk(get_resolver().url_patterns):
        if route.text in seen:
            continue
        seen.add(route.text)
        routes.append(route)
    return routes


ROUTES = all_routes()
TEAM_ROUTES = [route for route in ROUTES if route.team_scoped]
OTHER_ROUTES = [route for route in ROUTES if not route.team_scoped]


def param(routes: list[Route]):
    """pytest.mark.parametrize arguments: one test per route, named by the route."""
    return {"argvalues": routes, "ids": [route.id for route in routes]}


def grouped(routes: list[Route]):
    """pytest.mark.parametrize arguments for a test taking a list of routes: one test per
    route of ours, one for all of the Django admin's (well over a hundred routes of Django's
    own code; one test keeps the sweep quick and still visits each)."""
    ours = [r for r in routes if not r.is_admin]
    admin = [r for r in routes if r.is_admin]
    values = [[r] for r in ours] + ([admin] if admin else [])
    ids = [r.id for r in ours] + ([f"admin ({len(admin)} routes)"] if admin else [])
    return {"argvalues": values, "ids": ids}


def resolves_to(url: str, route: Route) -> bool:
    return resolve(url.split("?")[0]).func == route.view

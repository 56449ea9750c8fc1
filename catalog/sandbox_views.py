"""The sandbox providers the dashboard serves under /sandbox/ (SANDBOX on), one per entry of
settings.SANDBOX_MARKETS, each with its own market."""

import functools
import logging
import threading
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from provider.client import RedactApiKeys
from provider.sandbox.market import Market
from provider.sandbox.rules import Sandbox

# runserver logs request lines, and on GET the request line holds the API key.
_server_log = logging.getLogger("django.server")
if not any(isinstance(f, RedactApiKeys) for f in _server_log.filters):
    _server_log.addFilter(RedactApiKeys())

HANDLER = "stubs/handler_api"


@dataclass(frozen=True)
class SandboxMount:
    """One sandbox provider served by the dashboard: an entry of settings.SANDBOX_MARKETS."""

    name: str  # the name setup_demo gives its provider
    mount: str  # "b": served at /sandbox/b/stubs/handler_api; "": at /sandbox/stubs/handler_api
    market: Market

    @property
    def route(self) -> str:
        """Its route under /sandbox/."""
        return f"{self.mount}/{HANDLER}" if self.mount else HANDLER

    @property
    def path(self) -> str:
        return f"/sandbox/{self.route}"

    @property
    def url_name(self) -> str:
        return f"sandbox_{self.mount}_handler_api" if self.mount else "sandbox_handler_api"


def sandbox_mounts() -> list[SandboxMount]:
    """The sandboxes of settings.SANDBOX_MARKETS, in its order."""
    mounts = []
    for entry in settings.SANDBOX_MARKETS:
        knobs = {knob: value for knob, value in entry.items() if knob not in ("name", "mount")}
        mounts.append(SandboxMount(entry["name"], entry["mount"], Market(**knobs)))
    return mounts


_mounted_lock = threading.Lock()


def mounted_sandbox(mount: str = "") -> Sandbox:
    """The process-wide sandbox served at `mount`, configured from the settings: its market
    from SANDBOX_MARKETS, it knows `SANDBOX_API_KEY` with a balance of 1000, and activations
    live `ACTIVATION_LIFETIME_MINUTES`."""
    with _mounted_lock:  # one sandbox per mount, however many threads ask first
        return _configured_sandbox(mount)


@functools.cache
def _configured_sandbox(mount: str) -> Sandbox:
    market = next(m.market for m in sandbox_mounts() if m.mount == mount)
    sandbox = Sandbox(market=market, lifetime=settings.ACTIVATION_LIFETIME_MINUTES * 60.0)
    if settings.SANDBOX_API_KEY:
        sandbox.add_account(settings.SANDBOX_API_KEY, Decimal("1000"))
    return sandbox


@login_not_required
@csrf_exempt  # a provider endpoint, called by programs with an API key, not by browsers
@require_http_methods(["GET", "POST"])
def handler_api(request: HttpRequest, mount: str = "") -> HttpResponse:
    params = {**request.GET.dict(), **request.POST.dict()}
    answer = mounted_sandbox(mount).handle(params)
    response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response[name] = value
    return response

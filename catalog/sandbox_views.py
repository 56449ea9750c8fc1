"""The sandbox provider mounted in the dashboard at /sandbox/stubs/handler_api (SANDBOX on)."""

import functools
import logging
import threading
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from provider.client import RedactApiKeys
from provider.sandbox.rules import Sandbox

# runserver logs request lines, and on GET the request line holds the API key.
_server_log = logging.getLogger("django.server")
if not any(isinstance(f, RedactApiKeys) for f in _server_log.filters):
    _server_log.addFilter(RedactApiKeys())


_mounted_lock = threading.Lock()


def mounted_sandbox() -> Sandbox:
    """The process-wide sandbox served here, configured from the settings: it knows
    `SANDBOX_API_KEY` with a balance of 1000, codes arrive after `SANDBOX_CODE_DELAY` seconds,
    and activations live `ACTIVATION_LIFETIME_MINUTES`."""
    with _mounted_lock:  # one sandbox, however many threads ask first
        return _configured_sandbox()


@functools.cache
def _configured_sandbox() -> Sandbox:
    sandbox = Sandbox(
        code_delay=settings.SANDBOX_CODE_DELAY,
        lifetime=settings.ACTIVATION_LIFETIME_MINUTES * 60.0,
    )
    if settings.SANDBOX_API_KEY:
        sandbox.add_account(settings.SANDBOX_API_KEY, Decimal("1000"))
    return sandbox


@login_not_required
@csrf_exempt  # a provider endpoint, called by programs with an API key, not by browsers
@require_http_methods(["GET", "POST"])
def handler_api(request: HttpRequest) -> HttpResponse:
    params = {**request.GET.dict(), **request.POST.dict()}
    answer = mounted_sandbox().handle(params)
    response = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    for name, value in answer.headers:
        response[name] = value
    return response

"""The sandbox provider mounted in the dashboard at /sandbox/stubs/handler_api (SANDBOX on)."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from provider.client import _RedactKeys
from provider.sandbox.rules import mounted_sandbox

# runserver logs request lines, and on GET the request line holds the API key.
_server_log = logging.getLogger("django.server")
if not any(isinstance(f, _RedactKeys) for f in _server_log.filters):
    _server_log.addFilter(_RedactKeys())


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

"""Our own 404 page in development too.

With DEBUG on, Django answers a page that does not exist with its technical page (the URL
patterns tried, the settings); production answers with templates/404.html. This middleware,
used only when DEBUG is on, answers with ours as production does, so that a developer sees
what a user sees. Django's page stays reachable for a moment's debugging with DEBUG_404=1.
"""

import os

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import Http404
from django.urls import Resolver404
from django.views.defaults import page_not_found


class OwnNotFoundPageMiddleware:
    def __init__(self, get_response):
        if not settings.DEBUG or os.environ.get("DEBUG_404"):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No URL pattern matched: Django's technical 404 came from resolving, before any view
        # (a view's own 404 answer has a resolver_match).
        if response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, Resolver404())
        return response

    def process_exception(self, request, exception):
        """A view raised Http404 (get_object_or_404 and the like)."""
        if isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None

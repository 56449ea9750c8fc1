"""Request middleware: the client's address behind proxies, and sign-in for htmx requests.

ForwardedForMiddleware: the client's address behind reverse proxies, for the sign-in rate
limit and the audit log.

Behind a proxy, REMOTE_ADDR is the proxy's address, so every visitor would share one. With
TRUSTED_PROXY_COUNT = N (> 0), the address N entries from the right of X-Forwarded-For (the
one our own outermost proxy saw) replaces REMOTE_ADDR; entries further left came from the
client and are ignored, since anyone can send them. With 0 (the default) the header is
ignored altogether.
"""

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import MiddlewareNotUsed
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect


class ForwardedForMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.proxies = settings.TRUSTED_PROXY_COUNT
        if self.proxies <= 0:
            raise MiddlewareNotUsed

    def __call__(self, request):
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        if len(hops) >= self.proxies:
            request.META["REMOTE_ADDR"] = hops[-self.proxies]
        return self.get_response(request)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, except that an htmx request (a polled fragment whose session ended) sends the
    whole page to the sign-in form, coming back to that page, instead of swapping the form
    into the fragment."""

    def handle_no_permission(self, request, view_func):
        htmx = getattr(request, "htmx", None)
        if not htmx:
            return super().handle_no_permission(request, view_func)
        response = redirect_to_login(
            htmx.current_url_abs_path or request.get_full_path(),
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )
        return HttpResponseClientRedirect(response.url)

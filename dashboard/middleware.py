"""The client's address behind reverse proxies, for the sign-in rate limit and the audit log.

Behind a proxy, REMOTE_ADDR is the proxy's address, so every visitor would share one. With
TRUSTED_PROXY_COUNT = N (> 0), the address N entries from the right of X-Forwarded-For (the
one our own outermost proxy saw) replaces REMOTE_ADDR; entries further left came from the
client and are ignored, since anyone can send them. With 0 (the default) the header is
ignored altogether.
"""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed


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

"""Request middleware: the client's address behind proxies, sign-in for htmx requests, and
a clear 503 while the database is briefly unavailable.

ForwardedForMiddleware: the client's address behind reverse proxies, for the sign-in rate
limit and the audit log.

Behind a proxy, REMOTE_ADDR is the proxy's address, so every visitor would share one. With
TRUSTED_PROXY_COUNT = N (> 0), the address N entries from the right of X-Forwarded-For (the
one our own outermost proxy saw) replaces REMOTE_ADDR; entries further left came from the
client and are ignored, since anyone can send them. With 0 (the default) the header is
ignored altogether.
"""

import logging
import threading
import time

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.contrib.sessions import middleware as session_middleware
from django.core.exceptions import MiddlewareNotUsed
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.log import log_response
from django_htmx.http import HttpResponseClientRedirect

from dashboard.audit import one_request

logger = logging.getLogger(__name__)


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


# A connection refused or dropped (a restart, a failover), or SQLite locked for too long.
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


class Outage:
    """This process's view of a database outage: it logs the first 503 once, as a warning,
    and the end (with the count of 503s) once a request that began after the last 503 works."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.began: float | None = None  # this process's first 503 of the current outage
        self.last = 0.0  # and its latest
        self.answered = 0

    def answer(self, request, error: Exception) -> HttpResponse:
        """The 503 "temporarily unavailable, retrying" page (for htmx, its short fragment)."""
        with self.lock:
            first = self.began is None
            self.last = time.monotonic()
            if first:
                self.began = self.last
            self.answered += 1
        if first:
            logger.warning(
                "Database unavailable (%s); answering 503 with Retry-After until it is back.",
                describe(error),
            )
        context = {
            "retry_after": RETRY_AFTER_SECONDS,
            "submitted": request.method not in ("GET", "HEAD", "OPTIONS"),
            "again": request.get_full_path(),
            "back": page_before(request),
        }
        htmx = request.headers.get("HX-Request") == "true"
        html = render_to_string("503.html#unavailable" if htmx else "503.html", context)
        response = HttpResponse(html, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        add_never_cache_headers(response)
        # Django would log every 503 as an error; the outage has its one warning above.
        log_response(
            "%s: %s",
            response.reason_phrase,
            request.path,
            response=response,
            request=request,
            level="debug",
        )
        return response

    def answered_by(self, request_started: float, response: HttpResponse) -> None:
        if self.began is None or response.status_code == 503:
            return
        with self.lock:
            # A request that began before the latest 503 proves nothing about the database.
            if self.began is None or request_started <= self.last:
                return
            began, answered = self.began, self.answered
            self.began, self.answered = None, 0
        logger.info(
            "Database available again; %d requests were answered 503 over %.1f s.",
            answered,
            time.monotonic() - began,
        )


OUTAGE = Outage()


def answers_database_errors(view_func):
    """Mark a view that answers database failures itself, in its own format (the team
    gateway answers programs `ERROR_SQL`): `DatabaseUnavailableMiddleware` then neither loads
    the session and user for it nor answers its errors with the HTML page."""
    view_func.answers_database_errors = True
    return view_func


class DatabaseUnavailableMiddleware:
    """While the database cannot be reached, every page answers 503 "temporarily unavailable,
    retrying" with Retry-After (templates/503.html; for htmx, its short fragment, which htmx
    does not swap, so the page stays and its polling goes on), never a 500 with a traceback.

    It must sit after AuthenticationMiddleware and before anything that reads request.user:
    the session and the user load lazily, on first use, and an exception raised inside
    another middleware (LoginRequiredMiddleware reads request.user in its process_view)
    becomes a 500 before any process_exception sees it. So process_view loads them here;
    process_exception answers the errors of the view and its templates. A broken persistent
    connection is replaced on the next request (DATABASES' CONN_HEALTH_CHECKS). Saving the
    session after the view is `SessionMiddleware`'s part, below.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        OUTAGE.answered_by(started, response)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "answers_database_errors", False):
            return None
        try:
            request.user.is_authenticated  # noqa: B018 (loads the session and the user)
        except DATABASE_ERRORS as error:
            return OUTAGE.answer(request, error)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return OUTAGE.answer(request, exception)
        return None


class SessionMiddleware(session_middleware.SessionMiddleware):
    """Django's, except that a session which cannot be saved after the view (a sign-in or a
    switch of team just as the database went away) answers the 503 page, not a 500: what the
    view did with the session did not happen."""

    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except DATABASE_ERRORS as error:
            return OUTAGE.answer(request, error)


def describe(error: Exception) -> str:
    """The error's kind and first line, without any configured database password."""
    lines = str(error).strip().splitlines()
    text = f"{type(error).__name__}: {lines[0] if lines else ''}"
    for connection in connections.all(initialized_only=True):
        password = connection.settings_dict.get("PASSWORD")
        if password:
            text = text.replace(password, "***")
    return text[:300]


def page_before(request) -> str:
    """Where "Back" goes from a failed form: the page it was sent from, if it is ours."""
    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("home")


class TimeZoneMiddleware:
    """Each request starts in UTC and leaves no zone behind for the thread's next request;
    `membership_for` (every team page) activates the person's or the team's zone between."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class AuditRequestMiddleware:
    """Every audit event a request writes shares one request id (`dashboard.audit.one_request`),
    so the audit log shows the provider calls under the action that made them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with one_request():
            return self.get_response(request)

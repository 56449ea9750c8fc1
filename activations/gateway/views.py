"""The API access page: a member's personal tokens for the team gateway.

Creating a token answers the POST itself with the page and the secret in it, once: never a
redirect carrying it (URL, session or messages), and `Cache-Control: no-store` so that no
cache keeps that page. The form carries a one-time nonce: a resubmitted POST (the browser's
reload of the answer) creates nothing and goes back to the list, which never shows a secret.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods

from activations.gateway.forms import NewTokenForm
from dashboard import tokens
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.audit import client_ip
from dashboard.confirm import needs_confirmation
from dashboard.models import BUYERS, ApiToken, Membership

PLACEHOLDER = "YOUR_TOKEN"
# A form's nonce is remembered this long once used (a resubmission after that creates a token).
NONCE_SECONDS = 24 * 60 * 60
# A token's state as the page shows it (the states themselves stay English keys).
STATE_LABELS = {
    "active": pgettext_lazy("token state", "active"),
    "revoked": pgettext_lazy("token state", "revoked"),
    "member left": pgettext_lazy("token state", "member left"),
    "role cannot buy": pgettext_lazy("token state", "role cannot buy"),
}


@dataclass(frozen=True)
class TokenRow:
    token: ApiToken
    state: str  # "active", "revoked", "member left", "role cannot buy"
    last_used_at: datetime | None
    mine: bool

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.state, self.state))


def token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.membership_id is None:
        return "member left"
    if token.membership.role not in BUYERS:
        return "role cannot buy"
    return "active"


def token_rows(acting: Membership) -> list[TokenRow]:
    """The tokens the acting member sees, newest first, with their state (one query)."""
    found = (
        tokens.visible_tokens(acting).select_related("membership").order_by("-created_at", "-pk")
    )
    return [
        TokenRow(
            token=token,
            state=token_state(token),
            last_used_at=token.last_used_at,
            mine=token.user_id == acting.user_id,
        )
        for token in found
    ]


def examples(url: str, secret: str = PLACEHOLDER) -> dict[str, str]:
    """The page's examples of a call to the gateway, with a comment in the reader's language
    (the code itself is the same in every language)."""
    comment = "# " + _("What your token can spend now, as getBalance answers it")
    return {
        "curl": f"{comment}\ncurl -s -d api_key={secret} -d action=getBalance {url}",
        "python": (
            f"{comment}\n"
            "from provider.client import ProviderClient\n\n"
            f'with ProviderClient("{url}", "{secret}", method="POST") as client:\n'
            "    print(client.get_balance())"
        ),
    }


def _nonce_key(membership: Membership, nonce: str) -> str:
    # Hashed: the nonce comes from the request (any bytes, any length); a cache key may not.
    digest = hashlib.sha256(nonce.encode(errors="replace")).hexdigest()
    return f"api-access-nonce:{membership.pk}:{digest}"


def _page(request, membership: Membership, form: NewTokenForm, new=None):
    url = request.build_absolute_uri(reverse("gateway_stubs"))
    context = {
        "membership": membership,
        "form": form,
        "nonce": secrets.token_urlsafe(16),
        "rows": token_rows(membership),
        "gateway_url": url,
        "examples": examples(url),
        "new": new,
        "new_examples": examples(url, new.secret) if new else None,
    }
    response = render(request, "activations/gateway/api_access.html", context)
    add_never_cache_headers(response)  # Cache-Control: ... no-store ...
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def api_access(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=BUYERS)
    team = membership.team
    if request.method != "POST":
        return _page(request, membership, NewTokenForm(team=team))
    form = NewTokenForm(request.POST, team=team)
    if not form.is_valid():
        return _page(request, membership, form)
    nonce = request.POST.get("nonce", "")
    if nonce and not cache.add(_nonce_key(membership, nonce), 1, NONCE_SECONDS):
        messages.info(
            request,
            _(
                "That token was created already; its secret is shown only once. "
                "Revoke it and create another if you did not copy it."
            ),
        )
        return redirect("activations:api_access", team_slug)
    new = tokens.create_token(acting=membership, ip=client_ip(request), **form.token_options())
    return _page(request, membership, NewTokenForm(team=team), new=new)


def _token(membership: Membership, token_id: int) -> ApiToken:
    return get_object_or_404(
        ApiToken.objects.select_related("user", "membership"), team=membership.team, pk=token_id
    )


@require_http_methods(["GET", "HEAD", "POST"])
def revoke_token(request: AuthenticatedHttpRequest, team_slug: str, token_id: int):
    """Revoke a token (its owner, an owner or a manager) once confirmed (`dashboard.confirm`):
    a GET or a POST without `confirmed` is answered with the question."""
    membership = membership_for(request, team_slug, roles=BUYERS)
    token = _token(membership, token_id)
    if not tokens.may_revoke(membership, token):
        raise PermissionDenied(tokens.REVOKE_REFUSED)
    if token.revoked_at is None:
        back = reverse("activations:api_access", args=[team_slug])
        asked = needs_confirmation(request, "revoke_token", back=back, token=token)
        if asked:
            return asked
        if tokens.revoke_token(acting=membership, token=token, ip=client_ip(request)):
            done = _("Token %(token)s revoked: it no longer works.") % {"token": token.label}
            messages.success(request, done)
            return redirect("activations:api_access", team_slug)
    messages.info(request, _("Token %(token)s was already revoked.") % {"token": token.label})
    return redirect("activations:api_access", team_slug)

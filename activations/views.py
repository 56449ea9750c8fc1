"""Pages of the activations app: buying, the activations list and page, provider accounts,
budgets and the audit log (the team's home page is `activations.home`). Thin: each view gets
the acting membership from `membership_for`, validates input and calls a service with it.

Live parts (an activation's status, the open activations table) are partials of their page's
template; htmx polls them every LIVE_REFRESH_SECONDS. They read only the database (the poller
talks to the provider) with a fixed number of queries, and stop the polling once nothing is
open any more. The status partial answers 204 (nothing to swap) while what it shows is
unchanged.
"""

import hashlib
from http import HTTPStatus
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from activations import audit_groups, audit_story, moves, routing_settings, usual
from activations.budgets import (
    month_budget,
    providers_in_other_currency,
    set_budgets,
    spending_by_user,
    team_budget,
)
from activations.buying import account_in_use
from activations.forms import (
    ActivationFilterForm,
    AttachKeyForm,
    AuditFilterForm,
    BudgetForm,
    BuyForm,
    PriceLimitForm,
    RemovePriceLimitForm,
    RoutingPolicyForm,
    UsualBuyForm,
)
from activations.models import Activation, RoutingPolicy
from activations.route_story import route_story
from activations.routing import buy_routed, policy_of
from activations.routing.choice import price_limits
from catalog import accounts
from catalog.models import Provider, ProviderAccount
from catalog.provider_errors import Outcome
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.audit import client_ip
from dashboard.confirm import needs_confirmation
from dashboard.display import money, relative
from dashboard.models import BUYERS, MANAGERS, AuditEvent, Membership, Team

NO_CHANGE = gettext_lazy("Nothing changed.")
PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50
OPEN_TABLE_LIMIT = 50


def _refresh() -> int:
    return settings.LIVE_REFRESH_SECONDS


def _tell(request, outcome: Outcome) -> None:
    (messages.success if outcome.ok else messages.error)(request, outcome.message)


def _tell_change(request, changed: bool, done: str) -> None:
    (messages.success if changed else messages.info)(request, done if changed else str(NO_CHANGE))


def _page(request, rows, size: int):
    """One page of rows, newest first; `templates/includes/pagination.html` links the others."""
    return Paginator(rows.order_by("-created_at", "-pk"), size).get_page(request.GET.get("page"))


# --- Activations list and the open activations table ---------------------------------------


def open_activations(team, limit: int = OPEN_TABLE_LIMIT) -> list[Activation]:
    """The team's open activations, newest first; one query."""
    return list(
        Activation.objects.filter(team=team, state__in=Activation.OPEN_STATES)
        .select_related("service", "country", "operator", "user", "provider")
        .order_by("-created_at", "-pk")[:limit]
    )


def open_table_context(team, membership) -> dict:
    return {
        "team": team,
        "membership": membership,
        "open_activations": open_activations(team),
        "refresh": _refresh(),
    }


@require_GET
def activation_list(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    team = membership.team
    form = ActivationFilterForm(request.GET or None, team=team)
    rows = Activation.objects.filter(team=team).select_related(
        "service", "country", "operator", "user", "provider"
    )
    context = {
        "form": form,
        "page": _page(request, form.filtered(rows), PAGE_SIZE),
        **open_table_context(team, membership),
    }
    return render(request, "activations/list.html", context)


@require_GET
def open_table(request: AuthenticatedHttpRequest, team_slug: str):
    """The open activations table alone (htmx polls it on the list and home pages)."""
    membership = membership_for(request, team_slug)
    context = open_table_context(membership.team, membership)
    html = render_to_string("activations/open_table.html#open_table", context, request)
    if not context["open_activations"]:
        return HttpResponseStopPolling(html)
    return HttpResponse(html)


# --- One activation -------------------------------------------------------------------------


def status_version(activation: Activation, role: str) -> str:
    """A fingerprint of everything the status partial shows: state, codes, the provider's
    trouble and the time left (to the minute, as shown) while open, and the viewer's moves.

    The partial's URL carries the fingerprint of what the page shows; a poll that finds it
    unchanged is answered 204 No Content, on which htmx swaps nothing and polls on."""
    shown = [activation.state, activation.codes, role]
    if activation.is_open:
        trouble = activation.last_poll_error if activation.poll_failures else None
        shown += [relative(activation.expires_at), trouble]
    return hashlib.blake2b(repr(shown).encode(), digest_size=8).hexdigest()


def status_context(activation: Activation, team: Team, role: str, seen: int) -> dict:
    return {
        "activation": activation,
        "team": team,
        "allowed": moves.allowed_moves(activation, role),
        "refresh": _refresh(),
        "seen": seen,
        "shown": status_version(activation, role),
    }


@require_GET
def activation_detail(request: AuthenticatedHttpRequest, team_slug: str, activation_id: int):
    """The activation's page; its htmx polls (same URL) get the status partial."""
    if request.htmx:
        return activation_status(request, team_slug, activation_id)
    membership = membership_for(request, team_slug)
    activation = get_object_or_404(
        Activation.objects.select_related("service", "country", "operator", "user", "provider"),
        team=membership.team,
        pk=activation_id,
    )
    seen = len(activation.codes)  # a full page load: nothing is new yet
    context = status_context(activation, membership.team, membership.role, seen)
    context["route"] = route_story(activation.route)
    return render(request, "activations/detail.html", context)


# What the status partial reads: the fields it shows, and its team's slug for its links.
STATUS_FIELDS = (
    "team__slug",
    "phone",
    "state",
    "codes",
    "expires_at",
    "poll_failures",
    "last_poll_error",
)


def activation_status(request: AuthenticatedHttpRequest, team_slug: str, activation_id: int):
    """The activation page's status partial, which htmx polls every LIVE_REFRESH_SECONDS.

    Every open page asks every few seconds, so this is the cheapest request we serve: the
    activation and the viewer's membership come in one query (the access rule of
    `membership_for`: no membership of the team in the URL, or not its activation, is 404),
    and when nothing changed since the page's fingerprint the answer is 204 with no body."""
    activation = get_object_or_404(
        Activation.objects.filter(team__slug=team_slug, team__memberships__user=request.user)
        .select_related("team")
        .only(*STATUS_FIELDS)
        .annotate(viewer_role=F("team__memberships__role")),
        pk=activation_id,
    )
    role = activation.viewer_role
    if request.GET.get("shown") == status_version(activation, role):
        return HttpResponse(status=HTTPStatus.NO_CONTENT)
    try:
        seen = int(request.GET.get("seen", ""))
    except ValueError:
        seen = len(activation.codes)
    context = status_context(activation, activation.team, role, seen)
    html = render_to_string("activations/detail.html#status", context, request)
    if not activation.is_open:
        return HttpResponseStopPolling(html)
    return HttpResponse(html)


def _move_view(service_function, *, confirm: tuple[str, str] | None = None):
    """A move's view. `confirm` is (the move's name in `moves.allowed_moves`, its message in
    `dashboard.confirm`): asked first while the move still applies; when it no longer does,
    the service says why without asking."""

    @require_POST
    def view(request: AuthenticatedHttpRequest, team_slug: str, activation_id: int):
        membership = membership_for(request, team_slug, roles=BUYERS)
        activation = get_object_or_404(Activation, team=membership.team, pk=activation_id)
        if confirm and moves.allowed_moves(activation, membership.role)[confirm[0]]:
            back = reverse("activations:detail", args=[team_slug, activation.pk])
            asked = needs_confirmation(request, confirm[1], back=back, activation=activation)
            if asked:
                return asked
        outcome = service_function(acting=membership, activation=activation, ip=client_ip(request))
        _tell(request, outcome)
        return redirect("activations:detail", team_slug, activation.pk)

    view.__name__ = service_function.__name__
    return view


retry = _move_view(moves.request_another_sms)
complete = _move_view(moves.complete)
cancel = _move_view(moves.cancel, confirm=("cancel", "cancel_activation"))


# --- Buying ---------------------------------------------------------------------------------


def _buy_providers(team) -> list[Provider]:
    return list(
        Provider.objects.filter(
            enabled=True, accounts__team=team, accounts__key_ciphertext__gt=""
        ).order_by("name")
    )


# The choices a failed purchase goes back to (with a fresh token: the failed one is spent).
KEPT_CHOICES = ("service", "country", "operator", "max_price", "price_for", "offer")
NO_KEY = gettext_lazy("The team has no provider key yet.")


def _bought(request, team_slug: str, outcome):
    """Where a purchase goes: the number's page when bought (or bought already by this
    token), else None after saying why."""
    if not outcome.ok:
        messages.error(request, outcome.message)
        return None
    (messages.info if outcome.duplicate else messages.success)(request, outcome.message)
    return redirect("activations:detail", team_slug, outcome.activation.pk)


def _back_to_choices(team_slug: str, data) -> HttpResponse:
    query = {k: data[k] for k in KEPT_CHOICES if data.get(k)}
    return redirect(f"{reverse('activations:buy', args=[team_slug])}?{urlencode(query)}")


def buy(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=BUYERS)
    team = membership.team
    providers = _buy_providers(team)
    if request.method == "POST":
        form = BuyForm(request.POST, team=team, providers=providers)
        if not form.is_valid():
            messages.error(request, form.problem())
        else:
            outcome = buy_routed(
                acting=membership,
                want=form.want,
                request_token=form.cleaned_data["token"],
                ip=client_ip(request),
                first=form.cleaned_data["offer"],
                found=form.candidates,
            )
            if bought := _bought(request, team_slug, outcome):
                return bought
        return _back_to_choices(team_slug, request.POST)

    form = BuyForm(request.GET, team=team, providers=providers, bound=False)
    spending, policy = spending_by_user(team), policy_of(team)
    context = {
        "form": form,
        "providers": providers,
        "policy": RoutingPolicy(policy),
        "budget": team_budget(team, spending=spending),
        "why_not": form.why_not_buy(membership, spending) if providers else str(NO_KEY),
    }
    if request.htmx:
        return render(request, "activations/buy.html#buy_form", context)
    context["usual"] = usual.usual_buys(membership, spending, policy=policy)
    return render(request, "activations/buy.html", context)


@require_POST
def buy_usual(request: AuthenticatedHttpRequest, team_slug: str):
    """A usual choice's one-click button: routing buys the best offer for it under the team's
    policy and highest prices, as the buy page would; then the number's page, or the buy page
    with the choice made and why nothing was bought."""
    membership = membership_for(request, team_slug, roles=BUYERS)
    form = UsualBuyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("That choice cannot be bought from here. Please choose again."))
        return redirect("activations:buy", team_slug)
    outcome = buy_routed(
        acting=membership,
        want=form.want,
        request_token=form.cleaned_data["token"],
        ip=client_ip(request),
    )
    return _bought(request, team_slug, outcome) or _back_to_choices(team_slug, request.POST)


# --- Provider accounts ----------------------------------------------------------------------


def provider_accounts(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    if request.method == "POST":
        form = AttachKeyForm(request.POST)
        if form.is_valid():
            try:
                account = accounts.attach_key(
                    acting=membership,
                    provider=form.cleaned_data["provider"],
                    api_key=form.cleaned_data["api_key"],
                    ip=client_ip(request),
                )
            except accounts.KeyRejected as error:
                form.add_error("api_key", str(error))
            else:
                messages.success(
                    request,
                    _("Key %(key)s saved for %(provider)s; balance %(balance)s.")
                    % {
                        "key": account.masked_key,
                        "provider": account.provider.name,
                        "balance": money(account.balance, account.provider.currency),
                    },
                )
                return redirect("activations:accounts", team_slug)
    else:
        form = AttachKeyForm(initial={"provider": request.GET.get("provider")})
    keyed = list(accounts.accounts_with_balance_age(membership.team))
    for account in keyed:  # Remove is offered only where the service would allow it
        account.in_use = account_in_use(account)
    context = {"form": form, "accounts": keyed}
    return render(request, "activations/accounts.html", context)


@require_POST
def remove_account(request: AuthenticatedHttpRequest, team_slug: str, account_id: int):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    account = get_object_or_404(
        ProviderAccount.objects.select_related("provider"), team=membership.team, pk=account_id
    )
    if not account_in_use(account):  # in use, the service refuses without asking
        back = reverse("activations:accounts", args=[team_slug])
        asked = needs_confirmation(request, "remove_key", back=back, account=account)
        if asked:
            return asked
    outcome = accounts.remove_account(
        acting=membership, account=account, in_use=account_in_use, ip=client_ip(request)
    )
    _tell(request, outcome)
    return redirect("activations:accounts", team_slug)


@require_POST
def refresh_balance(request: AuthenticatedHttpRequest, team_slug: str, account_id: int):
    membership = membership_for(request, team_slug, roles=BUYERS)
    account = get_object_or_404(
        ProviderAccount.objects.select_related("provider", "team"),
        team=membership.team,
        pk=account_id,
    )
    outcome = accounts.refresh_balance(acting=membership, account=account, ip=client_ip(request))
    if request.htmx:
        # The balance alone, in place (a page asking as it loads, or Refresh with
        # JavaScript): a failure is said there, and is not asked again by itself.
        context = {
            "account": account,
            "membership": membership,
            "failure": "" if outcome.ok else outcome.message,
        }
        return render(request, "activations/includes/balance.html", context)
    _tell(request, outcome)
    back = request.POST.get("next", "")
    if back.startswith(f"/t/{team_slug}/"):
        return redirect(back)
    if membership.is_manager:
        return redirect("activations:accounts", team_slug)
    return redirect("activations:home", team_slug)


# --- Budgets --------------------------------------------------------------------------------


def budgets(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    team = membership.team
    memberships = list(
        Membership.objects.filter(team=team).select_related("user").order_by("user__username")
    )
    form = BudgetForm(request.POST or None, team=team, memberships=memberships)
    if request.method == "POST" and form.is_valid():
        changes = set_budgets(
            acting=membership,
            monthly_budget=form.cleaned_data["monthly_budget"],
            member_limits=form.member_limits(),
            ip=client_ip(request),
        )
        count = len(changes)
        saved = ngettext("Saved %(count)s change(s).", "Saved %(count)s change(s).", count)
        _tell_change(request, bool(changes), saved % {"count": count})
        return redirect("activations:budgets", team_slug)
    budget = month_budget(team)
    other_currency = providers_in_other_currency(team)
    context = {
        "form": form,
        "rows": [(m, field, budget.of(m.user_id).spent) for m, field in form.member_rows()],
        "budget": budget,
        "other_currency": other_currency,
        "other_names": ", ".join(provider.name for provider in other_currency),
    }
    return render(request, "activations/budgets.html", context)


# --- Routing settings -----------------------------------------------------------------------


def _routing_page(request, membership: Membership, *, policy_form=None, limit_form=None):
    """The routing settings page, with a form that failed (shown with its errors) if any."""
    team = membership.team
    context = {
        "policy_form": policy_form or RoutingPolicyForm(initial={"policy": policy_of(team)}),
        "limit_form": limit_form or PriceLimitForm(providers=_buy_providers(team)),
        "limits": sorted(price_limits(team).items()),
    }
    return render(request, "activations/routing.html", context)


def team_routing(request: AuthenticatedHttpRequest, team_slug: str):
    """The team's routing policy (changed here) and highest prices per service."""
    membership = membership_for(request, team_slug, roles=MANAGERS)
    if request.method != "POST":
        return _routing_page(request, membership)
    form = RoutingPolicyForm(request.POST)
    if not form.is_valid():
        return _routing_page(request, membership, policy_form=form)
    policy = RoutingPolicy(form.cleaned_data["policy"])
    changed = routing_settings.set_policy(acting=membership, policy=policy, ip=client_ip(request))
    if policy == RoutingPolicy.RELIABLE:
        done = _("Purchases now go to the most reliable offer first.")
    else:
        done = _("Purchases now go to the cheapest offer first.")
    _tell_change(request, changed, done)
    return redirect("activations:routing", team_slug)


@require_POST
def save_price_limit(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    form = PriceLimitForm(request.POST, providers=_buy_providers(membership.team))
    if not form.is_valid():
        return _routing_page(request, membership, limit_form=form)
    code, price = form.cleaned_data["service_code"], form.cleaned_data["max_price"]
    changed = routing_settings.set_price_limit(
        acting=membership, service_code=code, max_price=price, ip=client_ip(request)
    )
    shown = money(price, membership.team.currency)
    done = _("The highest price for %(service)s is now %(price)s.")
    _tell_change(request, changed, done % {"service": code, "price": shown})
    return redirect("activations:routing", team_slug)


@require_POST
def remove_price_limit(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    form = RemovePriceLimitForm(request.POST)
    code = form.cleaned_data["service_code"] if form.is_valid() else ""
    if code in price_limits(membership.team):
        back = reverse("activations:routing", args=[team_slug])
        asked = needs_confirmation(request, "remove_price_limit", back=back, service_code=code)
        if asked:
            return asked
    if code and routing_settings.remove_price_limit(
        acting=membership, service_code=code, ip=client_ip(request)
    ):
        done = _("%(service)s has no highest price of its own any more.")
        messages.success(request, done % {"service": code})
    else:
        messages.error(request, _("There was no highest price to remove."))
    return redirect("activations:routing", team_slug)


# --- Audit log ------------------------------------------------------------------------------


@require_GET
def audit_log(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug, roles=MANAGERS)
    team = membership.team
    form = AuditFilterForm(request.GET or None, team=team)
    team_events = AuditEvent.objects.filter(team=team)
    rows = audit_groups.heads(form.filtered(team_events)).select_related("user", "api_token")
    page = _page(request, rows, AUDIT_PAGE_SIZE)
    page.object_list = list(page.object_list)
    audit_groups.nest_calls(page.object_list, team_events)
    audit_story.tell_page(team, page.object_list)
    context = {"form": form, "page": page, "now": timezone.now()}
    return render(request, "activations/audit.html", context)

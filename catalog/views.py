"""The catalog pages: the browser and a service's price ranking, both across the enabled
providers, "Sync now" of one provider and its status card (polled while a sync is on its
way; see `catalog.sync.status`)."""

from http import HTTPStatus

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from catalog import queries
from catalog.forms import CatalogFilters
from catalog.models import Provider
from catalog.sync.status import first_sync
from catalog.tasks import request_sync
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.models import MANAGERS, Membership

PER_PAGE = 50
# Fired by a status card's answer when its provider's sync moved on (queued, running, done):
# the catalog's results listen for it (`hx-trigger="catalog-sync-changed from:body"`) and
# reload, showing the new offers once a sync is done.
SYNC_CHANGED = "catalog-sync-changed"


def wants_fragment(request: AuthenticatedHttpRequest) -> bool:
    # htmx swaps in the fragment; a history restore (cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def keyed_ids(columns: list[queries.Column]) -> frozenset[int]:
    """The providers where the team holds a key: their offers in stock get a Buy."""
    return frozenset(column.provider.pk for column in columns if column.keyed)


@require_safe  # a page that only reads refuses a POST (405) rather than answering it
@vary_on_headers("HX-Request")
def browse(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    columns = queries.columns(membership.team)
    fragment = wants_fragment(request)
    context = {"membership": membership, "columns": columns, "fragment": fragment}
    # Reloaded because a sync moved on: the countries may be new (the first sync) too.
    context["sync_reload"] = fragment and request.htmx.trigger == "catalog-results"
    context["first_sync"] = first_sync([column.status for column in columns])
    if columns:
        form = CatalogFilters(request.GET)
        if form.search_refused:
            page = queries.CatalogPage.nothing(PER_PAGE)
        else:
            page = queries.catalog_page(
                form.filters(),
                [column.provider for column in columns],
                request.GET.get("page"),
                PER_PAGE,
                keyed=keyed_ids(columns),
            )
        context |= {"form": form, "page": page}
    template = "catalog/browse.html#results" if fragment and columns else "catalog/browse.html"
    return render(request, template, context)


@require_safe
@vary_on_headers("HX-Request")
def service_detail(request: AuthenticatedHttpRequest, team_slug: str, service_id: int):
    """A service by its code across the enabled providers; the address names one provider's
    row of it (links from before the catalog went across providers keep working)."""
    membership = membership_for(request, team_slug)
    service = queries.service_named(service_id)
    if service is None:
        raise Http404("No enabled provider sells this service.")
    columns = queries.columns(membership.team)
    providers = [column.provider for column in columns]
    filters = {"code": service.code, "sort": "price"}
    context = {
        "membership": membership,
        "service": service,
        "columns": columns,
        "page": queries.catalog_page(
            filters,
            providers,
            request.GET.get("page"),
            PER_PAGE,
            trend=True,
            keyed=keyed_ids(columns),
        ),
        "changes": queries.recent_price_changes(service.code),
    }
    template = "catalog/service.html#ranking" if wants_fragment(request) else "catalog/service.html"
    return render(request, template, context)


@require_POST
def sync_now(request: AuthenticatedHttpRequest, team_slug: str):
    """Queue a sync of one provider. From htmx the answer is the provider's status card, now
    saying the sync is queued (and polling until it ends); without JavaScript, a message and
    the page the button was on."""
    membership = membership_for(request, team_slug, roles=MANAGERS)
    try:
        provider_id = int(request.POST.get("provider", ""))
    except ValueError:
        raise Http404("No such provider") from None
    provider = get_object_or_404(Provider, pk=provider_id, enabled=True)
    queued = request_sync(provider)
    if request.htmx:
        return render_status_card(request, membership, provider.pk)
    if queued:
        messages.success(
            request,
            _("Sync of %(provider)s queued; the catalog updates in a minute or two.")
            % {"provider": provider.name},
        )
    else:
        messages.info(
            request,
            _("A sync of %(provider)s is already on its way.") % {"provider": provider.name},
        )
    back = request.POST.get("next", "")
    if back.startswith(f"/t/{team_slug}/catalog/") and "/catalog/sync/" not in back:
        return redirect(back)
    return redirect(reverse("catalog:browse", args=[team_slug]))


@require_safe
def sync_status(request: AuthenticatedHttpRequest, team_slug: str, provider_id: int):
    """One provider's sync status card, which htmx polls while a sync is queued or running.

    Cheap: the membership, then the provider with its latest runs (two queries). Unchanged
    since the card's fingerprint (`shown`): 204, nothing to swap. Once the sync is over the
    card comes with 286, which stops the polling."""
    membership = membership_for(request, team_slug)
    if not request.htmx:  # the card alone is no page: show it where it belongs
        return redirect(reverse("catalog:browse", args=[team_slug]))
    return render_status_card(
        request,
        membership,
        provider_id,
        shown=request.GET.get("shown"),
        phase=request.GET.get("phase"),
    )


def render_status_card(
    request: AuthenticatedHttpRequest,
    membership: Membership,
    provider_id: int,
    *,
    shown: str | None = None,
    phase: str | None = None,
) -> HttpResponse:
    """The card of one provider. `shown` and `phase`: the fingerprint and the phase of the
    card the page shows (none after "Sync now"). When the phase changes (queued, running,
    done) the answer fires SYNC_CHANGED, so the results say the same as the card: a few
    reloads a sync, not one a poll."""
    found = queries.columns(membership.team, only=provider_id)
    if not found:
        raise Http404("No such provider")
    (column,) = found
    status = column.status
    if shown is not None and shown == status.version:
        return HttpResponse(status=HTTPStatus.NO_CONTENT)
    context = {"membership": membership, "provider": column.provider, "status": status}
    html = render_to_string("catalog/includes/sync_status.html", context, request)
    response = HttpResponse(html) if status.on_its_way else HttpResponseStopPolling(html)
    if phase != status.phase:
        response["HX-Trigger"] = SYNC_CHANGED
    return response

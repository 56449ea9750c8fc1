"""The catalog pages: the browser and a service's price ranking, both across the enabled
providers, and "Sync now" of one provider."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from catalog import queries
from catalog.forms import CatalogFilters
from catalog.models import Provider
from catalog.tasks import request_sync
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.models import MANAGERS

PER_PAGE = 50


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
    membership_for(request, team_slug, roles=MANAGERS)
    try:
        provider_id = int(request.POST.get("provider", ""))
    except ValueError:
        raise Http404("No such provider") from None
    provider = get_object_or_404(Provider, pk=provider_id, enabled=True)
    if request_sync(provider):
        messages.success(
            request, f"Sync of {provider.name} queued; the catalog updates in a minute or two."
        )
    else:
        messages.info(request, f"A sync of {provider.name} is already on its way.")
    return redirect(reverse("catalog:browse", args=[team_slug]))

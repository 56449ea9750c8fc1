"""The catalog pages: the browser, a service's price ranking, and "Sync now"."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from catalog import queries
from catalog.forms import CatalogFilters
from catalog.models import Provider, Service
from catalog.tasks import request_sync
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.models import MANAGERS

PER_PAGE = 50


def wants_fragment(request: AuthenticatedHttpRequest) -> bool:
    # htmx swaps in the fragment; a history restore (cache miss) needs the whole page.
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_safe  # a page that only reads refuses a POST (405) rather than answering it
@vary_on_headers("HX-Request")
def browse(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    providers = queries.enabled_providers()
    provider = queries.choose_provider(providers, request.GET.get("provider"))
    fragment = wants_fragment(request)
    context = {
        "membership": membership,
        "providers": providers,
        "provider": provider,
        "fragment": fragment,
    }
    if provider is not None:
        form = CatalogFilters(request.GET, provider=provider)
        rows = queries.offers(provider, form.filters())
        context |= {
            "form": form,
            "page": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
            "status": queries.sync_status(provider),
        }
    template = "catalog/browse.html#results" if fragment and provider else "catalog/browse.html"
    return render(request, template, context)


@require_safe
@vary_on_headers("HX-Request")
def service_detail(request: AuthenticatedHttpRequest, team_slug: str, service_id: int):
    membership = membership_for(request, team_slug)
    service = get_object_or_404(
        Service.objects.select_related("provider"), pk=service_id, provider__enabled=True
    )
    context = {
        "membership": membership,
        "service": service,
        "provider": service.provider,
        "page": Paginator(queries.ranking(service), PER_PAGE).get_page(request.GET.get("page")),
        "changes": queries.recent_price_changes(service),
        "status": queries.sync_status(service.provider),
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
    url = reverse("catalog:browse", args=[team_slug])
    return redirect(f"{url}?provider={provider.pk}")

"""What the catalog pages read: one catalog across providers, matched by the protocol's ids
(service code, country id, operator code), with each enabled provider's price and stock side
by side. Each function makes a fixed number of queries, however many rows or providers the
catalog holds.

A page of the catalog is one grouped query (each combination once, its best price, its total
stock, its offers' ids and, by a window, how many combinations match) and one query for the
page's offers. Grouping reads every matching offer: about 0.1 s for three full sandbox
catalogs (`make bench BENCH=catalog_pages`); a second pass to count them would double it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import (
    CharField,
    Count,
    DecimalField,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.aggregates import StringAgg
from django.db.models.functions import Cast, Lag
from django.utils import timezone

from catalog.accounts import keyed_providers
from catalog.forms import SORTS
from catalog.models import Offer, PriceChange, Provider, Service, SyncRun
from dashboard.models import Team

PRICE = DecimalField(max_digits=12, decimal_places=2)
KEY = ("service_code", "country_external_id", "operator_code")
BEST_FIRST = F("best_price").asc(nulls_last=True)  # nobody has stock: no best price, last
# The catalog's orders (catalog.forms.SORTS names them): a combination's price is the lowest
# among the providers that have stock, its stock the providers' total.
ORDERS = {
    "price": [BEST_FIRST, F("stock").desc(), *KEY],
    "-price": [F("best_price").desc(nulls_last=True), F("stock").desc(), *KEY],
    "-quantity": [F("stock").desc(), BEST_FIRST, *KEY],
    "quantity": [F("stock").asc(), BEST_FIRST, *KEY],
}


@dataclass
class SyncStatus:
    last_run: SyncRun | None  # the latest run, whatever its outcome
    last_prices_at: datetime | None  # when prices were last refreshed by a run
    running: bool
    interval: timedelta

    @property
    def stale_after_minutes(self) -> int:
        return int(2 * self.interval.total_seconds() // 60)

    @property
    def stale(self) -> bool:
        """No prices yet, or older than twice the schedule's interval."""
        if self.last_prices_at is None:
            return True
        return timezone.now() - self.last_prices_at > 2 * self.interval


@dataclass(frozen=True)
class Column:
    """An enabled provider as a column of the catalog, with its sync status."""

    provider: Provider
    keyed: bool  # the team holds a key there: it can buy there
    status: SyncStatus


def columns(team: Team) -> list[Column]:
    """The enabled providers, the sandbox last (a real provider, once configured, is what
    teams look at first), each with its sync status: two queries for any number."""
    runs = SyncRun.objects.filter(provider=OuterRef("pk")).order_by("-started_at", "-pk")
    price_runs = runs.filter(
        kind__in=[SyncRun.Kind.PRICES, SyncRun.Kind.FULL],
        finished_at__isnull=False,
        offers__gt=0,
    )
    providers = list(
        Provider.objects.filter(enabled=True)
        .annotate(
            keyed=Exists(keyed_providers(team).filter(provider_id=OuterRef("pk"))),
            last_run_id=Subquery(runs.values("pk")[:1]),
            last_prices_at=Subquery(price_runs.values("finished_at")[:1]),
        )
        .order_by("is_sandbox", "name")
    )
    last_runs = SyncRun.objects.in_bulk([p.last_run_id for p in providers if p.last_run_id])
    interval = timedelta(minutes=settings.CATALOG_PRICES_INTERVAL_MINUTES)
    now = timezone.now()
    return [
        Column(
            provider=p,
            keyed=p.keyed,
            status=SyncStatus(
                last_run=last_runs.get(p.last_run_id),
                last_prices_at=p.last_prices_at,
                running=p.sync_claimed_until is not None and p.sync_claimed_until >= now,
                interval=interval,
            ),
        )
        for p in providers
    ]


@dataclass(frozen=True)
class Cell:
    """One provider's offer of a combination."""

    price: Decimal
    quantity: int
    previous_price: Decimal | None = None  # the price before the last change, for the trend


@dataclass(frozen=True)
class Combination:
    """A row of the catalog: a service through one operator of one country, with each
    provider's offer (None where a provider does not sell it) in the columns' order."""

    service_code: str
    service_name: str
    service_id: int  # one provider's row of the service: the service page's address
    country_external_id: int
    country_name: str
    operator_code: str
    best_price: Decimal | None
    stock: int
    cells: list[Cell | None]


def combinations(filters: dict) -> QuerySet:
    """The combinations sold at enabled providers matching the filters, in the chosen order,
    as grouped rows (dicts) with each one's offer ids and the count of all matching rows.
    Filters match the protocol's ids, so a combination keeps every provider's offer."""
    rows = Offer.objects.filter(available=True, provider__enabled=True)
    if filters.get("code"):
        rows = rows.filter(service__code=filters["code"])
    if filters.get("q"):
        q = filters["q"]
        codes = Service.objects.filter(Q(name__icontains=q) | Q(code__iexact=q)).values("code")
        rows = rows.filter(service__code__in=codes)
    if filters.get("country") is not None:
        rows = rows.filter(country__external_id=filters["country"])
    if filters.get("operator"):
        rows = rows.filter(operator__code=filters["operator"])
    grouped = rows.values(
        service_code=F("service__code"),
        country_external_id=F("country__external_id"),
        operator_code=F("operator__code"),
    ).annotate(
        service_id=Min("service_id"),
        service_name=Min("service__name"),
        country_name=Min("country__name"),
        best_price=Min("price", filter=Q(quantity__gt=0)),
        stock=Sum("quantity"),
        offer_ids=StringAgg(Cast("pk", CharField()), delimiter=Value(",")),
        matching=Window(Count("*")),
    )
    if filters.get("in_stock"):
        grouped = grouped.filter(stock__gt=0)
    return grouped.order_by(*ORDERS[filters.get("sort") or "price"])


def catalog_page(
    filters: dict, providers: list[Provider], number: str | None, per_page: int, *, trend=False
) -> Page:
    """One page of combinations with each provider's offer; `trend` adds each offer's
    previous price. Two queries (four for a page past the end: the last page instead)."""
    grouped = combinations(filters)
    number = _page_number(number)
    rows = list(grouped[(number - 1) * per_page : number * per_page])
    if rows:
        count = rows[0]["matching"]
    else:
        count = grouped.count() if number > 1 else 0
        if count:
            number = -(-count // per_page)
            rows = list(grouped[(number - 1) * per_page : number * per_page])
    paginator = Paginator(range(count), per_page)
    return Page(_with_offers(rows, providers, trend), number, paginator)


def _page_number(number: str | None) -> int:
    try:
        return max(1, int(number or 1))
    except ValueError:
        return 1


def _with_offers(rows: list[dict], providers: list[Provider], trend: bool) -> list[Combination]:
    ids = [int(pk) for row in rows for pk in row["offer_ids"].split(",")]
    offers = Offer.objects.filter(pk__in=ids).only("pk", "provider_id", "price", "quantity")
    if trend:
        previous = PriceChange.objects.filter(offer=OuterRef("pk")).order_by("-recorded_at", "-pk")
        offers = offers.annotate(
            previous_price=Subquery(previous.values("price")[1:2], output_field=PRICE)
        )
    by_pk = {offer.pk: offer for offer in offers}
    column = {provider.pk: index for index, provider in enumerate(providers)}
    page = []
    for row in rows:
        cells: list[Cell | None] = [None] * len(providers)
        for pk in row["offer_ids"].split(","):
            offer = by_pk[int(pk)]
            cells[column[offer.provider_id]] = Cell(
                offer.price, offer.quantity, getattr(offer, "previous_price", None)
            )
        page.append(
            Combination(
                service_code=row["service_code"],
                service_name=row["service_name"],
                service_id=row["service_id"],
                country_external_id=row["country_external_id"],
                country_name=row["country_name"],
                operator_code=row["operator_code"],
                best_price=row["best_price"],
                stock=row["stock"],
                cells=cells,
            )
        )
    return page


def service_named(service_id: int) -> Service | None:
    """The service behind an address of the service page, when an enabled provider sells
    its code (the page shows that code across providers)."""
    return (
        Service.objects.filter(
            code__in=Service.objects.filter(pk=service_id).values("code"),
            provider__enabled=True,
        )
        .order_by("provider__is_sandbox", "provider__name")
        .first()
    )


def offers(provider: Provider, filters: dict) -> QuerySet[Offer]:
    """One provider's available offers matching the filters, in the chosen order: the table
    the catalog page showed before it went across providers (the sync benchmark times it
    with and without the per-provider order indexes)."""
    rows = Offer.objects.filter(provider=provider, available=True).select_related(
        "service", "country", "operator"
    )
    if filters["q"]:
        q = filters["q"]
        rows = rows.filter(Q(service__name__icontains=q) | Q(service__code__iexact=q))
    if filters["country"] is not None:
        rows = rows.filter(country__external_id=filters["country"])
    if filters["operator"]:
        rows = rows.filter(operator__code=filters["operator"])
    if filters["in_stock"]:
        rows = rows.filter(quantity__gt=0)
    return rows.order_by(*SORTS[filters["sort"]][1])


def recent_price_changes(code: str, limit: int = 20) -> list[PriceChange]:
    """The latest price changes of a service code at the enabled providers, each with the
    price before it (first prices, which have none, are left out)."""
    history = (
        PriceChange.objects.filter(offer__service__code=code, offer__provider__enabled=True)
        .select_related("offer__provider", "offer__country", "offer__operator")
        .annotate(
            previous=Window(
                Lag("price"),
                partition_by=[F("offer_id")],
                order_by=[F("recorded_at"), F("pk")],
                output_field=PRICE,
            )
        )
        .filter(previous__isnull=False)
        .order_by("-recorded_at", "-pk")
    )
    return list(history[:limit])

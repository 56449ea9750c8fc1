"""What the catalog pages read: one catalog across providers, matched by the protocol's ids
(service code, country id, operator code), with each enabled provider's price and stock side
by side. Each function makes a fixed number of queries, however many rows or providers the
catalog holds.

A page is found by reading offers in the sort's order up to it, not by grouping every offer
by combination (see `catalog_page`): grouping three full sandbox catalogs (206,304 offers)
takes 0.15 to 0.4 s a pass and a page count needs a second one; the walk reads a few hundred
offers through an index. So the pages have "Previous" and "Next" but no count of pages, and
stop at MAX_PAGE. `make bench BENCH=catalog_pages` times them.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Lag
from django.utils import timezone

from catalog.accounts import keyed_providers
from catalog.forms import DEFAULT_SORT, SORTS
from catalog.models import Country, Offer, Operator, PriceChange, Provider, Service, SyncRun
from catalog.names import name_lookups
from catalog.sync.status import SyncStatus
from dashboard.models import Team

PRICE = DecimalField(max_digits=12, decimal_places=2)
# Pages beyond this are not walked to (a deeper page shows this one): a page is found by
# reading the offers before it, and nobody reads 5,000 rows a page at a time.
MAX_PAGE = 100


@dataclass(frozen=True)
class Column:
    """An enabled provider as a column of the catalog, with its sync status."""

    provider: Provider
    keyed: bool  # the team holds a key there: it can buy there
    status: SyncStatus


def columns(team: Team, *, only: int | None = None) -> list[Column]:
    """The enabled providers, the sandbox last (a real provider, once configured, is what
    teams look at first), each with its sync status: two queries for any number. `only`: the
    one provider of that id (the sync status card's partial)."""
    runs = SyncRun.objects.filter(provider=OuterRef("pk")).order_by("-started_at", "-pk")
    price_runs = runs.filter(
        kind__in=[SyncRun.Kind.PRICES, SyncRun.Kind.FULL],
        finished_at__isnull=False,
        offers__gt=0,
    )
    enabled = Provider.objects.filter(enabled=True)
    if only is not None:
        enabled = enabled.filter(pk=only)
    providers = list(
        enabled.annotate(
            keyed=Exists(keyed_providers(team).filter(provider_id=OuterRef("pk"))),
            last_run_id=Subquery(runs.values("pk")[:1]),
            last_prices_at=Subquery(price_runs.values("finished_at")[:1]),
        ).order_by("is_sandbox", "name")
    )
    last_runs = SyncRun.objects.in_bulk([p.last_run_id for p in providers if p.last_run_id])
    interval = timedelta(minutes=settings.CATALOG_PRICES_INTERVAL_MINUTES)
    now = timezone.now()
    return [
        Column(
            provider=p,
            keyed=p.keyed,
            status=SyncStatus.of(
                p,
                last_runs.get(p.last_run_id),
                p.last_prices_at,
                interval=interval,
                now=now,
                poll_seconds=settings.LIVE_REFRESH_SECONDS,
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
    currency: str = ""  # its provider's (`Provider.currency`)
    offer_id: int | None = None
    keyed: bool = False  # the team holds a key at its provider: it can buy it

    @property
    def buyable(self) -> bool:
        return self.keyed and self.quantity > 0


Key = tuple[str, int, str]  # (service code, country id, operator code): the protocol's ids


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
    cells: list[Cell | None]

    @property
    def best(self) -> Cell | None:
        """The cheapest offer among the providers with stock (a phone's card shows it)."""
        return min((c for c in self.cells if c and c.quantity), key=lambda c: c.price, default=None)

    @property
    def stock(self) -> int:
        return sum(c.quantity for c in self.cells if c)

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def buy_offer_id(self) -> int | None:
        """The cheapest offer in stock where the team holds a key, for the Buy link to pick
        first (None: routing picks when the buy page opens)."""
        buyable = [c for c in self.cells if c and c.buyable]
        return min(buyable, key=lambda c: c.price).offer_id if buyable else None


@dataclass(frozen=True)
class CatalogPage:
    """A page of combinations, with links to its neighbours but no count of pages: counting
    every combination would mean grouping every offer (see `catalog_page`)."""

    rows: list[Combination]
    number: int
    has_next: bool
    per_page: int

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @classmethod
    def nothing(cls, per_page: int) -> "CatalogPage":
        """No rows: for filters that did not validate (shown with their errors, never as if
        there were no filter)."""
        return cls(rows=[], number=1, has_next=False, per_page=per_page)


def named(q: str) -> Q:
    """A name (the provider's, English or Russian) containing `q`."""
    matches = Q()
    for lookup in name_lookups():
        matches |= Q(**{lookup: q})
    return matches


def matching_offers(filters: dict) -> QuerySet[Offer]:
    """The available offers at enabled providers matching the filters. Filters name the
    protocol's ids, so a combination that matches keeps every provider's offer."""
    # Joined, not `provider_id IN (...)`: SQLite would then read the offers by provider and
    # sort them all rather than walk an `offer_catalog_*` index.
    rows = Offer.objects.filter(available=True, provider__enabled=True)
    # By ids (subqueries of the small tables), so that the offers of a few services,
    # countries or operators are read through their indexes rather than found along a walk
    # of every offer.
    if filters.get("code"):
        rows = rows.filter(service__in=Service.objects.filter(code=filters["code"]))
    if filters.get("q"):
        q = filters["q"]
        # A service's code or its name in either language, or a country's name in either
        # language ("Россия" and "Russia" find the same offers).
        codes = Service.objects.filter(named(q) | Q(code__iexact=q)).values("code")
        countries = Country.objects.filter(named(q)).values("external_id")
        rows = rows.filter(
            Q(service__in=Service.objects.filter(code__in=codes))
            | Q(country__in=Country.objects.filter(external_id__in=countries))
        )
    if filters.get("country") is not None:
        rows = rows.filter(country__in=Country.objects.filter(external_id=filters["country"]))
    if filters.get("operator"):
        rows = rows.filter(operator__in=Operator.objects.filter(code=filters["operator"]))
    return rows


def catalog_page(
    filters: dict,
    providers: list[Provider],
    number: str | None,
    per_page: int,
    *,
    trend=False,
    keyed: frozenset[int] = frozenset(),
) -> CatalogPage:
    """One page of combinations in the chosen order, each with every provider's offer
    (`trend`: and its previous price; `keyed`: the ids of the providers where the team holds a
    key, whose offers in stock it can buy). Each combination comes where its first offer comes in
    that order, offers in stock before those out of stock (catalog.forms.SORTS).

    The page's combinations are found by reading the offers in that order (an index walk,
    `Offer`'s `offer_catalog_*` indexes) up to the page: with P providers, P offers per
    combination at most, so P x (rows up to the page's end) offers always hold them. Grouping
    every offer instead reads all of them, ten times slower on three full catalogs. At most
    five queries: the walk (a second one, out of stock, only past the last combination in
    stock), then the page's services, operators and offers.
    """
    number = min(_page_number(number), MAX_PAGE)
    want = number * per_page + 1  # one more than the page's end: is there a next page?
    offers = matching_offers(filters)
    order = SORTS[filters.get("sort") or DEFAULT_SORT][1]
    keys = _walk(offers.filter(quantity__gt=0), order, want, len(providers))
    if len(keys) < want and not filters.get("in_stock"):
        # Every combination in stock is in `keys`: the rest have no stock anywhere.
        keys += _walk(offers.filter(quantity=0), order, want - len(keys), None, set(keys))
    if not keys[(number - 1) * per_page :] and number > 1:  # past the end: the last page
        number = max(1, -(-len(keys) // per_page))
    shown = keys[(number - 1) * per_page : number * per_page]
    return CatalogPage(
        rows=_combinations(shown, providers, trend, keyed),
        number=number,
        has_next=len(keys) > number * per_page,
        per_page=per_page,
    )


def _page_number(number: str | None) -> int:
    try:
        return max(1, int(number or 1))
    except ValueError:
        return 1


def _walk(
    offers: QuerySet[Offer], order: list[str], want: int, per_key: int | None, seen=frozenset()
) -> list[Key]:
    """The first `want` combinations, not in `seen`, in the order of their first offer;
    `per_key` offers at most per combination bound how far to read (None: read them all)."""
    rows = offers.order_by(*order).values_list(
        "service__code", "country__external_id", "operator__code"
    )
    if per_key is not None:
        rows = rows[: want * per_key]
    keys, seen = [], set(seen)
    for key in rows.iterator(chunk_size=2000):
        if key not in seen:
            seen.add(key)
            keys.append(key)
            if len(keys) == want:
                break
    return keys


def _combinations(
    keys: list[Key], providers: list[Provider], trend: bool, keyed: frozenset[int]
) -> list[Combination]:
    """The combinations `keys` with every provider's offer: each provider's rows of their
    services and operators, then those offers by (operator, service), the unique pair."""
    if not keys:
        return []
    services = {
        (s.provider_id, s.code): s
        for s in Service.objects.filter(provider__in=providers, code__in={k[0] for k in keys})
    }
    operators = {
        (o.country.provider_id, o.country.external_id, o.code): o
        for o in Operator.objects.filter(
            country__provider__in=providers,
            country__external_id__in={k[1] for k in keys},
            code__in={k[2] for k in keys},
        ).select_related("country")
    }
    # Where each provider lists each combination: its rows of the service and the operator.
    listed = {
        (key, provider.pk): (services[provider.pk, key[0]], operators[provider.pk, *key[1:]])
        for key in keys
        for provider in providers
        if (provider.pk, key[0]) in services and (provider.pk, *key[1:]) in operators
    }
    pairs = Q()
    for service, operator in listed.values():
        pairs |= Q(operator=operator, service=service)
    if not pairs:  # gone since the walk (a sync ran in between)
        return []
    offers = Offer.objects.filter(pairs, available=True).only(
        "pk", "provider_id", "operator_id", "service_id", "price", "quantity"
    )
    if trend:
        previous = PriceChange.objects.filter(offer=OuterRef("pk")).order_by("-recorded_at", "-pk")
        offers = offers.annotate(
            previous_price=Subquery(previous.values("price")[1:2], output_field=PRICE)
        )
    by_pair = {(o.operator_id, o.service_id): o for o in offers}
    rows = []
    for key in keys:
        cells: list[Cell | None] = []
        names = None
        for provider in providers:
            service, operator = listed.get((key, provider.pk), (None, None))
            offer = by_pair.get((operator.pk, service.pk)) if service else None
            if offer is None:
                cells.append(None)
                continue
            names = names or (service, operator.country)
            cells.append(
                Cell(
                    offer.price,
                    offer.quantity,
                    getattr(offer, "previous_price", None),
                    currency=provider.currency,
                    offer_id=offer.pk,
                    keyed=provider.pk in keyed,
                )
            )
        if names is None:  # gone since the walk (a sync ran in between)
            continue
        service, country = names
        rows.append(
            Combination(
                service_code=key[0],
                service_name=service.shown_name,
                service_id=service.pk,
                country_external_id=key[1],
                country_name=country.shown_name,
                operator_code=key[2],
                cells=cells,
            )
        )
    return rows


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

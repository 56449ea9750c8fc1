"""What the catalog pages read. Each function makes a fixed number of queries, however many
rows the catalog holds."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Lag
from django.utils import timezone

from catalog.forms import SORTS
from catalog.models import Offer, PriceChange, Provider, Service, SyncRun

PRICE = DecimalField(max_digits=12, decimal_places=2)


def enabled_providers() -> list[Provider]:
    # The sandbox last: a real provider, once configured, is what teams look at first.
    return list(Provider.objects.filter(enabled=True).order_by("is_sandbox", "name"))


def choose_provider(providers: list[Provider], wanted: str | None) -> Provider | None:
    for provider in providers:
        if wanted and str(provider.pk) == wanted:
            return provider
    return providers[0] if providers else None


def offers(provider: Provider, filters: dict) -> QuerySet[Offer]:
    """The provider's available offers matching the browser's filters, in the chosen order."""
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


def ranking(service: Service) -> QuerySet[Offer]:
    """Where a service can be bought: in stock first, cheapest first, then out of stock;
    each row with its previous price (from the price history) for the trend."""
    previous = PriceChange.objects.filter(offer=OuterRef("pk")).order_by("-recorded_at", "-pk")
    return (
        Offer.objects.filter(service=service, available=True)
        .select_related("country", "operator")
        .annotate(
            sold_out=Case(When(quantity=0, then=Value(1)), default=Value(0)),
            previous_price=Subquery(previous.values("price")[1:2], output_field=PRICE),
        )
        .order_by("sold_out", "price", "-quantity", "pk")
    )


def recent_price_changes(service: Service, limit: int = 20) -> list[PriceChange]:
    """The service's latest price changes, each with the price before it (first prices,
    which have none, are left out)."""
    history = (
        PriceChange.objects.filter(offer__service=service)
        .select_related("offer__country", "offer__operator")
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


def sync_status(provider: Provider) -> SyncStatus:
    runs = SyncRun.objects.filter(provider=provider).order_by("-started_at", "-pk")
    last_prices = (
        runs.filter(
            kind__in=[SyncRun.Kind.PRICES, SyncRun.Kind.FULL],
            finished_at__isnull=False,
            offers__gt=0,
        )
        .values_list("finished_at", flat=True)
        .first()
    )
    claimed = provider.sync_claimed_until
    return SyncStatus(
        last_run=runs.first(),
        last_prices_at=last_prices,
        running=claimed is not None and claimed >= timezone.now(),
        interval=timedelta(minutes=settings.CATALOG_PRICES_INTERVAL_MINUTES),
    )

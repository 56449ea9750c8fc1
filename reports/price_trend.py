"""The catalog price trend on the usage report: the recorded prices of one service per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min
from django.db.models.functions import TruncDay

from catalog.models import PriceChange, Service
from dashboard.teams import local_date, money
from reports.engine import Scope
from reports.usage import UsageRow


@dataclass
class PricePoint:
    day: date
    changes: int
    lowest: Decimal
    average: Decimal
    highest: Decimal


def trend_service(scope: Scope, usage_by_service: list[UsageRow]) -> Service | None:
    """The filtered service; else, of the services bought, the one bought most that has a
    price history in the period (else the one bought most)."""
    service_id = scope.service_id
    if not service_id and usage_by_service:
        bought = {row.key[0]: row.bought for row in usage_by_service}
        with_history = set(
            PriceChange.objects.filter(
                offer__service_id__in=bought,
                recorded_at__gte=scope.start_at,
                recorded_at__lt=scope.end_at,
            )
            .order_by()
            .values_list("offer__service_id", flat=True)
            .distinct()
        )
        candidates = with_history or set(bought)
        service_id = max(candidates, key=lambda pk: (bought[pk], -pk))
    if not service_id:
        return None
    return Service.objects.filter(pk=service_id).first()


def price_trend(scope: Scope, service: Service) -> list[PricePoint]:
    """Recorded catalog prices of one service per local day (lowest, average, highest).

    A price of zero is a sold-out offer listed without a price, not a price: it is left out,
    or every day's lowest would read 0.00."""
    tz = scope.tz
    changes = PriceChange.objects.filter(
        offer__service=service,
        recorded_at__gte=scope.start_at,
        recorded_at__lt=scope.end_at,
        price__gt=0,
    )
    if scope.country_id:
        changes = changes.filter(offer__country_id=scope.country_id)
    rows = (
        changes.order_by()
        .annotate(day=TruncDay("recorded_at", tzinfo=tz))
        .values("day")
        .annotate(
            changes=Count("id"), lowest=Min("price"), average=Avg("price"), highest=Max("price")
        )
        .order_by("day")
    )
    return [
        PricePoint(
            day=local_date(row["day"], tz),
            changes=row["changes"],
            lowest=money(row["lowest"]),
            average=money(row["average"]),
            highest=money(row["highest"]),
        )
        for row in rows
    ]

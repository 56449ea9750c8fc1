"""What the buy page offers, matched across the team's providers by the protocol's ids.

A service is its code ("tg"), a country its id (0), an operator its code ("mts"): the same
ids at every provider, so "Telegram" is offered once however many providers sell it. A
country shows the best in-stock price and the stock of all providers together; an operator
the same for its code. "Any operator" (`ANY_OPERATOR`) comes first: routing then picks the
operator (a provider's own operator "any" is among those it covers). One query per list.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Min, Q, QuerySet, Sum

from activations.routing.choice import ANY_OPERATOR
from catalog.models import Offer, Provider
from dashboard.teams import money

IN_STOCK = Q(quantity__gt=0)


@dataclass(frozen=True)
class Choice:
    value: str | int
    name: str
    best_price: Decimal | None = None  # the lowest price among offers in stock
    stock: int = 0

    @property
    def label(self) -> str:
        if self.best_price is None:
            return f"{self.name} — out of stock"
        return f"{self.name} — from {money(self.best_price)}, {self.stock} in stock"


def listed_offers(providers: Iterable[Provider]) -> QuerySet[Offer]:
    """The offers the providers list now (in stock or not)."""
    return Offer.objects.filter(provider__in=providers, available=True)


def _priced(rows: QuerySet) -> QuerySet:
    return rows.annotate(best_price=Min("price", filter=IN_STOCK), stock=Sum("quantity"))


def _choice(value: str | int, name: str, priced: dict) -> Choice:
    return Choice(value, name, priced["best_price"], priced["stock"] or 0)


def services(offers: QuerySet[Offer]) -> list[Choice]:
    """Each service code once, named as a provider names it (the first name by letter)."""
    rows = offers.values("service__code").annotate(name=Min("service__name"))
    return [
        Choice(row["service__code"], f"{row['name']} ({row['service__code']})")
        for row in rows.order_by("name", "service__code")
    ]


def countries(offers: QuerySet[Offer], service: str) -> list[Choice]:
    rows = _priced(
        offers.filter(service__code=service)
        .values("country__external_id")
        .annotate(name=Min("country__name"))
    )
    return [
        _choice(row["country__external_id"], row["name"], row)
        for row in rows.order_by("name", "country__external_id")
    ]


def operators(offers: QuerySet[Offer], service: str, country: int) -> list[Choice]:
    """ "Any operator" (over all of them), then each other operator code once."""
    rows = offers.filter(service__code=service, country__external_id=country)
    every = rows.aggregate(best_price=Min("price", filter=IN_STOCK), stock=Sum("quantity"))
    each = _priced(rows.exclude(operator__code=ANY_OPERATOR).values("operator__code"))
    return [
        _choice(ANY_OPERATOR, "Any operator", every),
        *(
            _choice(row["operator__code"], row["operator__code"], row)
            for row in each.order_by("operator__code")
        ),
    ]

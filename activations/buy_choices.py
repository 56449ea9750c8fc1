"""What the buy page offers, matched across the team's providers by the protocol's ids.

A service is its code ("tg"), a country its id (0), an operator its code ("mts"): the same
ids at every provider, so "Telegram" is offered once however many providers sell it. A
choice shows the best in-stock price and the stock of all providers together. Choices in
stock come first; sold-out ones follow, greyed and not choosable (`ChoiceSelect` writes them
as disabled options), so that nobody picks a country only to learn there is nothing to buy.
"Any operator" (`ANY_OPERATOR`) leads the operators: routing then picks the operator (a
provider's own operator "any" is among those it covers). One query per list.

"In stock" is what routing can buy (`activations.routing.choice`): a listed offer (its
country and operator available too) with stock and a price not below zero.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.db.models import Min, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from activations.routing.choice import ANY_OPERATOR, operator_rows, service_rows
from catalog.models import Offer, Provider
from catalog.names import localized_name
from dashboard.display import money
from dashboard.models import Team

IN_STOCK = Q(quantity__gt=0, price__gte=0)


@dataclass(frozen=True)
class Choice:
    value: str | int
    name: str
    best_price: Decimal | None = None  # the lowest price among offers in stock
    stock: int = 0

    @property
    def in_stock(self) -> bool:
        return self.best_price is not None

    def label(self, currency: str, *, priced: bool = True) -> str:
        """ "Russia — from $1.20, 340 in stock" (`priced`), "Russia", "Russia — out of stock"."""
        if not self.in_stock:
            return _("%(name)s — out of stock") % {"name": self.name}
        if not priced:
            return self.name
        return _("%(name)s — from %(price)s, %(stock)s in stock") % {
            "name": self.name,
            "price": money(self.best_price, currency),
            "stock": self.stock,
        }


class ChoiceSelect(forms.Select):
    """A <select> whose sold-out choices (values in `sold_out`) are disabled options: shown,
    greyed, and not choosable."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sold_out: set[str] = set()

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.sold_out:
            option["attrs"]["disabled"] = True
        return option


def offer_choices(
    field: forms.ChoiceField, found: list[Choice], currency: str, *, first=(), priced=True
) -> None:
    """Give `field` the choices found (after `first`), the sold-out ones disabled."""
    field.choices = [*first, *((c.value, c.label(currency, priced=priced)) for c in found)]
    field.widget.sold_out = {str(c.value) for c in found if not c.in_stock}


def currency_of(providers: list[Provider], team: Team) -> str:
    """The currency of the prices the buy page compares across providers: theirs when they
    all share one, else the team's (amounts are never converted)."""
    currencies = {provider.currency for provider in providers}
    return currencies.pop() if len(currencies) == 1 else team.currency


def listed_offers(providers: Iterable[Provider]) -> QuerySet[Offer]:
    """The offers the providers list now (in stock or not), in a listed country and operator."""
    return Offer.objects.filter(
        provider__in=providers, available=True, country__available=True, operator__available=True
    )


def _priced(rows: QuerySet) -> QuerySet:
    return rows.annotate(
        best_price=Min("price", filter=IN_STOCK), stock=Sum("quantity", filter=IN_STOCK)
    )


def _choice(value: str | int, name: str, priced: dict) -> Choice:
    return Choice(value, name, priced["best_price"], priced["stock"] or 0)


def _stock_first(choices: list[Choice]) -> list[Choice]:
    """In stock first, each part in the order given (stable)."""
    return sorted(choices, key=lambda choice: not choice.in_stock)


def services(offers: QuerySet[Offer]) -> list[Choice]:
    """Each service code once, named as a provider names it (the first name by letter)."""
    rows = offers.values("service__code").annotate(name=Min(localized_name("service__")))
    return [
        Choice(row["service__code"], f"{row['name']} ({row['service__code']})")
        for row in rows.order_by("name", "service__code")
    ]


def services_priced(offers: QuerySet[Offer]) -> list[Choice]:
    """`services` with their best price and stock, those in stock first."""
    rows = _priced(offers.values("service__code").annotate(name=Min(localized_name("service__"))))
    return _stock_first(
        [
            _choice(row["service__code"], f"{row['name']} ({row['service__code']})", row)
            for row in rows.order_by("name", "service__code")
        ]
    )


def countries(offers: QuerySet[Offer], service: str) -> list[Choice]:
    rows = _priced(
        offers.filter(service__in=service_rows(service))
        .values("country__external_id")
        .annotate(name=Min(localized_name("country__")))
    )
    return _stock_first(
        [
            _choice(row["country__external_id"], row["name"], row)
            for row in rows.order_by("name", "country__external_id")
        ]
    )


def operators(offers: QuerySet[Offer], service: str, country: int) -> list[Choice]:
    """ "Any operator" (over all of them), then each other operator code once, those in
    stock first."""
    rows = offers.filter(
        service__in=service_rows(service),
        operator__in=operator_rows(country),
    )
    every = rows.aggregate(
        best_price=Min("price", filter=IN_STOCK), stock=Sum("quantity", filter=IN_STOCK)
    )
    each = _priced(rows.exclude(operator__code=ANY_OPERATOR).values("operator__code"))
    return [
        _choice(ANY_OPERATOR, _("Any operator"), every),
        *_stock_first(
            [
                _choice(row["operator__code"], row["operator__code"], row)
                for row in each.order_by("operator__code")
            ]
        ),
    ]

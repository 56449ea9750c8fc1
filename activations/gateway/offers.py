"""The offers a token may buy, from the cached catalog only (no provider call): the one
getNumber buys, and the rows of getCountryAndOperators and getServicesAndCost.

An offer is on sale to a token when it is listed (available, its country and operator too) at
an enabled provider where the team holds a key, for a service the token may buy. getNumber
takes the cheapest one in stock within the token's highest price (and the request's maxPrice);
getServicesAndCost shows, per service, that same price and the stock across the providers.
Each answer is a fixed number of queries, however large the catalog.
"""

from collections import defaultdict
from decimal import Decimal

from django.db.models import QuerySet

from activations.gateway.answers import BAD_SERVICE, NO_NUMBERS, price_number
from catalog.accounts import keyed_providers
from catalog.models import Country, Offer, Operator, Service
from dashboard.models import ApiToken

DEFAULT_COUNTRY = 0
DEFAULT_OPERATOR = "any"


def on_sale(token: ApiToken) -> QuerySet[Offer]:
    offers = Offer.objects.filter(
        provider__in=keyed_providers(token.membership.team),
        available=True,
        country__available=True,
        operator__available=True,
    )
    if token.services:
        offers = offers.filter(service__code__in=token.services)
    return offers


def highest_price(token: ApiToken, max_price: Decimal | None = None) -> Decimal | None:
    limits = [price for price in (token.max_price, max_price) if price is not None]
    return min(limits) if limits else None


def in_stock(
    token: ApiToken, country: int, operator: str, max_price: Decimal | None = None
) -> QuerySet[Offer]:
    """The offers getNumber could buy for (country, operator), within the prices."""
    offers = on_sale(token).filter(
        country__external_id=country, operator__code=operator, quantity__gt=0
    )
    if (highest := highest_price(token, max_price)) is not None:
        offers = offers.filter(price__lte=highest)
    return offers


def offer_for(
    token: ApiToken, service: str, country: int, operator: str, max_price: Decimal | None
) -> Offer | str:
    """The cheapest offer getNumber buys, or the answer when there is none: BAD_SERVICE for a
    service the team's providers do not list or the token may not buy, else NO_NUMBERS."""
    offer = (
        in_stock(token, country, operator, max_price)
        .filter(service__code=service)
        .select_related("provider", "service", "country", "operator")
        .order_by("price", "-quantity", "id")
        .first()
    )
    if offer is not None:
        return offer
    if token.services and service not in token.services:
        return BAD_SERVICE
    providers = keyed_providers(token.membership.team)
    listed = Service.objects.filter(provider__in=providers, code=service)
    return NO_NUMBERS if listed.exists() else BAD_SERVICE


def countries_rows(token: ApiToken) -> list[dict]:
    """getCountryAndOperators: the countries of the team's providers, merged by their id, each
    with its operators as {"code": "code"} (two queries)."""
    providers = keyed_providers(token.membership.team)
    countries = (
        Country.objects.filter(provider__in=providers, available=True)
        .order_by("external_id", "provider__name")
        .values_list("external_id", "name")
    )
    names: dict[int, str] = {}
    for external_id, name in countries:
        names.setdefault(external_id, name)
    operators = (
        Operator.objects.filter(
            country__provider__in=providers, country__available=True, available=True
        )
        .order_by()
        .values_list("country__external_id", "code")
        .distinct()
    )
    codes: dict[int, set[str]] = defaultdict(set)
    for external_id, code in operators:
        codes[external_id].add(code)
    return [
        {
            "id": external_id,
            "name": name,
            "operators": {code: code for code in sorted(codes[external_id])},
        }
        for external_id, name in names.items()
    ]


def services_rows(token: ApiToken, country: int, operator: str) -> list[dict]:
    """getServicesAndCost for (country, operator): per service, the price getNumber would pay
    now and the stock within the token's highest price; a service listed but with nothing
    to sell shows price 0 and quantity "0", as the document's example does. Services come in
    the order the catalog sync stored them, the provider's own (one query)."""
    offers = (
        on_sale(token)
        .filter(country__external_id=country, operator__code=operator)
        .order_by("service_id", "price", "id")
        .values_list("service__code", "service__name", "price", "quantity")
    )
    highest = highest_price(token)
    rows: dict[str, dict] = {}
    for code, name, price, quantity in offers:
        row = rows.setdefault(code, {"id": code, "name": name, "price": None, "quantity": 0})
        if quantity <= 0 or (highest is not None and price > highest):
            continue
        if row["price"] is None:
            row["price"] = price  # the cheapest in stock: offers come cheapest first
        row["quantity"] += quantity
    return [
        {
            "id": row["id"],
            "name": row["name"],
            "price": price_number(row["price"] or 0),
            "quantity": str(row["quantity"]),
        }
        for row in rows.values()
    ]

"""What the gateway lists, from the cached catalog only (no provider call): the rows of
getCountryAndOperators and getServicesAndCost. getNumber buys through routing
(`activations.routing`), which these rows agree with: an offer is on sale to a token when it
is listed (available, its country and operator too) at an enabled provider where the team
holds a key, for a service the token may buy, within the highest price (the token's and the
team's default for the service). Each answer is a fixed number of queries, however large the
catalog.
"""

from collections import defaultdict

from django.db.models import F
from django.db.models.functions import Coalesce

from activations.gateway.answers import price_number
from activations.routing.choice import ANY_OPERATOR, on_sale, price_cap, price_limits
from catalog.accounts import keyed_providers
from catalog.models import Country, Operator
from catalog.names import NAME_LANGUAGES, localized_name
from dashboard.models import ApiToken

DEFAULT_COUNTRY = 0
DEFAULT_OPERATOR = ANY_OPERATOR


def names_in(lang: str | None, prefix: str = "") -> F | Coalesce:
    """The names in the program's `lang` (ru or en) where known, else the provider's; the
    provider's when it sent none."""
    return localized_name(prefix, language=lang) if lang in NAME_LANGUAGES else F(prefix + "name")


def countries_rows(token: ApiToken, lang: str | None = None) -> list[dict]:
    """getCountryAndOperators: the countries of the team's providers, merged by their id, each
    with its operators as {"code": "code"} (two queries); names in `lang` where known."""
    providers = keyed_providers(token.membership.team)
    countries = (
        Country.objects.filter(provider__in=providers, available=True)
        .order_by("external_id", "provider__name")
        .annotate(shown=names_in(lang))
        .values_list("external_id", "shown")
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


def services_rows(
    token: ApiToken, country: int, operator: str, lang: str | None = None
) -> list[dict]:
    """getServicesAndCost for (country, operator): per service, the cheapest price in stock
    and the stock within the highest price (the token's and the team's default for the
    service); a service listed but with nothing to sell shows price 0 and quantity "0", as
    the document's example does. Services come in the order the catalog sync stored them,
    the provider's own (two queries); names in `lang` where known."""
    team = token.membership.team
    offers = (
        on_sale(team, token)
        .filter(country__external_id=country, operator__code=operator)
        .order_by("service_id", "price", "id")
        .annotate(shown=names_in(lang, "service__"))
        .values_list("service__code", "shown", "price", "quantity")
    )
    team_limits = price_limits(team)
    rows: dict[str, dict] = {}
    for code, name, price, quantity in offers:
        row = rows.setdefault(code, {"id": code, "name": name, "price": None, "quantity": 0})
        highest = price_cap(team_limits, code, token)
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

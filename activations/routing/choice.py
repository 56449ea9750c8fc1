"""Which offers a purchase may buy, best first: the candidates.

A candidate is an offer in stock, listed (it, its country and its operator available) at an
enabled provider where the team holds a key, for the wanted service code and country id, and
the wanted operator or, for "any", every operator of the country at each provider (the
provider's own "any" offer included). Its price is at most the highest price: the lowest of
the purchase's own, the team's default for the service (`PriceLimit`) and the personal API
token's; a token limited to some services gets nothing for the others.

The team's policy orders them. *Cheapest*: price, then more stock, then the offer's id.
*Most reliable*: the share of the team's own activations of the offer that got a code (whole
percent, `Record.fair_percent`: an offer short of MIN_SAMPLE gets a fair chance), highest first;
then the median time to the first code (whole seconds; unknown until the record is the
offer's own, and an unknown median comes after every known one), then the cheapest order.
A fixed number of queries, however many providers and operators.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activations.models import PriceLimit, RoutingPolicy, TeamRouting
from activations.routing.records import Record, records_of, whole
from catalog.accounts import keyed_providers
from catalog.models import Country, Offer, Operator, Provider, Service
from catalog.names import localized_name
from catalog.provider_errors import BAD_SERVICE, NO_NUMBERS
from dashboard.display import money
from dashboard.models import ApiToken, Team

ANY_OPERATOR = "any"

# The policies' names as pages and the audit log show them (the same words as the labels of
# `RoutingPolicy`).
POLICY_NAMES = {
    RoutingPolicy.CHEAPEST: gettext_lazy("Cheapest"),
    RoutingPolicy.RELIABLE: gettext_lazy("Most reliable"),
}


def policy_name(policy) -> str:
    """A policy's name in the current language ("Cheapest"); an unknown value as stored."""
    if policy in POLICY_NAMES:
        return str(POLICY_NAMES[policy])
    return str(policy)


@dataclass(frozen=True)
class Want:
    service: str  # the protocol's service code, e.g. "tg"
    country: int  # the protocol's country id
    operator: str = ANY_OPERATOR  # an operator code, or "any": every operator of the country
    # This purchase's highest price; the team's PriceLimit and the API token's also bind.
    max_price: Decimal | None = None


@dataclass(frozen=True)
class Candidate:
    offer: Offer  # provider, service, country and operator selected
    record: Record


def policy_of(team: Team) -> str:
    """The team's routing policy (a `RoutingPolicy` value); cheapest without a row."""
    policy = TeamRouting.objects.filter(team=team).values_list("policy", flat=True).first()
    return policy or RoutingPolicy.CHEAPEST


def lowest(*prices: Decimal | None) -> Decimal | None:
    """The lowest of the prices given, None when none is."""
    given = [price for price in prices if price is not None]
    return min(given) if given else None


def price_limits(team: Team) -> dict[str, Decimal]:
    """The team's default highest price per service code."""
    return dict(PriceLimit.objects.filter(team=team).values_list("service_code", "max_price"))


def price_cap(
    limits: dict[str, Decimal],
    service: str,
    api_token: ApiToken | None = None,
    asked: Decimal | None = None,
) -> Decimal | None:
    """The highest price a purchase of `service` may pay: the lowest of the purchase's own
    (`asked`), the team's default for the service (`limits`, from `price_limits`) and the
    token's; None when nothing limits it. The one rule for routing and the gateway's lists."""
    return lowest(asked, limits.get(service), api_token.max_price if api_token else None)


def highest_price(team: Team, want: Want, api_token: ApiToken | None = None) -> Decimal | None:
    """The highest price this purchase may pay (`price_cap`)."""
    return price_cap(price_limits(team), want.service, api_token, want.max_price)


def on_sale(team: Team, api_token: ApiToken | None = None) -> QuerySet[Offer]:
    """The listed offers (the offer, its country and operator available) at the enabled
    providers where the team holds a key, of the services the token may buy."""
    offers = Offer.objects.filter(
        provider__in=keyed_providers(team),
        available=True,
        country__available=True,
        operator__available=True,
    )
    if api_token is not None and api_token.services:
        offers = offers.filter(service__code__in=api_token.services)
    return offers


def service_rows(code: str) -> list[int]:
    """The ids of a service's rows at every provider (one each)."""
    return list(Service.objects.filter(code=code).values_list("pk", flat=True))


def operator_rows(country: int, operator: str = ANY_OPERATOR) -> list[int]:
    """The ids of a country's operator's rows at every provider (of all its operators for
    "any")."""
    rows = Operator.objects.filter(country__external_id=country)
    rows = rows if operator == ANY_OPERATOR else rows.filter(code=operator)
    return list(rows.values_list("pk", flat=True))


def _wanted(offers: QuerySet[Offer], want: Want) -> QuerySet[Offer]:
    """The offers of the wanted service through the wanted operators, by the ids of their
    rows, read first: with the ids as literals both databases find the offers through the
    (operator, service) unique index. Filtered by the codes through joins (or subqueries),
    SQLite walked every offer of the team's providers and PostgreSQL misjudged the rows and
    hashed 100,000 offers: 30 and 10 to 80 ms a query with three full catalogs, asked four
    times a page by the usual buttons (`make bench BENCH=catalog_pages`)."""
    return offers.filter(
        service__in=service_rows(want.service),
        operator__in=operator_rows(want.country, want.operator),
    )


def _in_stock(offers: QuerySet[Offer]) -> QuerySet[Offer]:
    # An offer listed below zero is never bought (`activations.buying.buy_number`).
    return offers.filter(quantity__gt=0, price__gte=0)


def candidates(
    team: Team,
    want: Want,
    *,
    api_token: ApiToken | None = None,
    policy: str | None = None,
) -> list[Candidate]:
    """The offers this purchase may buy, best first under the policy (the team's when not
    given); empty when there is none (`why_nothing` says why)."""
    offers = _in_stock(_wanted(on_sale(team, api_token), want))
    highest = highest_price(team, want, api_token)
    if highest is not None:
        offers = offers.filter(price__lte=highest)
    cheapest_first = list(
        offers.select_related("provider", "service", "country", "operator").order_by(
            "price", "-quantity", "id"
        )
    )
    records = records_of(team, cheapest_first)
    found = [Candidate(offer, records[offer.pk]) for offer in cheapest_first]
    if (policy or policy_of(team)) == RoutingPolicy.RELIABLE:
        found.sort(key=_most_reliable_first)  # stable: ties stay cheapest first
    return found


def _most_reliable_first(candidate: Candidate) -> tuple[int, float]:
    record = candidate.record
    known = record.enough and record.median_seconds is not None
    return -record.fair_percent, whole(record.median_seconds) if known else math.inf


def _where(want: Want) -> str:
    """The wanted service, country and operator in words ("Telegram in Russia, mts")."""
    service = Service.objects.filter(code=want.service).values_list(localized_name(), flat=True)
    country = Country.objects.filter(external_id=want.country).values_list(
        localized_name(), flat=True
    )
    service, country = service.first(), country.first()
    where = _("%(service)s in %(country)s") % {
        "service": service or want.service,
        "country": country or _("country %(id)s") % {"id": want.country},
    }
    if want.operator == ANY_OPERATOR:
        return where
    # Translators: "Telegram in Russia, operator mts".
    return _("%(where)s, operator %(operator)s") % {"where": where, "operator": want.operator}


def why_nothing(team: Team, want: Want, api_token: ApiToken | None = None) -> tuple[str, str]:
    """Why `candidates` found nothing: the message and the protocol's word for it
    (BAD_SERVICE when the token may not buy the service or no provider the team holds a key
    at lists it, else NO_NUMBERS). A few queries, only when there is no candidate."""
    if api_token is not None and api_token.services and want.service not in api_token.services:
        message = _("The token %(token)s may not buy %(service)s.") % {
            "token": api_token.label,
            "service": want.service,
        }
        return message, BAD_SERVICE
    service_listed = Service.objects.filter(
        provider__in=keyed_providers(team), code=want.service
    ).exists()
    word = NO_NUMBERS if service_listed else BAD_SERVICE
    listed = _wanted(on_sale(team, api_token), want)
    if not listed.exists():
        unkeyed = (
            Provider.objects.filter(enabled=True)
            .exclude(pk__in=keyed_providers(team))
            .filter(offers__in=_wanted(Offer.objects.filter(available=True), want))
            .distinct()
            .order_by("name")
            .values_list("name", flat=True)
        )
        if unkeyed:
            message = _(
                "%(where)s is sold only where the team holds no API key (%(providers)s). An "
                "owner or manager can attach one on the provider accounts page."
            ) % {"where": _where(want), "providers": ", ".join(unkeyed)}
            return message, word
        return _("None of the team's providers sells %(where)s.") % {"where": _where(want)}, word
    cheapest = _in_stock(listed).select_related("provider").order_by("price").first()
    if cheapest is None:
        return _("Nothing is in stock for %(where)s right now.") % {
            "where": _where(want)
        }, NO_NUMBERS
    highest = money(highest_price(team, want, api_token), team.currency)
    costs = money(cheapest.price, cheapest.provider.currency)
    message = _(
        "Nothing for %(where)s is within the highest price %(highest)s: the cheapest in stock "
        "costs %(costs)s."
    ) % {"where": _where(want), "highest": highest, "costs": costs}
    return message, NO_NUMBERS

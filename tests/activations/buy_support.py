"""The buy form's fields for an offer (the tests of the buy page post it)."""

from catalog.models import Offer


def buy_form(offer: Offer, **extra) -> dict:
    """The buy form choosing the offer's service, country and operator by the protocol's ids,
    with the offer picked to be tried first."""
    return {
        "service": offer.service.code,
        "country": offer.country.external_id,
        "operator": offer.operator.code,
        "offer": offer.pk,
        **extra,
    }

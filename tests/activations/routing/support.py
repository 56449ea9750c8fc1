"""A team's history of an offer, for the tests of the reliable policy."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from activations.models import Activation

_ids = count(1)


def activation_of(team, user, offer, **fields) -> Activation:
    """One activation of the offer bought by the user (waiting for a code unless told)."""
    now = timezone.now()
    values = {
        "team": team,
        "user": user,
        "account": offer.provider.accounts.get(team=team),
        "provider": offer.provider,
        "service": offer.service,
        "country": offer.country,
        "operator": offer.operator,
        "phone": "79990000000",
        "provider_activation_id": f"history-{next(_ids)}",
        "price": offer.price,
        "created_at": now,
        "expires_at": now + timedelta(minutes=20),
    }
    return Activation.objects.create(**values | fields)


def history(team, user, offer, *, codes: int, without: int = 0, seconds: float = 20, ago=None):
    """`codes` completed activations of the offer that got a code `seconds` after purchase,
    and `without` that expired without one; bought `ago` (default an hour ago)."""
    created = timezone.now() - (ago or timedelta(hours=1))
    for n in range(codes + without):
        got_code = n < codes
        activation_of(
            team,
            user,
            offer,
            state=Activation.State.COMPLETED if got_code else Activation.State.EXPIRED,
            created_at=created,
            first_code_at=created + timedelta(seconds=seconds) if got_code else None,
            expires_at=created + timedelta(minutes=20),
        )

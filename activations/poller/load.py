"""Measuring each provider's load: how many polls its open activations ask for, against its
request budget, and so how far every wait must stretch to fit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from activations.models import Activation
from activations.poller.schedule import demand, demand_counts

# Polls take at most this share of a provider's budget when stretching intervals (the rest
# is for users and the catalog sync).
POLL_SHARE = 0.9


@dataclass(frozen=True)
class ProviderLoad:
    provider_id: int
    rate: float  # the provider's budget, requests per second
    factor: float  # every wait stretched by this much (1: the budget is not binding)


def measure_load(
    now: datetime, interval: float, provider_ids: set[int] | None = None
) -> list[ProviderLoad]:
    """Per provider with open activations (of `provider_ids`, None: all): its load at `now`."""
    open_activations = Activation.objects.filter(
        state__in=Activation.OPEN_STATES, created_at__lte=now
    )
    if provider_ids is not None:
        open_activations = open_activations.filter(provider_id__in=provider_ids)
    rows = open_activations.values("provider_id", "provider__max_requests_per_second").annotate(
        **demand_counts(now)
    )
    loads = []
    for row in rows:
        rate = float(row["provider__max_requests_per_second"] or 1.0)
        wanted = demand(row) / interval  # requests per second the schedule asks for
        loads.append(ProviderLoad(row["provider_id"], rate, max(1.0, wanted / (rate * POLL_SHARE))))
    return loads

"""The team's own record of an offer: over the last `WINDOW`, how many of its activations
finished, how many of them got a code, and the median time to the first code.

An activation has finished when it got a code (`first_code_at` set) or was closed (completed,
cancelled, expired) without one; one still waiting counts for nothing yet. A record is the
offer's own once it holds `MIN_SAMPLE` finished activations; until then routing gives the offer
a fair chance (`Record.fair_share`).
"""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from activations.models import Activation
from activations.states import CLOSED_STATES
from catalog.models import Offer
from dashboard.models import Team

MIN_SAMPLE = 10  # finished activations before a record counts as the offer's own
WINDOW = timedelta(days=30)


def whole(value: float) -> int:
    """A number of at least 0 rounded half up to a whole one (17.5 s is 18 s)."""
    return int(value + 0.5)


@dataclass(frozen=True)
class Record:
    finished: int = 0  # activations that got a code or were closed without one
    with_code: int = 0
    median_seconds: float | None = None  # from purchase to the first code

    @property
    def share(self) -> float | None:
        return self.with_code / self.finished if self.finished else None

    @property
    def enough(self) -> bool:
        return self.finished >= MIN_SAMPLE

    @property
    def fair_share(self) -> float:
        """The share routing ranks by: an offer short of MIN_SAMPLE is scored as if its
        missing activations up to MIN_SAMPLE had got a code. An untried offer scores 100 %
        and is tried; each failure pulls it down, below the known offers once it fails more
        often than they do."""
        missing = max(MIN_SAMPLE - self.finished, 0)
        return (self.with_code + missing) / (self.finished + missing)

    @property
    def summary(self) -> str:
        if not self.finished:
            return "no history yet"
        if not self.enough:
            return f"{self.finished} activation{'' if self.finished == 1 else 's'} so far"
        text = f"{whole(self.share * 100)} % got a code in the last {WINDOW.days} days"
        if self.median_seconds is not None:
            text += f", median {whole(self.median_seconds)} s"
        return text


def records_of(team: Team, offers: Sequence[Offer], now: datetime | None = None) -> dict:
    """{offer pk: Record} for the team's activations of each offer (its provider, service,
    country and operator) created within WINDOW before `now`. One query, bounded by the
    offers' service and operator rows and the window; the medians are taken here."""
    if not offers:
        return {}
    since = (now or timezone.now()) - WINDOW
    rows = (
        Activation.objects.filter(
            team=team,
            created_at__gte=since,
            service_id__in={offer.service_id for offer in offers},
            operator_id__in={offer.operator_id for offer in offers},
        )
        .filter(Q(first_code_at__isnull=False) | Q(state__in=CLOSED_STATES))
        .order_by()
        .values_list("service_id", "operator_id", "created_at", "first_code_at")
    )
    finished: dict[tuple[int, int], int] = defaultdict(int)
    delays: dict[tuple[int, int], list[float]] = defaultdict(list)
    for service_id, operator_id, created_at, first_code_at in rows:
        finished[service_id, operator_id] += 1
        if first_code_at is not None:
            seconds = max((first_code_at - created_at).total_seconds(), 0.0)
            delays[service_id, operator_id].append(seconds)
    records = {}
    for offer in offers:
        key = (offer.service_id, offer.operator_id)
        seconds = delays.get(key, [])
        records[offer.pk] = Record(
            finished=finished.get(key, 0),
            with_code=len(seconds),
            median_seconds=statistics.median(seconds) if seconds else None,
        )
    return records

"""The team's own record of an offer: over the last `WINDOW`, how many of its activations
finished, how many of them got a code, and the median time to the first code.

An activation has finished when it got a code (`first_code_at` set) or was closed (completed,
cancelled, expired) without one; one still waiting counts for nothing yet. A record is the
offer's own once it holds `MIN_SAMPLE` finished activations; until then routing gives the offer
a fair chance (`Record.fair_percent`).
"""

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from activations.models import Activation
from activations.states import CLOSED_STATES
from catalog.models import Offer
from dashboard.models import Team

MIN_SAMPLE = 10  # finished activations before a record counts as the offer's own
WINDOW = timedelta(days=30)


def whole(value: float) -> int:
    """A number of at least 0 rounded half up to a whole one (17.5 s is 18 s)."""
    return int(value + 0.5)


def whole_percent(part: int, total: int) -> int:
    """part / total in whole percent, rounded half up, exactly (no float on the way)."""
    return (200 * part + total) // (2 * total)


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
    def fair_percent(self) -> int:
        """The share routing ranks by, in whole percent: an offer short of MIN_SAMPLE is
        scored as if its missing activations up to MIN_SAMPLE had got a code. An untried offer
        scores 100 % and is tried; each failure pulls it down, below the known offers once it
        fails more often than they do."""
        missing = max(MIN_SAMPLE - self.finished, 0)
        return whole_percent(self.with_code + missing, self.finished + missing)

    @property
    def summary(self) -> str:
        if not self.finished:
            return _("no history yet")
        if not self.enough:
            return ngettext(
                "%(count)s activation so far", "%(count)s activations so far", self.finished
            ) % {"count": self.finished}
        share = whole_percent(self.with_code, self.finished)
        facts = {"share": share, "days": WINDOW.days}
        if self.median_seconds is None:
            return _("%(share)s %% got a code in the last %(days)s days") % facts
        facts["median"] = whole(self.median_seconds)
        return _("%(share)s %% got a code in the last %(days)s days, median %(median)s s") % facts


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

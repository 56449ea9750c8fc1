"""The polling schedule, written once: `SCHEDULE` says how often each open activation is asked
about, by its state and age.

Three things are derived from it and from nothing else:
- the next poll written after each poll (`age_multiplier`, in Python);
- the demand a provider's open activations put on its budget (`demand_counts` and
  `demand`: one COUNT per band, each weighing 1 / its multiplier);
- when each activation is due once the budget binds (`due_at`: an SQL CASE with an arm per
  band, stretching each wait by the same factor).

`tests/activations/test_poller_schedule.py` checks that the three agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models
from django.db.models import Case, Count, F, Q, Value, When

from activations.models import Activation

State = Activation.State


@dataclass(frozen=True)
class Step:
    """Activations in `state` at least `from_age` seconds old (up to the next step of that
    state) are asked about every `multiplier` POLL_INTERVALs, the budget allowing."""

    state: str
    from_age: float
    multiplier: float


SCHEDULE = (
    # A requested retry is young again.
    Step(State.WAITING_RETRY, 0, 1.0),
    # Only a cancel or an unrequested second code can still come (the expiry is scheduled on
    # its own, and a retry requested later is due one interval after the request).
    Step(State.CODE_RECEIVED, 0, 10.0),
    # Most codes come within the first two minutes; the longer a number has waited after
    # that, the less likely its code is to come at all: 2x at two minutes, growing by half
    # an interval every half minute, up to 5x from five minutes on.
    Step(State.WAITING, 0, 1.0),
    Step(State.WAITING, 120, 2.0),
    Step(State.WAITING, 150, 2.5),
    Step(State.WAITING, 180, 3.0),
    Step(State.WAITING, 210, 3.5),
    Step(State.WAITING, 240, 4.0),
    Step(State.WAITING, 270, 4.5),
    Step(State.WAITING, 300, 5.0),
)
# A closed activation is never polled again: its next poll is as far as the schedule goes.
CLOSED_MULTIPLIER = max(step.multiplier for step in SCHEDULE)
MAX_BACKOFF_SECONDS = 120.0


@dataclass(frozen=True)
class Band:
    """A step with its age range: from its own `from_age` (none for the first step of its
    state, which also covers an activation bought a moment after `now`) to the next step's."""

    state: str
    from_age: float | None
    to_age: float | None
    multiplier: float

    def holds(self, state: str, age: float) -> bool:
        """Whether an activation in `state`, `age` seconds old, is in this band (Python)."""
        return (
            state == self.state
            and (self.from_age is None or age >= self.from_age)
            and (self.to_age is None or age < self.to_age)
        )

    def covers(self, now: datetime) -> Q:
        """The same, as a database filter on the activations at `now`."""
        condition = Q(state=self.state)
        if self.from_age is not None:
            condition &= Q(created_at__lte=now - timedelta(seconds=self.from_age))
        if self.to_age is not None:
            condition &= Q(created_at__gt=now - timedelta(seconds=self.to_age))
        return condition


def _bands() -> tuple[Band, ...]:
    bands = []
    for step in SCHEDULE:
        ages = sorted(s.from_age for s in SCHEDULE if s.state == step.state)
        later = [age for age in ages if age > step.from_age]
        from_age = None if step.from_age == ages[0] else step.from_age
        bands.append(Band(step.state, from_age, later[0] if later else None, step.multiplier))
    return tuple(bands)


BANDS = _bands()


def age_multiplier(state: str, created_at: datetime, now: datetime) -> float:
    """How many POLL_INTERVALs to wait before asking about this activation again."""
    age = (now - created_at).total_seconds()
    for band in BANDS:
        if band.holds(state, age):
            return band.multiplier
    return CLOSED_MULTIPLIER


def backoff_seconds(failures: int, interval: float) -> float:
    """Exponential backoff with full jitter on the upper half: 2x, 4x, 8x ... the interval."""
    ceiling = min(MAX_BACKOFF_SECONDS, interval * 2 ** min(failures, 16))
    return ceiling * random.uniform(0.5, 1.0)


def demand_counts(now: datetime) -> dict[str, Count]:
    """Annotations counting a group's activations per band (keys `band0`, `band1`, ...)."""
    return {f"band{n}": Count("pk", filter=band.covers(now)) for n, band in enumerate(BANDS)}


def demand(row: dict) -> float:
    """Polls per POLL_INTERVAL the schedule asks for, from a row annotated by `demand_counts`."""
    return sum(row[f"band{n}"] / band.multiplier for n, band in enumerate(BANDS))


def due_at(now: datetime, interval: float, factor: float = 1.0):
    """When each activation's next poll is due, stretched by `factor`, as an expression.

    `next_poll_at` holds the schedule with the budget to spare (one interval times the age
    multiplier after the last poll). When the provider's budget binds, every wait is
    stretched by the same factor at the moment of choosing (so a schedule written under a
    smaller factor is not favoured). Three cases come first: an expired activation is due at
    once; a new one one (stretched) interval after its purchase, and a requested retry one
    interval after the request, whatever the schedule said (a code is never there at once:
    asking at once would spend the budget on the least likely answers).
    """

    def after(field: str, seconds: float):
        return F(field) + Value(timedelta(seconds=seconds))

    whens = [
        When(expires_at__lte=now, then=F("expires_at")),
        When(
            last_polled_at__isnull=True,
            next_poll_at__lte=now,
            then=after("created_at", interval * factor),
        ),
        When(
            state=State.WAITING_RETRY,
            last_polled_at__lt=F("updated_at"),
            then=after("updated_at", interval * factor),
        ),
    ]
    if factor > 1:
        whens += [
            When(
                band.covers(now),
                then=after("next_poll_at", (factor - 1) * interval * band.multiplier),
            )
            for band in BANDS
        ]
    return Case(*whens, default=F("next_poll_at"), output_field=models.DateTimeField())

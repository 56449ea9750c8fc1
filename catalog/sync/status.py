"""What the catalog's status card says about one provider's sync, from the records the sync
keeps: the claim and the queued mark on `Provider` (`catalog.sync.claims`) and its `SyncRun`s.

A sync is *on its way* while it is queued ("Sync now" or the schedule marked it) or running
(a worker holds its claim); the card then polls its own partial (`catalog.views.sync_status`)
until the sync ends, and the catalog's results reload once it has. `version` fingerprints what
the card shows, so that a poll finding it unchanged is answered 204 with nothing to swap.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

import provider.client as protocol
from catalog.models import Provider, SyncRun
from catalog.provider_errors import ErrorContext, Said, composed
from catalog.sync.claims import SYNC_CLAIM
from dashboard.background import worker_running
from dashboard.display import relative

# Past this a queued sync that has not started is probably waiting for a worker that is not
# running: the card says so (it has asked whether one runs only from then on).
QUEUED_LONG = timedelta(seconds=30)


class Phase(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    NEVER = "never"  # no sync has run yet, none on its way
    FAILED = "failed"  # the last run stored nothing
    PARTLY_FAILED = "partly_failed"  # the last run stored most rows but not all
    STALE = "stale"  # prices older than twice the schedule's interval (or none stored)
    FRESH = "fresh"


ON_ITS_WAY = frozenset({Phase.QUEUED, Phase.RUNNING})

# Errors the sync meets that are not a provider's answer (`catalog.sync.key.NoSyncKey` is
# recorded under the action "key"; `catalog.sync.fetch.OutOfTime` by its name).
SYNCING = ErrorContext(
    _("The catalog was not updated"),
    {
        protocol.BadKey: Said(
            _("{provider} rejected the API key the catalog is listed with."),
            _("an administrator chooses another account to sync with in the admin"),
        ),
    },
)
UNKNOWN = Said(
    _("{provider}'s answers could not be used."),
    _("try again later"),
)
OUT_OF_TIME = Said(
    _("{provider} answered too slowly for the sync to finish."),
    _("try again later"),
)
NO_KEY = Said(
    _("No team has attached an API key for {provider} yet, and the catalog is listed with one."),
    _("an owner or manager attaches one on the provider accounts page"),
)

# Only the names pass (catalog/sync/names.py, its errors carry the `lang` asked) went wrong.
NAMES_ONLY = Said(
    _("{provider} did not give the names in the other language."),
    _("they are asked for again at the next sync"),
    _("The catalog itself was stored"),
)


def failure_reason(run: SyncRun, provider_name: str) -> str:
    """Why `run` failed, in a person's words: its first recorded error, by its kind."""
    entry = run.errors[0] if run.errors else {}
    kind_name = str(entry.get("error", "")).partition(":")[0]
    if not entry:
        said = UNKNOWN
    elif entry.get("action") == "key":
        said = NO_KEY
    elif "lang" in entry:
        said = NAMES_ONLY
    elif kind_name == "OutOfTime":
        said = OUT_OF_TIME
    else:
        kind = getattr(protocol, kind_name, None)
        known = isinstance(kind, type) and issubclass(kind, protocol.ProviderError)
        said = SYNCING.said_for(kind if known else protocol.ProtocolError)
    what = said.what.format(provider=provider_name, answer=kind_name)
    outcome = said.outcome or SYNCING.outcome
    return composed(what, outcome, said.advice)


def ago(moment: datetime, now: datetime) -> str:
    """ "20 s ago" within a minute (progress is counted in seconds), else as everywhere."""
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        # Translators: how long ago a sync started or was queued, within a minute ("20 s ago").
        return gettext("%(seconds)s s ago") % {"seconds": seconds}
    return relative(moment, now)


class SinceWhen:
    """How long ago a sync on its way started or was queued, as the cards say it; for classes
    with `started_at`, `queued_at` and `now`."""

    started_at: datetime | None
    queued_at: datetime | None
    now: datetime

    @property
    def started_ago(self) -> str:
        return ago(self.started_at, self.now) if self.started_at else ""

    @property
    def queued_ago(self) -> str:
        return ago(self.queued_at, self.now) if self.queued_at else ""


@dataclass
class SyncStatus(SinceWhen):
    """One provider's sync as the card tells it."""

    provider: Provider
    last_run: SyncRun | None  # the latest run, whatever its outcome (perhaps still running)
    last_prices_at: datetime | None  # when prices were last refreshed by a run
    running: bool  # a worker holds the sync's claim
    queued_at: datetime | None  # when a sync waiting for a worker was queued
    interval: timedelta
    now: datetime
    poll_seconds: int = 2

    @classmethod
    def of(
        cls,
        provider: Provider,
        last_run: SyncRun | None,
        last_prices_at: datetime | None,
        *,
        interval: timedelta,
        now: datetime,
        poll_seconds: int,
    ) -> "SyncStatus":
        claimed, queued = provider.sync_claimed_until, provider.sync_queued_until
        return cls(
            provider=provider,
            last_run=last_run,
            last_prices_at=last_prices_at,
            running=claimed is not None and claimed >= now,
            # The mark is set SYNC_CLAIM ahead of the moment it was queued.
            queued_at=queued - SYNC_CLAIM if queued is not None and queued >= now else None,
            interval=interval,
            now=now,
            poll_seconds=poll_seconds,
        )

    @property
    def interval_minutes(self) -> int:
        return int(self.interval.total_seconds() // 60)

    @property
    def stale_after_minutes(self) -> int:
        return int(2 * self.interval.total_seconds() // 60)

    @property
    def stale(self) -> bool:
        """No prices yet, or older than twice the schedule's interval."""
        if self.last_prices_at is None:
            return True
        return self.now - self.last_prices_at > 2 * self.interval

    @property
    def finished_run(self) -> SyncRun | None:
        run = self.last_run
        return run if run is not None and run.finished_at is not None else None

    @property
    def phase(self) -> Phase:
        if self.running:
            return Phase.RUNNING
        if self.queued_at is not None:
            return Phase.QUEUED
        run = self.finished_run
        if run is None and self.last_prices_at is None:
            return Phase.NEVER
        if run is not None and run.error_count:
            return Phase.PARTLY_FAILED if run.partly_failed else Phase.FAILED
        return Phase.STALE if self.stale else Phase.FRESH

    @property
    def on_its_way(self) -> bool:
        return self.phase in ON_ITS_WAY

    @property
    def started_at(self) -> datetime | None:
        """When the running sync started (None while it is between its claim and its run)."""
        run = self.last_run
        if self.running and run is not None and run.finished_at is None:
            return run.started_at
        return None

    @property
    def queued_long(self) -> bool:
        return self.queued_at is not None and self.now - self.queued_at > QUEUED_LONG

    @cached_property
    def worker_paused(self) -> bool:
        """Queued for a while and no background worker runs to take it (asked only then)."""
        return self.queued_long and not worker_running()

    @property
    def synced_ago(self) -> str:
        return relative(self.last_prices_at, self.now) if self.last_prices_at else ""

    @property
    def reason(self) -> str:
        run = self.finished_run
        return failure_reason(run, self.provider.name) if run and run.error_count else ""

    @property
    def version(self) -> str:
        """A fingerprint of what the card shows (its times as they read)."""
        run = self.finished_run
        shown = [
            self.phase,
            self.started_ago,
            self.queued_ago,
            self.synced_ago,
            self.phase == Phase.QUEUED and self.worker_paused,
            run.pk if run else None,
        ]
        return hashlib.blake2b(repr(shown).encode(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class FirstSync(SinceWhen):
    """No provider has stored prices yet: what the empty catalog says instead of "No offers
    match". `started_at` / `queued_at`: the earliest sync on its way (both None if none)."""

    started_at: datetime | None
    queued_at: datetime | None
    failed: bool  # a sync has run and stored nothing
    now: datetime

    @property
    def on_its_way(self) -> bool:
        return self.started_at is not None or self.queued_at is not None


def first_sync(statuses: list[SyncStatus]) -> FirstSync | None:
    """The catalog's first sync, while no provider has prices; None once one has."""
    if not statuses or any(s.last_prices_at for s in statuses):
        return None
    started = [s.started_at for s in statuses if s.started_at]
    running_unknown = any(s.running and not s.started_at for s in statuses)
    queued = [s.queued_at for s in statuses if s.queued_at]
    now = statuses[0].now
    return FirstSync(
        started_at=min(started) if started else (now if running_unknown else None),
        queued_at=min(queued) if queued else None,
        failed=any(s.phase in {Phase.FAILED, Phase.PARTLY_FAILED} for s in statuses),
        now=now,
    )

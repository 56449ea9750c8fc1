"""Claiming due activations, so that two workers never hold one activation at once.

A conditional UPDATE sets `claimed_by` and `claimed_until` only on rows whose claim is free
or expired; only the rows it updated are this worker's. PostgreSQL re-checks the condition on
rows another transaction just updated, SQLite runs one writer at a time: either way two
workers (threads, processes or clusters) never hold one activation at once, and a worker
killed mid-poll loses its claim when `claimed_until` passes, so another takes it over.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from activations.models import Activation
from activations.poller.mode import RunMode
from activations.poller.schedule import due_at
from catalog.models import ProviderAccount

# What a claim loads of each activation (its account comes from a per-loop cache).
CLAIMED_FIELDS = (
    "id",
    "team",
    "account",
    "provider",
    "provider_activation_id",
    "phone",
    "price",
    "state",
    "codes",
    "created_at",
    "expires_at",
    "next_poll_at",
    "poll_failures",
    "claimed_until",
)


class Claims:
    """One worker's claims: taking due activations, and handing them back."""

    def __init__(self, worker_id: str, interval: float, claim_seconds: float) -> None:
        self.worker_id = worker_id
        self.interval = interval
        self.claim_seconds = claim_seconds
        self.mine: set[int] = set()  # claimed and not yet written back
        self.seen: set[int] = set()  # claimed in this pass (a pass polls each once)
        self._accounts: dict[int, ProviderAccount] = {}

    def candidates(self, provider_id: int, now: datetime, factor: float = 1.0):
        """The provider's open activations nobody holds, with `due` (see `schedule.due_at`)."""
        return Activation.objects.filter(
            _free(now), provider_id=provider_id, state__in=Activation.OPEN_STATES
        ).annotate(due=due_at(now, self.interval, factor))

    def claim(
        self,
        provider_id: int,
        limit: int,
        now: datetime | None = None,
        *,
        factor: float = 1.0,
        mode: RunMode = RunMode.LOOP,
    ) -> list[Activation]:
        """Claim up to `limit` due activations of one provider, most overdue first (the order
        of claiming is the order of polling).

        When the provider's budget binds (`factor` > 1), the rest of `limit` goes to those due
        next, ahead of time: the stretch factor is an estimate, and budget it leaves unused
        would be wasted (the order by due time keeps the spacing by age).
        """
        now = now or timezone.now()
        candidates = self.candidates(provider_id, now, factor)
        exclude = self.mine | self.seen if mode.once else self.mine
        if exclude:
            candidates = candidates.exclude(pk__in=exclude)
        if mode is RunMode.DUE_ONCE or (mode is RunMode.LOOP and factor <= 1):
            candidates = candidates.filter(due__lte=now)
        elif mode is RunMode.LOOP:
            # Early, but never twice within an interval (with room for the batching), and
            # never sooner than one interval after the purchase.
            rested = Q(last_polled_at__lte=now - timedelta(seconds=self.interval * 1.2)) | Q(
                last_polled_at__isnull=True,
                created_at__lte=now - timedelta(seconds=self.interval),
            )
            candidates = candidates.filter(Q(due__lte=now) | rested)
        pks = list(candidates.order_by("due", "pk").values_list("pk", flat=True)[:limit])
        if not pks:
            return []
        until = now + timedelta(seconds=self.claim_seconds)
        updated = Activation.objects.filter(_free(now), pk__in=pks).update(
            claimed_by=self.worker_id, claimed_until=until
        )
        if not updated:
            return []
        mine = list(
            Activation.objects.filter(
                pk__in=pks, claimed_by=self.worker_id, claimed_until=until
            ).only(*CLAIMED_FIELDS)
        )
        order = {pk: n for n, pk in enumerate(pks)}
        mine.sort(key=lambda activation: order[activation.pk])
        self._attach_accounts(mine)
        self.mine.update(a.pk for a in mine)
        if mode.once:
            self.seen.update(a.pk for a in mine)
        return mine

    def _attach_accounts(self, activations: list[Activation]) -> None:
        """Give each activation its account (with provider and team), loaded once per loop:
        the clients are built from them without touching the database."""
        missing = {a.account_id for a in activations} - self._accounts.keys()
        if missing:
            for account in ProviderAccount.objects.filter(pk__in=missing).select_related(
                "provider", "team"
            ):
                self._accounts[account.pk] = account
        for activation in activations:
            account = self._accounts[activation.account_id]
            activation.account = account
            activation.team = account.team

    def written(self, pks) -> None:
        """These claims were handed back by the flush (with their next poll)."""
        self.mine.difference_update(pks)

    def hand_back(self, pks: list[int]) -> None:
        """Give these claims up unpolled (they are due again at once)."""
        Activation.objects.filter(pk__in=pks, claimed_by=self.worker_id).update(
            claimed_by="", claimed_until=None
        )
        self.mine.difference_update(pks)

    def hand_back_all(self) -> None:
        Activation.objects.filter(claimed_by=self.worker_id).update(
            claimed_by="", claimed_until=None
        )
        self.mine.clear()


def _free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)

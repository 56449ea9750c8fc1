"""One sync per provider at a time, and at most one queued by "Sync now"."""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.models import Provider

# A claim older than this belongs to a sync that died; the next one may take over.
SYNC_CLAIM = timedelta(minutes=10)


def free(mark: str, now: datetime) -> Q:
    """Rows whose `mark` (sync_claimed_until or sync_queued_until) is unset or has passed."""
    return Q(**{f"{mark}__isnull": True}) | Q(**{f"{mark}__lt": now})


def claim_sync(provider: Provider) -> datetime | None:
    """Claim the provider's sync; None when another sync holds a claim that is not stale.
    A claimed sync is no longer queued: "Sync now" may queue the next one once it ends."""
    now = timezone.now()
    until = now + SYNC_CLAIM
    claimed = (
        Provider.objects.filter(pk=provider.pk)
        .filter(free("sync_claimed_until", now))
        .update(sync_claimed_until=until, sync_queued_until=None)
    )
    return until if claimed else None


def release_sync(provider: Provider, claim: datetime) -> None:
    # Only our own claim: if it went stale and another sync took over, leave theirs alone.
    Provider.objects.filter(pk=provider.pk, sync_claimed_until=claim).update(
        sync_claimed_until=None
    )


def mark_sync_queued(provider: Provider) -> bool:
    """Mark a sync of the provider as queued; False when one is already queued or running.

    A conditional UPDATE, so that of two presses at once (in any processes) one wins; a mark
    whose task never ran (a lost broker message) goes stale after SYNC_CLAIM.
    """
    now = timezone.now()
    marked = (
        Provider.objects.filter(pk=provider.pk)
        .filter(free("sync_queued_until", now), free("sync_claimed_until", now))
        .update(sync_queued_until=now + SYNC_CLAIM)
    )
    return bool(marked)


def unmark_sync_queued(provider: Provider) -> None:
    Provider.objects.filter(pk=provider.pk).update(sync_queued_until=None)

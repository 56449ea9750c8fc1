"""django-q2 tasks of the catalog sync. They take provider ids, never keys: task arguments
are stored in the broker signed but not encrypted."""

from django_q.tasks import async_task

from catalog.models import Provider, SyncRun
from catalog.sync.claims import SYNC_CLAIM, mark_sync_queued, unmark_sync_queued
from catalog.sync.run import summary, sync_provider

SYNC_TASK = "catalog.tasks.sync_provider_catalog"
# A full sync within a real provider's few requests per second can take longer than the
# cluster's default task timeout. It gets until just before its claim goes stale; should the
# broker hand it to a second worker meanwhile (after Q_CLUSTER["retry"]), the claim makes
# that second run exit at once.
SYNC_TIMEOUT = int(SYNC_CLAIM.total_seconds()) - 60


def sync_provider_catalog(provider_id: int, kind: str = SyncRun.Kind.FULL) -> str:
    provider = Provider.objects.filter(pk=provider_id, enabled=True).first()
    if provider is None:
        # A queued mark would keep the next scheduled sync away until it goes stale.
        Provider.objects.filter(pk=provider_id).update(sync_queued_until=None)
        return "skipped: provider missing or disabled"
    run = sync_provider(provider, kind)
    if run is None:
        return "skipped: another sync of this provider is running"
    return summary(run)


def queue_sync(provider: Provider, kind: str = SyncRun.Kind.FULL) -> str:
    """Queue one provider's sync for a worker; returns the task id."""
    return async_task(
        SYNC_TASK,
        provider.pk,
        str(kind),
        group=f"catalog-sync-{provider.pk}",
        timeout=SYNC_TIMEOUT,
    )


def request_sync(provider: Provider, kind: str = SyncRun.Kind.FULL) -> bool:
    """Queue a sync unless one is already queued or running; False when none was queued.
    However often any team's managers press "Sync now" and however long a sync takes
    against the prices interval, one sync of a provider waits at a time."""
    if not mark_sync_queued(provider):
        return False
    try:
        queue_sync(provider, kind)
    except Exception:
        unmark_sync_queued(provider)  # nothing was queued: let the next press try again
        raise
    return True


def queue_all(kind: str) -> int:
    """One task per enabled provider, so each runs (and times out) on its own. The prices
    job skips a provider whose sync is still queued or running (`request_sync`): should a
    sync outlast the interval, the next one waits for it instead of piling up behind it.
    The daily countries job always queues: at a day's interval it cannot pile up, and
    skipping it for a prices sync that happens to be queued would leave the countries a
    day older. Returns the number of tasks queued."""
    providers = list(Provider.objects.filter(enabled=True))
    if kind == SyncRun.Kind.COUNTRIES:
        for provider in providers:
            queue_sync(provider, kind)
        return len(providers)
    return sum(request_sync(provider, kind) for provider in providers)


def sync_all_countries() -> int:
    """Scheduled daily: every enabled provider's countries and operators."""
    return queue_all(SyncRun.Kind.COUNTRIES)


def sync_all_prices() -> int:
    """Scheduled every 15 minutes: every enabled provider's prices and stock."""
    return queue_all(SyncRun.Kind.PRICES)

"""`{% poller_status %}`: when the background poller last ran (the team home page)."""

from datetime import timedelta

from django import template
from django.utils import timezone

from activations.models import WorkerHeartbeat
from activations.poller import HEARTBEAT_NAME

register = template.Library()

# The loop writes its heartbeat every second; a minute of silence means no poller runs.
STALE_AFTER = timedelta(minutes=1)


@register.inclusion_tag("activations/poller_status.html")
def poller_status() -> dict:
    beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    last_run = beat.last_seen_at if beat else None
    ago = timezone.now() - last_run if last_run else None
    return {
        "last_run": last_run,
        "seconds_ago": max(0, int(ago.total_seconds())) if ago is not None else None,
        "stale": ago is None or ago > STALE_AFTER,
    }

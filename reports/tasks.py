"""django-q2 tasks of the reports app (queued by dotted path; see reports/schedules.py)."""

import logging

from django.utils import timezone

from dashboard.models import Team
from reports.emails import send_weekly_report

logger = logging.getLogger(__name__)


def send_weekly_reports() -> int:
    """Email last week's report to every team's owners and managers; return emails sent.

    Scheduled every Monday at 06:00 UTC. One team's failure does not stop the others.
    """
    now = timezone.now()
    sent = 0
    for team in Team.objects.order_by("pk").iterator():
        try:
            sent += send_weekly_report(team, now)
        except Exception:
            logger.exception("Weekly report of team %s failed", team.pk)
    logger.info("Weekly reports: %d emails sent", sent)
    return sent

"""The reports app's periodic jobs (stored by dashboard.schedules.ensure_schedules)."""

from django_q.models import Schedule

SCHEDULES = [
    # Last week's report to every team's owners and managers (reports/emails.py), Mondays at
    # 06:00 UTC; a week already sent is not sent again. The name predates the reports app and
    # stays: it is how an existing database's row is found and updated.
    {
        "name": "dashboard: weekly reports",
        "func": "reports.tasks.send_weekly_reports",
        "schedule_type": Schedule.CRON,
        "cron": "0 6 * * 1",
    },
]

"""The weekly report email: last week's spending, this month's budget use and success rates,
sent to each team's owners and managers through Django's email backend (console in
development). ``reports.tasks.send_weekly_reports`` sends it every Monday morning.

"Last week" is Monday to Sunday before the current week in the team's time zone. A team that
bought nothing last week gets no email. A week already sent to a team is not sent again (the
cache remembers it), so a schedule that fires twice does not email twice.

Each recipient reads it in their own language (``dashboard.languages.language_of``): the
recipients are grouped by language and the subject and bodies rendered once per language
under ``translation.override``, whatever the language of the process that sends it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, mailers
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from activations.budgets import month_budget
from dashboard.languages import language_of
from dashboard.models import MANAGERS, Team
from dashboard.teams import team_zone
from reports.engine import Scope
from reports.series import period_series, totals_of
from reports.usage import usage_breakdown, usage_totals

SERVICES_IN_EMAIL = 10
SENT_KEY = "weekly-report:{team}:{week}"
SENT_TIMEOUT = 60 * 60 * 24 * 9


def last_week(team: Team, now: datetime) -> Scope:
    """Monday to Sunday of the week before now's week, in the team's time zone."""
    today = now.astimezone(team_zone(team)).date()
    monday = today - timedelta(days=today.weekday())
    return Scope(team=team, start=monday - timedelta(days=7), end=monday - timedelta(days=1))


def recipients(team: Team) -> list[User]:
    """The team's active owners and managers with an email address (all of them see the
    reports; viewers and members get no email)."""
    return list(
        User.objects.filter(memberships__team=team, memberships__role__in=MANAGERS, is_active=True)
        .exclude(email="")
        .select_related("profile")
        .order_by("username")
    )


def report_url(team: Team, scope: Scope, name: str = "reports:spending") -> str:
    """Absolute when settings.SITE_URL is set (e.g. https://desk.example.org), else a path."""
    path = reverse(name, args=[team.slug])
    query = f"?range=custom&start={scope.start.isoformat()}&end={scope.end.isoformat()}"
    return settings.SITE_URL.rstrip("/") + path + query


def weekly_report(team: Team, now: datetime) -> dict:
    """Everything the email shows, from the same queries as the report pages."""
    scope = last_week(team, now)
    week_before = Scope(
        team=team, start=scope.start - timedelta(days=7), end=scope.end - timedelta(days=7)
    )
    spent = totals_of(period_series(scope, "week"))
    previous = totals_of(period_series(week_before, "week"))
    usage = usage_totals(scope)
    services = usage_breakdown(scope, "service", "-bought")[:SERVICES_IN_EMAIL]
    return {
        "team": team,
        "scope": scope,
        "spent": spent,
        "previous": previous,
        "usage": usage,
        "services": services,
        "budget": month_budget(team, now),
        "spending_url": report_url(team, scope),
        "usage_url": report_url(team, scope, "reports:usage"),
    }


def weekly_messages(team: Team, now: datetime) -> list[EmailMultiAlternatives]:
    """One message per owner or manager, in their language; none when the team bought
    nothing last week."""
    people = recipients(team)
    if not people:
        return []
    rendered: dict[str, tuple[str, str, str]] = {}  # language -> subject, text, html
    messages = []
    for user in people:
        language = language_of(user)
        if language not in rendered:
            with translation.override(language):
                # In the language: its labels (a service through an operator) are translated.
                context = weekly_report(team, now)
                if not context["usage"].bought:
                    return []
                rendered[language] = (
                    render_to_string("emails/weekly_report_subject.txt", context).strip(),
                    render_to_string("emails/weekly_report.txt", context),
                    render_to_string("emails/weekly_report.html", context),
                )
        subject, text, html = rendered[language]
        message = EmailMultiAlternatives(subject, text, to=[user.email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return messages


def send_weekly_report(team: Team, now: datetime | None = None) -> int:
    """Send last week's report to the team's owners and managers; return how many were sent."""
    now = now or timezone.now()
    week = last_week(team, now).start.isoformat()
    key = SENT_KEY.format(team=team.pk, week=week)
    if cache.get(key):
        return 0
    messages = weekly_messages(team, now)
    sent = mailers.default.send_messages(messages) if messages else 0
    cache.set(key, True, SENT_TIMEOUT)
    return sent or 0

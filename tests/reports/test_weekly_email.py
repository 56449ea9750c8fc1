"""The weekly report email and the django-q2 task that sends it."""

import pytest
from django.core import mail
from django.core.cache import cache

from dashboard.models import Membership
from reports import emails, tasks


@pytest.fixture(autouse=True)
def forget_sent_weeks(db):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monday(frozen_now, alice_team, alice, march):
    """Monday March 16th 2026, 06:00 UTC: last week is March 9th to 15th."""
    alice_team.monthly_budget = "100.00"
    alice_team.save()
    Membership.objects.filter(user=alice).update(monthly_limit="30.00")
    return frozen_now("2026-03-16 06:00")


def test_it_emails_last_weeks_report_to_owners_and_managers(
    alice_team, monday, manager, bob, victor
):
    assert emails.send_weekly_report(alice_team) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "mia@example.org"]
    message = mail.outbox[0]
    assert message.subject == "SMS Desk: Alice's Team spent $13.35 in the week of 9 Mar 2026"
    body = message.body
    assert "the week of Monday 9 Mar 2026 to Sunday 15 Mar 2026 (UTC)" in body
    assert "Spent: $13.35 on 2 activations (2 bought;" in body
    assert "The week before: $27.25" in body
    assert "BUDGET IN MARCH 2026 SO FAR" in body
    assert "Team: $40.60 of $100.00 (40.6 %)" in body
    assert "- alice: $27.25 of $30.00 (90.8 %)" in body
    assert "- bob: $13.35\n" in body
    assert (
        "All: 2 of 2 (100.0 %), median time to first code 1 min 23 s, cost per success $6.68"
        in body
    )
    assert "- Telegram (tg): 2 of 2 (100.0 %), median 1 min 23 s" in body
    assert "/t/alices-team/reports/?range=custom&start=2026-03-09&end=2026-03-15" in body
    html, kind = message.alternatives[0]
    assert kind == "text/html"
    assert "<strong>$13.35</strong>" in html and "90.8 %" in html
    assert "Alice&#x27;s Team" in html


def test_it_sends_a_week_once(alice_team, monday):
    assert emails.send_weekly_report(alice_team) == 1
    assert emails.send_weekly_report(alice_team) == 0
    assert len(mail.outbox) == 1


def test_a_team_that_bought_nothing_last_week_gets_no_email(alice_team, alice, march, frozen_now):
    frozen_now("2026-03-30 06:00")  # last week: March 23rd to 29th
    assert emails.send_weekly_report(alice_team) == 0
    assert mail.outbox == []


def test_the_week_is_the_teams(alice_team, alice, make_activation, frozen_now):
    alice_team.time_zone = "Asia/Tokyo"
    alice_team.save()
    # Sunday March 15th at 23:30 in Tokyo is still last week there.
    make_activation("2026-03-15 14:30", alice, price="2.00", wait=5)
    # Monday March 16th at 00:30 in Tokyo is this week.
    make_activation("2026-03-15 15:30", alice, price="9.00", wait=5)
    frozen_now("2026-03-16 06:00")
    assert emails.send_weekly_report(alice_team) == 1
    assert "Spent: $2.00 on 1 activation (1 bought;" in mail.outbox[0].body


def test_the_task_sends_every_teams_report(alice_team, monday, manager, charlie):
    assert tasks.send_weekly_reports() == 2
    assert {m.to[0] for m in mail.outbox} == {"alice@example.org", "mia@example.org"}


def test_one_failing_team_does_not_stop_the_others(alice_team, monday, charlie, monkeypatch):
    real = emails.send_weekly_report
    calls = []

    def flaky(team, now=None):
        calls.append(team.slug)
        if team.slug == "charlies-team":
            raise RuntimeError("mail server down")
        return real(team, now)

    monkeypatch.setattr(tasks, "send_weekly_report", flaky)
    assert tasks.send_weekly_reports() == 1
    assert sorted(calls) == ["alices-team", "charlies-team"]


def test_the_weekly_reports_are_scheduled_on_monday_mornings(db):
    from datetime import UTC, datetime

    from croniter import croniter
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    from dashboard.schedules import ensure_schedules

    ensure_schedules()
    job = Schedule.objects.get(name="dashboard: weekly reports")
    assert import_string(job.func) is tasks.send_weekly_reports
    assert job.schedule_type == Schedule.CRON
    wednesday = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
    assert croniter(job.cron, wednesday).get_next(datetime) == datetime(
        2026, 3, 16, 6, 0, tzinfo=UTC
    )

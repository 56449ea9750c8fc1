"""The team's home page: balances, this month's budget, the open activations, the requests
through each personal API token today and whether the background poller runs. The view
gathers all of it (a fixed number of queries); the template only shows it."""

from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from activations import usual
from activations.budgets import spending_by_user, team_budget
from activations.gateway.usage import requests_on
from activations.models import WorkerHeartbeat
from activations.poller import HEARTBEAT_NAME
from activations.views import open_table_context
from catalog.accounts import accounts_with_balance_age
from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.background import worker_running
from dashboard.models import Membership
from dashboard.teams import team_today
from dashboard.tokens import visible_tokens

# The loop writes its heartbeat every second; a minute of silence means no poller runs.
POLLER_STALE_AFTER = timedelta(minutes=1)


def poller_status() -> dict:
    """Whether codes are being fetched: when the poller last ran, whether that is too long
    ago, and if so whether the worker that runs it is down (`paused`) or only starting (the
    scheduler starts the poller within a minute of the worker starting)."""
    beat = WorkerHeartbeat.objects.filter(name=HEARTBEAT_NAME).first()
    last_run = beat.last_seen_at if beat else None
    ago = timezone.now() - last_run if last_run else None
    stale = ago is None or ago > POLLER_STALE_AFTER
    return {
        "last_run": last_run,
        "seconds_ago": max(0, int(ago.total_seconds())) if ago is not None else None,
        "stale": stale,
        "paused": stale and not worker_running(),  # asked only when the poller is silent
    }


def token_requests_today(membership: Membership) -> list[tuple]:
    """(token, requests today) for every token the member sees (one query; the counts come
    from the gateway's cache); empty when there is none."""
    tokens = list(visible_tokens(membership).order_by("name", "pk"))
    if not tokens:
        return []
    counts = requests_on(team_today(membership.team), [token.pk for token in tokens])
    return [(token, counts.get(token.pk, 0)) for token in tokens]


def home_context(membership: Membership) -> dict:
    team = membership.team
    spending = spending_by_user(team)  # the budget's figure and the usual buttons' check
    return {
        "membership": membership,
        "token_requests": token_requests_today(membership),
        "accounts": list(accounts_with_balance_age(team)),
        "budget": team_budget(team, spending=spending),
        "poller": poller_status(),
        # The team's usual choices as one-click buttons, for those who can buy.
        "usual": usual.usual_buys(membership, spending) if membership.can_buy else [],
        **open_table_context(team, membership),
    }


@require_safe
def team_home(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    return render(request, "activations/home.html", home_context(membership))

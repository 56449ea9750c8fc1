"""How amounts and times read on every page: one place, so that no page shows a bare number
or a time without its zone.

- Money: the currency's sign before the amount, thousands grouped, two decimals
  ("$1,234.56", "\u20bd12.30"); nothing is an en dash.
- Time: the current time zone (`activate_zone`: the person's own if set in their settings,
  else the team's) is named beside every exact time; recent times read relative
  ("3 min ago"), with the exact time on hover.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from dashboard.models import Currency, Team
from dashboard.teams import zone_named

NOTHING = "\u2013"
SIGNS = {Currency.USD: "$", Currency.RUB: "\u20bd"}


def money(amount: Decimal | int | float | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return NOTHING
    value = Decimal(str(amount))
    sign = "-" if value < 0 else ""
    return f"{sign}{SIGNS.get(currency, currency + '\u00a0')}{abs(value):,.2f}"


def activate_zone(user, team: Team | None) -> None:
    """Show times in the person's own zone if they chose one, else in the team's (else UTC).

    The middleware `dashboard.middleware.TimeZoneMiddleware` resets it after each request."""
    profile = getattr(user, "profile", None) if user is not None else None
    zone = zone_named(profile.time_zone) if profile else None
    if zone is None and team is not None:
        zone = zone_named(team.time_zone)
    if zone is None:
        timezone.deactivate()
    else:
        timezone.activate(zone)


def exact(moment: datetime) -> str:
    """ "1 Dec 2026, 14:03:05 MSK": in the current zone, named."""
    local = timezone.localtime(moment)
    return f"{local:%-d %b %Y, %H:%M:%S} {local.tzname()}"


def relative(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "3 min ago", "in 2 h"; the exact time beyond a day either way."""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds >= timedelta(days=1).total_seconds():
        return exact(moment)
    if seconds < 45:
        return "just now" if not ahead else "in a few seconds"
    amount = f"{round(seconds / 60)} min" if seconds < 3600 else f"{round(seconds / 3600)} h"
    return f"in {amount}" if ahead else f"{amount} ago"

"""How amounts and times read on every page: one place, so that no page shows a bare number
or a time without its zone.

Both in the current language (dashboard/languages.py):

- Money: two decimals, thousands grouped, the currency's sign where the language puts it
  ("$1,234.56" and "\u20bd12.30" in English, "1\u00a0234,56\u00a0$" and "12,30\u00a0\u20bd" in
  Russian); nothing is an en dash.
- Time: the current time zone (`activate_zone`: the person's own if set in their settings,
  else the team's) is named beside every exact time; recent times read relative
  ("3 min ago", "3 мин назад"), with the exact time on hover.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import dateformat, formats, timezone
from django.utils.translation import gettext, pgettext

from dashboard.models import Currency, Team
from dashboard.teams import zone_named

NOTHING = "\u2013"
SIGNS = {Currency.USD: "$", Currency.RUB: "\u20bd"}


def money(amount: Decimal | int | float | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return NOTHING
    value = Decimal(str(amount))
    minus = "-" if value < 0 else ""
    number = formats.number_format(abs(value), 2, force_grouping=True)
    # Translators: where the currency's sign goes: "$1,234.56" in English, "1 234,56 $" in
    # Russian (with a no-break space before the sign).
    shown = pgettext("money", "{sign}{amount}").format(
        sign=SIGNS.get(currency, currency + "\u00a0"), amount=number
    )
    return f"{minus}{shown}"


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
    """ "1 Dec 2026, 14:03:05 MSK" ("1 декабря 2026, 14:03:05 MSK"): in the current zone,
    named."""
    local = timezone.localtime(moment)
    # Translators: Django's date format (docs: the "date" template filter) of an exact time.
    shape = pgettext("exact time", "j M Y, H:i:s")
    return f"{dateformat.format(local, shape)} {local.tzname()}"


def relative(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "3 min ago", "in 2 h"; the exact time beyond a day either way."""
    seconds = ((now or timezone.now()) - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds >= timedelta(days=1).total_seconds():
        return exact(moment)
    if seconds < 45:
        return gettext("in a few seconds") if ahead else gettext("just now")
    if seconds < 3600:
        count = round(seconds / 60)
        shown = gettext("in %(count)s min") if ahead else gettext("%(count)s min ago")
    else:
        count = round(seconds / 3600)
        shown = gettext("in %(count)s h") if ahead else gettext("%(count)s h ago")
    return shown % {"count": count}

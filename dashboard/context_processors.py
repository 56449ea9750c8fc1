"""Puts the current team and the user's other teams into every template (team switcher)."""

from dashboard.models import Membership


def current_team(request):
    membership = getattr(request, "membership", None)
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "membership": membership,
        "team": membership.team if membership else None,
        "my_memberships": Membership.objects.filter(user=request.user).select_related("team"),
    }

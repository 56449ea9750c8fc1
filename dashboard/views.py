"""Team-level pages: choosing a team and the team's home page."""

from django.shortcuts import redirect, render

from dashboard.access import AuthenticatedHttpRequest, membership_for
from dashboard.models import Membership


def choose_team(request: AuthenticatedHttpRequest):
    """Open the team the user worked in last, the only team, or let them pick one."""
    memberships = list(Membership.objects.filter(user=request.user).select_related("team"))
    slugs = {m.team.slug for m in memberships}
    wanted = request.GET.get("team") or request.session.get("team_slug")
    if wanted in slugs:
        return redirect("team_home", team_slug=wanted)
    if len(memberships) == 1:
        return redirect("team_home", team_slug=memberships[0].team.slug)
    return render(request, "dashboard/choose_team.html", {"choices": memberships})


def team_home(request: AuthenticatedHttpRequest, team_slug: str):
    membership = membership_for(request, team_slug)
    return render(request, "dashboard/home.html", {"membership": membership})

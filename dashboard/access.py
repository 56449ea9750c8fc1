"""The one access check every team-scoped view goes through.

A user who is not a member of the team gets 404 (the team's existence is not revealed); a
member whose role is not allowed gets 403.
"""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from dashboard.models import EVERYONE, Membership, Role


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def membership_for(
    request: HttpRequest, team_slug: str, roles: Iterable[Role] = EVERYONE
) -> Membership:
    """The current user's membership of the team named in the URL, checked against roles."""
    try:
        membership = Membership.objects.select_related("team", "user").get(
            team__slug=team_slug, user_id=request.user.pk
        )
    except Membership.DoesNotExist:
        raise Http404("No such team") from None
    if membership.role not in roles:
        raise PermissionDenied("Your role in this team does not allow this.")
    # Remember the team for "/", without a session write on every (polled) request.
    if request.session.get("team_slug") != team_slug:
        request.session["team_slug"] = team_slug
    request.membership = membership
    return membership

"""The one access check every team-scoped view goes through, and the role check of every
service that acts for a person.

A user who is not a member of the team gets 404 (the team's existence is not revealed); a
member whose role is not allowed gets 403. Services take the acting `Membership` (keyword
`acting`, which the view got from `membership_for`) and check its role with `require_role`.
"""

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _

from dashboard.display import activate_zone
from dashboard.models import EVERYONE, Membership, Role


class AuthenticatedHttpRequest(HttpRequest):
    user: User


def membership_for(
    request: HttpRequest, team_slug: str, roles: Iterable[Role] = EVERYONE
) -> Membership:
    """The current user's membership of the team named in the URL, checked against roles."""
    try:
        membership = Membership.objects.select_related("team", "user", "user__profile").get(
            team__slug=team_slug, user_id=request.user.pk
        )
    except Membership.DoesNotExist:
        raise Http404("No such team") from None
    require_role(membership, roles)
    # Remember the team for "/", without a session write on every (polled) request.
    if request.session.get("team_slug") != team_slug:
        request.session["team_slug"] = team_slug
    request.membership = membership
    activate_zone(membership.user, membership.team)
    return membership


ROLE_REFUSED = _("Your role in this team does not allow this.")


def require_same_team(acting: Membership, thing, why: str) -> None:
    """PermissionDenied (403) unless `thing` (anything with a `team_id`) is the acting
    membership's team's."""
    if thing.team_id != acting.team_id:
        raise PermissionDenied(why)


def require_role(acting: Membership, roles: Iterable[Role], why: str = ROLE_REFUSED) -> None:
    """PermissionDenied (403) unless the acting membership has one of roles."""
    if acting.role not in roles:
        raise PermissionDenied(why)

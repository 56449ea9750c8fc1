"""The acting membership a service takes (as a view gets it from `membership_for`)."""

from dashboard.models import Membership


def acting(team, user) -> Membership:
    return Membership.objects.select_related("team", "user").get(team=team, user=user)

"""The member filter of the activations list and the audit log: who can be chosen."""

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activations.forms import team_people
from dashboard.audit import record_action
from dashboard.models import Membership


def test_it_offers_members_and_people_who_acted_before_leaving_once_each(
    alice, bob, charlie, alice_team, make_activation
):
    bought_then_left = User.objects.create_user("dora")
    logged_then_left = User.objects.create_user("erin")
    for _ in range(3):
        make_activation(user=bought_then_left)
        make_activation(user=alice)
        record_action(team=alice_team, user=logged_then_left, action="bought", obj=None)
        record_action(team=alice_team, user=alice, action="bought", obj=None)
    Membership.objects.filter(user__in=[bought_then_left, logged_then_left]).delete()
    User.objects.create_user("never-here")

    with CaptureQueriesContext(connection) as queries:
        people = [user.username for user in team_people(alice_team)]
    assert people == ["alice", "bob", "dora", "erin"]  # once each, by name; not Charlie
    assert len(queries) == 1

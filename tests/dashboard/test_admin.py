"""Django admin: every Teams model is there, searchable and filterable, and every page opens."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User

from dashboard.models import Invitation


@pytest.fixture
def operator(client, db):
    user = User.objects.create_superuser("operator", "operator@example.org", "password")
    client.force_login(user)
    return client


def test_every_teams_model_has_search_and_filters():
    for model in apps.get_app_config("dashboard").get_models():
        model_admin = admin.site._registry.get(model)
        assert model_admin is not None, f"{model.__name__} is not in the admin"
        assert model_admin.search_fields, model.__name__
        assert model_admin.list_filter, model.__name__


def test_every_admin_list_opens_with_a_search(operator, alice, bob, victor):
    Invitation.objects.create(team=alice.memberships.get().team, email="d@example.org")
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        params = {"q": "alice"} if model_admin.search_fields else {}
        response = operator.get(url, params)
        assert response.status_code == 200, url


@pytest.mark.parametrize("state", ["pending", "accepted", "revoked", "expired"])
def test_invitations_filter_by_state(operator, alice_team, state):
    Invitation.objects.create(team=alice_team, email="d@example.org")
    response = operator.get("/admin/dashboard/invitation/", {"state": state})
    assert response.status_code == 200
    assert (b"d@example.org" in response.content) == (state == "pending")


def test_team_pages_open(operator, alice_team, alice):
    assert operator.get("/admin/dashboard/team/add/").status_code == 200
    assert operator.get(f"/admin/dashboard/team/{alice_team.pk}/change/").status_code == 200

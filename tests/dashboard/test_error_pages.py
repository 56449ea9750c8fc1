"""Our own error pages: 403, 404 (in development too), 500 without the database, and the icon."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import path

from dashboard.urls import urlpatterns as project_urls


def refuse(request):
    raise PermissionDenied


def fail(request):
    raise RuntimeError("boom")


urlpatterns = [*project_urls, path("test/refuse/", refuse), path("test/fail/", fail)]


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_missing_page_answers_our_404(client, alice, signed_in):
    if signed_in:
        client.force_login(alice)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content
    assert 'href="/static/favicon.svg"' in content
    assert "/static/css/app.css" in content


def test_a_missing_team_page_offers_the_way_home(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/activations/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


@pytest.mark.parametrize("url", ["/no/such/page/", "/t/nobodys-team/"])
def test_in_development_a_missing_page_is_ours_not_djangos(client, alice, settings, url):
    settings.DEBUG = True
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content
    assert "Using the URLconf" not in content  # Django's technical 404
    assert "settings file" not in content


def test_in_development_a_page_that_exists_is_untouched(client, alice, alice_team, settings):
    settings.DEBUG = True
    client.force_login(alice)
    assert client.get(f"/t/{alice_team.slug}/").status_code == 200


@pytest.mark.urls(__name__)
def test_a_refusal_answers_our_403(client, alice):
    client.force_login(alice)
    response = client.get("/test/refuse/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_crash_answers_our_500_without_touching_the_database(client, alice):
    client.raise_request_exception = False
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/test/fail/")
    assert response.status_code == 500
    content = response.content.decode()
    assert "Something went wrong" in content
    assert "/static/css/app.css" in content
    # The session and user are loaded before the view; rendering the page adds no query.
    rendered = [q["sql"] for q in queries.captured_queries if "django_session" not in q["sql"]]
    assert all("auth_user" in sql for sql in rendered), rendered


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url == "/static/favicon.svg"
    icon = client.get(response.url)
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)

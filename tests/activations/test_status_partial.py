"""The activation page's status partial, as htmx polls it: 204 with no body while nothing it
shows has changed, the whole section again when something has, 286 once the activation is
closed, 404 for anyone outside the team, and two or three queries whatever it answers."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activations.models import Activation
from dashboard.models import Membership, Role

State = Activation.State
HTMX = {"HX-Request": "true"}


def page_url(activation) -> str:
    return f"/t/{activation.team.slug}/activations/{activation.pk}/"


def polled_url(client, activation) -> str:
    """The section's hx-get on the page as it is now: what the open page polls."""
    content = client.get(page_url(activation)).content.decode()
    return unescape(re.search(r'<section id="activation-status"[^>]*hx-get="([^"]+)"', content)[1])


def poll(client, url):
    return client.get(url, headers=HTMX)


@pytest.fixture
def waiting(client, alice, make_activation):
    client.force_login(alice)
    return make_activation()


def test_an_unchanged_status_is_answered_204_without_a_body(client, waiting):
    url = polled_url(client, waiting)
    for _ in range(2):
        response = poll(client, url)
        assert response.status_code == 204
        assert response.content == b""


def test_a_code_that_arrived_brings_the_section_with_the_code_marked_new(client, waiting):
    url = polled_url(client, waiting)
    Activation.objects.filter(pk=waiting.pk).update(state=State.CODE_RECEIVED, codes=["4711"])
    response = poll(client, url)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<span class="code new">4711</span>' in content
    assert "<title>4711 · +" in content
    # The new section polls with what it shows now: unchanged from there on.
    next_url = unescape(re.search(r'hx-get="([^"]+)"', content)[1])
    assert next_url != url
    assert poll(client, next_url).status_code == 204


def test_a_closed_activation_is_shown_and_stops_the_polling(client, waiting):
    url = polled_url(client, waiting)
    Activation.objects.filter(pk=waiting.pk).update(state=State.CANCELLED)
    response = poll(client, url)
    assert response.status_code == 286
    assert b"Cancelled" in response.content
    assert b"hx-get" not in response.content


def test_the_time_left_is_shown_again_when_it_changes(client, waiting):
    url = polled_url(client, waiting)
    Activation.objects.filter(pk=waiting.pk).update(
        expires_at=waiting.expires_at - timedelta(minutes=5)
    )
    response = poll(client, url)
    assert response.status_code == 200
    assert re.search(r"expires <time [^>]+>in 1[45] min</time>", response.content.decode())


def test_a_provider_in_trouble_is_shown(client, waiting):
    url = polled_url(client, waiting)
    Activation.objects.filter(pk=waiting.pk).update(poll_failures=2)
    response = poll(client, url)
    assert response.status_code == 200
    assert b"Provider not answering, retrying" in response.content


def test_a_member_made_viewer_loses_the_buttons(client, bob, make_activation):
    activation = make_activation(user=bob)
    client.force_login(bob)
    url = polled_url(client, activation)
    Membership.objects.filter(user=bob).update(role=Role.VIEWER)
    response = poll(client, url)
    assert response.status_code == 200
    assert b"/cancel/" not in response.content


def test_a_poll_without_the_fingerprint_gets_the_section(client, waiting):
    for query in ("?seen=0", "?seen=0&shown=stale", "?seen=x&shown="):
        response = poll(client, page_url(waiting) + query)
        assert response.status_code == 200
        assert b'<section id="activation-status"' in response.content


def test_another_teams_member_gets_404_even_with_the_fingerprint(
    client, alice, charlie, make_activation
):
    activation = make_activation()
    client.force_login(alice)
    query = polled_url(client, activation).split("?", 1)[1]
    client.force_login(charlie)
    assert poll(client, f"{page_url(activation)}?{query}").status_code == 404
    other = f"/t/charlies-team/activations/{activation.pk}/?{query}"
    assert poll(client, other).status_code == 404


def test_the_team_in_the_url_must_be_one_of_the_members(client, alice, charlie, make_activation):
    activation = make_activation()
    client.force_login(alice)  # her own activation, asked for through a team she is not in
    assert poll(client, f"/t/charlies-team/activations/{activation.pk}/?seen=0").status_code == 404


@pytest.mark.parametrize("changed", [False, True])
def test_a_poll_makes_three_queries_with_database_sessions(client, waiting, changed, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client.force_login(waiting.user)
    url = polled_url(client, waiting)
    if changed:
        Activation.objects.filter(pk=waiting.pk).update(codes=["1"], state=State.CODE_RECEIVED)
    with CaptureQueriesContext(connection) as queries:
        response = poll(client, url)
    assert response.status_code == (200 if changed else 204)
    tables = [re.search(r'FROM "(\w+)"', q["sql"])[1] for q in queries.captured_queries]
    assert tables == ["django_session", "auth_user", "activations_activation"]
    # The membership check is the activation query's join, not a query of its own.
    assert '"dashboard_membership"."user_id"' in queries.captured_queries[-1]["sql"]


def test_a_poll_reads_no_session_from_the_database_with_cached_sessions(client, waiting, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(waiting.user)
    url = polled_url(client, waiting)
    with CaptureQueriesContext(connection) as queries:
        assert poll(client, url).status_code == 204
    assert len(queries) == 2
    assert "django_session" not in " ".join(q["sql"] for q in queries.captured_queries)

"""The home page says when the poller last ran."""

from datetime import timedelta

from django.utils import timezone

from activations.models import WorkerHeartbeat


def test_the_home_page_says_the_poller_never_ran(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert b"The background poller has not run yet" in response.content


def test_the_home_page_shows_when_the_poller_last_ran(client, alice, alice_team):
    WorkerHeartbeat.objects.create(
        name="poller", last_seen_at=timezone.now() - timedelta(seconds=4)
    )
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert b"Poller last ran 4 s ago." in response.content
    assert b"poller-status stale" not in response.content


def test_the_home_page_warns_when_the_poller_stopped(client, alice, alice_team):
    WorkerHeartbeat.objects.create(
        name="poller", last_seen_at=timezone.now() - timedelta(minutes=7)
    )
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert b"poller-status stale" in response.content
    assert b"last ran 7\xc2\xa0minutes ago" in response.content
    assert b"is the worker running?" in response.content

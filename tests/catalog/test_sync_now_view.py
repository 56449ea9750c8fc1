from datetime import timedelta

from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import Provider
from catalog.tasks import SYNC_TIMEOUT, sync_provider_catalog


def url(team):
    return f"/t/{team.slug}/catalog/sync/"


def test_it_queues_a_sync_by_provider_id(client, alice, alice_team, provider, queued):
    client.force_login(alice)
    response = client.post(url(alice_team), {"provider": provider.pk})
    assert response.status_code == 302
    assert response.url == f"/t/{alice_team.slug}/catalog/"
    assert queued == [("catalog.tasks.sync_provider_catalog", (provider.pk, "full"))]


def test_it_goes_through_the_broker_with_the_sync_timeout(client, alice, alice_team, provider):
    client.force_login(alice)
    client.post(url(alice_team), {"provider": provider.pk})
    task = OrmQ.objects.get().task
    assert task["func"] == "catalog.tasks.sync_provider_catalog"
    assert task["args"] == (provider.pk, "full")
    assert task["timeout"] == SYNC_TIMEOUT


def test_a_member_may_not_sync(client, bob, alice_team, provider, queued):
    client.force_login(bob)
    assert client.post(url(alice_team), {"provider": provider.pk}).status_code == 403
    assert queued == []


def test_it_checks_membership(client, charlie, alice_team, provider, queued):
    client.force_login(charlie)
    assert client.post(url(alice_team), {"provider": provider.pk}).status_code == 404


def test_it_is_post_only(client, alice, alice_team, provider):
    client.force_login(alice)
    assert client.get(url(alice_team)).status_code == 405


def test_an_unknown_provider_is_not_found(client, alice, alice_team, queued):
    client.force_login(alice)
    assert client.post(url(alice_team), {"provider": "x"}).status_code == 404
    assert client.post(url(alice_team), {"provider": 999}).status_code == 404


def test_it_does_not_queue_while_a_sync_runs(client, alice, alice_team, provider, queued):
    Provider.objects.filter(pk=provider.pk).update(
        sync_claimed_until=timezone.now() + timedelta(minutes=5)
    )
    client.force_login(alice)
    response = client.post(url(alice_team), {"provider": provider.pk}, follow=True)
    assert queued == []
    assert b"already on its way" in response.content


def test_presses_while_a_sync_waits_queue_nothing_more(
    client, alice, alice_team, charlie, provider, queued
):
    client.force_login(alice)
    client.post(url(alice_team), {"provider": provider.pk})
    again = client.post(url(alice_team), {"provider": provider.pk}, follow=True)
    client.force_login(charlie)  # another team's manager
    charlies_team = charlie.memberships.get().team
    client.post(url(charlies_team), {"provider": provider.pk})

    assert len(queued) == 1
    assert b"already on its way" in again.content


def test_once_the_queued_sync_has_run_another_can_be_queued(
    client, alice, alice_team, provider, queued
):
    client.force_login(alice)
    client.post(url(alice_team), {"provider": provider.pk})
    sync_provider_catalog(provider.pk)  # what the worker does with the task
    client.post(url(alice_team), {"provider": provider.pk})
    assert len(queued) == 2


def test_a_queued_mark_whose_task_was_lost_goes_stale(client, alice, alice_team, provider, queued):
    Provider.objects.filter(pk=provider.pk).update(
        sync_queued_until=timezone.now() - timedelta(seconds=1)
    )
    client.force_login(alice)
    client.post(url(alice_team), {"provider": provider.pk})
    assert len(queued) == 1


def test_a_press_that_could_not_queue_leaves_no_mark(
    client, alice, alice_team, provider, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("catalog.tasks.async_task", broker_down)
    client.force_login(alice)
    client.raise_request_exception = False
    assert client.post(url(alice_team), {"provider": provider.pk}).status_code == 500
    provider.refresh_from_db()
    assert provider.sync_queued_until is None

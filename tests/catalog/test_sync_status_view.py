"""The catalog's sync status card and its polled partial: what it says while a sync is
queued, running, done or failed, and the empty catalog while the first sync is on its way."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Provider, SyncRun
from catalog.sync.claims import SYNC_CLAIM
from catalog.tasks import sync_provider_catalog

HTMX = {"HTTP_HX_REQUEST": "true"}


def status_url(team, provider, shown=None):
    url = f"/t/{team.slug}/catalog/sync/{provider.pk}/"
    return f"{url}?shown={shown}" if shown else url


def browse(client, team, query=""):
    return client.get(f"/t/{team.slug}/catalog/{query}").content.decode()


@pytest.fixture
def worker_stopped(monkeypatch):
    monkeypatch.setattr("catalog.sync.status.worker_running", lambda: False)


def mark_queued(provider, seconds_ago=0):
    queued_at = timezone.now() - timedelta(seconds=seconds_ago)
    Provider.objects.filter(pk=provider.pk).update(sync_queued_until=queued_at + SYNC_CLAIM)


def mark_running(provider, seconds_ago=20):
    Provider.objects.filter(pk=provider.pk).update(
        sync_claimed_until=timezone.now() + SYNC_CLAIM, sync_queued_until=None
    )
    return SyncRun.objects.create(
        provider=provider, started_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def test_sync_now_from_htmx_answers_the_card_saying_queued(
    client, alice, alice_team, provider, queued
):
    client.force_login(alice)
    response = client.post(f"/t/{alice_team.slug}/catalog/sync/", {"provider": provider.pk}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Sync queued 0 s ago; it starts in a moment." in body
    assert 'hx-trigger="every 2s"' in body
    assert ">Sync now</button>" not in body  # nothing to press while it is on its way
    assert len(queued) == 1
    # The results reload too, to say the catalog is on its way.
    assert response["HX-Trigger"] == "catalog-sync-changed"


def test_sync_now_without_javascript_goes_back_to_the_page_it_was_on(
    client, alice, alice_team, provider, queued, make_offer
):
    service = make_offer(provider, "tg").service
    page = f"/t/{alice_team.slug}/catalog/services/{service.pk}/"
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/catalog/sync/", {"provider": provider.pk, "next": page}
    )
    assert response.url == page
    # Somewhere else: back to the catalog.
    response = client.post(
        f"/t/{alice_team.slug}/catalog/sync/", {"provider": provider.pk, "next": "https://x.test/"}
    )
    assert response.url == f"/t/{alice_team.slug}/catalog/"


def test_a_running_sync_says_what_it_does_and_since_when(client, bob, alice_team, provider):
    mark_running(provider, seconds_ago=20)
    client.force_login(bob)
    body = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    assert "Getting the catalog from Acme SMS… (started 20 s ago)" in body
    assert 'hx-trigger="every 2s"' in body


def test_a_card_that_only_counts_on_does_not_reload_the_results(client, bob, alice_team, provider):
    mark_running(provider, seconds_ago=20)
    client.force_login(bob)
    response = client.get(status_url(alice_team, provider, "older&phase=running"), **HTMX)
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    response = client.get(status_url(alice_team, provider, "older&phase=queued"), **HTMX)
    assert response["HX-Trigger"] == "catalog-sync-changed"


def test_an_unchanged_card_is_answered_204(client, bob, alice_team, provider):
    mark_queued(provider, seconds_ago=90)  # "1 min ago" for a while: the card reads the same
    client.force_login(bob)
    first = client.get(status_url(alice_team, provider), **HTMX)
    shown = first.content.decode().split("?shown=")[1].split('"')[0].replace("&amp;", "&")
    again = client.get(status_url(alice_team, provider, shown), **HTMX)
    assert again.status_code == 204
    assert again.content == b""


def test_the_last_poll_stops_polling_and_tells_the_catalog(client, bob, alice_team, provider):
    run = mark_running(provider)
    client.force_login(bob)
    shown = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    shown = shown.split("?shown=")[1].split('"')[0].replace("&amp;", "&")
    run.finished_at = timezone.now()
    run.offers = 12
    run.save()
    Provider.objects.filter(pk=provider.pk).update(sync_claimed_until=None)

    response = client.get(status_url(alice_team, provider, shown), **HTMX)
    assert response.status_code == 286  # htmx stops polling
    assert response["HX-Trigger"] == "catalog-sync-changed"
    body = response.content.decode()
    assert "Up to date, synced just now." in body
    assert "hx-trigger" not in body


def test_a_poll_costs_a_few_queries(client, bob, alice_team, provider):
    mark_running(provider)
    client.force_login(bob)
    client.get(status_url(alice_team, provider), **HTMX)  # the session is warm
    with CaptureQueriesContext(connection) as queries:
        client.get(status_url(alice_team, provider, "x"), **HTMX)
    assert len(queries) <= 5


def test_a_sync_waiting_for_a_stopped_worker_says_updates_are_paused(
    client, bob, alice, alice_team, provider, worker_stopped
):
    mark_queued(provider, seconds_ago=120)
    client.force_login(bob)
    body = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    assert "Background updates are paused; the sync starts once they resume." in body
    assert "qcluster" not in body  # no operator's instructions for a member

    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    body = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    assert "the worker (<code>manage.py qcluster</code>) is not running" in body


def test_a_sync_just_queued_does_not_ask_about_the_worker(
    client, bob, alice_team, provider, worker_stopped
):
    mark_queued(provider, seconds_ago=3)
    client.force_login(bob)
    body = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    assert "it starts in a moment" in body
    assert "paused" not in body


def test_a_failed_sync_says_why_in_words(client, alice, alice_team, provider):
    sync_provider_catalog(provider.pk)  # no key anywhere: the sync cannot list anything
    client.force_login(alice)
    body = client.get(status_url(alice_team, provider), **HTMX).content.decode()
    assert "The last sync failed" in body
    assert "No team has attached an API key for Acme SMS yet" in body
    assert "NoSyncKey" not in body
    assert ">Sync now</button>" in body


def test_the_card_alone_is_no_page(client, bob, alice_team, provider):
    client.force_login(bob)
    response = client.get(status_url(alice_team, provider))
    assert response.url == f"/t/{alice_team.slug}/catalog/"


def test_it_checks_membership(client, charlie, alice_team, provider):
    client.force_login(charlie)
    assert client.get(status_url(alice_team, provider), **HTMX).status_code == 404


def test_a_disabled_or_unknown_provider_is_not_found(client, bob, alice_team, provider):
    Provider.objects.filter(pk=provider.pk).update(enabled=False)
    client.force_login(bob)
    assert client.get(status_url(alice_team, provider), **HTMX).status_code == 404
    assert client.get(f"/t/{alice_team.slug}/catalog/sync/999/", **HTMX).status_code == 404


# --- The empty catalog ------------------------------------------------------------------------


def test_while_the_first_sync_runs_the_catalog_says_it_is_on_its_way(
    client, bob, alice_team, provider
):
    mark_running(provider, seconds_ago=20)
    client.force_login(bob)
    body = browse(client, alice_team)
    assert "The catalog is on its way: first sync started 20 s ago." in body
    assert "No offers match" not in body
    assert "out of date" not in body
    assert 'hx-trigger="catalog-sync-changed from:body"' in body


def test_a_queued_first_sync_is_on_its_way_too(client, bob, alice_team, provider):
    mark_queued(provider, seconds_ago=5)
    client.force_login(bob)
    assert "The catalog is on its way: first sync queued 5 s ago." in browse(client, alice_team)


def test_with_no_sync_yet_a_manager_is_told_to_press_sync_now(
    client, alice, bob, alice_team, provider
):
    client.force_login(alice)
    assert "No catalog yet. Press Sync now above to get it." in browse(client, alice_team)
    client.force_login(bob)
    body = browse(client, alice_team)
    assert "No catalog yet: it arrives with the next scheduled sync." in body
    assert "Its catalog arrives with the next scheduled sync, within 15 minutes." in body


def test_once_there_are_prices_an_empty_result_is_the_filters(
    client, bob, alice_team, provider, make_offer
):
    make_offer(provider, "tg")
    SyncRun.objects.create(provider=provider, finished_at=timezone.now(), offers=1)
    client.force_login(bob)
    body = browse(client, alice_team, "?q=nothing-like-this")
    assert "No offers in stock match these filters." in body
    assert "on its way" not in body

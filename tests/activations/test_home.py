"""The team's home page (activations.home): who may open it, balances, this month's budget,
the open activations and when the poller last ran."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from activations.models import Activation, WorkerHeartbeat


def test_it_requires_sign_in(client, alice_team):
    response = client.get(f"/t/{alice_team.slug}/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_shows_the_team_home(client, alice, alice_team):
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert response.status_code == 200
    assert b"Alice&#x27;s Team" in response.content


def test_it_checks_membership(client, charlie, alice_team):
    client.force_login(charlie)
    assert client.get(f"/t/{alice_team.slug}/").status_code == 404


def test_the_home_page_shows_balances_budget_and_open_activations(
    client, alice, alice_team, alice_account, make_activation
):
    alice_team.monthly_budget = Decimal("40")
    alice_team.save()
    make_activation(price=Decimal("10.00"), state=Activation.State.CODE_RECEIVED, codes=["5150"])
    make_activation(price=Decimal("99.00"), state=Activation.State.CANCELLED)
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    content = response.content.decode()
    assert response.status_code == 200
    assert '<strong class="balance">$100.00</strong>' in content
    assert "<strong>$10.00</strong> of $40.00 used (25%)" in content
    assert 'id="open-activations"' in content
    assert "5150" in content
    assert f'hx-get="/t/{alice_team.slug}/activations/open/"' in content


def test_the_home_page_without_keys_or_activations(client, alice, alice_team):
    client.force_login(alice)
    content = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "No provider key yet" in content
    assert "No open activations" in content
    assert "hx-trigger" not in content


def test_charlie_sees_none_of_alices_balances(client, charlie, alice_account, make_activation):
    make_activation(state=Activation.State.CODE_RECEIVED, codes=["5150"])
    client.force_login(charlie)
    content = client.get("/t/charlies-team/").content.decode()
    assert "100.00" not in content
    assert "5150" not in content


def test_a_member_refreshes_a_balance_from_the_home_page(
    client, bob, alice_team, sandbox_account, sandbox_server
):
    sandbox_server.sandbox.set_balance(sandbox_server.api_key, "77.70")
    client.force_login(bob)
    home = f"/t/{alice_team.slug}/"
    response = client.post(
        f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/",
        {"next": home},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == home
    assert b'<strong class="balance">$77.70</strong>' in response.content


def test_the_refresh_goes_back_only_inside_the_team(client, alice, alice_team, sandbox_account):
    client.force_login(alice)
    response = client.post(
        f"/t/{alice_team.slug}/provider-accounts/{sandbox_account.pk}/refresh/",
        {"next": "https://evil.example/"},
    )
    assert response.url == f"/t/{alice_team.slug}/provider-accounts/"


@pytest.fixture
def worker(monkeypatch):
    """Whether the background worker runs, as the page finds out: set .running."""

    class Worker:
        running = True

    state = Worker()
    monkeypatch.setattr("activations.home.worker_running", lambda: state.running)
    return state


def test_a_starting_worker_is_said_to_start_without_operator_words(
    client, alice, alice_team, worker
):
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "Background updates are starting; codes will appear within a minute." in body
    assert "qcluster" not in body


def test_a_late_poller_with_its_worker_running_is_said_to_be_late(
    client, alice, alice_team, worker
):
    WorkerHeartbeat.objects.create(
        name="poller", last_seen_at=timezone.now() - timedelta(minutes=3)
    )
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "Background updates are running late (last update <time" in body
    assert "paused" not in body


def test_the_home_page_shows_when_the_poller_last_ran(client, alice, alice_team, worker):
    WorkerHeartbeat.objects.create(
        name="poller", last_seen_at=timezone.now() - timedelta(seconds=4)
    )
    client.force_login(alice)
    response = client.get(f"/t/{alice_team.slug}/")
    assert b"Codes are fetched in the background (last check 4 s ago)." in response.content
    assert b"poller-status stale" not in response.content


def test_a_stopped_worker_is_told_in_words_and_the_operator_gets_a_hint(
    client, alice, bob, alice_team, worker
):
    worker.running = False
    WorkerHeartbeat.objects.create(
        name="poller", last_seen_at=timezone.now() - timedelta(minutes=7)
    )
    client.force_login(bob)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "poller-status stale" in body
    assert "Background updates are paused; codes will appear once they resume." in body
    assert "7 min ago" in body
    assert "qcluster" not in body

    alice.is_staff = True
    alice.save()
    client.force_login(alice)
    body = client.get(f"/t/{alice_team.slug}/").content.decode()
    assert "For the operator: the background worker is not running." in body


def test_the_home_page_reads_a_constant_number_of_queries(
    client, alice, bob, alice_team, alice_account, make_activation, django_assert_max_num_queries
):
    """The view gathers what the page shows; nothing in the template asks the database."""
    make_activation(state=Activation.State.CODE_RECEIVED, codes=["1"])
    client.force_login(alice)
    client.get(f"/t/{alice_team.slug}/")
    with django_assert_max_num_queries(20) as one:
        client.get(f"/t/{alice_team.slug}/")
    for _ in range(10):
        make_activation(state=Activation.State.CODE_RECEIVED, codes=["1"], user=bob)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(f"/t/{alice_team.slug}/")
    assert response.content.count(b'data-copy="1"') == 11

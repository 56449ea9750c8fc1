"""The retry, complete and cancel buttons (POST forms that redirect back to the activation)."""

import pytest

from activations.buying import buy_number
from activations.models import Activation
from tests.activations.acting import acting

State = Activation.State


@pytest.fixture
def bought(alice, alice_team, sandbox_account, sandbox_offer):
    return buy_number(
        acting=acting(alice_team, alice), offer=sandbox_offer, request_token="token-view-move"
    ).activation


def post(client, activation, move):
    return client.post(
        f"/t/{activation.team.slug}/activations/{activation.pk}/{move}/",
        {"confirmed": "1"},  # as after the confirmation (tests/dashboard/test_confirm.py)
        follow=True,
    )


def test_it_cancels(client, alice, bought):
    client.force_login(alice)
    response = post(client, bought, "cancel")
    assert response.redirect_chain[-1][0] == f"/t/{bought.team.slug}/activations/{bought.pk}/"
    assert b"Cancelled. It costs nothing" in response.content
    bought.refresh_from_db()
    assert bought.state == State.CANCELLED


def test_an_illegal_move_is_a_message_not_an_error_page(client, alice, bought):
    client.force_login(alice)
    response = post(client, bought, "complete")
    assert response.status_code == 200
    assert b"Only an activation that has received a code can be completed" in response.content


def test_a_move_on_a_closed_activation_is_a_message(client, alice, bought):
    client.force_login(alice)
    post(client, bought, "cancel")
    response = post(client, bought, "cancel")
    assert response.status_code == 200
    assert b"already cancelled" in response.content


def test_it_completes_and_retries(client, alice, bought, sandbox_server):
    from activations.states import record_code

    record_code(bought, sandbox_server.sandbox.deliver_code(bought.provider_activation_id))
    client.force_login(alice)
    assert b"Waiting for another SMS" in post(client, bought, "retry").content
    assert b"Completed." in post(client, bought, "complete").content


def test_a_member_can_cancel(client, bob, bought):
    client.force_login(bob)
    post(client, bought, "cancel")
    bought.refresh_from_db()
    assert bought.state == State.CANCELLED


def test_a_viewer_cannot(client, victor, bought):
    client.force_login(victor)
    for move in ("cancel", "complete", "retry"):
        assert post(client, bought, move).status_code == 403
    bought.refresh_from_db()
    assert bought.state == State.WAITING


def test_it_checks_membership(client, charlie, bought):
    client.force_login(charlie)
    assert post(client, bought, "cancel").status_code == 404
    assert client.post(f"/t/charlies-team/activations/{bought.pk}/cancel/").status_code == 404


def test_it_requires_post(client, alice, bought):
    client.force_login(alice)
    url = f"/t/{bought.team.slug}/activations/{bought.pk}/cancel/"
    assert client.get(url).status_code == 405

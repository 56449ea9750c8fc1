"""Retry (3), complete (6) and cancel (8) against the sandbox: every answer, roles, races."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from activations.buying import buy_number
from activations.models import Activation
from activations.moves import cancel, complete, request_another_sms
from activations.states import record_code
from dashboard.models import AuditEvent
from tests.activations.acting import acting

State = Activation.State


@pytest.fixture
def bought(alice, alice_team, sandbox_account, sandbox_offer):
    outcome = buy_number(
        acting=acting(alice_team, alice), offer=sandbox_offer, request_token="token-bought-1"
    )
    assert outcome.ok, outcome.message
    AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)  # start each test's trail clean
    return outcome.activation


def deliver(sandbox_server, activation, code=None) -> str:
    """A code arrives at the provider and the poller stores it."""
    code = sandbox_server.sandbox.deliver_code(activation.provider_activation_id, code)
    record_code(activation, code)
    return code


def test_cancel_refunds_and_costs_nothing(
    alice, alice_team, bought, sandbox_server, sandbox_account
):
    before = sandbox_server.sandbox.balance(sandbox_server.api_key)
    outcome = cancel(acting=acting(alice_team, alice), activation=bought, ip="10.1.1.1")
    assert outcome.ok, outcome.message
    bought.refresh_from_db()
    assert bought.state == State.CANCELLED
    assert not bought.costs_money
    assert bought.closed_at is not None
    assert sandbox_server.sandbox.balance(sandbox_server.api_key) == before + bought.price
    sandbox_account.refresh_from_db()
    assert sandbox_account.balance == Decimal("1000.00")


def test_cancel_is_audited(alice, alice_team, bought):
    cancel(acting=acting(alice_team, alice), activation=bought, ip="10.1.1.1")
    action = AuditEvent.objects.get(kind="action")
    assert (action.action, action.outcome, action.ip) == ("cancelled", "ok", "10.1.1.1")
    assert action.object_id == str(bought.pk)
    call = AuditEvent.objects.get(kind="call")
    assert call.action == "setStatus"
    assert call.params["status"] == "8"
    assert call.answer == "ACCESS_CANCEL"


def test_cancel_too_soon_is_explained(alice, alice_team, bought, sandbox_server):
    sandbox_server.sandbox.min_cancel_age = 600
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "too soon" in outcome.message or "this soon" in outcome.message
    bought.refresh_from_db()
    assert bought.state == State.WAITING
    assert AuditEvent.objects.get(kind="action").outcome == "EARLY_CANCEL_DENIED"


def test_cancel_after_a_code_arrived_upstream_says_complete_instead(
    alice, alice_team, bought, sandbox_server
):
    sandbox_server.sandbox.deliver_code(bought.provider_activation_id)  # not seen here yet
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "Nothing changed; complete the activation instead." in outcome.message
    bought.refresh_from_db()
    assert bought.state == State.WAITING


def test_cancel_after_a_code_was_stored_is_refused_without_asking(
    alice, alice_team, bought, sandbox_server
):
    deliver(sandbox_server, bought)
    calls = sandbox_server.sandbox.request_counts["setStatus"]
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "complete it instead" in outcome.message
    assert sandbox_server.sandbox.request_counts["setStatus"] == calls


def test_complete_after_a_code(alice, alice_team, bought, sandbox_server):
    deliver(sandbox_server, bought, "12345")
    outcome = complete(acting=acting(alice_team, alice), activation=bought)
    assert outcome.ok, outcome.message
    bought.refresh_from_db()
    assert bought.state == State.COMPLETED
    assert bought.codes == ["12345"]
    assert bought.costs_money
    assert AuditEvent.objects.get(kind="action").action == "completed"


def test_complete_before_any_code_is_refused(alice, alice_team, bought):
    outcome = complete(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "received a code" in outcome.message


def test_another_sms_keeps_every_code(alice, alice_team, bought, sandbox_server):
    deliver(sandbox_server, bought, "1111")
    outcome = request_another_sms(acting=acting(alice_team, alice), activation=bought)
    assert outcome.ok, outcome.message
    bought.refresh_from_db()
    assert bought.state == State.WAITING_RETRY
    deliver(sandbox_server, bought, "2222")
    bought.refresh_from_db()
    assert bought.state == State.CODE_RECEIVED
    assert bought.codes == ["1111", "2222"]
    assert complete(acting=acting(alice_team, alice), activation=bought).ok
    assert AuditEvent.objects.filter(action="retry_requested", outcome="ok").exists()


def test_another_sms_before_a_code_is_refused(alice, alice_team, bought):
    outcome = request_another_sms(acting=acting(alice_team, alice), activation=bought)
    assert "only after a code" in outcome.message


def test_complete_while_waiting_for_another_code_is_allowed(
    alice, alice_team, bought, sandbox_server
):
    deliver(sandbox_server, bought)
    request_another_sms(acting=acting(alice_team, alice), activation=bought)
    assert complete(acting=acting(alice_team, alice), activation=bought).ok


def test_bad_status_on_retry_is_explained(alice, alice_team, bought, sandbox_server):
    code = deliver(sandbox_server, bought)
    # The provider completed it on its side (say, from its own website).
    with sandbox_server.client() as client:
        client.set_status(bought.provider_activation_id, 6)
    outcome = request_another_sms(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "does not allow another SMS" in outcome.message
    bought.refresh_from_db()
    assert bought.codes == [code]


def test_an_activation_the_provider_forgot_is_closed(alice, alice_team, bought):
    Activation.objects.filter(pk=bought.pk).update(provider_activation_id="999")
    bought.refresh_from_db()
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert "no longer knows this activation" in outcome.message
    bought.refresh_from_db()
    assert bought.state == State.EXPIRED
    assert AuditEvent.objects.get(kind="action").outcome == "NO_ACTIVATION"


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("http_500", "is not answering"),
        ("garbage", "cannot read"),
        ("error_sql", "database failed"),
    ],
)
def test_provider_faults_change_nothing(alice, alice_team, bought, sandbox_server, fault, words):
    sandbox_server.sandbox.set_fault(fault)
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert not outcome.ok
    assert words in outcome.message
    assert "Nothing changed" in outcome.message
    bought.refresh_from_db()
    assert bought.state == State.WAITING
    assert AuditEvent.objects.get(kind="call").outcome != "ok"


def test_a_rejected_key_on_cancel_is_explained(alice, alice_team, bought, sandbox_server):
    sandbox_server.sandbox.reset()  # the provider no longer knows the key
    outcome = cancel(acting=acting(alice_team, alice), activation=bought)
    assert "rejected the team's API key" in outcome.message


def test_a_closed_activation_is_refused_with_a_message(alice, alice_team, bought):
    assert cancel(acting=acting(alice_team, alice), activation=bought).ok
    for move in (cancel, complete, request_another_sms):
        outcome = move(acting=acting(alice_team, alice), activation=bought)
        assert not outcome.ok
        assert "already cancelled" in outcome.message


def test_a_member_may_act_on_the_teams_activations(bob, alice_team, bought):
    assert cancel(acting=acting(alice_team, bob), activation=bought).ok


def test_a_viewer_may_not_act(victor, alice_team, bought):
    for move in (cancel, complete, request_another_sms):
        with pytest.raises(PermissionDenied):
            move(acting=acting(alice_team, victor), activation=bought)


def test_charlie_may_not_act_on_alices_activation(charlie, bought):
    charlies_team = charlie.memberships.get().team
    with pytest.raises(PermissionDenied):
        cancel(acting=acting(charlies_team, charlie), activation=bought)


def test_a_code_stored_while_the_cancel_was_in_flight_is_kept(
    alice, alice_team, bought, sandbox_server, monkeypatch
):
    """The poller stores a code between the user's click and the provider's answer."""
    from activations import moves

    real_client = moves.provider_client

    def client_that_races(account, **options):
        client = real_client(account, **options)
        real_set_status = client.set_status

        def set_status(activation_id, status):
            result = real_set_status(activation_id, status)
            record_code(Activation.objects.get(pk=bought.pk), "7777")
            return result

        client.set_status = set_status
        return client

    monkeypatch.setattr(moves, "provider_client", client_that_races)
    assert cancel(acting=acting(alice_team, alice), activation=bought).ok
    bought.refresh_from_db()
    assert bought.state == State.CANCELLED
    assert bought.codes == ["7777"]

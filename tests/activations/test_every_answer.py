"""Every typed answer of the protocol client, for buy and for each move, ends in a clear
outcome: never an exception, never a half-made activation, never a state moved backwards."""

import pytest

from activations import buying, moves
from activations.models import Activation, Reservation
from provider import client as protocol
from tests.activations.acting import acting

State = Activation.State

ERRORS = [
    protocol.BadKey(),
    protocol.BadAction(),
    protocol.BadLang(),
    protocol.NoActivation(),
    protocol.NoBalance(),
    protocol.NoNumbers(),
    protocol.ProviderSqlError(),
    protocol.EarlyCancelDenied(),
    protocol.BadStatus(),
    protocol.BadService(),
    protocol.WrongActivationId(),
    protocol.Banned("2030-01-01"),
    protocol.ProviderUnavailable("The provider did not answer in time (ReadTimeout)."),
    protocol.RateLimited(retry_after=3),
    protocol.ProtocolError(raw="<html>oops</html>"),
]


class StubClient:
    def __init__(self, answer):
        self.answer = answer

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def _answer(self, *args):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    get_number = set_status = get_balance = _answer


@pytest.fixture
def answer_with(monkeypatch):
    def set_answer(answer):
        for module in (buying, moves):
            monkeypatch.setattr(module, "provider_client", lambda *a, **k: StubClient(answer))

    return set_answer


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_every_error_on_buy_is_a_message(
    alice, alice_team, alice_account, tg_offer, answer_with, error
):
    answer_with(error)
    outcome = buying.buy_number(
        acting=acting(alice_team, alice), offer=tg_offer, request_token="every-error-1"
    )
    assert not outcome.ok
    assert "Test provider" in outcome.message or "No numbers" in outcome.message
    assert not Activation.objects.exists()
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    ("move", "state", "codes"),
    [
        (moves.cancel, State.WAITING, []),
        (moves.complete, State.CODE_RECEIVED, ["1"]),
        (moves.request_another_sms, State.CODE_RECEIVED, ["1"]),
    ],
    ids=["cancel", "complete", "retry"],
)
def test_every_error_on_a_move_is_a_message(
    alice, alice_team, make_activation, answer_with, error, move, state, codes
):
    activation = make_activation(state=state, codes=codes)
    answer_with(error)
    outcome = move(acting=acting(alice_team, alice), activation=activation)
    assert not outcome.ok
    assert outcome.message
    activation.refresh_from_db()
    assert activation.codes == codes
    if isinstance(error, protocol.NoActivation):
        assert not activation.is_open  # the provider forgot it: closed, never reopened
    else:
        assert activation.state == state


@pytest.mark.parametrize("result", list(protocol.SetStatusResult))
@pytest.mark.parametrize(
    ("move", "state", "codes"),
    [
        (moves.cancel, State.WAITING, []),
        (moves.complete, State.CODE_RECEIVED, ["1"]),
        (moves.request_another_sms, State.CODE_RECEIVED, ["1"]),
    ],
    ids=["cancel", "complete", "retry"],
)
def test_every_access_answer_is_stored_as_the_provider_says(
    alice, alice_team, make_activation, answer_with, result, move, state, codes
):
    activation = make_activation(state=state, codes=codes)
    answer_with(result)
    outcome = move(acting=acting(alice_team, alice), activation=activation)
    assert outcome.ok
    activation.refresh_from_db()
    expected = {
        protocol.SetStatusResult.CANCEL: State.CANCELLED,
        protocol.SetStatusResult.ACTIVATION: State.COMPLETED,
        protocol.SetStatusResult.RETRY_GET: (
            State.WAITING_RETRY if state == State.CODE_RECEIVED else state
        ),
        protocol.SetStatusResult.READY: state,
    }[result]
    assert activation.state == expected
    assert activation.codes == codes

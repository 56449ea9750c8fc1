from decimal import Decimal

import pytest

from activations.models import Activation
from activations.states import mark_closed, mark_waiting_retry, record_code
from tests.fixtures.activations import run_in_threads

State = Activation.State


def test_a_code_moves_a_waiting_activation_to_code_received(make_activation):
    activation = make_activation()
    assert record_code(activation, "1234")
    activation.refresh_from_db()
    assert activation.state == State.CODE_RECEIVED
    assert activation.codes == ["1234"]
    assert activation.first_code_at is not None


def test_the_same_code_twice_is_stored_once(make_activation):
    activation = make_activation()
    assert record_code(activation, "1234")
    assert not record_code(activation, "1234")
    activation.refresh_from_db()
    assert activation.codes == ["1234"]


def test_codes_are_kept_as_a_list_after_a_retry(make_activation):
    activation = make_activation()
    record_code(activation, "0042")
    assert mark_waiting_retry(activation)
    assert activation.state == State.WAITING_RETRY
    record_code(activation, "0077")
    activation.refresh_from_db()
    assert activation.codes == ["0042", "0077"]
    assert activation.state == State.CODE_RECEIVED


def test_a_closed_activation_never_reopens_but_keeps_a_late_code(make_activation):
    activation = make_activation()
    assert mark_closed(activation, State.CANCELLED)
    assert not mark_closed(activation, State.COMPLETED)
    assert record_code(activation, "999")
    activation.refresh_from_db()
    assert activation.state == State.CANCELLED
    assert activation.codes == ["999"]
    assert activation.closed_at is not None


def test_a_stale_copy_cannot_undo_a_newer_state(make_activation):
    activation = make_activation()
    stale = Activation.objects.get(pk=activation.pk)
    record_code(activation, "1")
    mark_closed(activation, State.COMPLETED)
    # The stale copy still says WAITING; moving it must re-read, not overwrite.
    assert not mark_waiting_retry(stale)
    assert not mark_closed(stale, State.CANCELLED)
    assert stale.state == State.COMPLETED
    activation.refresh_from_db()
    assert activation.state == State.COMPLETED
    assert activation.codes == ["1"]


def test_cancelling_gives_the_price_back_to_the_stored_balance_once(make_activation):
    activation = make_activation(price=Decimal("10.00"))
    account = activation.account
    assert mark_closed(activation, State.CANCELLED)
    assert not mark_closed(activation, State.EXPIRED)
    account.refresh_from_db()
    assert account.balance == Decimal("110.00")


def test_closing_to_an_open_state_is_refused(make_activation):
    with pytest.raises(ValueError):
        mark_closed(make_activation(), State.WAITING)


@pytest.mark.django_db(transaction=True)
def test_codes_written_by_parallel_writers_are_all_kept(make_activation):
    activation = make_activation()
    codes = [f"{n:04d}" for n in range(8)]

    def write(code):
        return record_code(Activation.objects.get(pk=activation.pk), code)

    results = run_in_threads(write, [(code,) for code in codes])
    assert results == [True] * len(codes)
    activation.refresh_from_db()
    assert sorted(activation.codes) == codes
    assert activation.revision == len(codes)

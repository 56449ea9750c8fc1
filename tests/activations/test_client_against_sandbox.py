"""The protocol client against the sandbox provider over real HTTP on loopback."""

import time
from decimal import Decimal

from activations.client import STATUS_CANCEL, SetStatusResult, StatusState


def test_a_number_is_bought_and_its_code_arrives(sandbox_server):
    with sandbox_server.client() as client:
        number = client.get_number("tg", 0, "any")
        assert client.get_status(number.activation_id).state == StatusState.WAIT_CODE
        time.sleep(0.25)
        status = client.get_status(number.activation_id)
        assert status.state == StatusState.OK
        assert status.code == sandbox_server.sandbox.activation(number.activation_id).code


def test_a_cancel_before_the_code_refunds(sandbox_server):
    with sandbox_server.client(method="POST") as client:
        number = client.get_number("tg", 0, "any")
        assert client.set_status(number.activation_id, STATUS_CANCEL) == SetStatusResult.CANCEL
        assert client.get_balance() == Decimal("1000.00")

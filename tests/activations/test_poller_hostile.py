"""A provider answer the database cannot store stops only its own activation (issue 12,
finding 1), and the audit log stores any provider text."""

import secrets
import threading
from datetime import timedelta

import pytest
from django.db import DataError, OperationalError, connection
from django.utils import timezone

from activations import states
from activations.models import Activation
from activations.poller import loop
from dashboard.audit import record_action, record_call
from dashboard.models import AuditEvent, Team
from provider.client import parse_number
from tests.activations.poller_support import poller
from tests.fixtures.activations import make_account

State = Activation.State
UNSTORABLE = "Provider sent an answer SMS Desk cannot store, retrying"
# Today's client passes a NUL code on to the poller; the hardened one refuses it at the edge.
NUL_CODE_MESSAGES = {UNSTORABLE, "Provider sent an answer we cannot read, retrying"}

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite stores NUL; PostgreSQL refuses it"
)


def one_pass(**options):
    """One pass of a fresh poller, stopped after `STALL_SECONDS` if it stalls (a flush that
    fails on every tick never ends a pass: the test then fails on what was not stored)."""
    worker = poller(**options)
    stall = threading.Timer(STALL_SECONDS, worker.stop)
    stall.start()
    try:
        return worker.run_once()
    finally:
        stall.cancel()


STALL_SECONDS = 15.0


@pytest.fixture
def other_team_activation(poll_provider, poll_offer, charlie, sandbox_server):
    """Charlie's team's activation at the same provider, bought with its own sandbox key."""
    api_key = f"sandbox-test-{secrets.token_hex(8)}"
    sandbox_server.sandbox.add_account(api_key, 1000)
    team = Team.objects.get(slug="charlies-team")
    account = make_account(team, poll_provider, api_key=api_key, balance="1000")
    answer = sandbox_server.sandbox.handle(
        {"api_key": api_key, "action": "getNumber", "service": "tg", "country": "0", "lang": "en"}
    )
    number = parse_number(answer.body)
    created = timezone.now() - timedelta(seconds=30)
    return Activation.objects.create(
        team=team,
        user=charlie,
        account=account,
        provider=poll_provider,
        service=poll_offer.service,
        country=poll_offer.country,
        operator=poll_offer.operator,
        phone=number.phone,
        provider_activation_id=number.activation_id,
        price=poll_offer.price,
        created_at=created,
        updated_at=created,
        next_poll_at=created,
        expires_at=created + timedelta(minutes=20),
    )


@postgresql_only
def test_a_code_with_a_nul_byte_does_not_stop_another_teams_code(
    buy, other_team_activation, sandbox_server
):
    hostile, honest = buy(), other_team_activation
    sandbox = sandbox_server.sandbox
    sandbox.deliver_code(hostile.provider_activation_id, code="12\x0034")
    sandbox.deliver_code(honest.provider_activation_id, code="565656")

    started = timezone.now()
    summary = one_pass(interval=10)

    honest.refresh_from_db()
    assert honest.codes == ["565656"]
    assert honest.state == State.CODE_RECEIVED
    assert honest.last_poll_error == ""
    hostile.refresh_from_db()
    assert hostile.codes == []
    assert hostile.state == State.WAITING
    assert hostile.last_poll_error in NUL_CODE_MESSAGES
    assert hostile.poll_failures == 1
    assert hostile.next_poll_at > started + timedelta(seconds=10)  # backed off
    assert hostile.claimed_by == ""
    assert (summary.codes, summary.errors) == (1, 1)
    # What the provider sent is in the audit log, the NUL replaced.
    answers = AuditEvent.objects.filter(action="getStatus").values_list("answer", flat=True)
    assert "STATUS_OK:12\ufffd34" in answers


def test_a_row_the_database_refuses_is_that_rows_error_and_backs_off(
    buy, other_team_activation, sandbox_server, monkeypatch
):
    hostile, honest = buy(), other_team_activation
    for activation in (hostile, honest):
        sandbox_server.sandbox.deliver_code(activation.provider_activation_id)
    original = states.record_code

    def record_code(activation, code):
        if activation.pk == hostile.pk:
            raise DataError("invalid byte sequence for encoding UTF8: 0x00")
        return original(activation, code)

    monkeypatch.setattr(states, "record_code", record_code)
    waits = []
    for _ in range(3):
        Activation.objects.filter(pk=hostile.pk).update(next_poll_at=timezone.now())
        started = timezone.now()
        summary = one_pass(interval=1)
        ended = timezone.now()
        hostile.refresh_from_db()
        # The back-off counts from the flush, somewhere in the pass: at least the wait from
        # its start, at most the wait from its end.
        waits.append(
            (
                (hostile.next_poll_at - started).total_seconds(),
                (hostile.next_poll_at - ended).total_seconds(),
            )
        )
        assert summary.errors == 1

    honest.refresh_from_db()
    assert honest.state == State.CODE_RECEIVED
    assert honest.codes == sandbox_server.sandbox.activation(honest.provider_activation_id).codes
    assert hostile.state == State.WAITING
    assert hostile.codes == []
    assert hostile.last_poll_error == UNSTORABLE
    assert hostile.poll_failures == 3
    assert waits[0][0] >= 1 and waits[0][1] <= 2.2  # 2 x interval, jittered down to half
    assert waits[2][0] >= 4 and waits[2][1] <= 8.2  # 8 x interval
    assert AuditEvent.objects.filter(
        action="getStatus", outcome="unstorable", object_id=str(hostile.pk)
    ).exists()


def test_a_database_outage_while_storing_a_row_is_not_that_rows_error(
    buy, sandbox_server, monkeypatch
):
    activation = buy()
    sandbox_server.sandbox.deliver_code(activation.provider_activation_id, "343434")
    original = states.record_code
    failures = {"left": 1}

    def record_code(activation, code):
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return original(activation, code)

    monkeypatch.setattr(states, "record_code", record_code)
    monkeypatch.setattr(loop, "_reset_connection", lambda: None)
    summary = one_pass()
    assert summary.db_errors == 1
    activation.refresh_from_db()
    assert activation.codes == ["343434"]
    assert activation.poll_failures == 0
    assert activation.last_poll_error == ""


def test_the_audit_log_stores_any_provider_text(alice, alice_team):
    call = record_call(
        team=alice_team,
        account=None,
        action="getStatus",
        params={"id": "12\x0034", "odd\x00name": {"deep": ["\x1b[31m", "\ud800"]}},
        answer="STATUS_OK:12\x0034\x07" + "9" * 100_000,
        http_status=200,
        latency_ms=5,
        outcome="ERR\x00OR",
    )
    action = record_action(
        team=alice_team,
        user=alice,
        action="bought",
        phone="7\x00" + "1" * 100_000,
        price=float("nan"),
    )
    call.refresh_from_db()
    action.refresh_from_db()
    assert call.answer.startswith("STATUS_OK:12\ufffd34\ufffd999")
    assert len(call.answer) == 2000
    assert call.params == {"id": "12\ufffd34", "odd\ufffdname": {"deep": ["\ufffd[31m", "\ufffd"]}}
    assert call.outcome == "ERR\ufffdOR"
    assert action.params["phone"].startswith("7\ufffd111")
    assert len(action.params["phone"]) == 500
    assert action.params["price"] == "nan"


def test_a_trickling_answer_costs_only_its_own_poll(buy, other_team_activation, sandbox_server):
    """An answer sent one byte at a time used to keep its poll, and so the pass, alive for
    as long as the bytes kept coming (each read was within its timeout): `poll_once` hung."""
    hostile, honest = buy(), other_team_activation
    sandbox = sandbox_server.sandbox
    sandbox.deliver_code(honest.provider_activation_id, code="424242")
    sandbox.set_fault("trickle", api_key=sandbox_server.api_key, seconds=0.3)
    started = timezone.now()
    try:
        summary = one_pass(claim_seconds=2)  # a poll's deadline is half its claim: 1 s
    finally:
        sandbox.clear_faults()

    assert timezone.now() - started < timedelta(seconds=STALL_SECONDS / 3)
    honest.refresh_from_db()
    assert honest.codes == ["424242"]
    hostile.refresh_from_db()
    assert hostile.last_poll_error == "Provider not answering, retrying"
    assert hostile.poll_failures == 1
    assert (summary.codes, summary.errors) == (1, 1)

"""The suite-wide key scan (tests/fixtures/key_scan.py) sees what it must see.

The scan itself runs around every test of the suite; these tests show that it records the
keys and the outputs, and that a leak is reported by test and URL without the key.
tests/activations/test_secrets.py walks a key through every page, log and dump on purpose.
"""

import logging

from catalog.accounts import encrypt_key  # imported by name, as the services do
from dashboard import tokens
from dashboard.audit import record_action
from provider.sandbox.rules import Sandbox
from tests.activations.acting import acting
from tests.fixtures.key_scan import KeyScan, scan


def pending_places() -> list[str]:
    return [where for where, _text, _request in scan.pending]


def test_a_stored_key_is_remembered_whoever_encrypts_it(db):
    encrypt_key("scan-self-test-key-0001")
    assert "scan-self-test-key-0001" in scan.plain_keys


def test_a_key_given_to_the_sandbox_is_remembered():
    Sandbox().add_account("scan-self-test-key-0002")
    assert "scan-self-test-key-0002" in scan.plain_keys


def test_responses_log_records_and_audit_events_are_captured(client, alice, alice_team):
    client.get("/accounts/login/")
    logging.getLogger("tests.security.scan").warning("a line to scan")
    logging.getLogger("django.server").warning("a request line")  # does not propagate
    record_action(team=alice_team, user=alice, action="budget_changed", to="1")
    places = pending_places()
    here = "test_responses_log_records_and_audit_events_are_captured"
    assert any(here in p and p.endswith("GET /accounts/login/") for p in places)
    assert any(p.endswith("log record of tests.security.scan") for p in places)
    assert any(p.endswith("log record of django.server") for p in places)
    assert any(p.endswith("AuditEvent 'budget_changed'") for p in places)


def test_a_leak_is_named_by_test_and_url_without_the_key():
    own = KeyScan()
    own.remember_key("plain-stored-key-4321")
    own.remember_key("sandbox-test-0123456789abcdef")
    own.remember_key("short")  # too short to search for
    own.current_test = "tests/x.py::test_y"
    own.capture("responses", "GET /t/a/?api_key=plain-stored-key-4321", "<p>plain-stored-key-4321")
    own.capture("log records", "log record of x", "key sandbox-test-0123456789abcdef!")
    own.capture("audit events", "AuditEvent 'x'", "nothing here")
    leaks = own.scan_pending()
    assert leaks == [
        "stored key #1 in tests/x.py::test_y: GET /t/a/?api_key=<key>",
        "a sandbox fixture key in tests/x.py::test_y: log record of x",
    ]
    assert own.pending == []
    assert "short" not in own.plain_keys


SECRET = "smsd_" + "A1b2C3d4E5" * 4


def test_a_token_secret_is_remembered_when_created(alice, alice_team):
    new = tokens.create_token(acting=acting(alice_team, alice), name="scan self-test")
    assert new.secret in scan.token_secrets
    assert scan.token_secrets[new.secret][1] is None  # made outside any request


def test_a_token_secret_may_show_only_in_the_answer_to_the_post_that_created_it():
    own = KeyScan()
    own.remember_token(SECRET, request=7)
    own.current_test = "tests/x.py::test_y"
    page = f"<input value='{SECRET}' readonly>"
    own.capture("responses", "POST /t/a/api-access/", page, 7)  # the creating POST: allowed
    own.capture("responses", "GET /t/a/api-access/", page, 8)  # a reload: a leak
    own.capture("responses", "POST /t/a/api-access/", page, 9)  # another POST: a leak
    own.capture("log records", "log record of x", f"token {SECRET}")  # during request 7
    own.capture("audit events", "AuditEvent 'token_created'", f'["{SECRET}"]')
    assert own.scan_pending() == [
        "API token secret #1 in tests/x.py::test_y: GET /t/a/api-access/",
        "API token secret #1 in tests/x.py::test_y: POST /t/a/api-access/",
        "API token secret #1 in tests/x.py::test_y: log record of x",
        "API token secret #1 in tests/x.py::test_y: AuditEvent 'token_created'",
    ]


def test_a_token_secret_made_outside_a_request_may_show_nowhere():
    own = KeyScan()
    own.remember_token(SECRET)
    assert own.leaked_keys(f"x{SECRET}x", "POST /t/a/api-access/", None) == ["API token secret #1"]
    assert own.redact(f"at /t/a/?api_key={SECRET}") == "at /t/a/?api_key=<token>"

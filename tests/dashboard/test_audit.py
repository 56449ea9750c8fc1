from decimal import Decimal

from django.test import RequestFactory

from dashboard.audit import client_ip, record_action, record_call, redact
from dashboard.models import AuditEvent


def test_it_records_a_user_action(alice, alice_team):
    event = record_action(
        team=alice_team,
        user=alice,
        action="budget_changed",
        obj=alice_team,
        ip="10.0.0.1",
        before=None,
        after=Decimal("5.00"),
    )
    event.refresh_from_db()
    assert event.kind == AuditEvent.Kind.ACTION
    assert event.user == alice
    assert event.object_type == "dashboard.team"
    assert event.object_id == str(alice_team.pk)
    assert event.params == {"before": None, "after": "5.00"}
    assert event.ip == "10.0.0.1"


def test_it_strips_anything_named_like_a_key(alice_team):
    event = record_call(
        team=alice_team,
        account=None,
        action="getBalance",
        params={"action": "getBalance", "api_key": "KEY", "nested": {"API_KEY": "KEY"}},
        answer="12.00",
        http_status=200,
        latency_ms=12,
        outcome="ok",
    )
    event.refresh_from_db()
    assert "KEY" not in str(event.params)
    assert event.params == {"action": "getBalance", "nested": {}}
    assert redact({"password": "x", "list": [{"secret": 1, "a": 2}]}) == {"list": [{"a": 2}]}


def test_audit_events_are_append_only(alice_team):
    event = record_action(team=alice_team, user=None, action="x")
    for attempt in (event.save, event.delete):
        try:
            attempt()
        except ValueError:
            pass
        else:
            raise AssertionError("an audit event was changed")


def test_client_ip_reads_remote_addr():
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7")
    assert client_ip(request) == "192.0.2.7"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="garbage")) is None

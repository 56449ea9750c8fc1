"""Writing the append-only audit log: user actions and upstream calls.

Services call `record_action` in the same transaction as the change they record (like Zulip's
`do_*` functions); `catalog.upstream` calls `record_call` for every upstream call that can
change money or state and for every upstream error. Neither ever receives an API key, and both
strip anything that looks like one before writing, in case a caller slips.

Events written during one web request or worker job (`one_request`) share its `request_id`,
so the audit page shows a person's action with the provider calls it made nested under it.

Provider text (answers, parameter values, error messages) is untrusted: it is stored with
control characters replaced and its length bounded, so that no answer can make an audit write
fail (PostgreSQL refuses NUL in text and jsonb) and roll back the change it records.
"""

import datetime
import ipaddress
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from itertools import islice
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from dashboard.models import ApiToken, AuditEvent
from provider.answers import storable

ANSWER_LIMIT = 2000
# Characters of each string in params and of each key; entries of each dict or list; depth.
PARAM_LIMIT = 500
KEY_LIMIT = 64
PARAM_ITEMS = 100
PARAM_DEPTH = 6

# Parameter names never written, at any depth (pretix masks the same kind of names).
SECRET_NAMES = frozenset({"api_key", "apikey", "key", "password", "secret", "key_ciphertext"})


class Action(models.TextChoices):
    """Every kind of event the audit log holds, with its label: one list for every app."""

    # People's actions on numbers, keys and budgets (activations, catalog).
    BOUGHT = "bought", _("Bought a number")
    RETRY_REQUESTED = "retry_requested", _("Requested another SMS")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    KEY_ADDED = "key_added", _("Key added")
    KEY_REPLACED = "key_replaced", _("Key replaced")
    KEY_REMOVED = "key_removed", _("Key removed")
    BALANCE_REFRESHED = "balance_refreshed", _("Balance refreshed")
    BUDGET_CHANGED = "budget_changed", _("Budget changed")
    ROUTING_CHANGED = "routing_changed", _("Routing changed")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    # The team and its members (dashboard).
    TEAM_UPDATED = "team_updated", _("Team updated")
    MEMBER_INVITED = "member_invited", _("Member invited")
    INVITATION_REVOKED = "invitation_revoked", _("Invitation revoked")
    MEMBER_JOINED = "member_joined", _("Member joined")
    MEMBER_LEFT = "member_left", _("Member left")
    MEMBER_REMOVED = "member_removed", _("Member removed")
    ROLE_CHANGED = "role_changed", _("Role changed")
    # What the poller did on its own when an activation ran out of time.
    EXPIRED = "expired", _("Expired")
    COMPLETED_AT_EXPIRY = "completed_at_expiry", _("Completed at expiry")
    # Calls to the provider (kind "call"), named by the protocol's actions.
    GET_NUMBER = "getNumber", _("Upstream: getNumber")
    SET_STATUS = "setStatus", _("Upstream: setStatus")
    GET_BALANCE = "getBalance", _("Upstream: getBalance")
    GET_STATUS = "getStatus", _("Upstream: getStatus")
    GET_SERVICES_AND_COST = "getServicesAndCost", _("Upstream: getServicesAndCost")
    GET_COUNTRY_AND_OPERATORS = "getCountryAndOperators", _("Upstream: getCountryAndOperators")


ACTION_LABELS = dict(Action.choices)

# The personal token the current request came through (`through_token`); every event written
# meanwhile, the member's actions and the provider calls they make, is marked with it.
_through_token: ContextVar[ApiToken | None] = ContextVar("through_token", default=None)


@contextmanager
def through_token(token: ApiToken) -> Iterator[None]:
    """Mark every audit event written inside the block as coming through `token`."""
    reset = _through_token.set(token)
    try:
        yield
    finally:
        _through_token.reset(reset)


# The web request or worker job events are written in (`one_request`).
_request_id: ContextVar[uuid.UUID | None] = ContextVar("audit_request_id", default=None)


@contextmanager
def one_request(request_id: uuid.UUID | None = None) -> Iterator[uuid.UUID]:
    """Mark every event written inside the block with one request id (a new one unless
    given): the middleware wraps each web request in it, the poller each activation's poll,
    the sync each run."""
    request_id = request_id or uuid.uuid4()
    reset = _request_id.set(request_id)
    try:
        yield request_id
    finally:
        _request_id.reset(reset)


def current_token() -> ApiToken | None:
    """The token the current request came through, None for the browser and the workers."""
    return _through_token.get()


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action.replace("_", " ").capitalize())


def storable_text(value: Any, limit: int) -> str:
    """str(value) as a column can hold it (`provider.answers.storable`)."""
    return storable(str(value), limit)


def redact(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, storable copy of value without any secret-named entry."""
    if depth >= PARAM_DEPTH:
        return storable_text(value, PARAM_LIMIT)
    if isinstance(value, dict):
        return {
            storable_text(k, KEY_LIMIT): redact(v, depth + 1)
            for k, v in islice(value.items(), PARAM_ITEMS)
            if str(k).lower() not in SECRET_NAMES
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v, depth + 1) for v in islice(value, PARAM_ITEMS)]
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return value.pk
    return storable_text(value, PARAM_LIMIT)  # str, Decimal, NaN and the rest


def _object_fields(obj: models.Model | None) -> dict[str, str]:
    if obj is None:
        return {"object_type": "", "object_id": ""}
    return {"object_type": obj._meta.label_lower, "object_id": str(obj.pk or "")}


def record_action(
    *,
    team,
    user,
    action: str,
    obj: models.Model | None = None,
    ip: str | None = None,
    outcome: str = "ok",
    **details: Any,
) -> AuditEvent:
    """One user action: who did what to which object, from where, with its details."""
    return _record(AuditEvent.Kind.ACTION, action, team, user, obj, details, outcome, ip=ip)


def record_by(
    member,
    action: str,
    /,
    *,
    obj: models.Model | None = None,
    ip: str | None = None,
    outcome: str = "ok",
    **details: Any,
) -> AuditEvent:
    """`record_action` for what a member did in their team, given their (acting) `Membership`."""
    return record_action(
        team=member.team,
        user=member.user,
        action=action,
        obj=obj,
        ip=ip,
        outcome=outcome,
        **details,
    )


def record_call(
    *,
    team,
    account,
    action: str,
    params: dict,
    answer: str,
    http_status: int | None,
    latency_ms: int | None,
    outcome: str,
    user=None,
    obj: models.Model | None = None,
) -> AuditEvent:
    """One upstream call: action, parameters without the key, the answer and how it went."""
    return _record(
        AuditEvent.Kind.CALL,
        action,
        team,
        user,
        obj if obj is not None else account,
        params or {},
        outcome,
        answer=storable_text(answer or "", ANSWER_LIMIT),
        http_status=http_status,
        latency_ms=None if latency_ms is None else max(0, int(latency_ms)),
    )


def _record(kind, action, team, user, obj, params, outcome, **fields) -> AuditEvent:
    """Every event is written here: a redacted copy of its parameters, bounded text."""
    return AuditEvent.objects.create(
        kind=kind,
        action=action,
        team=team,
        user=user if user is not None and user.is_authenticated else None,
        params=redact(params),
        outcome=storable_text(outcome or "", 64),
        api_token=_through_token.get(),
        request_id=_request_id.get(),
        **_object_fields(obj),
        **fields,
    )


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from (REMOTE_ADDR; the proxy sets it in production)."""
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None

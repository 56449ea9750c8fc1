"""The audit log's rows: each person's action with the provider calls it made nested under it.

Events written in one web request or worker job share a `request_id`
(`dashboard.audit.one_request`). The audit page lists *heads*, one row each:
- every action (a person's, or the poller's expiry);
- for a request with no action (the poller's getStatus that brought a code, a catalog sync's
  failed calls, a balance check of a key that was refused), its last call, standing for all
  of that request's calls;
- every event written outside a request (older rows, tasks), on its own.

A call belongs to the first action written after it in its request (calls are written as they
happen, the action once their outcome is known), or to the request's last action when none
follows. Heads are chosen in SQL (so the page paginates over rows as shown) and the calls of a
page's requests are read in one query.
"""

from collections import defaultdict

from django.db.models import Exists, OuterRef, Q, QuerySet

from dashboard.models import AuditEvent

ACTION = AuditEvent.Kind.ACTION
CALL = AuditEvent.Kind.CALL


def heads(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """The events of `events` (already filtered) that head a row of the audit page."""
    same_request = events.filter(request_id=OuterRef("request_id"))
    stands_for_its_request = ~Exists(same_request.filter(kind=ACTION)) & ~Exists(
        same_request.filter(pk__gt=OuterRef("pk"))
    )
    return events.filter(Q(kind=ACTION) | Q(request_id__isnull=True) | stands_for_its_request)


def nest_calls(page_heads: list[AuditEvent], team_events: QuerySet[AuditEvent]) -> None:
    """Set `calls` on each head: the provider calls shown under it, oldest first, read from
    all of the team's events (a filter chooses rows, not what a row holds) in one query.

    An action gets the calls it made; a call heading a row (no action in its request, or a
    filter that lets only calls through) gets every call of its request, itself included."""
    by_pk = {head.pk: head for head in page_heads}
    for head in page_heads:
        head.calls = [head] if head.kind == CALL and head.request_id is None else []
    request_ids = {head.request_id for head in page_heads if head.request_id is not None}
    if not request_ids:
        return
    requests: dict = defaultdict(list)
    for event in team_events.filter(request_id__in=request_ids).order_by("pk"):
        requests[event.request_id].append(event)
    for head in page_heads:
        if head.kind == CALL and head.request_id is not None:
            head.calls = [e for e in requests[head.request_id] if e.kind == CALL]
    for members in requests.values():
        actions = [event for event in members if event.kind == ACTION]
        for call in (event for event in members if event.kind == CALL):
            owner = _owner(call, actions)
            if owner is not None and owner.pk in by_pk:
                by_pk[owner.pk].calls.append(call)


def _owner(call: AuditEvent, actions: list[AuditEvent]) -> AuditEvent | None:
    """The action a call was made for: the first written after it, else the request's last."""
    if not actions:
        return None
    return next((action for action in actions if action.pk > call.pk), actions[-1])

"""Confirmation before a destructive action (cancel a number, remove a key, revoke, leave).

One mechanism, with and without JavaScript. A destructive form carries its message in
`data-confirm` (`{% include "includes/confirm_messages.html#<name>" %}`) and, with
JavaScript, asks in the page's <dialog> (`templates/includes/confirm_dialog.html`, wired in
`static/js/app.js`), then posts with `confirmed=1`. Without JavaScript the POST arrives
without it, and the view answers `needs_confirmation`: the same message on a page of its own
(`templates/confirm.html`) whose form repeats the POST with `confirmed=1`.

Views ask only after their access checks (a viewer still gets 403, another team's id 404),
so the confirmation page shows nothing the person could not see anyway.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

CONFIRMED_FIELD = "confirmed"
MESSAGES = "includes/confirm_messages.html"
# Fields of the original POST that the confirmation form does not repeat as they came.
NOT_REPEATED = frozenset({"csrfmiddlewaretoken", CONFIRMED_FIELD})


def confirmation_message(name: str, **context) -> str:
    """The message of `name` (a partial of MESSAGES), as the form's data-confirm says it."""
    return render_to_string(f"{MESSAGES}#{name}", context)


def needs_confirmation(
    request: HttpRequest, name: str, *, back: str, **context
) -> HttpResponse | None:
    """The confirmation page for the message `name`, or None once the person confirmed.

    `back` is where "Keep" goes (the page the form was on); `context` fills the message."""
    if request.method == "POST" and request.POST.get(CONFIRMED_FIELD) == "1":
        return None
    fields = [
        (key, value)
        for key, values in request.POST.lists()
        if key not in NOT_REPEATED
        for value in values
    ]
    page = {
        "message": confirmation_message(name, **context),
        "action": request.path,
        "fields": fields,
        "back": back,
    }
    return render(request, "confirm.html", page)

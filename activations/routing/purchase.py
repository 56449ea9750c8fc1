"""A routed purchase: the candidates tried in order, one number bought at most.

Each attempt is `activations.buying.buy_number` with the same request token, so the budgets,
the limits and the double-submit guard hold exactly as for one offer: the price is reserved
for the attempt and released when the provider refuses. The next candidate is asked only when
the provider refused or did not answer and nothing is held (`Purchase.provider_refusal`: no
numbers, no balance there, not answering, a timeout, HTTP 5xx or 429, a rejected key, a number
it sold that SMS Desk could not record and cancelled there). A budget or limit refusal, a
duplicate, a sale that could not be cancelled, or a number bought ends the purchase.

A provider that did not answer may have sold a number nobody saw: it is never recorded here,
and, not completed, the provider refunds it at the end of its lifetime. Past a refusal other
than NO_NUMBERS (which is about one offer), the provider's other offers are passed over.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activations.buying import Purchase, answered_token, buy_number
from activations.routing.choice import (
    ANY_OPERATOR,
    Candidate,
    Want,
    candidates,
    policy_of,
    why_nothing,
)
from catalog.provider_errors import NO_NUMBERS
from dashboard.access import require_role
from dashboard.display import money
from dashboard.models import BUYERS, ApiToken, Membership

# Each attempt is a provider call the person waits for (bounded by the web deadline).
MAX_ATTEMPTS = 5
# What a provider that was passed over did, in the messages ("Sandbox A had no numbers").
PASSED_BECAUSE = {
    "NO_NUMBERS": gettext_lazy("%(provider)s had no numbers"),
    "NO_BALANCE": gettext_lazy("the team's balance at %(provider)s is too low"),
    "unavailable": gettext_lazy("%(provider)s did not answer"),
    "rate_limited": gettext_lazy("%(provider)s is limiting requests"),
    "protocol_error": gettext_lazy("%(provider)s sent an answer SMS Desk cannot read"),
    "ERROR_SQL": gettext_lazy("%(provider)s's database failed"),
    "BAD_KEY": gettext_lazy("%(provider)s rejected the team's API key"),
    "key_unreadable": gettext_lazy("the team's stored key for %(provider)s cannot be read"),
    "not_recorded_cancelled": gettext_lazy(
        "%(provider)s sold a number SMS Desk cannot record (cancelled there)"
    ),
}
# Translators: a provider's own answer, not one SMS Desk knows, in parentheses.
REFUSED = gettext_lazy("%(provider)s refused (%(answer)s)")
ANSWER_LIMIT = 60  # what a message shows of a provider's own word
# Answers after which the provider may have sold a number nobody saw.
SILENT = frozenset({"unavailable", "protocol_error"})
SILENT_NOTE = gettext_lazy(
    "A provider that did not answer may have sold a number anyway: it is not recorded here, "
    "and the provider refunds it when the number expires."
)
PICKED_GONE = gettext_lazy("the offer you picked is no longer on sale")


def buy_routed(
    *,
    acting: Membership,
    want: Want,
    request_token: str,
    ip: str | None = None,
    api_token: ApiToken | None = None,
    first: int | None = None,
    found: list[Candidate] | None = None,
) -> Purchase:
    """Buy the best number the team can get for `want`: the candidates in the team's policy
    order (`first`, the pk of an offer the person picked among them, tried first), the next
    one only when a provider refused or did not answer. The message says where it was bought
    and why the others were passed; on failure, what each provider answered. `found`: the
    candidates the buy form has just found for `want` and shown (found here when None)."""
    require_role(acting, BUYERS)
    token = (request_token or "").strip()
    if answered := answered_token(acting, token):
        return answered
    team = acting.team
    policy = policy_of(team)
    if found is None:
        found = candidates(team, want, api_token=api_token, policy=policy)
    if not found:
        message, word = why_nothing(team, want, api_token)
        return Purchase(False, _("Nothing was bought. %(why)s") % {"why": message}, word)
    ordered, passed = _picked_first(found, first)
    tried: list[dict] = []
    shut: set[int] = set()  # providers whose other offers are passed over
    for candidate in ordered:
        offer = candidate.offer
        if offer.provider_id in shut:
            continue
        if len(tried) == MAX_ATTEMPTS:
            break
        purchase = buy_number(
            acting=acting,
            offer=offer,
            request_token=token,
            ip=ip,
            api_token=api_token,
            route={"policy": policy, "tried": list(tried)},
        )
        if not purchase.provider_refusal:
            return _told(purchase, offer, want, passed, tried)
        tried.append(
            {
                "provider": offer.provider.name,
                "operator": offer.operator.code,
                "answer": purchase.provider_refusal,
            }
        )
        if purchase.provider_refusal != NO_NUMBERS:
            shut.add(offer.provider_id)
    if len(tried) == 1 and not passed:
        return purchase  # its own message says what happened and what to do
    message = _("Nothing was bought: %(reasons)s.") % {"reasons": _reasons(want, passed, tried)}
    return Purchase(False, f"{message}{_silent_note(tried)}", purchase.answer)


def _picked_first(found: list[Candidate], first: int | None) -> tuple[list[Candidate], list]:
    """The candidates with the picked one first, and the reason to tell when the pick is
    no longer among them."""
    if first is None:
        return found, []
    picked = [candidate for candidate in found if candidate.offer.pk == first]
    if not picked:
        return found, [str(PICKED_GONE)]
    return picked + [candidate for candidate in found if candidate.offer.pk != first], []


def _place(provider: str, operator: str, want: Want) -> str:
    """The provider's name, with the operator when the purchase let routing choose it."""
    return f"{provider} ({operator})" if want.operator == ANY_OPERATOR else provider


def passed_over(attempt: dict, *, with_operator: bool = True) -> str:
    """Why one offer tried was passed over ("Sandbox A (mts) had no numbers"), from an entry
    of `Activation.route["tried"]`. Its answer may be a provider's own word, which is
    untrusted: an unknown one is shown shortened."""
    word = str(attempt.get("answer", ""))[:ANSWER_LIMIT]
    place = str(attempt.get("provider", ""))
    if with_operator and attempt.get("operator"):
        place = f"{place} ({attempt['operator']})"
    return str(PASSED_BECAUSE.get(word, REFUSED)) % {"provider": place, "answer": word}


def _reasons(want: Want, passed: list[str], tried: list[dict]) -> str:
    """Why each offer tried was passed over ("Sandbox A had no numbers; ...")."""
    with_operator = want.operator == ANY_OPERATOR
    phrases = [*passed, *(passed_over(a, with_operator=with_operator) for a in tried)]
    return "; ".join(phrases)


def _silent_note(tried: list[dict]) -> str:
    if any(attempt["answer"] in SILENT for attempt in tried):
        return f" {SILENT_NOTE}"
    return ""


def _told(purchase: Purchase, offer, want: Want, passed: list[str], tried: list) -> Purchase:
    """The purchase that ended the routing, its message saying where it was bought and why
    the offers before it were passed over (a refusal keeps its own message, after them)."""
    reasons = _reasons(want, passed, tried)
    if purchase.ok and not purchase.duplicate:
        place = _place(offer.provider.name, offer.operator.code, want)
        facts = {
            "phone": purchase.activation.phone,
            "place": place,
            "price": money(purchase.activation.price, offer.provider.currency),
            "reasons": reasons,
        }
        if reasons:
            # Translators: "Bought 79123456789 at Sandbox (mts) for $1.20: Sandbox B had no
            # numbers." The reasons are why the offers before it were passed over.
            told = _("Bought %(phone)s at %(place)s for %(price)s: %(reasons)s.") % facts
        else:
            told = _("Bought %(phone)s at %(place)s for %(price)s.") % facts
        purchase.message = f"{told}{_silent_note(tried)}"
    elif reasons:
        purchase.message = f"{reasons[0].upper()}{reasons[1:]}. {purchase.message}"
    return purchase

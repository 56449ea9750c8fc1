"""What a person is told when a provider call fails, and the audit row of the refusal.

ONE table, `WHAT_PROVIDERS_DID`, says what each error means the provider did
("{provider} is limiting requests right now.") and what the person can do about it. Each place
that calls a provider (buying, the moves on an activation, the key check) is an
`ErrorContext`: it adds what that means here ("Nothing was bought", "Nothing changed",
"Nothing was stored") and words a few errors its own way. An error is looked up by its class,
most specific first (walking the MRO), so a new subclass gets its parent's message.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.upstream import outcome_of
from dashboard.audit import record_by
from dashboard.encryption import KeyDecryptionError
from dashboard.models import Membership
from provider.client import (
    BadKey,
    BadService,
    BadStatus,
    Banned,
    EarlyCancelDenied,
    NoBalance,
    NoNumbers,
    ProtocolError,
    ProviderError,
    ProviderSqlError,
    ProviderUnanswered,
    ProviderUnavailable,
    RateLimited,
)

# The protocol's words for refusals of SMS Desk's own (`Outcome.answer`).
NO_BALANCE = NoBalance.answer
NO_NUMBERS = NoNumbers.answer
BAD_STATUS = BadStatus.answer
BAD_SERVICE = BadService.answer
ERROR_SQL = ProviderSqlError.answer


@dataclass
class Outcome:
    """A service's answer to the person it acted for: done or not, and the message to show.
    Expected refusals come back as an Outcome; only a wrong role raises PermissionDenied."""

    ok: bool
    message: str
    # The protocol's word for what happened (ACCESS_CANCEL, NO_BALANCE, BAD_STATUS, ...), for
    # the team gateway, which answers programs in the protocol; empty when none fits.
    answer: str = ""


@dataclass(frozen=True)
class Said:
    """`what` the provider did ("{provider} is not answering."; `{provider}` is its name,
    `{answer}` its error word), `advice` for the person ("try again in a moment"; may be
    empty), and `outcome`, which replaces the context's when this error means otherwise."""

    what: str
    advice: str = ""
    outcome: str = ""


WHAT_PROVIDERS_DID: dict[type[Exception], Said] = {
    ProviderError: Said(_("{provider} refused the request ({answer}).")),
    BadKey: Said(
        _("{provider} rejected the team's API key."),
        _("an owner or manager should replace it on the provider accounts page"),
    ),
    Banned: Said(_("{provider} has banned the team's account.")),
    NoBalance: Said(
        _("The team's balance at {provider} is too low."),
        _("top it up at the provider, then refresh the balance"),
    ),
    NoNumbers: Said(
        _("No numbers available for this service, country and operator right now."),
        _("try another operator or country, or try again later"),
    ),
    BadService: Said(_("{provider} does not sell this service any more.")),
    ProviderSqlError: Said(_("{provider}'s database failed."), _("try again in a moment")),
    EarlyCancelDenied: Said(
        _("{provider} does not allow cancelling this soon after buying."),
        _("try again in a minute"),
    ),
    BadStatus: Said(_("{provider} refused this status change.")),
    ProviderUnavailable: Said(_("{provider} is not answering."), _("try again in a moment")),
    RateLimited: Said(
        _("{provider} is limiting requests right now."), _("try again in a few seconds")
    ),
    ProtocolError: Said(_("{provider} sent an answer SMS Desk cannot read.")),
    KeyDecryptionError: Said(
        _("The team's stored key cannot be read."),
        _("an owner or manager should attach it again on the provider accounts page"),
    ),
}


@dataclass(frozen=True)
class ErrorContext:
    """A place that calls a provider: what a failure there means (`outcome`), and the errors
    it words its own way (`own`, preferred to the table for the same class)."""

    outcome: str
    own: Mapping[type[Exception], Said] = field(default_factory=dict)

    def said(self, error: Exception) -> Said:
        return self.said_for(type(error))

    def said_for(self, error_kind: type[Exception]) -> Said:
        """What to say of an error of this kind (the catalog sync keeps its errors' kinds by
        name, not the errors themselves)."""
        for kind in error_kind.__mro__:
            said = self.own.get(kind) or WHAT_PROVIDERS_DID.get(kind)
            if said is not None:
                return said
        return WHAT_PROVIDERS_DID[ProviderError]

    def message(self, error: Exception, provider_name: str) -> str:
        said = self.said(error)
        answer = getattr(error, "answer", "") or type(error).__name__
        what = said.what.format(provider=provider_name, answer=answer)
        advice = said.advice.format(provider=provider_name)
        outcome = said.outcome or self.outcome
        return composed(what, outcome, advice)


def composed(what: str, outcome: str, advice: str) -> str:
    """The message of a failure: what the provider did, what that means here, the advice."""
    if advice:
        # Translators: a provider failure, e.g. "Sandbox is not answering. Nothing was bought;
        # try again in a moment." (what the provider did, what it means here, the advice).
        return gettext("%(what)s %(outcome)s; %(advice)s.") % {
            "what": what,
            "outcome": outcome,
            "advice": advice,
        }
    # Translators: a provider failure without advice: what it did, what that means here.
    return gettext("%(what)s %(outcome)s.") % {"what": what, "outcome": outcome}


BUYING = ErrorContext(
    _("Nothing was bought"),
    {
        # The request went out: the provider may have sold a number nobody saw.
        ProviderUnanswered: Said(
            _("{provider} did not answer in time."),
            _(
                "if it sold a number anyway, look for it in your activations at {provider} and "
                "cancel it there"
            ),
            outcome=_("Nothing was recorded here"),
        ),
        ProtocolError: replace(
            WHAT_PROVIDERS_DID[ProtocolError],
            advice=_("if the provider charged you, its own expiry refunds it"),
            outcome=_("Nothing was bought here"),
        ),
    },
)
CHANGING = ErrorContext(_("Nothing changed"))
RETRYING = ErrorContext(
    _("Nothing changed"),
    {BadStatus: Said(_("{provider} does not allow another SMS for this number now."))},
)
COMPLETING = ErrorContext(
    _("Nothing changed"),
    {BadStatus: Said(_("{provider} does not allow completing this number now."))},
)
CANCELLING = ErrorContext(
    _("Nothing changed"),
    {
        BadStatus: Said(
            _("{provider} refused the cancel: a code has probably arrived."),
            _("complete the activation instead"),
        )
    },
)
KEY_CHECK = ErrorContext(
    _("Nothing was stored"),
    {
        BadKey: Said(_("{provider} rejected this key."), _("check it and try again")),
        ProviderUnavailable: replace(
            WHAT_PROVIDERS_DID[ProviderUnavailable],
            what=_("{provider} is not answering, so the key could not be checked."),
        ),
    },
)


def audit_refusal(acting: Membership, action: str, obj, ip, error: ProviderError, **details):
    """The audit row of a change the provider refused, its outcome the provider's word."""
    record_by(acting, action, obj=obj, ip=ip, outcome=outcome_of(error), **details)

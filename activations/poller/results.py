"""What polls found, as the dispatcher hands it to the flush, and what a run did."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from activations.models import Activation
from dashboard.encryption import KeyDecryptionError
from provider.client import ProtocolError, ProviderError, ProviderUnavailable, RateLimited


class UnstorableAnswer(Exception):
    """What a poll found cannot be stored (say, a code with a NUL byte on PostgreSQL): an
    error of that activation alone, backed off like a provider's error."""


# Stored in English on the activation (the poller has no reader's language); translated
# when shown (`poll_error_shown`, `Activation.poll_error_shown`).
CANNOT_STORE = gettext_noop("Provider sent an answer SMS Desk cannot store, retrying")
LIMITING = gettext_noop("Provider is limiting requests, retrying")
NOT_ANSWERING = gettext_noop("Provider not answering, retrying")
UNREADABLE = gettext_noop("Provider sent an answer we cannot read, retrying")
KEY_UNREADABLE = gettext_noop("The team's stored key cannot be read; attach it again")
ANSWERED = re.compile(r"Provider answered (?P<answer>\S+), retrying")


def poll_error_message(error: BaseException) -> str:
    """What the activation page shows while polls fail (never the key: the client strips it).
    Stored in English; `poll_error_shown` says it in the reader's language."""
    if isinstance(error, UnstorableAnswer):
        return CANNOT_STORE
    if isinstance(error, RateLimited):
        return LIMITING
    if isinstance(error, ProviderUnavailable):
        return NOT_ANSWERING
    if isinstance(error, ProtocolError):
        return UNREADABLE
    if isinstance(error, KeyDecryptionError):
        return KEY_UNREADABLE
    if isinstance(error, ProviderError) and error.answer:
        return f"Provider answered {error.answer}, retrying"
    return NOT_ANSWERING


def poll_error_shown(stored: str) -> str:
    """A stored `poll_error_message` in the active language (an empty one: not answering)."""
    if not stored:
        return gettext(NOT_ANSWERING)
    if found := ANSWERED.fullmatch(stored):
        # Translators: the answer is the provider's protocol word, e.g. NO_NUMBERS.
        return gettext("Provider answered %(answer)s, retrying") % {"answer": found["answer"]}
    return gettext(stored)


@dataclass
class Call:
    """One exchange with the provider, kept to audit it if it changed something or failed."""

    action: str
    params: dict
    answer: str | None
    http_status: int | None
    latency_ms: int
    error: ProviderError | None


@dataclass
class Result:
    activation: Activation
    code: str | None = None
    close_as: str | None = None
    expiring: bool = False
    error: BaseException | None = None
    # When getStatus left for the provider (when the poll began, if it never left).
    sent_at: datetime = field(default_factory=timezone.now)
    calls: list[Call] = field(default_factory=list)


@dataclass
class PassSummary:
    """What a loop did; `manage.py poll_once` prints it."""

    claimed: int = 0
    polls: int = 0
    unchanged: int = 0
    codes: int = 0
    cancelled: int = 0
    expired: int = 0
    completed: int = 0
    errors: int = 0
    db_errors: int = 0
    changes: list[str] = field(default_factory=list)  # one line per activation changed

    def add(self, other: PassSummary) -> None:
        """Add what a flush wrote to what the loop did so far."""
        for counter in fields(self):
            setattr(self, counter.name, getattr(self, counter.name) + getattr(other, counter.name))

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}, polled {self.polls} ({self.unchanged} unchanged), "
            f"new codes {self.codes}, cancelled by provider {self.cancelled}, "
            f"expired {self.expired}, completed at expiry {self.completed}, "
            f"provider errors {self.errors}, database errors {self.db_errors}"
        )

"""What polls found, as the dispatcher hands it to the flush, and what a run did."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime

from django.utils import timezone

from activations.models import Activation
from dashboard.encryption import KeyDecryptionError
from provider.client import ProtocolError, ProviderError, ProviderUnavailable, RateLimited


class UnstorableAnswer(Exception):
    """What a poll found cannot be stored (say, a code with a NUL byte on PostgreSQL): an
    error of that activation alone, backed off like a provider's error."""


def poll_error_message(error: BaseException) -> str:
    """What the activation page shows while polls fail (never the key: the client strips it)."""
    if isinstance(error, UnstorableAnswer):
        return "Provider sent an answer SMS Desk cannot store, retrying"
    if isinstance(error, RateLimited):
        return "Provider is limiting requests, retrying"
    if isinstance(error, ProviderUnavailable):
        return "Provider not answering, retrying"
    if isinstance(error, ProtocolError):
        return "Provider sent an answer we cannot read, retrying"
    if isinstance(error, KeyDecryptionError):
        return "The team's stored key cannot be read; attach it again"
    if isinstance(error, ProviderError) and error.answer:
        return f"Provider answered {error.answer}, retrying"
    return "Provider not answering, retrying"


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

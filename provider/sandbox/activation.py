"""One number the sandbox sold, and the states it goes through."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class SandboxState(StrEnum):
    WAIT_CODE = "wait_code"
    CODE = "code"  # a code arrived, the activation is still open
    WAIT_RETRY = "wait_retry"  # setStatus 3: waiting for another code
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_STATES = frozenset({SandboxState.WAIT_CODE, SandboxState.CODE, SandboxState.WAIT_RETRY})
WAITING_STATES = frozenset({SandboxState.WAIT_CODE, SandboxState.WAIT_RETRY})


@dataclass
class SandboxActivation:
    """One number sold by the sandbox. Times are wall-clock seconds (the sandbox's clock)."""

    id: int
    api_key: str = field(repr=False)
    service: str
    country: int
    operator: str
    phone: str
    price: Decimal
    created_at: float
    state: SandboxState = SandboxState.WAIT_CODE
    codes: list[str] = field(default_factory=list)
    # When each code became available at the provider (not when someone asked for it).
    code_available_at: list[float] = field(default_factory=list)
    waiting_since: float = 0.0  # when the current wait for a code began
    code_due_at: float | None = None  # when the awaited code arrives (None: it never does)
    closed_at: float | None = None
    refunded: bool = False
    expired: bool = False

    @property
    def code(self) -> str | None:
        return self.codes[-1] if self.codes else None

    @property
    def first_code_available_at(self) -> float | None:
        return self.code_available_at[0] if self.code_available_at else None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def wait_for_code(self, now: float, delay: float | None) -> None:
        """Begin a wait for a code, due `delay` seconds from `now` (None: a code that never
        comes; the number waits until cancelled or its lifetime ends)."""
        self.waiting_since = now
        self.code_due_at = None if delay is None else now + max(0.0, float(delay))

    def receive(self, code: str, at: float) -> None:
        """The awaited code became available at `at`."""
        self.codes.append(code)
        self.code_available_at.append(at)
        self.code_due_at = None
        self.state = SandboxState.CODE

    def close(self, state: SandboxState, at: float) -> None:
        self.state = state
        self.closed_at = at
        self.code_due_at = None

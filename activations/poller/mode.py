"""How a poller runs: a loop for a while, or one pass."""

from enum import Enum


class RunMode(Enum):
    # Poll for a while, each activation whenever it is due (and, when a provider's budget
    # binds, its spare requests on those due next).
    LOOP = "loop"
    # One pass (`manage.py poll_once`): each activation due now, once.
    DUE_ONCE = "due once"
    # One pass (`manage.py poll_once --all`): every open activation, once.
    ALL_ONCE = "all once"

    @property
    def once(self) -> bool:
        """A pass polls each activation at most once and ends when nothing is left to poll."""
        return self is not RunMode.LOOP

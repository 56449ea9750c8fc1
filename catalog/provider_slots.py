"""At most PROVIDER_WEB_CONCURRENCY web requests of a process talk to one provider at once.

gunicorn serves each process with a few threads (the Procfile: 2 workers x 4 threads). If a
provider stops answering, every purchase or balance refresh at it would hold a thread until its
deadline, and enough of them would leave no thread for anyone's sign-in page. So each provider
gets a few slots per process. A call that finds them all taken waits for one while the provider
answers as usual (up to `SLOT_WAIT_SECONDS`: a burst of purchases at a healthy provider queues
for a moment), but is refused at once when every slot has been held longer than a healthy answer
takes (`SLOW_SECONDS`): the provider is stuck, and waiting would only pile the refused calls up
on the threads themselves (`make hostile` measured it: with a flat 1 s wait the sign-in page
took 2.2 s while a provider trickled). A refusal is `httpx.PoolTimeout`, which the client
reports as `ProviderUnavailable` (the services show "not answering, nothing was done, try
again"). Other providers keep their own slots.

Only the synchronous clients made for web requests (`catalog.upstream.WebCallTransport`,
which takes the request budget first, so that a slot's age measures the provider and not our
own queue) use this; the poller and the catalog sync run in the background with their own
bounds.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import httpx

# The longest a call waits for a slot while the provider answers as usual.
SLOT_WAIT_SECONDS = 1.0
# A slot held longer than this is a slow answer; when every slot is, a call is refused at once.
SLOW_SECONDS = 0.5


class ProviderSlots:
    """One provider's slots in this process, with the moment each was taken."""

    def __init__(self, size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self._clock = clock
        self._taken_at: dict[int, float] = {}
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    def acquire(self, wait: float) -> int | None:
        """A ticket for a slot, or None when none came free in time or the provider is stuck."""
        give_up_at = self._clock() + wait
        with self._changed:
            while len(self._taken_at) >= self.size:
                now = self._clock()
                # Every slot is slow once the most recently taken one is.
                all_slow_at = max(self._taken_at.values()) + SLOW_SECONDS
                if now >= give_up_at or now >= all_slow_at:
                    return None
                self._changed.wait(min(give_up_at, all_slow_at) - now)
            ticket = next(self._tickets)
            self._taken_at[ticket] = self._clock()
            return ticket

    def release(self, ticket: int) -> None:
        with self._changed:
            del self._taken_at[ticket]
            self._changed.notify()


_slots: dict[tuple[int, int], ProviderSlots] = {}
_slots_lock = threading.Lock()


def slots_for(provider_id: int, size: int) -> ProviderSlots:
    """The process's slots for one provider (a new set if the configured size changed)."""
    with _slots_lock:
        slots = _slots.get((provider_id, size))
        if slots is None:
            slots = _slots[(provider_id, size)] = ProviderSlots(size)
        return slots


class _ReleasedOnClose(httpx.SyncByteStream):
    """An answer's body that gives its slot back once it is closed (read to the end, failed
    or abandoned): the slot is held for the whole exchange, not only until the headers."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


def holding_a_slot(
    slots: ProviderSlots,
    request: httpx.Request,
    send: Callable[[httpx.Request], httpx.Response],
    wait: float = SLOT_WAIT_SECONDS,
) -> httpx.Response:
    """`send(request)` while holding one of `slots`, until its answer is closed; refused as
    `httpx.PoolTimeout` (not sent) when no slot comes free in time or the provider is stuck."""
    ticket = slots.acquire(wait)
    if ticket is None:
        raise httpx.PoolTimeout(
            f"All {slots.size} calls this process may make to the provider are in progress.",
            request=request,
        )
    try:
        response = send(request)
    except BaseException:
        slots.release(ticket)
        raise
    return httpx.Response(
        status_code=response.status_code,
        headers=response.headers,
        stream=_ReleasedOnClose(response.stream, lambda: slots.release(ticket)),
        extensions=response.extensions,
    )

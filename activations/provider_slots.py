"""At most PROVIDER_WEB_CONCURRENCY web requests of a process talk to one provider at once.

gunicorn serves each process with a few threads (the Procfile: 2 workers x 4 threads). If a
provider stops answering, every purchase or balance refresh at it would hold a thread until its
deadline, and enough of them would leave no thread for anyone's sign-in page. So each provider
gets a few slots per process; a call that finds none free within `SLOT_WAIT_SECONDS` is refused
at once as `httpx.PoolTimeout`, which the client reports as `ProviderUnavailable` (the services
show "not answering, nothing was done, try again"). Other providers keep their own slots.

Only the synchronous clients made for web requests (`activations.upstream`) use this; the
poller and the catalog sync run in the background with their own bounds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx

# How long a call waits for a slot before it is refused: a moment, enough for a healthy
# provider's answer to free one (~0.1-0.3 s), and short so that refused calls do not pile up
# on the threads themselves (`make hostile` measured 1 s: the sign-in page then took 2.2 s).
SLOT_WAIT_SECONDS = 0.25

_slots: dict[tuple[int, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def slots_for(provider_id: int, size: int) -> threading.BoundedSemaphore:
    """The process's slots for one provider (a new set if the configured size changed)."""
    with _slots_lock:
        slots = _slots.get((provider_id, size))
        if slots is None:
            slots = _slots[(provider_id, size)] = threading.BoundedSemaphore(size)
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


class ProviderSlotTransport(httpx.BaseTransport):
    """Wraps a transport: each request first takes one of the provider's slots."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        provider_id: int,
        size: int,
        wait: float = SLOT_WAIT_SECONDS,
    ) -> None:
        self.inner = inner
        self.provider_id = provider_id
        self.size = size
        self.wait = wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        slots = slots_for(self.provider_id, self.size)
        if not slots.acquire(timeout=self.wait):
            raise httpx.PoolTimeout(
                f"All {self.size} calls this process may make to the provider are in progress.",
                request=request,
            )
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            slots.release()
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasedOnClose(response.stream, slots.release),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()

"""How a call travels: its total deadline, the cap on an answer's size, Retry-After, and the
error a failed HTTP exchange amounts to.

- every call has a total deadline (connect, send, every byte of the answer): per-read
  timeouts alone let an answer trickling one byte a second hold a call forever. The sync
  client gives every socket read and write only the time left (`bound_by_deadline`); the
  async client runs the call under `asyncio.timeout`. `deadline_remaining()` lets a transport
  that waits before sending (the request budget) stay within the same deadline;
- an answer larger than the cap is refused on its Content-Length, or as soon as the cap is
  passed while reading (`AnswerReader`): never more than the cap is held;
- `Retry-After` is read as seconds or an HTTP date, and never as more than
  MAX_RETRY_AFTER_SECONDS;
- an httpx failure becomes a `ProviderUnavailable` naming only its class (httpx messages can
  hold the URL, and so the key), `ProviderUnanswered` when the request may have been acted on.
"""

from __future__ import annotations

import re
import time
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from provider.errors import ProtocolError, ProviderUnanswered, ProviderUnavailable

MAX_ANSWER_BYTES = 2 * 1024 * 1024  # a whole answer; a full getServicesAndCost is ~20 KB
MAX_RETRY_AFTER_SECONDS = 60.0  # a longer Retry-After is read as this

# time.monotonic() by which the current call (in this thread or task) must be over.
_deadline_at: ContextVar[float | None] = ContextVar("provider_call_deadline", default=None)
LATE = "The provider did not answer in time (the call's deadline passed)."


def start_deadline(seconds: float) -> Token:
    """Give the call starting in this thread or task `seconds` in all; `end_deadline` ends it."""
    return _deadline_at.set(time.monotonic() + seconds)


def end_deadline(token: Token) -> None:
    _deadline_at.reset(token)


def deadline_remaining() -> float | None:
    """Seconds left before the deadline of the provider call in progress, None outside a call.
    A transport that waits before sending (the request budget) bounds its wait by this."""
    deadline_at = _deadline_at.get()
    if deadline_at is None:
        return None
    return max(0.0, deadline_at - time.monotonic())


def _within_deadline(timeout: float | None, late: type[Exception]) -> float | None:
    """`timeout` cut to the time left in the call; `late` raised once none is left."""
    left = deadline_remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise late(LATE)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most the time left in the call."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> _DeadlineStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_by_deadline(http: httpx.Client) -> None:
    """Give the sockets of `http`'s transports (ours or the caller's, proxies included) only
    the time left in the call. httpx has no option for a network backend, so this sets the
    one its connection pool uses (httpx 0.28); a transport without such a pool (a test's
    MockTransport) is bounded between chunks of the answer instead."""
    for transport in (http._transport, *http._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delta-seconds or an HTTP date) as seconds from 0 to
    MAX_RETRY_AFTER_SECONDS; None when absent or unreadable."""
    value = (value or "").strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", value, re.ASCII):
        seconds = Decimal(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = Decimal((when - datetime.now(UTC)).total_seconds())
    return float(min(max(seconds, Decimal(0)), Decimal(MAX_RETRY_AFTER_SECONDS)))


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer as it came: HTTP status, the bytes (within the cap), Retry-After in seconds."""

    status: int
    body: bytes
    retry_after: float | None


class AnswerReader:
    """Collects an answer's bytes up to the cap and within the deadline."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        self.response = response
        self.limit = limit
        self.chunks: list[bytes] = []
        self.size = 0
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            # We ask for identity: a compressed answer could inflate far past the cap.
            raise ProtocolError("The provider compressed its answer, which was not asked for.")
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and (len(length) > 18 or int(length) > limit):
            raise ProtocolError(f"The answer is {length} bytes, over the {limit}-byte limit.")
        self.check_deadline()

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise ProtocolError(f"The answer is over the {self.limit}-byte limit.")
        self.chunks.append(chunk)
        self.check_deadline()

    @staticmethod
    def check_deadline() -> None:
        left = deadline_remaining()
        if left is not None and left <= 0:
            raise ProviderUnanswered(LATE)

    def reply(self) -> Reply:
        retry_after = retry_after_seconds(self.response.headers.get("Retry-After"))
        return Reply(self.response.status_code, b"".join(self.chunks), retry_after)


# Failures after the request went out: the provider may have acted on it.
_AFTER_SENDING = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


def transport_failure(exc: httpx.HTTPError) -> ProviderUnavailable:
    """What a failed HTTP exchange amounts to; only the class name is kept: httpx messages can
    carry the request URL, which holds the key."""
    if isinstance(exc, _AFTER_SENDING):
        return ProviderUnanswered(f"The provider did not answer in time ({type(exc).__name__}).")
    if isinstance(exc, httpx.TimeoutException):
        return ProviderUnavailable(
            f"The provider could not be asked in time ({type(exc).__name__})."
        )
    return ProviderUnavailable(f"Could not reach the provider ({type(exc).__name__}).")

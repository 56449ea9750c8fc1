"""The faults set on one sandbox, and what those drawn for a request do to it: delay it,
answer instead of the provider (a refusal: nothing is acted on), or change the honest answer
and how its bytes travel. The kinds themselves are the table of `provider.sandbox.faults`."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from provider.sandbox import faults as hostile
from provider.sandbox.server import Answer


@dataclass(frozen=True, slots=True)
class DrawnFaults:
    """The faults that apply to one request."""

    faults: tuple[hostile.Fault, ...]
    wake: threading.Event  # set when the faults are cleared: every wait ends at once
    choose: Callable[[Sequence[str]], str]  # a seeded pick, for "garbage"

    def wait_latency(self) -> None:
        for fault in self.faults:
            if fault.kind == "latency":
                self.wake.wait(fault.seconds if fault.seconds is not None else 1.0)

    def refusal(self, timeout_seconds: float) -> Answer | None:
        """The answer of the first refusal fault (the request is not acted on), or None."""
        fault = next((fault for fault in self.faults if fault.kind in hostile.REFUSALS), None)
        if fault is None:
            return None
        match fault.kind:
            case "timeout":
                self.wake.wait(fault.seconds if fault.seconds is not None else timeout_seconds)
                return Answer(504, "Gateway Timeout")
            case "http_500":
                return Answer(500, "Internal Server Error")
            case "garbage":
                return Answer(200, self.choose(hostile.GARBAGE_ANSWERS))
            case "error_sql":
                return Answer(200, "ERROR_SQL")
            case "retry_after":
                retry_after = ("Retry-After", hostile.ABSURD_RETRY_AFTER)
                return Answer(429, "Too Many Requests", headers=(retry_after,))
        raise AssertionError(f"{fault.kind} is not a refusal")

    def spoil(self, answer: Answer, action: str) -> Answer:
        """The honest `answer` (already acted on) as the rewrite and delivery faults send it."""
        for fault in self.faults:
            answer = replace(answer, body=hostile.rewrite(fault.kind, action, answer.body))
        kinds = {fault.kind: fault for fault in self.faults}
        if "huge" in kinds:
            answer = replace(answer, padding=max(0, hostile.HUGE_BYTES - answer.length))
        if "trickle" in kinds:
            seconds = kinds["trickle"].seconds
            trickle = hostile.Trickle(1.0 if seconds is None else seconds, self.wake)
            answer = replace(answer, trickle=trickle)
        return answer


class FaultInjector:
    """The faults set on one sandbox; thread-safe. Which faults a request draws is seeded, so
    a run with probabilities below 1 can be repeated."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._faults: list[hostile.Fault] = []
        self._wake = threading.Event()

    def add(self, kind: str, probability: float, api_key: str | None, seconds: float | None):
        """Set `kind` (a fault kind or group) on a share of the requests of one key or all."""
        kinds = hostile.fault_kinds(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability is a share between 0 and 1.")
        with self._lock:
            self._faults.extend(
                hostile.Fault(name, probability, api_key, seconds) for name in kinds
            )

    def clear(self) -> None:
        """Remove every fault and end every wait (latency, timeout, trickle) at once."""
        with self._lock:
            self._faults = []
            self._wake.set()
            self._wake = threading.Event()

    def draw(self, api_key: str) -> DrawnFaults:
        with self._lock:
            faults = tuple(
                fault
                for fault in self._faults
                if fault.api_key in (None, api_key) and self._random.random() < fault.probability
            )
            return DrawnFaults(faults, self._wake, self._choose)

    def _choose(self, options: Sequence[str]) -> str:
        with self._lock:
            return self._random.choice(options)

"""The stack's processes: one process group each, stopped by its group id; CPU accounting.

Used by `stack.py` (which starts them) and the load script (which measures them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port free on every interface right now (gunicorn binds 0.0.0.0)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    """One process of the stack (its own session: its pid is its process group id)."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    # What a clean stop sends to the whole group. qcluster needs SIGINT (Ctrl+C): its
    # workers ignore it and the poller in a worker stops early on it, while SIGTERM to every
    # process of the group leaves django-q2's sentinel hanging, and SIGTERM to the main
    # process alone waits for the poller's minute to end.
    stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the whole group (a crash: nothing gets to clean up)."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        """Signal the group to stop, then SIGKILL what is still there after `timeout`."""
        if self.alive():
            self.signal_group(self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        # Children that outlived their parent are still in the group.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def group_cpu_seconds() -> dict[int, float]:
    """CPU seconds (user + system) used so far by the processes of each process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pgid = int(fields[2])
        used[pgid] = used.get(pgid, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def machine_cpu_seconds() -> float:
    """CPU seconds every core has spent busy since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class WebProcess:
    process: Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until the sign-in page answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.process.alive():
                raise RuntimeError(
                    f"{self.process.name} exited {self.process.popen.returncode}:\n"
                    f"{self.process.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.get(
                    f"{self.url}/accounts/login/",
                    headers={"X-Forwarded-Proto": "https"},
                    timeout=2,
                )
                if answer.status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.process.name} did not answer within {timeout:g} s")


def wait_first_line(process: Process, prefix: str, timeout: float = 30.0) -> str:
    """The first line of a process's log starting with `prefix` (say, a printed URL)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            for line in process.log_path.read_text(errors="replace").splitlines():
                if line.startswith(prefix):
                    return line.strip()
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.log_tail()}")
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} printed no line starting {prefix!r}")

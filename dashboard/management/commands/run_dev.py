"""`manage.py run_dev`: the dashboard and its django-q2 worker together, for `make run`.

Both run as child processes: `runserver` (threaded; no autoreload unless --reload) and
`qcluster`. Ctrl-C or SIGTERM stops both and exits 0; if either exits on its own, the other is
stopped and the command exits non-zero.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# How long a child may take to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 15.0


def _die_with_parent() -> None:
    """In the child: get SIGTERM if run_dev itself dies (even by SIGKILL). Linux only."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Command(BaseCommand):
    help = "Serve the dashboard together with the django-q2 worker; Ctrl-C stops both."
    requires_system_checks = []  # runserver runs them

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--reload", action="store_true", help="Restart the web server when code changes."
        )

    def handle(self, *args, host: str, port: int, reload: bool, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = {
            "web server": [
                *manage,
                "runserver",
                f"{host}:{port}",
                *([] if reload else ["--noreload"]),
            ],
            "worker": [*manage, "qcluster"],
        }
        received: list[int] = []

        def on_signal(signum, frame):
            received.append(signum)

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        children: dict[str, subprocess.Popen] = {}
        try:
            for name, command in commands.items():
                # Each child leads its own process group: we decide when and how it stops,
                # and stopping the group also stops runserver's reloader child.
                children[name] = subprocess.Popen(  # noqa: S603 (our own manage.py)
                    command,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
            self.stdout.write(
                f"Serving http://{host}:{port}/ with the background worker; Ctrl-C stops both.",
            )
            self.stdout.flush()
            exited = None
            while not received and exited is None:
                exited = next((n for n, p in children.items() if p.poll() is not None), None)
                time.sleep(0.2)
        finally:
            self._stop(children)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if received:
            self.stdout.write("Stopped the web server and the worker.")
            return
        code = children[exited].returncode
        raise CommandError(f"The {exited} exited (code {code}); stopped the rest.")

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        running = {name: p for name, p in children.items() if p.poll() is None}
        for name, process in running.items():
            if name == "worker":
                # qcluster's sentinel stops its own worker processes in order.
                process.terminate()
            else:
                # The group holds runserver's reloader child too.
                self._signal_group(process, signal.SIGTERM)
        running = list(running.values())
        deadline = time.monotonic() + STOP_TIMEOUT
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait()
        # A child that died abruptly (qcluster killed) can leave its own children behind in
        # its process group; they go too.
        for process in children.values():
            self._signal_group(process, signal.SIGKILL)

    @staticmethod
    def _signal_group(process: subprocess.Popen, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

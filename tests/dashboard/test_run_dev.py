"""`manage.py run_dev`: the web server and the worker start together and stop together."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> dict[int, str]:
    """pid -> command line of each child of pid."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            found[int(child)] = cmdline.decode()
    return found


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def migrated_var(tmp_path_factory) -> Path:
    """A var/ directory with a migrated SQLite database, shared by this module's tests."""
    var = tmp_path_factory.mktemp("var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=clean_env(var),
        check=True,
        timeout=120,
    )
    return var


def clean_env(var: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "VAR_DIR": str(var), "SANDBOX": "false"}


@pytest.fixture
def run_dev(migrated_var, tmp_path):
    var = tmp_path / "var"
    shutil.copytree(migrated_var, var)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_dev", "--port", str(port)],
        cwd=ROOT,
        env=clean_env(var),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/accounts/login/"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                break
        except OSError:
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.2)
    yield process, url
    if process.poll() is None:
        process.kill()
        process.wait()


def wait_for_worker(process) -> int:
    """The qcluster child's pid, once its sentinel, two workers, monitor and pusher run."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for pid, cmdline in children(process.pid).items():
            if "qcluster" in cmdline and len(descendants(pid)) >= 5:
                return pid
        time.sleep(0.1)
    raise AssertionError("the worker did not start")


def test_it_serves_with_the_worker_and_sigterm_stops_both(run_dev):
    process, url = run_dev
    worker = wait_for_worker(process)
    kids = list(children(process.pid))
    assert len(kids) == 2
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert not any(is_running(pid) for pid in kids)
    assert not is_running(worker)
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_ctrl_c_stops_both(run_dev):
    process, _ = run_dev
    wait_for_worker(process)
    kids = list(children(process.pid))
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert not any(is_running(pid) for pid in kids)


def test_when_the_worker_dies_the_server_stops_and_it_fails(run_dev):
    process, url = run_dev
    worker = wait_for_worker(process)
    kids = list(children(process.pid))
    orphans = descendants(worker)  # qcluster's own processes
    os.kill(worker, signal.SIGKILL)
    assert process.wait(timeout=30) != 0
    assert "The worker exited" in process.stdout.read()
    assert not any(is_running(pid) for pid in kids + orphans)
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)

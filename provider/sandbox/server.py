"""The sandbox over HTTP: its answers as WSGI responses, request parameters, and
`SandboxServer`, a threaded loopback server (tests, the `sandbox_provider` command,
scripts/sandbox_control.py). The request line holds the API key on GET: nothing here logs it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from socketserver import TCPServer, ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from provider.sandbox import faults as hostile

if TYPE_CHECKING:
    from provider.sandbox.rules import Sandbox

HANDLER_PATH = "/stubs/handler_api"

_REASONS = {
    200: "OK",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    504: "Gateway Timeout",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of the sandbox."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    padding: int = 0  # spaces sent before the body (the "huge" fault), never held in memory
    trickle: hostile.Trickle | None = None  # the bytes sent one at a time (the "trickle" fault)

    @property
    def length(self) -> int:
        """The Content-Length: bytes of the body and its padding."""
        return self.padding + len(self.body.encode())

    def chunks(self) -> Iterable[bytes]:
        """The answer's bytes as a WSGI iterable (lazy when padded or trickled)."""
        body = self.body.encode()
        chunks = hostile.padded(body, self.padding) if self.padding else [body]
        return hostile.trickled(chunks, self.trickle) if self.trickle else chunks


def json_answer(data: Any) -> Answer:
    """`data` as compact JSON, written the way the document's examples are."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Answer(200, body, content_type="application/json; charset=utf-8")


def serve_wsgi(
    handle: Callable[[Mapping[str, str]], Answer],
    environ: dict[str, Any],
    start_response: Callable,
) -> Iterable[bytes]:
    """Answer a WSGI request with `handle` at any path ending in /stubs/handler_api, GET or
    POST."""
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    if not path.rstrip("/").endswith(HANDLER_PATH):
        answer = Answer(404, "Not Found")
    elif method not in ("GET", "POST"):
        answer = Answer(405, "Method Not Allowed", headers=(("Allow", "GET, POST"),))
    else:
        answer = handle(request_params(environ))
    headers = [
        ("Content-Type", answer.content_type),
        ("Content-Length", str(answer.length)),
        *answer.headers,
    ]
    start_response(f"{answer.status} {_REASONS.get(answer.status, 'OK')}", headers)
    return answer.chunks()


def request_params(environ: dict[str, Any]) -> dict[str, str]:
    """Query string and form body parameters (the body wins), first value of each."""
    params = _first_values(environ.get("QUERY_STRING", ""))
    content_type = environ.get("CONTENT_TYPE", "")
    if environ.get("REQUEST_METHOD") == "POST" and "form-urlencoded" in content_type:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length).decode("utf-8", errors="replace")
        params.update(_first_values(body))
    return params


def _first_values(query: str) -> dict[str, str]:
    parsed = parse_qs(query, keep_blank_values=True, encoding="utf-8", errors="replace")
    return {key: values[0] for key, values in parsed.items()}


class QuietRequestHandler(WSGIRequestHandler):
    """Logs no request line: on GET it holds the API key."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackWSGIServer(ThreadingMixIn, WSGIServer):
    """A threaded WSGI server that does not look its host name up."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (slow without DNS); not needed here.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()


class SandboxServer:
    """The sandbox's WSGI app on a threaded HTTP server (port 0: a free port)."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox
        self.host = host
        self._server = LoopbackWSGIServer((host, port), QuietRequestHandler)
        self._server.set_app(sandbox.wsgi_app)
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{HANDLER_PATH}"

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> SandboxServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"sandbox-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sandbox.clear_faults()  # release held requests
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

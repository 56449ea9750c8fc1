"""The sandbox provider with a control door, for the fault and scale-out scripts.

The same `provider.sandbox.rules.Sandbox` that `manage.py sandbox_provider` serves (the handler
at /stubs/handler_api), plus, on the same loopback port, a few JSON endpoints a test script
uses to steer and inspect the provider while the stack runs:

- ``POST /control/fault`` ``{"kind": "timeout", "seconds": 30, "probability": 1.0}``
  injects a fault into every request (see `Sandbox.set_fault`; the kinds, "trickle",
  "nul_code", "huge"..., are listed in `provider.sandbox.faults.FAULT_KINDS`); with
  ``"key": "key1"`` only into that key's requests, so one account can be hostile while
  another stays honest; ``POST /control/clear`` ends every fault (requests held by a
  "timeout" or a "trickle" are let go at once);
- ``GET /control/activations``: every activation the provider sold (id, key label, state,
  codes, price, refunded, created_at);
- ``GET /control/requests?action=getStatus``: every request it received, in order
  (time of arrival, action, activation id, key label): the request log that proves no
  activation was polled twice within one interval.

Keys are labelled ``key0``, ``key1``... in what it returns and prints: the keys themselves
never appear. Codes arrive after a delay drawn (per activation, reproducibly) between
``--code-delay`` and ``--code-delay-max``; ``--countries N`` lists only the annex's first N
countries (a catalog that syncs in a second). Pure Python, no Django settings needed.

    python scripts/sandbox_control.py --port 8002 --api-key K1 --api-key K2 \\
        --code-delay 5 --code-delay-max 60 --balance 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provider.sandbox.annexes import COUNTRIES
from provider.sandbox.rules import Sandbox
from provider.sandbox.server import (
    HANDLER_PATH,
    LoopbackWSGIServer,
    QuietRequestHandler,
    request_params,
)


class ControlledSandbox:
    def __init__(self, sandbox: Sandbox, keys: list[str]) -> None:
        self.sandbox = sandbox
        self.labels = {key: f"key{n}" for n, key in enumerate(keys)}
        self.requests: list[tuple[float, str, str, str]] = []
        self._lock = threading.Lock()

    def app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/control/"):
            return self.control(environ, start_response, path.removeprefix("/control/"))
        if path.rstrip("/").endswith(HANDLER_PATH):
            params = request_params(environ)
            label = self.labels.get(params.get("api_key", ""), "unknown")
            with self._lock:
                self.requests.append(
                    (time.time(), params.get("action", ""), params.get("id", ""), label)
                )
            environ = _replayable(environ, params)
        return self.sandbox.wsgi_app(environ, start_response)

    def key(self, label: str) -> str:
        """The API key labelled `label` ("key0"...); ValueError for a label nobody has."""
        for key, known in self.labels.items():
            if known == label:
                return key
        raise ValueError(f"no key labelled {label!r}; one of {', '.join(self.labels.values())}")

    def control(self, environ, start_response, what: str):
        method = environ.get("REQUEST_METHOD", "GET")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            if what == "fault" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                self.sandbox.set_fault(
                    body["kind"],
                    float(body.get("probability", 1.0)),
                    self.key(body["key"]) if "key" in body else None,
                    seconds=None if body.get("seconds") is None else float(body["seconds"]),
                )
                answer = {"ok": True}
            elif what == "clear" and method == "POST":
                self.sandbox.clear_faults()
                answer = {"ok": True}
            elif what == "activations":
                answer = [
                    {
                        "id": a.id,
                        "key": self.labels.get(a.api_key, "unknown"),
                        "state": str(a.state),
                        "codes": list(a.codes),
                        "code_available_at": list(a.code_available_at),
                        "price": str(a.price),
                        "refunded": a.refunded,
                        "created_at": a.created_at,
                    }
                    for a in self.sandbox.activations.values()
                ]
            elif what == "balances":
                answer = {
                    label: str(self.sandbox.balance(key)) for key, label in self.labels.items()
                }
            elif what == "requests":
                with self._lock:
                    rows = list(self.requests)
                action = query.get("action")
                answer = [row for row in rows if action is None or row[1] == action]
            else:
                return _send(start_response, 404, {"error": f"no control {what!r}"})
        except (KeyError, ValueError) as error:
            return _send(start_response, 400, {"error": str(error)})
        return _send(start_response, 200, answer)


def _replayable(environ, params: dict[str, str]):
    """The request body was read for the log: hand the sandbox the parameters as a query."""
    from urllib.parse import urlencode

    environ = dict(environ)
    environ["QUERY_STRING"] = urlencode(params)
    environ["REQUEST_METHOD"] = "GET"
    environ["CONTENT_LENGTH"] = "0"
    return environ


def _send(start_response, status: int, data) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class _Server(LoopbackWSGIServer):
    request_queue_size = 256


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", action="append", required=True)
    parser.add_argument("--balance", default="1000")
    parser.add_argument("--code-delay", type=float, default=5.0)
    parser.add_argument("--code-delay-max", type=float, default=None)
    parser.add_argument("--lifetime", type=float, default=1200.0)
    parser.add_argument("--rate-limit", type=float, default=None)
    parser.add_argument(
        "--countries",
        type=int,
        default=None,
        help="List only the first N countries of the annex (a catalog that syncs in a second).",
    )
    args = parser.parse_args()
    sandbox = Sandbox(
        code_delay=args.code_delay,
        lifetime=args.lifetime,
        rate_limit=args.rate_limit,
        # Numbers of every country stay for sale: only the catalog the dashboard syncs shrinks.
        countries=COUNTRIES[: args.countries] if args.countries else COUNTRIES,
    )
    if args.code_delay_max is not None:
        low, high = args.code_delay, args.code_delay_max

        def code_delay(activation, n: int) -> float:
            return random.Random(f"{activation.id}:{n}").uniform(low, high)

        sandbox.code_delay_fn = code_delay
    for key in args.api_key:
        sandbox.add_account(key, Decimal(args.balance))
    controlled = ControlledSandbox(sandbox, args.api_key)
    server = _Server(("127.0.0.1", args.port), QuietRequestHandler)
    server.set_app(controlled.app)
    port = server.server_address[1]
    print(f"http://127.0.0.1:{port}{HANDLER_PATH}", flush=True)
    print(f"control http://127.0.0.1:{port}/control/", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.clear_faults()
        server.server_close()


if __name__ == "__main__":
    main()

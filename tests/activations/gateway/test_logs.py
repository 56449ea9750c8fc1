"""A token sent in a GET query (api_key=smsd_...) never lands in a request log: gunicorn's
access log (the Procfile's `web` process, through gunicorn.conf.py) and runserver's request
lines (the "django.server" logger) redact it; the gateway's own log lines never hold it."""

import logging
import shlex
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.app.wsgiapp import WSGIApplication

from dashboard.tokens import new_secret
from tests.activations.gateway.helpers import ask

ROOT = Path(__file__).resolve().parents[3]


def web_command() -> list[str]:
    """The Procfile's web line as gunicorn's arguments (the shell's defaults filled in)."""
    (line,) = [
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:")
    ]
    command = line.removeprefix("web:").replace("${PORT:-8000}", "8000")
    return shlex.split(command.replace("${WEB_CONCURRENCY:-2}", "2"))


def test_gunicorn_as_the_procfile_runs_it_redacts_tokens_in_the_access_log(monkeypatch, tmp_path):
    secret = new_secret()
    monkeypatch.chdir(ROOT)
    argv = web_command()
    assert argv[0] == "gunicorn"
    monkeypatch.setattr("sys.argv", [*argv, "--access-logfile", str(tmp_path / "access.log")])
    config = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg  # reads gunicorn.conf.py
    logger = config.logger_class(config)
    uri = f"/stubs/handler_api?api_key={secret}&action=getStatus&id=1"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "PATH_INFO": "/stubs/handler_api",
        "QUERY_STRING": uri.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = SimpleNamespace(status="200 OK", sent=16, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=2))
    for handler in logger.access_log.handlers:
        handler.flush()

    logged = (tmp_path / "access.log").read_text()
    assert '"GET /stubs/handler_api?api_key=***&action=getStatus&id=1 HTTP/1.1" 200' in logged
    assert secret not in logged
    assert secret[5:] not in logged


def test_runserver_request_lines_redact_tokens():
    secret = new_secret()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    server_logger = logging.getLogger("django.server")
    keep = Keep()
    server_logger.addHandler(keep)
    try:
        # As django.core.servers.basehttp.WSGIRequestHandler.log_message logs a request.
        server_logger.info(
            '"%s" %s %s',
            f"GET /api/handler_api?action=getBalance&api_key={secret} HTTP/1.1",
            "200",
            "6",
            extra={"status_code": 200, "server_time": "now"},
        )
    finally:
        server_logger.removeHandler(keep)
    assert records == ['"GET /api/handler_api?action=getBalance&api_key=*** HTTP/1.1" 200 6']


@pytest.mark.django_db
def test_the_gateways_own_log_lines_never_hold_the_token(
    client, make_token, alice, alice_account, tg_offer, caplog, settings
):
    """A failing purchase (the provider is unreachable) and a bad request log what happened,
    never the token."""
    settings.GATEWAY_REQUESTS_PER_SECOND = 10**6
    secret = make_token(alice)
    caplog.set_level(logging.DEBUG)
    ask(client, secret, action="getNumber", service="tg")
    ask(client, secret, method="post", action="getStatus", id="x" * 500)
    ask(client, secret[:-1] + "Z", action="getBalance")
    assert caplog.records
    assert secret not in caplog.text
    assert secret[5:20] not in caplog.text

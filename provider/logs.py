"""Keeping the API key out of logs: httpx logs request URLs (which hold the key on GET) at
INFO, so its loggers get `RedactApiKeys` as soon as `provider` is imported; a program that
logs request lines itself (a development server) adds the same filter to its logger."""

from __future__ import annotations

import logging
import re

_KEY_IN_URL = re.compile(r"(api_key=)[^&\s\"'>]*")


class RedactApiKeys(logging.Filter):
    """Replaces the value of every `api_key=` in a log message by ***."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = _KEY_IN_URL.sub(r"\1***", message), ()
        return True


for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, RedactApiKeys) for f in _logger.filters):
        _logger.addFilter(RedactApiKeys())

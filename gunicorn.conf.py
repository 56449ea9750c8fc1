"""gunicorn's settings for the Procfile's `web` process (`gunicorn -c gunicorn.conf.py`).

The access log writes each request line, URL and query included, so a gateway token sent in a
GET query (`api_key=smsd_...`) would land in it: the access logger gets the same filter as
httpx's loggers (`provider.logs.RedactApiKeys`), which replaces the value by ***. Other options
stay on the command line.
"""

from gunicorn.glogging import Logger

from provider.logs import RedactApiKeys


class RedactingLogger(Logger):
    """gunicorn's logger, with the API key removed from every access log line."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, RedactApiKeys) for f in self.access_log.filters):
            self.access_log.addFilter(RedactApiKeys())


logger_class = RedactingLogger

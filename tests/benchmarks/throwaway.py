"""A throwaway database for a benchmark: Django's test database (a SQLite file in a temporary
folder, or test_<name> on the PostgreSQL server of DATABASE_URL), created on entering and
dropped on leaving."""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Yields the database's vendor name ("sqlite3", "postgresql")."""
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    database = settings.DATABASES["default"]
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        if database["ENGINE"].endswith("sqlite3"):
            database.setdefault("TEST", {})["NAME"] = os.path.join(folder, "bench.sqlite3")
        old_config = setup_databases(verbosity=0, interactive=False)
        try:
            yield database["ENGINE"].rsplit(".", 1)[-1]
        finally:
            teardown_databases(old_config, verbosity=0)

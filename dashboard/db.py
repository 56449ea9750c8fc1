"""Riding out a briefly locked database.

SQLite lets one writer at a time; a file database waits (settings' busy timeout), but some
set-ups (the in-memory test database, a very busy file) answer "locked" at once. Writes that
must not be lost (a number the provider already sold, its audit record) retry for a while.
"""

import time
from collections.abc import Callable

from django.db import DataError, IntegrityError, OperationalError

# What the database (or a field preparing the value) raises for a row it cannot hold: a NUL
# byte or an over-long value on PostgreSQL, a duplicate key. A refusal of that row alone; any
# other database error (a lost connection, a server restarting) is an outage.
REFUSED_ROW = (DataError, IntegrityError, ValueError)

PATIENT = 40  # attempts; with the back-off below, about eight seconds in all


def retry_when_locked[T](work: Callable[[], T], attempts: int = PATIENT) -> T:
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(min(0.25, 0.01 * (attempt + 1)))
    raise AssertionError("unreachable")

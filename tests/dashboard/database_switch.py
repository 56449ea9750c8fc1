"""A database that can be switched off and on in a test, as a restart of PostgreSQL does."""

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

# What psycopg says while PostgreSQL restarts.
REFUSED = (
    'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
)


class DatabaseSwitch:
    """While `down`, every query of every connection in this process (the test's, the live
    server's) fails with an OperationalError saying `error` (a refused connection). As in a
    restart, connections already open stay open until they are used."""

    def __init__(self, monkeypatch) -> None:
        self.down = False
        self.error = REFUSED
        wrapper = type(connections[DEFAULT_DB_ALIAS])
        original = wrapper.cursor

        def cursor(database_connection):
            if self.down:
                raise OperationalError(self.error)
            return original(database_connection)

        monkeypatch.setattr(wrapper, "cursor", cursor)

"""The two writes of a sync that grow with the catalog, in set-based SQL: the offers' upsert
and the first prices of operators new to the catalog.

Raw SQL, because Django's ORM has neither a fast path for many rows nor INSERT ... SELECT:
`bulk_create` builds a model instance for every row and prepares every value of it through
its field; for a first sync's 68,768 offers and their first prices that was most of the
write's 6 to 9 seconds (cProfile: 12 of 18 profiled seconds in bulk_create, 3.5 building
instances). The values here come from the protocol client, already checked against the
columns (`provider.bounds`) and typed (an int, a Decimal), and the timestamps are adapted
once per statement by the backend's own `adapt_datetimefield_value`. `INSERT ... ON
CONFLICT (...) DO UPDATE SET column = excluded.column` and `INSERT ... SELECT` read the same
in SQLite (3.24 and later) and PostgreSQL; only how the rows travel differs (VALUES lists on
SQLite, arrays on PostgreSQL: see `upsert_offers`). Table and column names come from the
models. A row the database refuses (the price CheckConstraint, a value too large) raises
Django's IntegrityError or DataError as the ORM would, so that `store.write_each` writes the
answers pair by pair.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import batched

from django.db import connection

from catalog.models import Offer, PriceChange

# Offer rows per INSERT; operator ids per IN (...) list. Both far below either database's
# limit on parameters per statement (SQLite 32,766, PostgreSQL 65,535).
ROWS = 500
IDS = 500
# Offer rows per statement on PostgreSQL, where they go as arrays (`upsert_offers`).
ARRAY_ROWS = 10_000

# An offer as `upsert_offers` writes it: (country pk, operator pk, service pk, price, quantity).
OfferRow = tuple[int, int, int, Decimal, int]


def quoted(model: type, *fields: str) -> tuple[str, list[str]]:
    """The model's table and the named fields' columns, quoted for this database."""
    quote = connection.ops.quote_name
    meta = model._meta
    return quote(meta.db_table), [quote(meta.get_field(name).column) for name in fields]


def array_literal(numbers: Iterable[int | Decimal]) -> str:
    """A PostgreSQL array of numbers in its text form, "{1,2,3}": psycopg would quote a list
    element by element in Python, a second of a first sync; numbers need no quoting."""
    return "{" + ",".join(map(str, numbers)) + "}"


def upsert_offers(provider_id: int, rows: Sequence[OfferRow], now: datetime) -> None:
    """Insert the offers, or update the stored offer of the same (operator, service): its
    price and quantity, available again, seen and updated `now`."""
    table, columns = quoted(
        Offer,
        "country",
        "operator",
        "service",
        "price",
        "quantity",
        "provider",
        "available",
        "last_seen_at",
        "updated_at",
    )
    operator, service = columns[1], columns[2]
    upsert = (
        f"INSERT INTO {table} ({', '.join(columns)}) %s "
        f"ON CONFLICT ({operator}, {service}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns[3:5] + columns[6:])
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    same = (provider_id, True, stamp, stamp)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # psycopg binds parameters on the client and parses a statement of more than 50
            # of them anew each time (in Python: 7 of 10 seconds with VALUES lists), so the
            # rows go as five arrays: nine parameters per statement, however many rows.
            rows_sql = (
                "SELECT *, %s, %s, %s, %s FROM unnest(%s::bigint[], %s::bigint[], "
                "%s::bigint[], %s::numeric[], %s::integer[])"
            )
            for batch in batched(rows, ARRAY_ROWS):
                cursor.execute(
                    upsert % rows_sql, [*same, *map(array_literal, zip(*batch, strict=True))]
                )
            return
        row_sql = f"({', '.join(['%s'] * len(columns))})"
        for batch in batched(rows, ROWS):
            values = f"VALUES {', '.join([row_sql] * len(batch))}"
            cursor.execute(upsert % values, [value for row in batch for value in (*row, *same)])


def record_first_prices(operator_ids: Sequence[int], now: datetime) -> int:
    """A price history row, recorded `now`, for every offer of the operators: for operators
    whose offers were all just written for the first time. One statement per IN list, no
    row through Python. Returns the number of rows recorded."""
    history, (offer, price, recorded_at) = quoted(PriceChange, "offer", "price", "recorded_at")
    offers, (offer_id, offer_price, operator) = quoted(Offer, "id", "price", "operator")
    stamp = connection.ops.adapt_datetimefield_value(now)
    recorded = 0
    with connection.cursor() as cursor:
        for batch in batched(operator_ids, IDS):
            # Only quoted names from the models and placeholders are spliced in.
            sql = (
                f"INSERT INTO {history} ({offer}, {price}, {recorded_at}) "  # noqa: S608
                f"SELECT {offer_id}, {offer_price}, %s FROM {offers} "
                f"WHERE {operator} IN ({', '.join(['%s'] * len(batch))})"
            )
            cursor.execute(sql, [stamp, *batch])
            recorded += cursor.rowcount
    return recorded

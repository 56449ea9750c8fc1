"""The catalog sync: what a provider sells, fetched concurrently and stored in bulk.

- `key`: whose key lists the catalog;
- `claims`: one sync per provider at a time, and "Sync now" queues at most one;
- `fetch`: getCountryAndOperators, then getServicesAndCost for every (country, operator)
  pair at once through the provider's `catalog.upstream.CatalogLister` (the request budget
  at the lowest priority, the audit log), with retries; no catalog row is touched;
- `store`: the answers written in one transaction with a few bulk statements (never one
  query per row), price history, offers the provider no longer lists retired;
- `bulk`: the two writes that grow with the catalog (the offers' upsert, a first sync's price
  history) in set-based SQL, the same on SQLite and PostgreSQL;
- `run`: one sync from claim to SyncRun;
- `errors`: the run's errors as SyncRun keeps them.

Answers are untrusted input. The protocol client leaves out every row our columns cannot
hold (its bounds are the columns', and a property test holds them to the models) and names
it in `Listing.problems`, which the run's errors record; should the database still refuse the
bulk write (a value no check foresaw, a negative price against the CheckConstraint), the
answers are written again pair by pair, each in a savepoint, and only the pairs it refuses
are lost. A fault leaves the earlier catalog as it was.
"""

"""Whether the background worker (django-q2's `qcluster`) is running, for pages that tell a
person why something has not happened yet (a code, a queued catalog sync).

A running cluster saves its status in the cache every half second or so, kept for 3 seconds
(`django_q.status.Stat`); the cache is shared by every process (the database or Redis), so
the web process sees a worker started by `make run`, `manage.py qcluster` or another host.
Reading it writes the cache's list of clusters back, so ask only when the answer matters.
"""

from django_q.status import Stat


def worker_running() -> bool:
    try:
        return bool(Stat.get_all())
    except Exception:  # a cache that cannot be read tells nothing: do not claim it stopped
        return True

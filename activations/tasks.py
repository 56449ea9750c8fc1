"""django-q2 tasks of the activations app: the poller's loop.

The schedule in `activations.schedules` runs `poll_for_a_minute` every minute. The
scheduler only ticks about every 30 seconds, so sub-minute polling is a loop inside the task:
it runs for LOOP_SECONDS (below Q_CLUSTER["timeout"], so a slow loop is never handed to a
second worker while still running) and hands its claims back when it ends. If one run starts
before the previous has ended, the two share the work: every activation is claimed by one
worker at a time.
"""

from activations.poller import Poller

# Just under a minute: the next scheduled run takes over as this one ends.
LOOP_SECONDS = 58.0


def poll_for_a_minute(seconds: float = LOOP_SECONDS) -> str:
    """Poll open activations for `seconds` (stops early, cleanly, on SIGTERM)."""
    return str(Poller().run(seconds))

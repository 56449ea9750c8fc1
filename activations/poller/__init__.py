"""The background poller: asks providers for the status of every open activation, stores
what changed at once, and schedules each activation's next poll.

- `schedule`: THE polling schedule (one table by state and age) and everything derived from
  it: the next poll, the demand on a provider's budget, when a row is due (SQL);
- `claims`: taking due activations with a conditional UPDATE (one worker per activation);
- `load`: each provider's demand against its budget, so how far waits must stretch;
- `dispatch` and `polls`: per provider, polls most urgent first at the budget's pace;
- `flush`: writing results back (a row the database refuses is that row's error alone);
- `loop`: the loop itself (`Poller`), its heartbeat and signals; `mode`: how it runs.
"""

from activations.poller.loop import HEARTBEAT_NAME, Poller
from activations.poller.mode import RunMode
from activations.poller.results import PassSummary

__all__ = ["HEARTBEAT_NAME", "PassSummary", "Poller", "RunMode"]

"""A clock a test can move: the system's time shifted by what the test says.

Installed through the service's own seam (``workflowsvc.timestamps.use_clock``), so the API, the worker
and the sweeper built for the test all read it. It goes on ticking with real time, so the queue's real
delays and the service's sense of time agree; a test moves it forward (``advance``) to be past a
deadline, a lease or a re-drive time without waiting for it.
"""

from __future__ import annotations

import time

NS = 1_000_000_000


class ShiftedClock:
    def __init__(self) -> None:
        self.shift_ns = 0

    def now_ns(self) -> int:
        return time.time_ns() + self.shift_ns

    def advance(self, seconds: float) -> None:
        self.shift_ns += int(seconds * NS)

"""The sweeper, on a schedule: runs past their deadline, attempts whose worker vanished, lost messages.

It looks only at runs whose due time has come (``runs.due_ns``: the earliest of the run's deadline,
the lease of the attempt in flight, and the re-drive time of a step nobody took), through the sparse
active-run index. The rules are ``steps.sweep``.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflowsvc.config import once_per_process
from workflowsvc.execution import steps
from workflowsvc.execution.updates import StillConflicting, update_run
from workflowsvc.execution.worker import send_next_step
from workflowsvc.models.run import RunRecord
from workflowsvc.store import get_store
from workflowsvc.store.runs import RunStore
from workflowsvc.task_queue import TaskQueue, get_task_queue
from workflowsvc.timestamps import SYSTEM_CLOCK, Clock, clock


@dataclass(frozen=True)
class SweepReport:
    handled: int = 0  # runs timed out, alerted, recovered or re-driven
    alerts: int = 0  # ALERT_ONLY runs flagged as past their deadline


class Sweeper:
    def __init__(self, runs: RunStore, queue: TaskQueue, clock: Clock = SYSTEM_CLOCK) -> None:
        self.runs = runs
        self.queue = queue
        self.clock = clock

    def sweep(self) -> SweepReport:
        handled = alerts = 0
        for run_id in self.runs.due_run_ids(self.clock.now_ns()):
            try:
                result = self._sweep_run(run_id)
            except StillConflicting:
                continue  # the run is busy changing; it stays due and is looked at next time
            if result is not None and result.handled:
                handled += 1
                alerts += int(result.change is not None and result.change.alerted)
        return SweepReport(handled=handled, alerts=alerts)

    def _sweep_run(self, run_id: str) -> steps.Sweep | None:
        def decide(read: RunRecord) -> tuple[steps.Change | None, steps.Sweep]:
            look = steps.sweep(read, self.clock.now_ns(), self.runs)
            return look.change, look

        updated = update_run(self.runs, run_id, decide)
        if updated is None or updated.saved is None:
            return None
        look = updated.result
        if look.change is not None and look.change.continues:
            send_next_step(self.queue, updated.saved, self.clock.now_ns())
        return look


@once_per_process
def get_sweeper() -> Sweeper:
    return Sweeper(get_store().runs, get_task_queue(), clock())

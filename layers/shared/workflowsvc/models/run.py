"""A run as it is stored: the document the API shows, and the execution state it never shows.

The document keeps the API's own JSON shape (CONTRACT.md: ``_id``, ``_status``, ``_tasks``, ...), so it
goes out as it is read, with no conversion on the hot paths. The execution state is typed: it is what the
worker, the sweeper and a user's status change decide on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

RunDocument = dict[str, Any]
TaskDocument = dict[str, Any]

# DynamoDB items stop at 400 KB; what a run's item holds beside its document (keys, state) fits in the rest.
MAX_RUN_DOCUMENT_BYTES = 300 * 1024
MAX_ITERATION_TASK_BYTES = 300 * 1024  # an iteration task is an item of its own


@dataclass
class ExecutionState:
    """Where a run's execution stands.

    - ``step``: number of the step the worker should take next; queue messages carry it, so a message
      for an older step (a duplicate, or one overtaken by pause, terminate or retry) does nothing.
    - ``claimed``: the current step's attempt is in flight (a worker has claimed it), on
      ``in_flight_task_id`` (a top-level task), until ``lease_ns``, when the attempt is presumed lost.
    - ``scheduled_ns``: when the current step's message becomes visible on the queue.
    - ``deadline_ns`` / ``remaining_ns``: the run's timeout clock; ``remaining_ns`` while PAUSED.
    - ``paused_from``: the status a resume returns to.
    - ``fail_on_resume``: the error of a task that failed for good while the run was paused.
    - ``alerted``: an ALERT_ONLY run has been flagged as past its deadline.
    - ``next_seq``: the next ``_sequenceno`` for tasks made while the run goes (iterations).
    - ``output_params``: the definition's ``_outputParams``.
    - ``progress``: per task id, the progress of a task that spans several steps, in the shape its
      task type keeps it (``workflowsvc.tasks``); nothing else reads it.
    """

    step: int = 1
    claimed: bool = False
    scheduled_ns: int = 0
    deadline_ns: int | None = None
    next_seq: int = 1
    output_params: dict[str, Any] | None = None
    in_flight_task_id: str | None = None
    lease_ns: int | None = None
    remaining_ns: int | None = None
    paused_from: str | None = None
    fail_on_resume: str | None = None
    alerted: bool = False
    progress: dict[str, dict[str, Any]] = field(default_factory=dict)

    def release_claim(self) -> None:
        self.claimed = False
        self.in_flight_task_id = None
        self.lease_ns = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "claimed": self.claimed,
            "scheduledNs": self.scheduled_ns,
            "deadlineNs": self.deadline_ns,
            "nextSeq": self.next_seq,
            "outputParams": self.output_params,
        }
        optional = {
            "inFlightTaskId": self.in_flight_task_id,
            "leaseNs": self.lease_ns,
            "remainingNs": self.remaining_ns,
            "pausedFrom": self.paused_from,
            "failOnResume": self.fail_on_resume,
            "alerted": self.alerted or None,
            "progress": self.progress or None,
        }
        data.update({name: value for name, value in optional.items() if value is not None})
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExecutionState:
        return cls(
            step=data["step"],
            claimed=data.get("claimed", False),
            scheduled_ns=data.get("scheduledNs", 0),
            deadline_ns=data.get("deadlineNs"),
            next_seq=data.get("nextSeq", 1),
            output_params=data.get("outputParams"),
            in_flight_task_id=data.get("inFlightTaskId"),
            lease_ns=data.get("leaseNs"),
            remaining_ns=data.get("remainingNs"),
            paused_from=data.get("pausedFrom"),
            fail_on_resume=data.get("failOnResume"),
            alerted=data.get("alerted", False),
            progress=data.get("progress") or {},
        )


@dataclass
class RunRecord:
    """A run and its execution state, at ``version`` (0 for one not stored yet).

    ``placement`` is the store's: which partition of each namespace's index the run is on (it stays on
    the one it started on). Rules never read it; it travels with the record so a write keeps it.
    """

    run: RunDocument
    state: ExecutionState
    version: int = 0
    placement: dict[str, int] = field(default_factory=dict)

    def clone(self) -> RunRecord:
        """A copy to change: rules never change the record they were given."""
        return RunRecord(
            run=copy.deepcopy(self.run),
            state=copy.deepcopy(self.state),
            version=self.version,
            placement=dict(self.placement),
        )

    @property
    def id(self) -> str:
        run_id: str = self.run["_id"]
        return run_id

    @property
    def status(self) -> str:
        status: str = self.run["_status"]
        return status

    def task(self, task_id: str) -> TaskDocument:
        """A top-level task of the run, by id."""
        return next(task for task in self.run["_tasks"] if task["_id"] == task_id)

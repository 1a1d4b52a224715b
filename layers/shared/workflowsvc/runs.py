"""Rules of runs: making one from a definition, which task comes next, when the sweeper looks. No I/O here.

How runs change status is ``workflowsvc.execution``; what a run stores is ``workflowsvc.models.run``.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from workflowsvc import timestamps
from workflowsvc.models.run import ExecutionState, RunRecord, TaskDocument

NS = 1_000_000_000
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})
ACTIVE_STATUSES = frozenset({"QUEUED", "RUNNING"})
UNFINISHED_TASK_STATUSES = frozenset({"QUEUED", "RUNNING", "PAUSED"})
RETRIABLE_TASK_STATUSES = frozenset({"FAILED", "TIMED_OUT", "TERMINATED", "SKIPPED"})

# A step whose message has not been taken this long after it became visible is re-sent by the sweeper.
REDRIVE_AFTER_NS = 120 * NS

_RUN_TASK_FIELDS = ("_id", "_name", "_sequenceno", "_type", "_status")


def new_run(
    definition: dict[str, Any],
    input_params: dict[str, Any],
    namespaces: tuple[str, ...],
    subject: str,
    now_ns: int,
) -> RunRecord:
    """A QUEUED run of ``definition``: every task QUEUED, a copy of the definition's tasks."""
    created_at = timestamps.format_ns(now_ns)
    tasks = []
    for sequenceno, task_definition in enumerate(definition["_tasks"], start=1):
        task = {
            "_id": str(uuid.uuid4()),
            "_name": task_definition["_name"],
            "_sequenceno": sequenceno,
            "_type": task_definition["_type"],
            "_status": "QUEUED",
        }
        task.update(
            {
                key: copy.deepcopy(value)
                for key, value in task_definition.items()
                if key not in _RUN_TASK_FIELDS
            }
        )
        tasks.append(task)
    timeout = definition.get("_timeoutSeconds")
    run = {
        "_id": str(uuid.uuid4()),
        "_workflowDefId": definition["_id"],
        "_name": definition["_name"],
        "_namespaces": list(namespaces),
        "_userType": definition.get("_userType"),
        "_tasks": tasks,
        "_timeoutSeconds": timeout,
        "_timeoutPolicy": definition.get("_timeoutPolicy"),
        "_status": "QUEUED",
        "_createdAt": created_at,
        "_updatedAt": created_at,
        "_createdBy": subject,
        "_updatedBy": subject,
        "_inputParams": input_params,
        "_output": None,
    }
    state = ExecutionState(
        step=1,
        claimed=False,
        scheduled_ns=now_ns,
        deadline_ns=now_ns + timeout * NS if timeout else None,
        next_seq=len(tasks) + 1,
        output_params=definition.get("_outputParams"),
    )
    return RunRecord(run=run, state=state)


def next_task(run: dict[str, Any]) -> TaskDocument | None:
    """The first top-level task that has not completed: the one the next step works on."""
    return next((task for task in run["_tasks"] if task["_status"] != "COMPLETED"), None)


def reset_task(task: TaskDocument) -> None:
    """A task made QUEUED again, as if it had never run."""
    task["_status"] = "QUEUED"
    for key in ("_attempts", "_startedAt", "_endedAt", "_output", "_error"):
        task.pop(key, None)


def due_ns(record: RunRecord) -> int | None:
    """When the sweeper must look at the run again; None once it cannot move on its own."""
    times = [time for time in due_times(record) if time is not None]
    return min(times) if times else None


def due_times(record: RunRecord) -> tuple[int | None, int | None]:
    """What makes a run due for the sweeper: its deadline (while one counts), and when its current step
    must be looked at (the lease of the attempt in flight, or the re-drive time of a step nobody took)."""
    if record.status not in ACTIVE_STATUSES:
        return None, None
    state = record.state
    deadline = state.deadline_ns if state.deadline_ns is not None and not state.alerted else None
    if state.claimed:
        return deadline, state.lease_ns
    if next_task(record.run) is not None:
        return deadline, state.scheduled_ns + REDRIVE_AFTER_NS
    return deadline, None

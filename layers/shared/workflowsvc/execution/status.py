"""A user's status change (PUT /workflows/{id}/status): the contract's table, as a pure rule.

| requested | allowed from | the run becomes | its unfinished tasks become |
|---|---|---|---|
| PAUSED | QUEUED, RUNNING | PAUSED | PAUSED (a task in flight finishes; nothing new starts) |
| RESUMED | PAUSED | QUEUED or RUNNING, as before the pause | QUEUED; execution goes on |
| RETRIED | FAILED, TIMED_OUT, TERMINATED | QUEUED | failed, timed-out, terminated, skipped: QUEUED |
| TERMINATED | QUEUED, RUNNING, PAUSED | TERMINATED | TERMINATED |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflowsvc import runs, timestamps
from workflowsvc.errors import Conflict
from workflowsvc.execution.steps import Change
from workflowsvc.models.run import RunRecord
from workflowsvc.runs import NS
from workflowsvc.tasks import type_of

ALLOWED_FROM: dict[str, frozenset[str]] = {
    "PAUSED": frozenset({"QUEUED", "RUNNING"}),
    "RESUMED": frozenset({"PAUSED"}),
    "RETRIED": frozenset({"FAILED", "TIMED_OUT", "TERMINATED"}),
    "TERMINATED": frozenset({"QUEUED", "RUNNING", "PAUSED"}),
}


@dataclass(frozen=True)
class StatusChange:
    change: Change
    send_step: bool  # whether execution must be (re)started with a message for the run's step


def change_status(record: RunRecord, requested: str, subject: str, now_ns: int) -> StatusChange:
    """``requested`` applied to ``record`` by ``subject``; Conflict (409) when its status forbids it."""
    current = record.status
    if current not in ALLOWED_FROM[requested]:
        allowed = ", ".join(sorted(ALLOWED_FROM[requested]))
        raise Conflict(
            f"_status: cannot change a run that is {current} to {requested} (allowed from {allowed})",
            code="ILLEGAL_TRANSITION",
        )
    record = record.clone()
    state = record.state
    now = timestamps.format_ns(now_ns)
    in_flight = state.in_flight_task_id if state.claimed else None
    send_step = _TRANSITIONS[requested](record, in_flight, now_ns)
    if in_flight is None or requested in ("RETRIED", "TERMINATED"):
        # A new step makes every message already sent for the old one stale. An attempt in flight
        # through a pause or a resume keeps its step: its result is recorded when it comes.
        state.step += 1
        state.release_claim()
        state.scheduled_ns = now_ns
    following = [
        task
        for task_id in state.progress
        for task in type_of(record.task(task_id)).status_changed(record, task_id, requested, now)
    ]
    record.run["_updatedAt"] = now
    record.run["_updatedBy"] = subject
    return StatusChange(change=Change(record, iteration_tasks=following), send_step=send_step)


# Each transition changes the run in place and answers whether a step message must (re)start execution.


def _pause(record: RunRecord, in_flight: str | None, now_ns: int) -> bool:
    run, state = record.run, record.state
    state.paused_from = run["_status"]
    if state.deadline_ns is not None:
        state.remaining_ns = max(state.deadline_ns - now_ns, 0)
        state.deadline_ns = None
    run["_status"] = "PAUSED"
    for task in run["_tasks"]:
        # The task in flight finishes and records its result; nothing new starts.
        if task["_status"] in ("QUEUED", "RUNNING") and task["_id"] != in_flight:
            task["_status"] = "PAUSED"
    return False


def _resume(record: RunRecord, in_flight: str | None, now_ns: int) -> bool:
    run, state = record.run, record.state
    run["_status"] = state.paused_from or "QUEUED"
    state.paused_from = None
    if state.remaining_ns is not None:
        state.deadline_ns = now_ns + state.remaining_ns
        state.remaining_ns = None
    for task in run["_tasks"]:
        if task["_status"] == "PAUSED":
            task["_status"] = type_of(task).resumed_status(record, task)
    # Without an attempt in flight, a step message moves the run on (or completes it, when the last
    # task finished during the pause).
    return in_flight is None


def _retry(record: RunRecord, in_flight: str | None, now_ns: int) -> bool:
    run, state = record.run, record.state
    run["_status"] = "QUEUED"
    run["_output"] = None
    run.pop("_error", None)
    run.pop("_timeoutAlertedAt", None)
    for task in run["_tasks"]:
        if task["_status"] in runs.RETRIABLE_TASK_STATUSES:
            runs.reset_task(task)
    timeout = run.get("_timeoutSeconds")
    state.deadline_ns = now_ns + timeout * NS if timeout else None
    state.remaining_ns = None
    state.alerted = False
    # A task that spans several steps goes on from where it stopped (its progress is kept).
    return True


def _terminate(record: RunRecord, in_flight: str | None, now_ns: int) -> bool:
    run, state = record.run, record.state
    now = timestamps.format_ns(now_ns)
    run["_status"] = "TERMINATED"
    for task in run["_tasks"]:
        if task["_status"] in runs.UNFINISHED_TASK_STATUSES:
            task["_status"] = "TERMINATED"
            task["_endedAt"] = now
    state.deadline_ns = None
    state.remaining_ns = None
    state.paused_from = None
    return False


_TRANSITIONS: dict[str, Callable[[RunRecord, str | None, int], bool]] = {
    "PAUSED": _pause,
    "RESUMED": _resume,
    "RETRIED": _retry,
    "TERMINATED": _terminate,
}

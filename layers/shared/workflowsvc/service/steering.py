"""Changing a run's status: pause, resume, retry, terminate (the rules: ``execution.status``)."""

from __future__ import annotations

from typing import Any

from workflowsvc import runs
from workflowsvc.errors import Conflict
from workflowsvc.execution.status import StatusChange, change_status
from workflowsvc.execution.steps import Change
from workflowsvc.execution.updates import StillConflicting, update_run
from workflowsvc.identity import Caller
from workflowsvc.models.run import RunRecord
from workflowsvc.service import Context
from workflowsvc.service.common import is_uuid, run_not_found, visible
from workflowsvc.service.reading import view
from workflowsvc.tasks import type_of


def steer(
    context: Context, run_id: str, namespaces: tuple[str, ...], requested: str, caller: Caller
) -> dict[str, Any]:
    def decide(read: RunRecord) -> tuple[Change, StatusChange]:
        if not visible(read.run, namespaces):
            raise run_not_found(run_id, namespaces)
        changed = change_status(read, requested, caller.subject, context.clock.now_ns())
        return changed.change, changed

    try:
        updated = update_run(context.store.runs, run_id, decide) if is_uuid(run_id) else None
    except StillConflicting:
        raise Conflict(f"workflowId: {run_id!r} kept changing; try again", code="CONCURRENT_CHANGE") from None
    if updated is None or updated.saved is None:
        raise run_not_found(run_id, namespaces)
    saved, changed = updated.saved, updated.result
    if requested == "RETRIED":
        _forget_unfinished_tasks_apart(context, saved)
    if changed.send_step:
        task = runs.next_task(saved.run)
        context.queue.send_step(run_id, saved.state.step, task["_id"] if task else None)
    return view(context, saved.run, include_tasks_apart=False)


def _forget_unfinished_tasks_apart(context: Context, record: RunRecord) -> None:
    """On retry, tasks kept apart (iterations) that failed, timed out, were terminated or skipped rerun."""
    if not any(type_of(task).keeps_tasks_apart for task in record.run["_tasks"]):
        return
    stale = [
        task
        for task in context.store.runs.get_iteration_tasks(record.id, consistent=True)
        if task["_status"] in runs.RETRIABLE_TASK_STATUSES
    ]
    if stale:
        context.store.runs.delete_iteration_tasks(record.id, stale)

"""Reading one run, as the API shows it."""

from __future__ import annotations

from typing import Any

from workflowsvc.models.run import RunDocument
from workflowsvc.service import Context
from workflowsvc.service.common import visible_run
from workflowsvc.tasks import type_of


def get_run(
    context: Context, run_id: str, namespaces: tuple[str, ...], include_tasks_apart: bool
) -> RunDocument:
    record = visible_run(context, run_id, namespaces, consistent=False)
    return view(context, record.run, include_tasks_apart)


def view(context: Context, run: RunDocument, include_tasks_apart: bool) -> RunDocument:
    """The run as the API shows it: each task as its type shows it (a loop's output assembled from its
    iterations), and the tasks kept apart after their task when ``include_tasks_apart``."""
    if not any(type_of(task).keeps_tasks_apart for task in run["_tasks"]):
        return run
    tasks_apart = context.store.runs.get_iteration_tasks(run["_id"])
    if not tasks_apart:
        return run
    shown: list[Any] = []
    for task in run["_tasks"]:
        shown += type_of(task).show(task, tasks_apart, include_tasks_apart)
    return dict(run, _tasks=shown)

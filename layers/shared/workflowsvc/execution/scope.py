"""What ``${...}`` expressions see: ``{"workflow": <run>, "tasks": {<name>: <task>}, "loop": {...}}``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workflowsvc import expressions
from workflowsvc.models.run import RunRecord, TaskDocument
from workflowsvc.tasks import type_of
from workflowsvc.tasks.base import Attempt, TasksApart


def build_scope(
    record: RunRecord,
    uses: Any,
    tasks_apart: TasksApart,
    attempt: Attempt | None = None,
    pending: Sequence[TaskDocument] = (),
) -> dict[str, Any]:
    """The scope of ``uses`` (the values about to be evaluated). A task whose output is assembled from
    tasks kept apart (a LOOP_OVER) is assembled only when ``uses`` may name it."""
    text = "\n".join(_strings(uses))
    tasks = {
        task["_name"]: (
            type_of(task).seen_by_expressions(record, task, tasks_apart, pending)
            if _may_name(text, task["_name"])
            else task
        )
        for task in record.run["_tasks"]
    }
    scope: dict[str, Any] = {"workflow": record.run, "tasks": tasks, "loop": {}}
    if attempt is not None and attempt.apart:
        type_of(record.task(attempt.task_id)).extend_scope(scope, record, attempt, tasks_apart)
    return scope


@dataclass(frozen=True)
class RunContext:
    """The ``StepContext`` of a step of ``record`` (``workflowsvc.tasks.base``)."""

    record: RunRecord
    now_ns: int
    tasks_apart: TasksApart

    def resolve(self, value: Any) -> Any:
        return expressions.resolve(value, build_scope(self.record, value, self.tasks_apart))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _may_name(text: str, name: str) -> bool:
    """Whether expressions in ``text`` may refer to task ``name``; one JMESPath must escape always may."""
    return name in text or '"' in name or "\\" in name

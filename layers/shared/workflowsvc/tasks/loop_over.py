"""LOOP_OVER: runs its nested ``_tasks`` once per element of ``_inputParams._items``, one attempt per step.

Each iteration's tasks are copies of the nested tasks with their own ``_id`` and ``_sequenceno``,
``_loopTaskId`` and ``_loopIndex``; they are kept apart from the run's ``_tasks`` (an item each in the
table), so a long loop never grows the run's document, and shown after the loop task on request. The
loop's ``_output`` is the list of each iteration's last output, assembled from those tasks when read.

What the loop keeps between steps (``ExecutionState.progress[<loop task id>]``): ``index`` and
``position`` (the iteration and the nested task under way), ``count`` (items when the loop started) and
``current`` (the iteration task under way, once made). It stays after the run fails, so that a retry
goes on from the iteration task that did not finish; completed iterations keep their output.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from workflowsvc import runs
from workflowsvc.expressions import ExpressionError
from workflowsvc.limits import MAX_TASKS
from workflowsvc.models.run import RunRecord, TaskDocument
from workflowsvc.tasks.base import (
    Attempt,
    CheckNested,
    DefinedTask,
    Ended,
    StepContext,
    TasksApart,
    TaskType,
    definition_error,
)

MAX_LOOP_ITEMS = 1000


class LoopOver(TaskType):
    name = "LOOP_OVER"
    keeps_tasks_apart = True

    # ------------------------------------------------------------ definitions

    def check(self, task: DefinedTask, where: str, inside: str | None, check_nested: CheckNested) -> None:
        if inside == self.name:
            raise definition_error(f"{where}._type: a LOOP_OVER task cannot be nested in another LOOP_OVER")
        if not task.tasks:
            raise definition_error(f"{where}._tasks: a LOOP_OVER task needs the tasks to run per item")
        check_nested(task.tasks, f"{where}._tasks", self.name)

    def schema(self, common: dict[str, Any], nested: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
        schema = super().schema(common, nested)
        kinds = nested(self.name)
        schema["properties"]["_tasks"] = {
            "type": "array",
            "items": kinds[0] if len(kinds) == 1 else {"oneOf": kinds},
            "minItems": 1,
            "maxItems": MAX_TASKS,
            "description": "The tasks run once per item of _inputParams._items (loops do not nest).",
        }
        schema["required"] = ["_name", "_type", "_tasks"]
        return schema

    # ------------------------------------------------------------ steps

    def begin(self, record: RunRecord, task: TaskDocument, context: StepContext) -> Attempt | Ended:
        items = self._items(task, context)
        if isinstance(items, str):
            return Ended(error=items)
        if not items:
            record.state.progress.pop(task["_id"], None)
            return Ended(output=[])  # an empty loop completes at once: no call to make
        progress = record.state.progress.get(task["_id"])
        if progress is None:
            progress = {"index": 0, "position": 0, "count": len(items)}
            record.state.progress[task["_id"]] = progress
        current = progress.get("current")
        if current is None or current.get("_loopIndex") != progress["index"]:
            nested = task["_tasks"][progress["position"]]
            current = _iteration_task(record, task, nested, progress["index"], status="QUEUED")
            progress["current"] = current
        return Attempt(task_id=task["_id"], runnable=current, context=items)

    def in_flight(self, record: RunRecord, task: TaskDocument, context: StepContext) -> Attempt:
        current = (record.state.progress.get(task["_id"]) or {}).get("current")
        if current is None:
            return Attempt(task_id=task["_id"])
        items = self._items(task, context)
        return Attempt(
            task_id=task["_id"], runnable=current, context=items if isinstance(items, list) else []
        )

    def current(self, record: RunRecord, attempt: Attempt) -> TaskDocument | None:
        current: TaskDocument | None = (record.state.progress.get(attempt.task_id) or {}).get("current")
        return current

    def attempt_started(self, record: RunRecord, attempt: Attempt, now: str) -> None:
        loop_task = record.task(attempt.task_id)
        loop_task["_status"] = "RUNNING"
        loop_task.setdefault("_startedAt", now)
        record.state.progress[attempt.task_id]["current"] = attempt.runnable

    def child_completed(self, record: RunRecord, attempt: Attempt, now: str) -> None:
        progress = record.state.progress[attempt.task_id]
        loop_task = record.task(attempt.task_id)
        if progress["position"] + 1 < len(loop_task["_tasks"]):
            progress["position"] += 1
        else:
            progress["index"] += 1
            progress["position"] = 0
        progress.pop("current", None)
        if progress["index"] >= len(attempt.context or []):
            loop_task.update(_status="COMPLETED", _endedAt=now)
            del record.state.progress[attempt.task_id]

    def child_retrying(self, record: RunRecord, attempt: Attempt, paused: bool) -> None:
        record.task(attempt.task_id)["_status"] = "PAUSED" if paused else "RUNNING"

    def child_failed(
        self, record: RunRecord, attempt: Attempt, runnable: TaskDocument, error: str, now: str
    ) -> None:
        index = record.state.progress[attempt.task_id]["index"]
        items = attempt.context
        item = _brief(items[index] if items else None)
        record.task(attempt.task_id).update(
            _status="FAILED",
            _endedAt=now,
            _error=f"iteration {index} (item {item}) failed: task {runnable['_name']!r}: {error}",
        )

    def never_started(self, record: RunRecord, task: TaskDocument) -> list[TaskDocument]:
        progress = record.state.progress.get(task["_id"])
        if progress is None:
            return []
        current = progress.get("current")
        started = current is not None and current.get("_attempts")
        skipped = []
        for index in range(progress["index"], progress.get("count", 0)):
            first = progress["position"] + (1 if started else 0) if index == progress["index"] else 0
            for nested in task["_tasks"][first:]:
                skipped.append(_iteration_task(record, task, nested, index, status="SKIPPED"))
        return skipped

    def _items(self, task: TaskDocument, context: StepContext) -> list[Any] | str:
        """The items to loop over, or why they cannot be had."""
        declared = (task.get("_inputParams") or {}).get("_items")
        try:
            items = context.resolve(declared)
        except ExpressionError as error:
            return f"_inputParams._items: {error}"
        if not isinstance(items, list):
            return (
                f"_inputParams._items of LOOP_OVER task {task['_name']!r} must be a list, got {_brief(items)}"
            )
        if len(items) > MAX_LOOP_ITEMS:
            return f"_inputParams._items has {len(items)} items; a LOOP_OVER takes at most {MAX_LOOP_ITEMS}"
        return items

    # ------------------------------------------------------------ expressions and outputs

    def output(
        self, record: RunRecord, task: TaskDocument, tasks_apart: TasksApart, pending: Sequence[TaskDocument]
    ) -> Any:
        stored = tasks_apart.get_iteration_tasks(record.id, consistent=True, parent_task_id=task["_id"])
        by_id = {iteration["_id"]: iteration for iteration in stored}
        by_id.update(
            {
                iteration["_id"]: iteration
                for iteration in pending
                if iteration.get("_loopTaskId") == task["_id"]
            }
        )
        return loop_output(sorted(by_id.values(), key=_in_order))

    def seen_by_expressions(
        self, record: RunRecord, task: TaskDocument, tasks_apart: TasksApart, pending: Sequence[TaskDocument]
    ) -> TaskDocument:
        if task["_status"] != "COMPLETED":
            return task
        return dict(task, _output=self.output(record, task, tasks_apart, pending))

    def extend_scope(
        self, scope: dict[str, Any], record: RunRecord, attempt: Attempt, tasks_apart: TasksApart
    ) -> None:
        progress = record.state.progress.get(attempt.task_id)
        if progress is None:
            return
        index = progress["index"]
        if progress["position"] > 0:  # earlier tasks of this iteration, by name
            for done in tasks_apart.get_iteration_tasks(
                record.id, consistent=True, parent_task_id=attempt.task_id, index=index
            ):
                scope["tasks"][done["_name"]] = done
        items = attempt.context
        scope["loop"] = {"item": items[index] if items else None, "index": index}

    # ------------------------------------------------------------ status changes and views

    def resumed_status(self, record: RunRecord, task: TaskDocument) -> str:
        return "RUNNING" if task["_id"] in record.state.progress else "QUEUED"

    def status_changed(self, record: RunRecord, task_id: str, requested: str, now: str) -> list[TaskDocument]:
        current = record.state.progress[task_id].get("current")
        if current is None or not current.get("_attempts"):  # stored once an attempt started
            return []
        if requested == "TERMINATED" and current["_status"] in runs.UNFINISHED_TASK_STATUSES:
            current.update(_status="TERMINATED", _endedAt=now)
        elif requested == "PAUSED" and current["_status"] == "QUEUED":
            current["_status"] = "PAUSED"
        elif requested == "RESUMED" and current["_status"] == "PAUSED":
            current["_status"] = "QUEUED"
        else:
            return []
        return [current]

    def show(self, task: TaskDocument, tasks_apart: list[TaskDocument], include: bool) -> list[TaskDocument]:
        iterations = sorted((t for t in tasks_apart if t.get("_loopTaskId") == task["_id"]), key=_in_order)
        if not iterations:
            return [task]
        shown = dict(task, _output=loop_output(iterations))
        return [shown, *iterations] if include else [shown]


def loop_output(iterations: list[TaskDocument]) -> list[Any]:
    """The last output of each iteration, in order (iterations sorted by index, then sequence)."""
    last: dict[int, Any] = {}
    for task in iterations:
        if task["_status"] == "COMPLETED":
            last[task["_loopIndex"]] = task.get("_output")
    return [last[index] for index in sorted(last)]


def _in_order(task: TaskDocument) -> tuple[int, int]:
    return task["_loopIndex"], task["_sequenceno"]


def _iteration_task(
    record: RunRecord, loop_task: TaskDocument, nested: TaskDocument, index: int, *, status: str
) -> TaskDocument:
    sequenceno = record.state.next_seq
    record.state.next_seq = sequenceno + 1
    task = {
        "_id": str(uuid.uuid4()),
        "_name": nested["_name"],
        "_sequenceno": sequenceno,
        "_type": nested["_type"],
        "_status": status,
        "_loopTaskId": loop_task["_id"],
        "_loopIndex": index,
    }
    task.update({key: value for key, value in nested.items() if key not in task})
    return task


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


TASK_TYPE = LoopOver()

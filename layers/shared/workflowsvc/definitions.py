"""Rules of workflow definitions: immutable templates that runs copy their tasks from."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from workflowsvc import expressions, timestamps
from workflowsvc.errors import BadRequest
from workflowsvc.models.api import TaskDefinition, WorkflowDefinitionRequest
from workflowsvc.tasks import task_type
from workflowsvc.tasks.base import DefinedTask, definition_error


def _check_tasks(tasks: Sequence[DefinedTask], path: str, inside: str | None) -> None:
    """Names unique within the list, and each task as its type wants it (nested tasks included)."""
    seen: set[str] = set()
    for index, task in enumerate(tasks):
        where = f"{path}[{index}]"
        if task.name in seen:
            raise definition_error(f"{where}._name: {task.name!r} is used twice; task names must be unique")
        seen.add(task.name)
        task_type(task.type).check(task, where, inside, _check_tasks)


def _check_expressions(request: WorkflowDefinitionRequest) -> None:
    """Expressions that do not parse are refused now, not when a run reaches them."""

    def check(value: object, field: str) -> None:
        try:
            expressions.validate(value)
        except expressions.ExpressionError as error:
            raise BadRequest(f"{field}: {error}", code="INVALID_EXPRESSION") from None

    def walk(tasks: list[TaskDefinition], path: str) -> None:
        for index, task in enumerate(tasks):
            check(task.input_params, f"{path}[{index}]._inputParams")
            if task.tasks:
                walk(task.tasks, f"{path}[{index}]._tasks")

    walk(request.tasks, "_tasks")
    check(request.output_params, "_outputParams")


def new_definition(
    request: WorkflowDefinitionRequest, namespaces: tuple[str, ...], subject: str, now_ns: int
) -> dict[str, Any]:
    _check_tasks(request.tasks, "_tasks", None)
    _check_expressions(request)
    created_at = timestamps.format_ns(now_ns)
    body = request.model_dump(by_alias=True, exclude_none=True)
    definition = {
        "_id": str(uuid.uuid4()),
        "_name": request.name,
        "_userType": request.user_type,
        "_description": request.description,
        "_namespaces": list(namespaces),
        "_timeoutSeconds": request.timeout_seconds,
        "_timeoutPolicy": request.timeout_policy,
        "_tasks": body["_tasks"],
        "_outputParams": request.output_params,
        "_createdAt": created_at,
        "_createdBy": subject,
    }
    # Optional texts appear only when given; the fields the seed shows as null stay.
    return {
        key: value
        for key, value in definition.items()
        if value is not None or key not in ("_description", "_outputParams")
    }

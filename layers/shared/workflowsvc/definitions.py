"""Rules of workflow definitions: immutable templates that runs copy their tasks from."""

from __future__ import annotations

import uuid
from typing import Any

from workflowsvc import expressions, timestamps
from workflowsvc.errors import BadRequest
from workflowsvc.models.api import TaskDefinition, WorkflowDefinitionRequest


def _check_tasks(tasks: list[TaskDefinition], path: str, *, nested: bool) -> None:
    seen: set[str] = set()
    for index, task in enumerate(tasks):
        where = f"{path}[{index}]"
        if task.name in seen:
            raise BadRequest(
                f"{where}._name: {task.name!r} is used twice; task names must be unique",
                code="INVALID_DEFINITION",
            )
        seen.add(task.name)
        if task.type == "LOOP_OVER":
            if nested:
                raise BadRequest(
                    f"{where}._type: a LOOP_OVER task cannot be nested in another LOOP_OVER",
                    code="INVALID_DEFINITION",
                )
            if not task.tasks:
                raise BadRequest(
                    f"{where}._tasks: a LOOP_OVER task needs the tasks to run per item",
                    code="INVALID_DEFINITION",
                )
            _check_tasks(task.tasks, f"{where}._tasks", nested=True)
        elif task.tasks is not None:
            raise BadRequest(
                f"{where}._tasks: only a LOOP_OVER task has nested tasks", code="INVALID_DEFINITION"
            )


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
    request: WorkflowDefinitionRequest, namespaces: tuple[str, ...], subject: str
) -> dict[str, Any]:
    _check_tasks(request.tasks, "_tasks", nested=False)
    _check_expressions(request)
    created_at = timestamps.now()
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

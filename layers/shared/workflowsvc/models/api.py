"""Request bodies of the HTTP API (the responses' shapes, for the documentation, are ``responses``).

Field names start with ``_`` as in the vendor's API; pydantic keeps leading underscores for private
attributes, so every field has a plain Python name and the API name as its alias. The models are built on
their first use (``defer_build``): a function builds the one it reads, not every model of this module.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, WithJsonSchema

from workflowsvc.limits import (
    MAX_INPUT_BYTES,
    MAX_INPUT_DEPTH,
    MAX_NAME_LENGTH,
    MAX_RETRY_COUNT,
    MAX_RETRY_DELAY_SECONDS,
    MAX_RUN_TIMEOUT_SECONDS,
    MAX_TASK_TIMEOUT_SECONDS,
    MAX_TASKS,
)
from workflowsvc.models.values import Backoff, RequestedStatus, TimeoutPolicy
from workflowsvc.tasks import TASK_TYPE_NAMES, TASK_TYPES

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


def _whole_number(value: Any) -> Any:
    """A JSON number without a fraction is an integer (``3.0`` as ``3``); anything else is left to fail."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Counts and durations in a request body are JSON integers. A string ("3") or a boolean is a field of the
# wrong type (400), as the contract says, not something to convert.
_Whole = BeforeValidator(_whole_number)
RetryCount = Annotated[int, Strict(), Field(ge=0, le=MAX_RETRY_COUNT), _Whole]
RetryDelaySeconds = Annotated[int, Strict(), Field(ge=0, le=MAX_RETRY_DELAY_SECONDS), _Whole]
TaskTimeoutSeconds = Annotated[int, Strict(), Field(ge=1, le=MAX_TASK_TIMEOUT_SECONDS), _Whole]
RunTimeoutSeconds = Annotated[int, Strict(), Field(ge=0, le=MAX_RUN_TIMEOUT_SECONDS), _Whole]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _bounded_input(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Inputs are stored with the run and passed to tasks: bounded in nesting and in size."""
    if value is None:
        return value
    depth = _depth(value)
    if depth > MAX_INPUT_DEPTH:
        raise ValueError(f"nested {depth} levels deep; at most {MAX_INPUT_DEPTH}")
    size = len(json.dumps(value, separators=(",", ":")))
    if size > MAX_INPUT_BYTES:
        raise ValueError(f"{size} bytes as JSON; at most {MAX_INPUT_BYTES} ({MAX_INPUT_BYTES // 1024} KiB)")
    return value


Inputs = Annotated[dict[str, Any], AfterValidator(_bounded_input)]


class _Model(BaseModel):
    # Requests are read by their API names only: "status" is not "_status".
    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, defer_build=True)


# ------------------------------------------------------------------ requests


def _task_definition_schema(schema: dict[str, Any]) -> None:
    """The documented shape of a task: one schema per task type, as each type says (``workflowsvc.tasks``).

    Validation is unchanged: the model reads every kind, and each type refuses what its schema excludes
    with a 400 naming the task. (That task names are unique within their list is the one rule a JSON
    schema cannot express.)
    """
    common = {name: value for name, value in schema["properties"].items() if name not in ("_type", "_tasks")}

    def kinds(inside: str | None) -> list[dict[str, Any]]:
        return [
            task_type.schema(common, kinds)
            for name, task_type in TASK_TYPES.items()
            if inside is None or name != inside  # a type is never nested in itself
        ]

    title = schema.get("title", "TaskDefinition")
    schema.clear()
    schema.update({"title": title, "oneOf": kinds(None)})


def _known_task_type(value: str) -> str:
    if value not in TASK_TYPES:
        raise ValueError(f"unknown task type {value!r} (one of {', '.join(TASK_TYPE_NAMES)})")
    return value


TaskTypeName = Annotated[
    str, AfterValidator(_known_task_type), WithJsonSchema({"type": "string", "enum": list(TASK_TYPE_NAMES)})
]


class TaskDefinition(_Model):
    model_config = ConfigDict(
        extra="forbid", serialize_by_alias=True, defer_build=True, json_schema_extra=_task_definition_schema
    )

    name: Name = Field(
        alias="_name", description="Unique within the definition; how expressions name the task."
    )
    type: TaskTypeName = Field(alias="_type")
    description: Annotated[str, Field(max_length=1024)] | None = Field(default=None, alias="_description")
    input_params: Inputs | None = Field(
        default=None,
        alias="_inputParams",
        description="Task input; values may hold ${...} expressions. Absent: the run's _inputParams.",
    )
    retry_count: RetryCount | None = Field(default=None, alias="_retryCount")
    retry_delay_seconds: RetryDelaySeconds | None = Field(default=None, alias="_retryDelaySeconds")
    backoff: Backoff | None = Field(default=None, alias="_backoff")
    timeout_seconds: TaskTimeoutSeconds | None = Field(default=None, alias="_timeoutSeconds")
    tasks: Annotated[list[TaskDefinition], Field(min_length=1, max_length=MAX_TASKS)] | None = Field(
        default=None, alias="_tasks", description="Nested tasks, for the types that have them."
    )


class WorkflowDefinitionRequest(_Model):
    name: Name = Field(alias="_name")
    user_type: Annotated[str, Field(max_length=MAX_NAME_LENGTH)] | None = Field(
        default=None, alias="_userType"
    )
    description: Annotated[str, Field(max_length=1024)] | None = Field(default=None, alias="_description")
    timeout_seconds: RunTimeoutSeconds | None = Field(default=None, alias="_timeoutSeconds")
    timeout_policy: TimeoutPolicy | None = Field(default=None, alias="_timeoutPolicy")
    tasks: Annotated[list[TaskDefinition], Field(min_length=1, max_length=MAX_TASKS)] = Field(alias="_tasks")
    output_params: Inputs | None = Field(default=None, alias="_outputParams")


class StartWorkflowRequest(_Model):
    workflow_def_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(alias="_workflowDefId")
    input_params: Inputs = Field(default_factory=dict, alias="_inputParams")


class StatusChangeRequest(_Model):
    status: RequestedStatus = Field(alias="_status")

"""Response bodies of the HTTP API: the shapes, for the OpenAPI document only.

No function imports this module: a route names its response's schema (``api.responses``), and the
OpenAPI document (``api.openapi_document``, built where it is served) adds these models' schemas. So the
functions never build them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workflowsvc.models.api import TaskTypeName
from workflowsvc.models.values import RunStatus, TaskStatus, TimeoutPolicy


class _Open(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", serialize_by_alias=True)


class Task(_Open):
    id: str = Field(alias="_id")
    name: str = Field(alias="_name")
    sequenceno: int = Field(alias="_sequenceno")
    type: TaskTypeName = Field(alias="_type")
    status: TaskStatus = Field(alias="_status")
    attempts: int | None = Field(default=None, alias="_attempts")
    started_at: str | None = Field(default=None, alias="_startedAt")
    ended_at: str | None = Field(default=None, alias="_endedAt")
    output: Any = Field(default=None, alias="_output")
    error: str | None = Field(default=None, alias="_error")
    loop_task_id: str | None = Field(default=None, alias="_loopTaskId")
    loop_index: int | None = Field(default=None, alias="_loopIndex")


class WorkflowRun(_Open):
    id: str = Field(alias="_id")
    workflow_def_id: str = Field(alias="_workflowDefId")
    name: str = Field(alias="_name")
    namespaces: list[str] = Field(alias="_namespaces")
    user_type: str | None = Field(alias="_userType")
    tasks: list[Task] = Field(alias="_tasks")
    timeout_seconds: int | None = Field(alias="_timeoutSeconds")
    timeout_policy: TimeoutPolicy | None = Field(alias="_timeoutPolicy")
    status: RunStatus = Field(alias="_status")
    created_at: str = Field(alias="_createdAt")
    updated_at: str = Field(alias="_updatedAt")
    created_by: str = Field(alias="_createdBy")
    updated_by: str = Field(alias="_updatedBy")
    input_params: dict[str, Any] = Field(alias="_inputParams")
    output: Any = Field(alias="_output")
    error: str | None = Field(default=None, alias="_error")
    timeout_alerted_at: str | None = Field(default=None, alias="_timeoutAlertedAt")


class RunPage(_Open):
    offset: int = Field(alias="_offset")
    page_size: int = Field(alias="_pageSize")
    total: int = Field(alias="_total")
    items: list[WorkflowRun] = Field(alias="_list")
    next_token: str | None = Field(default=None, alias="_nextToken")


class WorkflowDefinition(_Open):
    id: str = Field(alias="_id")
    name: str = Field(alias="_name")
    namespaces: list[str] = Field(alias="_namespaces")
    tasks: list[dict[str, Any]] = Field(alias="_tasks")
    created_at: str = Field(alias="_createdAt")
    created_by: str = Field(alias="_createdBy")


class DefinitionPage(_Open):
    offset: int = Field(alias="_offset")
    page_size: int = Field(alias="_pageSize")
    total: int = Field(alias="_total")
    items: list[WorkflowDefinition] = Field(alias="_list")
    next_token: str | None = Field(default=None, alias="_nextToken")


class ErrorDetail(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    code: str = Field(alias="_code", description="Machine code, e.g. INVALID_PARAMETER, NOT_FOUND.")
    message: str = Field(alias="_message", description="What is wrong, naming the field and the value.")


class ErrorBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    error: ErrorDetail = Field(alias="_error")

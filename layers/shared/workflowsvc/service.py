"""Use cases of the API: the rules of ``runs`` and ``definitions``, through the repository and queue."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workflowsvc import definitions, paging, runs
from workflowsvc.config import Settings, get_settings
from workflowsvc.errors import AlreadyExists, BadRequest, Conflict, NotFound, VersionConflict
from workflowsvc.identity import Caller
from workflowsvc.models.api import RequestedStatus, StartWorkflowRequest, WorkflowDefinitionRequest
from workflowsvc.repository import Page, Repository, StoredRun
from workflowsvc.task_queue import TaskQueue

MAX_IDEMPOTENCY_KEY_LENGTH = 255
_STATUS_CHANGE_ATTEMPTS = 5


@dataclass(frozen=True)
class Created:
    status: int
    body: str  # the response body, exactly as first answered (a replay answers the same bytes)
    run_id: str
    replayed: bool


@dataclass(frozen=True)
class DefinitionListQuery:
    namespaces: tuple[str, ...]
    name: str | None
    offset: int
    page_size: int
    next_token: str | None
    start: str | None = None
    end: str | None = None
    sort: tuple[tuple[str, int], ...] = (("_createdAt", -1),)

    def fingerprint(self) -> str:
        return json.dumps(["DEF", self.namespaces, self.name, self.page_size], separators=(",", ":"))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _visible(document: dict[str, Any] | None, namespaces: tuple[str, ...]) -> bool:
    # Another namespace's run or definition is "not found", never "forbidden": existence does not leak.
    return document is not None and not set(document["_namespaces"]).isdisjoint(namespaces)


class WorkflowService:
    def __init__(self, repository: Repository, queue: TaskQueue, settings: Settings) -> None:
        self.repository = repository
        self.queue = queue
        self.settings = settings

    # ------------------------------------------------------------ definitions

    def create_definition(
        self, request: WorkflowDefinitionRequest, namespaces: tuple[str, ...], caller: Caller
    ) -> dict[str, Any]:
        definition = definitions.new_definition(request, namespaces, caller.subject)
        self.repository.put_definition(definition)
        return definition

    def get_definition(self, definition_id: str, namespaces: tuple[str, ...]) -> dict[str, Any]:
        definition = self.repository.get_definition(definition_id) if _is_uuid(definition_id) else None
        if definition is None or not _visible(definition, namespaces):
            raise NotFound(
                f"_workflowDefId: no workflow definition {definition_id!r} "
                f"in namespaces {', '.join(namespaces)}",
                code="DEFINITION_NOT_FOUND",
            )
        return definition

    def list_definitions(self, query: DefinitionListQuery) -> dict[str, Any]:
        position = self._position(query.next_token, query.fingerprint())
        page = self.repository.list_definitions(query, position)
        total = self.repository.count_definitions(query)
        return self._page_body(page, query.page_size, total, query.fingerprint())

    # ------------------------------------------------------------ runs

    def start_run(
        self,
        request: StartWorkflowRequest,
        namespaces: tuple[str, ...],
        caller: Caller,
        idempotency_key: str | None,
    ) -> Created:
        definition = self.get_definition(request.workflow_def_id, namespaces)
        key_hash = request_hash = None
        if idempotency_key is not None:
            if not idempotency_key.strip() or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
                raise BadRequest(
                    f"Idempotency-Key: {idempotency_key[:40]!r} must be 1 to "
                    f"{MAX_IDEMPOTENCY_KEY_LENGTH} characters",
                    code="INVALID_IDEMPOTENCY_KEY",
                )
            key_hash = _digest([sorted(namespaces), idempotency_key])
            request_hash = _digest(request.model_dump(by_alias=True))
            replay = self._replay(key_hash, request_hash, idempotency_key)
            if replay is not None:
                return replay

        run, meta = runs.new_run(definition, request.input_params, namespaces, caller.subject)
        body = json.dumps(run, separators=(",", ":"))
        record = (
            self.repository.idempotency_item(key_hash, request_hash, 201, body)
            if key_hash is not None and request_hash is not None
            else None
        )
        try:
            self.repository.create_run(run, meta, record)
        except AlreadyExists:
            # Another request with the same key won the race: answer what it answered.
            assert key_hash is not None and request_hash is not None and idempotency_key is not None
            replay = self._replay(key_hash, request_hash, idempotency_key)
            if replay is None:
                raise
            return replay
        self.queue.send_step(run["_id"], meta["step"], run["_tasks"][0]["_id"])
        return Created(status=201, body=body, run_id=run["_id"], replayed=False)

    def _replay(self, key_hash: str, request_hash: str, idempotency_key: str) -> Created | None:
        record = self.repository.get_idempotency(key_hash)
        if record is None:
            return None
        if record["hash"] != request_hash:
            raise Conflict(
                f"Idempotency-Key: {idempotency_key!r} was already used with a different request body",
                code="IDEMPOTENCY_KEY_REUSED",
            )
        run_id = json.loads(record["body"])["_id"]
        return Created(status=record["status"], body=record["body"], run_id=run_id, replayed=True)

    def _stored_run(self, run_id: str, namespaces: tuple[str, ...], *, consistent: bool) -> StoredRun:
        stored = self.repository.get_run(run_id, consistent=consistent) if _is_uuid(run_id) else None
        if stored is None or not _visible(stored.run, namespaces):
            raise NotFound(
                f"workflowId: no workflow {run_id!r} in namespaces {', '.join(namespaces)}",
                code="WORKFLOW_NOT_FOUND",
            )
        return stored

    def get_run(self, run_id: str, namespaces: tuple[str, ...], include_loop_tasks: bool) -> dict[str, Any]:
        stored = self._stored_run(run_id, namespaces, consistent=False)
        return self._view(stored.run, include_loop_tasks)

    def _view(self, run: dict[str, Any], include_loop_tasks: bool) -> dict[str, Any]:
        has_loop = any(task["_type"] == "LOOP_OVER" for task in run["_tasks"])
        loop_tasks = self.repository.get_loop_tasks(run["_id"]) if has_loop else None
        return runs.public_view(run, loop_tasks, include_loop_tasks)

    def list_runs(self, query: runs.RunListQuery) -> dict[str, Any]:
        position = self._position(query.next_token, query.fingerprint())
        page = self.repository.list_runs(query, position)
        total = self.repository.count_runs(query)
        return self._page_body(page, query.page_size, total, query.fingerprint())

    def change_status(
        self, run_id: str, namespaces: tuple[str, ...], requested: RequestedStatus, caller: Caller
    ) -> dict[str, Any]:
        for _ in range(_STATUS_CHANGE_ATTEMPTS):
            stored = self._stored_run(run_id, namespaces, consistent=True)
            change = runs.change_status(stored.run, stored.meta, requested, caller.subject)
            try:
                self.repository.save_run(stored, change.run, change.meta, change.loop_tasks)
            except VersionConflict:
                continue  # the worker moved the run meanwhile: decide again on what it is now
            if requested == "RETRIED":
                self._forget_unfinished_iterations(change.run)
            if change.send_step:
                task = runs.next_task(change.run)
                self.queue.send_step(run_id, change.meta["step"], task["_id"] if task else None)
            return self._view(change.run, include_loop_tasks=False)
        raise Conflict(f"workflowId: {run_id!r} kept changing; try again", code="CONCURRENT_CHANGE")

    def _forget_unfinished_iterations(self, run: dict[str, Any]) -> None:
        """On retry, iterations that failed, timed out, were terminated or skipped run again."""
        if not any(task["_type"] == "LOOP_OVER" for task in run["_tasks"]):
            return
        stale = [
            task
            for task in self.repository.get_loop_tasks(run["_id"], consistent=True)
            if task["_status"] in runs.RETRIABLE_TASK_STATUSES
        ]
        if stale:
            self.repository.delete_loop_tasks(run["_id"], stale)

    # ------------------------------------------------------------ paging

    def _position(self, token: str | None, fingerprint: str) -> Any | None:
        if token is None:
            return None
        position = paging.decode(token, fingerprint, self.settings.page_token_secret)
        if not isinstance(position, dict) or not isinstance(position.get("o"), int):
            raise BadRequest("_nextToken: the token is not one this service issued", code="INVALID_TOKEN")
        return position

    def _page_body(self, page: Page, page_size: int, total: int, fingerprint: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "_offset": page.offset,
            "_pageSize": page_size,
            "_total": total,
            "_list": page.items,
        }
        if page.has_more:
            position = {"o": page.offset + len(page.items), "k": page.last_key}
            body["_nextToken"] = paging.encode(position, fingerprint, self.settings.page_token_secret)
        return body


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@lru_cache(maxsize=1)
def get_service() -> WorkflowService:
    settings = get_settings()
    return WorkflowService(Repository(settings.table_name), TaskQueue(settings.task_queue_url), settings)

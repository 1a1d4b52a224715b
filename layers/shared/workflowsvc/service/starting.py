"""Starting a run of a definition, once per ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workflowsvc import runs
from workflowsvc.errors import AlreadyExists, BadRequest, Conflict
from workflowsvc.identity import Caller
from workflowsvc.service import Context
from workflowsvc.service.definitions import get_definition
from workflowsvc.store.idempotency import IdempotencyRecord

if TYPE_CHECKING:
    from workflowsvc.models.api import StartWorkflowRequest

MAX_IDEMPOTENCY_KEY_LENGTH = 255


@dataclass(frozen=True)
class Created:
    status: int
    body: str  # the response body, exactly as first answered (a replay answers the same bytes)
    run_id: str
    replayed: bool


def start_run(
    context: Context,
    request: StartWorkflowRequest,
    namespaces: tuple[str, ...],
    caller: Caller,
    idempotency_key: str | None,
) -> Created:
    definition = get_definition(context, request.workflow_def_id, namespaces)
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
        replay = _replay(context, key_hash, request_hash, idempotency_key)
        if replay is not None:
            return replay

    now_ns = context.clock.now_ns()
    record = runs.new_run(definition, request.input_params, namespaces, caller.subject, now_ns)
    body = json.dumps(record.run, separators=(",", ":"))
    operation = None
    if key_hash is not None and request_hash is not None:
        operation = context.store.idempotency.put_operation(
            IdempotencyRecord(key_hash=key_hash, request_hash=request_hash, status=201, body=body), now_ns
        )
    try:
        context.store.runs.create(record, operation)
    except AlreadyExists:
        # Another request with the same key won the race: answer what it answered.
        assert key_hash is not None and request_hash is not None and idempotency_key is not None
        replay = _replay(context, key_hash, request_hash, idempotency_key)
        if replay is None:
            raise
        return replay
    context.queue.send_step(record.id, record.state.step, record.run["_tasks"][0]["_id"])
    return Created(status=201, body=body, run_id=record.id, replayed=False)


def _replay(context: Context, key_hash: str, request_hash: str, idempotency_key: str) -> Created | None:
    found = context.store.idempotency.get(key_hash, context.clock.now_ns())
    if found is None:
        return None
    if found.request_hash != request_hash:
        raise Conflict(
            f"Idempotency-Key: {idempotency_key!r} was already used with a different request body",
            code="IDEMPOTENCY_KEY_REUSED",
        )
    run_id = json.loads(found.body)["_id"]
    return Created(status=found.status, body=found.body, run_id=run_id, replayed=True)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

"""What the use cases share: not-found answers that leak nothing, and pages with their ``_nextToken``."""

from __future__ import annotations

import uuid
from typing import Any

from workflowsvc import paging
from workflowsvc.errors import BadRequest, NotFound
from workflowsvc.models.run import RunRecord
from workflowsvc.service import Context
from workflowsvc.store import Page


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def visible(document: dict[str, Any] | None, namespaces: tuple[str, ...]) -> bool:
    # Another namespace's run or definition is "not found", never "forbidden": existence does not leak.
    return document is not None and not set(document["_namespaces"]).isdisjoint(namespaces)


def run_not_found(run_id: str, namespaces: tuple[str, ...]) -> NotFound:
    return NotFound(
        f"workflowId: no workflow {run_id!r} in namespaces {', '.join(namespaces)}", code="WORKFLOW_NOT_FOUND"
    )


def visible_run(context: Context, run_id: str, namespaces: tuple[str, ...], *, consistent: bool) -> RunRecord:
    record = context.store.runs.get(run_id, consistent=consistent) if is_uuid(run_id) else None
    if record is None or not visible(record.run, namespaces):
        raise run_not_found(run_id, namespaces)
    return record


def position(context: Context, token: str | None, fingerprint: str) -> dict[str, Any] | None:
    """Where the page a ``_nextToken`` asks for starts."""
    if token is None:
        return None
    found = paging.decode(token, fingerprint, context.settings.page_token_secret)
    if not isinstance(found, dict) or not isinstance(found.get("o"), int):
        raise BadRequest("_nextToken: the token is not one this service issued", code="INVALID_TOKEN")
    return found


def page_body(context: Context, page: Page, page_size: int, total: int, fingerprint: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_offset": page.offset,
        "_pageSize": page_size,
        "_total": total,
        "_list": page.items,
    }
    if page.has_more:
        following = {"o": page.offset + len(page.items), "k": page.last_key}
        body["_nextToken"] = paging.encode(following, fingerprint, context.settings.page_token_secret)
    return body

"""Workflow definitions: create, read, list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workflowsvc.errors import NotFound
from workflowsvc.identity import Caller
from workflowsvc.queries import DefinitionListQuery
from workflowsvc.service import Context
from workflowsvc.service.common import is_uuid, page_body, position, visible

if TYPE_CHECKING:  # only the function that creates definitions reads a request body
    from workflowsvc.models.api import WorkflowDefinitionRequest


def create_definition(
    context: Context, request: WorkflowDefinitionRequest, namespaces: tuple[str, ...], caller: Caller
) -> dict[str, Any]:
    from workflowsvc import definitions  # the rules of definitions (and expressions): this use case only

    definition = definitions.new_definition(request, namespaces, caller.subject, context.clock.now_ns())
    context.store.definitions.put(definition)
    return definition


def get_definition(context: Context, definition_id: str, namespaces: tuple[str, ...]) -> dict[str, Any]:
    definition = context.store.definitions.get(definition_id) if is_uuid(definition_id) else None
    if definition is None or not visible(definition, namespaces):
        raise NotFound(
            f"_workflowDefId: no workflow definition {definition_id!r} in namespaces {', '.join(namespaces)}",
            code="DEFINITION_NOT_FOUND",
        )
    return definition


def list_definitions(context: Context, query: DefinitionListQuery) -> dict[str, Any]:
    fingerprint = query.fingerprint()
    page = context.store.listing.definitions(query, position(context, query.next_token, fingerprint))
    total = context.store.counting.definitions(query)
    return page_body(context, page, query.page_size, total, fingerprint)

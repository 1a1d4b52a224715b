"""Listing runs: a page, its ``_total``, and the token of the next page."""

from __future__ import annotations

from typing import Any

from workflowsvc.queries import RunListQuery
from workflowsvc.service import Context
from workflowsvc.service.common import page_body, position


def list_runs(context: Context, query: RunListQuery) -> dict[str, Any]:
    fingerprint = query.fingerprint()
    page = context.store.listing.runs(query, position(context, query.next_token, fingerprint))
    total = context.store.counting.runs(query)
    return page_body(context, page, query.page_size, total, fingerprint)

"""Small assertions shared by the integration tests."""

from __future__ import annotations

import re
import uuid
from typing import Any

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")


def is_uuid4(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value


def is_timestamp(value: Any) -> bool:
    """RFC 3339 UTC with nine fractional digits and ``Z``, as in the vendor's examples."""
    return isinstance(value, str) and TIMESTAMP.match(value) is not None


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["_id"] for item in items]


def tasks_by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {task["_name"]: task for task in run["_tasks"]}

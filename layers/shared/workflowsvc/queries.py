"""What a list query means: its filters, sort and page, read from the API's parameters. No I/O here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, get_args

from workflowsvc import timestamps
from workflowsvc.errors import BadRequest
from workflowsvc.models.values import RunStatus

RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
SORTABLE_FIELDS = ("_createdAt", "_updatedAt", "_name", "_status", "_workflowDefId")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
DEFAULT_SORT: tuple[tuple[str, int], ...] = (("_createdAt", -1),)


@dataclass(frozen=True)
class RunListQuery:
    namespaces: tuple[str, ...]
    name: str | None = None
    def_id: str | None = None
    statuses: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    sort: tuple[tuple[str, int], ...] = DEFAULT_SORT
    offset: int = 0
    page_size: int = DEFAULT_PAGE_SIZE
    next_token: str | None = None

    def fingerprint(self) -> str:
        """What a paging token is bound to: everything but the position in the list."""
        return json.dumps(
            [
                self.namespaces,
                self.name,
                self.def_id,
                self.statuses,
                self.start,
                self.end,
                self.sort,
                self.page_size,
            ],
            separators=(",", ":"),
        )

    @property
    def by_creation(self) -> bool:
        """Served in index order: the index orders by creation, ties on _id, and knows no second key."""
        return len(self.sort) == 1 and self.sort[0][0] == "_createdAt"


def parse_sort(value: str | None) -> tuple[tuple[str, int], ...]:
    if value is None or not value.strip():
        return DEFAULT_SORT
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed:
        raise BadRequest(
            f'sort: {value!r} is not a JSON object of fields to 1 or -1, e.g. {{"_updatedAt": -1}}',
            code="INVALID_SORT",
        )
    keys = []
    for field, direction in parsed.items():
        if field not in SORTABLE_FIELDS:
            raise BadRequest(
                f"sort: cannot sort on {field!r} (sortable: {', '.join(SORTABLE_FIELDS)})",
                code="INVALID_SORT",
            )
        if type(direction) is not int or direction not in (1, -1):  # not True, not 1.0
            raise BadRequest(
                f"sort: direction of {field!r} is {direction!r}; use 1 or -1", code="INVALID_SORT"
            )
        keys.append((field, int(direction)))
    return tuple(keys)


def parse_statuses(value: str | None) -> tuple[str, ...]:
    if value is None or not value.strip():
        return ()
    statuses = []
    for raw in value.split(","):
        status = raw.strip().upper()
        if status not in RUN_STATUSES:
            raise BadRequest(
                f"_status: {raw.strip()!r} is not a run status (one of {', '.join(RUN_STATUSES)})",
                code="INVALID_STATUS",
            )
        if status not in statuses:
            statuses.append(status)
    return tuple(statuses)


def build_list_query(
    namespaces: tuple[str, ...],
    *,
    name: str | None,
    def_id: str | None,
    status: str | None,
    start_date: str | None,
    end_date: str | None,
    sort: str | None,
    offset: int | None,
    page_size: int | None,
    next_token: str | None,
) -> RunListQuery:
    start = timestamps.filter_bound("startDate", start_date, end=False) if start_date else None
    end = timestamps.filter_bound("endDate", end_date, end=True) if end_date else None
    if start and end and start > end:
        raise BadRequest(f"startDate: {start_date!r} is after endDate {end_date!r}", code="INVALID_DATE")
    return RunListQuery(
        namespaces=namespaces,
        name=name.lower() if name else None,
        def_id=def_id or None,
        statuses=parse_statuses(status),
        start=start,
        end=end,
        sort=parse_sort(sort),
        offset=offset or 0,
        page_size=page_size or DEFAULT_PAGE_SIZE,
        next_token=next_token or None,
    )


def sort_key(query: RunListQuery) -> Any:
    """A key function ordering run documents as ``query.sort`` says, ties broken on ``_id``."""

    def key(run: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for field, direction in query.sort:
            parts.append(_Directed(run.get(field) or "", direction))
        parts.append(_Directed(run["_id"], query.sort[-1][1]))
        return tuple(parts)

    return key


class _Directed:
    """One sort component that compares ascending or descending."""

    __slots__ = ("direction", "value")

    def __init__(self, value: Any, direction: int) -> None:
        self.value = value.lower() if isinstance(value, str) else value
        self.direction = direction

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Directed) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: _Directed) -> bool:
        if self.direction > 0:
            return bool(self.value < other.value)
        return bool(self.value > other.value)


@dataclass(frozen=True)
class DefinitionListQuery:
    namespaces: tuple[str, ...]
    name: str | None
    offset: int
    page_size: int
    next_token: str | None
    start: str | None = None
    end: str | None = None
    sort: tuple[tuple[str, int], ...] = DEFAULT_SORT

    def fingerprint(self) -> str:
        return json.dumps(["DEF", self.namespaces, self.name, self.page_size], separators=(",", ":"))

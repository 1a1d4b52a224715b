"""Rules of runs: creating one, changing its status, and what a list query means. No I/O here.

A run is a JSON document (the API's shape) plus ``meta``, the execution state the API never shows:

- ``step``: number of the step the worker should take next; queue messages carry it, so a message
  for an older step (a duplicate, or one overtaken by pause, terminate or retry) does nothing.
- ``claimed``: the current step's attempt is in flight (a worker has claimed it).
- ``leaseNs``: when an in-flight attempt is presumed lost (the worker died).
- ``scheduledNs``: when the current step's message becomes visible on the queue.
- ``deadlineNs`` / ``remainingNs``: the run's timeout clock; ``remainingNs`` while PAUSED.
- ``pausedFrom``: the status a resume returns to.
- ``nextSeq``: the next ``_sequenceno`` for loop-over tasks.
- ``outputParams``: the definition's ``_outputParams``.
- ``loop``: progress of the LOOP_OVER task under way, ``{"taskId", "index", "position"}``.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from typing import Any, get_args

from workflowsvc import timestamps
from workflowsvc.errors import BadRequest, Conflict
from workflowsvc.models.api import RequestedStatus, RunStatus

NS = 1_000_000_000
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)
FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"})
ACTIVE_STATUSES = frozenset({"QUEUED", "RUNNING"})
UNFINISHED_TASK_STATUSES = frozenset({"QUEUED", "RUNNING", "PAUSED"})
RETRIABLE_TASK_STATUSES = frozenset({"FAILED", "TIMED_OUT", "TERMINATED", "SKIPPED"})

# A step whose message has not been taken this long after it became visible is re-sent by the sweeper.
REDRIVE_AFTER_NS = 120 * NS

SORTABLE_FIELDS = ("_createdAt", "_updatedAt", "_name", "_status", "_workflowDefId")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100

_RUN_TASK_FIELDS = ("_id", "_name", "_sequenceno", "_type", "_status")


# ------------------------------------------------------------------ creation


def new_run(
    definition: dict[str, Any],
    input_params: dict[str, Any],
    namespaces: tuple[str, ...],
    subject: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    created_ns = timestamps.now_ns()
    created_at = timestamps.format_ns(created_ns)
    tasks = []
    for sequenceno, task_definition in enumerate(definition["_tasks"], start=1):
        task = {
            "_id": str(uuid.uuid4()),
            "_name": task_definition["_name"],
            "_sequenceno": sequenceno,
            "_type": task_definition["_type"],
            "_status": "QUEUED",
        }
        task.update(
            {
                key: copy.deepcopy(value)
                for key, value in task_definition.items()
                if key not in _RUN_TASK_FIELDS
            }
        )
        tasks.append(task)
    timeout = definition.get("_timeoutSeconds")
    run = {
        "_id": str(uuid.uuid4()),
        "_workflowDefId": definition["_id"],
        "_name": definition["_name"],
        "_namespaces": list(namespaces),
        "_userType": definition.get("_userType"),
        "_tasks": tasks,
        "_timeoutSeconds": timeout,
        "_timeoutPolicy": definition.get("_timeoutPolicy"),
        "_status": "QUEUED",
        "_createdAt": created_at,
        "_updatedAt": created_at,
        "_createdBy": subject,
        "_updatedBy": subject,
        "_inputParams": input_params,
        "_output": None,
    }
    meta: dict[str, Any] = {
        "step": 1,
        "claimed": False,
        "scheduledNs": created_ns,
        "deadlineNs": created_ns + timeout * NS if timeout else None,
        "nextSeq": len(tasks) + 1,
        "outputParams": definition.get("_outputParams"),
    }
    return run, meta


def next_task(run: dict[str, Any]) -> dict[str, Any] | None:
    """The first top-level task that has not completed: the one the next step works on."""
    return next((task for task in run["_tasks"] if task["_status"] != "COMPLETED"), None)


# ------------------------------------------------------------------ status changes

_ALLOWED_FROM: dict[str, frozenset[str]] = {
    "PAUSED": frozenset({"QUEUED", "RUNNING"}),
    "RESUMED": frozenset({"PAUSED"}),
    "RETRIED": frozenset({"FAILED", "TIMED_OUT", "TERMINATED"}),
    "TERMINATED": frozenset({"QUEUED", "RUNNING", "PAUSED"}),
}


@dataclass(frozen=True)
class StatusChange:
    run: dict[str, Any]
    meta: dict[str, Any]
    send_step: bool  # whether execution must be (re)started with a message for meta["step"]
    loop_tasks: list[dict[str, Any]]  # a stored loop iteration task whose status changed with the run


def _in_flight_task_id(meta: dict[str, Any]) -> str | None:
    return meta.get("inFlightTaskId") if meta.get("claimed") else None


def change_status(
    run: dict[str, Any], meta: dict[str, Any], requested: RequestedStatus, subject: str
) -> StatusChange:
    current = run["_status"]
    if current not in _ALLOWED_FROM[requested]:
        allowed = ", ".join(sorted(_ALLOWED_FROM[requested]))
        raise Conflict(
            f"_status: cannot change a run that is {current} to {requested} (allowed from {allowed})",
            code="ILLEGAL_TRANSITION",
        )
    run, meta = copy.deepcopy(run), copy.deepcopy(meta)
    now_ns = timestamps.now_ns()
    now = timestamps.format_ns(now_ns)
    in_flight = _in_flight_task_id(meta)
    send_step = False

    if requested == "PAUSED":
        meta["pausedFrom"] = current
        if meta.get("deadlineNs") is not None:
            meta["remainingNs"] = max(meta["deadlineNs"] - now_ns, 0)
            meta["deadlineNs"] = None
        run["_status"] = "PAUSED"
        for task in run["_tasks"]:
            # The task in flight finishes and records its result; nothing new starts.
            if task["_status"] in ("QUEUED", "RUNNING") and task["_id"] != in_flight:
                task["_status"] = "PAUSED"
    elif requested == "RESUMED":
        run["_status"] = meta.pop("pausedFrom", None) or "QUEUED"
        if meta.get("remainingNs") is not None:
            meta["deadlineNs"] = now_ns + meta.pop("remainingNs")
        for task in run["_tasks"]:
            if task["_status"] == "PAUSED":
                task["_status"] = "RUNNING" if _loop_under_way(task, meta) else "QUEUED"
        # Without an attempt in flight, a step message moves the run on (or completes it, when the
        # last task finished during the pause).
        send_step = in_flight is None
    elif requested == "RETRIED":
        run["_status"] = "QUEUED"
        run["_output"] = None
        run.pop("_error", None)
        run.pop("_timeoutAlertedAt", None)
        for task in run["_tasks"]:
            if task["_status"] in RETRIABLE_TASK_STATUSES:
                reset_task(task)
        timeout = run.get("_timeoutSeconds")
        meta["deadlineNs"] = now_ns + timeout * NS if timeout else None
        meta.pop("remainingNs", None)
        meta.pop("alerted", None)
        # A LOOP_OVER task goes on from the iteration task that did not finish (meta["loop"] keeps it):
        # completed iterations keep their output.
        send_step = True
    else:  # TERMINATED
        run["_status"] = "TERMINATED"
        for task in run["_tasks"]:
            if task["_status"] in UNFINISHED_TASK_STATUSES:
                task["_status"] = "TERMINATED"
                task["_endedAt"] = now
        meta["deadlineNs"] = None
        meta.pop("remainingNs", None)
        meta.pop("pausedFrom", None)

    if in_flight is None or requested in ("RETRIED", "TERMINATED"):
        # A new step makes every message already sent for the old one stale. An attempt in flight
        # through a pause or a resume keeps its step: its result is recorded when it comes.
        meta["step"] += 1
        meta["claimed"] = False
        meta.pop("inFlightTaskId", None)
        meta.pop("leaseNs", None)
        meta["scheduledNs"] = now_ns
    loop_tasks = []
    current = (meta.get("loop") or {}).get("current")
    if current is not None and current.get("_attempts"):  # stored once an attempt started
        if requested == "TERMINATED" and current["_status"] in UNFINISHED_TASK_STATUSES:
            current.update(_status="TERMINATED", _endedAt=now)
            loop_tasks.append(current)
        elif requested == "PAUSED" and current["_status"] == "QUEUED":
            current["_status"] = "PAUSED"
            loop_tasks.append(current)
        elif requested == "RESUMED" and current["_status"] == "PAUSED":
            current["_status"] = "QUEUED"
            loop_tasks.append(current)
    run["_updatedAt"] = now
    run["_updatedBy"] = subject
    return StatusChange(run=run, meta=meta, send_step=send_step, loop_tasks=loop_tasks)


def _loop_under_way(task: dict[str, Any], meta: dict[str, Any]) -> bool:
    loop = meta.get("loop")
    return task["_type"] == "LOOP_OVER" and loop is not None and loop.get("taskId") == task["_id"]


def reset_task(task: dict[str, Any]) -> None:
    task["_status"] = "QUEUED"
    for key in ("_attempts", "_startedAt", "_endedAt", "_output", "_error"):
        task.pop(key, None)


def due_ns(run: dict[str, Any], meta: dict[str, Any]) -> int | None:
    """When the sweeper must look at the run again; None once it cannot move on its own."""
    if run["_status"] not in ACTIVE_STATUSES:
        return None
    candidates = []
    deadline = meta.get("deadlineNs")
    if deadline is not None and not meta.get("alerted"):
        candidates.append(deadline)
    if meta.get("claimed"):
        if meta.get("leaseNs") is not None:
            candidates.append(meta["leaseNs"])
    elif next_task(run) is not None:
        candidates.append(meta.get("scheduledNs", 0) + REDRIVE_AFTER_NS)
    return min(candidates) if candidates else None


# ------------------------------------------------------------------ reading


def public_view(
    run: dict[str, Any], loop_tasks: list[dict[str, Any]] | None, include_loop_tasks: bool
) -> dict[str, Any]:
    """The run as the API shows it. LOOP_OVER outputs are assembled from their iterations."""
    if not loop_tasks:
        return run
    by_loop: dict[str, list[dict[str, Any]]] = {}
    for task in loop_tasks:
        by_loop.setdefault(task["_loopTaskId"], []).append(task)
    view = dict(run)
    tasks: list[dict[str, Any]] = []
    for task in run["_tasks"]:
        iterations = by_loop.get(task["_id"])
        if iterations is None:
            tasks.append(task)
            continue
        iterations.sort(key=lambda item: (item["_loopIndex"], item["_sequenceno"]))
        task = dict(task)
        task["_output"] = loop_output(iterations)
        tasks.append(task)
        if include_loop_tasks:
            tasks.extend(iterations)
    view["_tasks"] = tasks
    return view


def loop_output(iterations: list[dict[str, Any]]) -> list[Any]:
    """The last output of each iteration, in order (iterations sorted by index, then sequence)."""
    last: dict[int, Any] = {}
    for task in iterations:
        if task["_status"] == "COMPLETED":
            last[task["_loopIndex"]] = task.get("_output")
    return [last[index] for index in sorted(last)]


# ------------------------------------------------------------------ list queries


@dataclass(frozen=True)
class RunListQuery:
    namespaces: tuple[str, ...]
    name: str | None = None
    def_id: str | None = None
    statuses: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    sort: tuple[tuple[str, int], ...] = (("_createdAt", -1),)
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
        return (("_createdAt", -1),)
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

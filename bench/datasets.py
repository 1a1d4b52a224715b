"""Data sets written straight into the table, as the service itself would have written them.

Runs are made by ``runs.new_run`` over realistic definitions, moved to a status the way the worker leaves
them, and turned into items by the store's own ``RunStore.items``; they go in with BatchWriteItem, 25 at a
time, with the namespace counters (``keys.counter_key``) matching what was written; a namespace can be
spread over several partitions of the index, as one written hard is. Creation times are
distinct and increasing, so the expected order of every list is known.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from workflowsvc import runs, timestamps
from workflowsvc.models.run import ExecutionState, RunRecord
from workflowsvc.store import Store, keys, shards

NS = 1_000_000_000
SUBJECT = "5b0f8b5e-6a1c-4b7e-9f43-2d8c1e0a7b61"
FIRST_CREATED_NS = timestamps.parse_ns("2026-09-01T00:00:00.000000000Z")
SECONDS_BETWEEN_RUNS = 43  # 60,000 runs span about a month
BATCH = 25  # BatchWriteItem's limit

# How often each status occurs, roughly as in a service that has run for a while.
STATUS_WEIGHTS: dict[str, int] = {
    "COMPLETED": 55,
    "FAILED": 14,
    "RUNNING": 8,
    "QUEUED": 8,
    "PAUSED": 6,
    "TERMINATED": 6,
    "TIMED_OUT": 3,
}
_VERSION_OF = {"QUEUED": 1, "RUNNING": 2, "PAUSED": 2}  # writes so far; a finished run had three


def _rest_task(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"_name": name, "_type": "REST_CONNECTOR", "_inputParams": {"_url": url}, **extra}


def definition(name: str, tasks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A stored definition (what ``POST /workflowdefs`` keeps), enough for ``runs.new_run``."""
    return {
        "_id": str(uuid.uuid4()),
        "_name": name,
        "_userType": "iaq_realtime_setup",
        "_timeoutSeconds": 3600,
        "_timeoutPolicy": "TIME_OUT_WF",
        "_tasks": tasks,
        **extra,
    }


DEFINITIONS: tuple[dict[str, Any], ...] = (
    definition("rest_connector_workflow", [{"_name": "REST_CONNECTOR", "_type": "REST_CONNECTOR"}]),
    definition(
        "device_sync",
        [
            _rest_task("login", "https://auth.example.com/oauth/token", _retryCount=2),
            _rest_task("fetch_devices", "https://api.example.com/v2/devices"),
            _rest_task("notify", "https://hooks.example.com/devices-synced"),
        ],
    ),
    definition("ActiveMQ_bridge_setup", [_rest_task("configure", "https://mq.example.com/api/bridges")]),
    definition("billing_export", [_rest_task("export", "https://billing.example.com/exports")]),
    definition("iaq_sensor_calibration", [_rest_task("calibrate", "https://iaq.example.com/calibrate")]),
)


@dataclass(frozen=True)
class WrittenRun:
    """What a list answer is checked against."""

    run_id: str
    index_key: str  # gsi1sk: "<_createdAt>#<_id>", the default order
    updated_at: str
    name: str
    status: str


@dataclass
class DataSet:
    namespaces: tuple[str, ...]
    runs_by_namespace: dict[str, list[WrittenRun]] = field(default_factory=dict)
    statuses: dict[str, Counter[str]] = field(default_factory=dict)

    def newest_first(self, namespace: str) -> list[WrittenRun]:
        return sorted(self.runs_by_namespace[namespace], key=lambda run: run.index_key, reverse=True)

    @property
    def run_count(self) -> int:
        return sum(sum(counts.values()) for counts in self.statuses.values())


def _settle(run: dict[str, Any], state: ExecutionState, status: str, rng: random.Random) -> None:
    """Moves a new run to ``status`` the way the worker or a user would have left it."""
    created_ns = timestamps.parse_ns(run["_createdAt"])
    ended_ns = created_ns + rng.randint(1, 7200) * NS
    ended = timestamps.format_ns(ended_ns)
    first = run["_tasks"][0]
    run["_status"] = status
    if status == "QUEUED":
        return
    run["_updatedAt"] = ended
    if status == "PAUSED":  # paused before its first task started
        first["_status"] = "PAUSED"
        state.paused_from = "QUEUED"
        return
    first.update(_attempts=1, _startedAt=timestamps.format_ns(created_ns + NS))
    if status == "RUNNING":
        first["_status"] = "RUNNING"
        state.claimed, state.in_flight_task_id, state.lease_ns = True, first["_id"], ended_ns + 60 * NS
    elif status == "COMPLETED":
        output = {"_statusCode": 200, "_headers": {"content-type": "application/json"}, "_body": {"ok": True}}
        for task in run["_tasks"]:
            task.update(_status="COMPLETED", _endedAt=ended, _output=output)
        run["_output"] = output
    else:
        error = {
            "FAILED": "HTTP 503 Service Unavailable from GET https://api.example.com/v2/devices",
            "TIMED_OUT": "the run passed its timeout of 3600 s",
            "TERMINATED": None,
        }[status]
        first.update(_status=status, _endedAt=ended)
        if error:
            first["_error"] = error
            run["_error"] = f"task {first['_name']!r} failed: {error}"
        for task in run["_tasks"][1:]:
            task["_status"] = "TERMINATED" if status == "TERMINATED" else "SKIPPED"
    if status not in runs.ACTIVE_STATUSES:
        state.step, state.claimed, state.deadline_ns = 3, False, None


def generate_runs(count: int, namespaces: tuple[str, ...], seed: int = 20260901) -> Iterator[RunRecord]:
    """``count`` runs, the i-th in ``namespaces[i % len(namespaces)]``, created 43 s apart."""
    rng = random.Random(seed)
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    for index in range(count):
        template = DEFINITIONS[rng.randrange(len(DEFINITIONS))]
        namespace = namespaces[index % len(namespaces)]
        inputs = {"_url": f"https://api.example.com/v1/devices/{index}", "site": f"site-{index % 97}"}
        created_ns = FIRST_CREATED_NS + index * SECONDS_BETWEEN_RUNS * NS + rng.randrange(NS)
        record = runs.new_run(template, inputs, (namespace,), SUBJECT, created_ns)
        _settle(record.run, record.state, rng.choices(statuses, weights)[0], rng)
        yield record


class TableWriter:
    """Writes items 25 per BatchWriteItem request, sending again whatever DynamoDB left unprocessed."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name
        self._pending: list[dict[str, Any]] = []

    def put(self, item: dict[str, Any]) -> None:
        self._pending.append({"PutRequest": {"Item": item}})
        if len(self._pending) == BATCH:
            self.flush()

    def flush(self) -> None:
        """Sends what is pending (nothing when nothing is)."""
        requests: dict[str, Any] = {self.table_name: self._pending}
        self._pending = []
        while requests.get(self.table_name):
            answer = self.client.batch_write_item(RequestItems=requests)
            requests = answer.get("UnprocessedItems") or {}


def write_runs(
    client: Any, table_name: str, generated: Iterable[RunRecord], partitions: dict[str, int] | None = None
) -> DataSet:
    """Writes the runs and their namespaces' counters; answers what was written. ``partitions``: the
    namespaces spread over more than one partition of the index, as if written hard."""
    store = Store.for_table(table_name, client)
    for namespace, count in (partitions or {}).items():
        store.shards.raise_to(namespace, count)
    writer = TableWriter(client, table_name)
    written = DataSet(namespaces=())
    # Each start adds to one of its namespace's counter items, whichever its function kept to: in turn here.
    counter_items: dict[tuple[str, int], Counter[str]] = {}
    for record in generated:
        run = record.run
        record.placement = {
            namespace: shards.partition_of(run["_id"], (partitions or {}).get(namespace, 1))
            for namespace in run["_namespaces"]
        }
        for item in store.runs.items(record, _VERSION_OF.get(run["_status"], 3)):
            writer.put(item)
        for namespace in run["_namespaces"]:
            statuses = written.statuses.setdefault(namespace, Counter())
            counter = statuses.total() % shards.counter_items((partitions or {}).get(namespace, 1))
            counter_items.setdefault((namespace, counter), Counter()).update((keys.ALL_RUNS, run["_status"]))
            statuses[run["_status"]] += 1
            written.runs_by_namespace.setdefault(namespace, []).append(
                WrittenRun(
                    run_id=run["_id"],
                    index_key=keys.created_sort_key(run["_createdAt"], run["_id"]),
                    updated_at=run["_updatedAt"],
                    name=run["_name"],
                    status=run["_status"],
                )
            )
    for (namespace, counter), counts in counter_items.items():
        values = {name: {"N": str(n)} for name, n in counts.items()}
        writer.put({**keys.counter_key(namespace, counter), **values})
    writer.flush()
    written.namespaces = tuple(written.statuses)
    return written

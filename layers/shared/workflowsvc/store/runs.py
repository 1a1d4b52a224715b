"""Runs: the run's items (one full copy per namespace), its iteration tasks, and the runs the sweeper is due
to look at. Every change of a run is conditional on the version it was read at; a write DynamoDB pushes
back (another transaction held one of its items, throttling) is tried again after a pause."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from workflowsvc import runs, timestamps
from workflowsvc.errors import AlreadyExists, VersionConflict
from workflowsvc.models.run import (
    MAX_RUN_DOCUMENT_BYTES,
    ExecutionState,
    RunRecord,
    TaskDocument,
)
from workflowsvc.store import keys
from workflowsvc.store.counting import counter_updates
from workflowsvc.store.dynamo import (
    Item,
    Table,
    cancellation_codes,
    compact_json,
    document,
    error_code,
    is_throttled,
    number,
    packed,
    packed_json,
    pushed_back_retried,
    run_document,
    string,
)
from workflowsvc.store.shards import NamespaceShards

NS = 1_000_000_000
# The active index keys a run by when the sweeper must look at it: its deadline, or when its current step
# must be looked at (the lease of the attempt in flight, or the re-drive time of a step nobody took). That
# second time moves with every write of the run, and the lease and the re-drive time of one moment differ,
# so keyed as they are, every claim and every result would move the run's index entry (a delete and a put).
# Keyed instead no earlier than LOOK_AFTER_WRITE_NS after the run's last write (no step is due sooner: a
# lease runs at most the longest task timeout, 100 s, plus its 30 s margin; a re-drive waits 120 s) and
# rounded up to LOOK_ROUNDING_NS, a run's writes in quick succession keep one key. The sweeper, which passes
# once a minute, sees a lost step at most this much later. A deadline is kept exact: it moves only on a
# pause, a resume or a retry.
LOOK_AFTER_WRITE_NS = 130 * NS
LOOK_ROUNDING_NS = 60 * NS


class RunStore:
    def __init__(self, table: Table, shards: NamespaceShards) -> None:
        self.table = table
        self.shards = shards

    # ------------------------------------------------------------ writes

    def create(self, record: RunRecord, idempotency: dict[str, Any] | None = None) -> RunRecord:
        """Writes the run's copies and counters, and the idempotency record's operation, in one transaction.

        Raises AlreadyExists when the idempotency key is taken (and not expired).
        """
        placement = {ns: self.shards.writer_shard(ns, record.id) for ns in record.run["_namespaces"]}
        placed = RunRecord(run=record.run, state=record.state, version=1, placement=placement)

        def operations() -> list[dict[str, Any]]:
            puts = [
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for item in self.items(placed, 1)
            ]
            counters = self._counter_updates(placed, None)
            return ([idempotency] if idempotency is not None else []) + puts + counters

        try:
            pushed_back_retried(
                lambda: self.table.client.transact_write_items(TransactItems=operations()),
                self._pushed_back(placed),
            )
        except ClientError as error:
            codes = cancellation_codes(error)
            if idempotency is not None and codes and codes[0] == "ConditionalCheckFailed":
                raise AlreadyExists(idempotency["Put"]["Item"]["pk"]["S"]) from None
            raise
        return placed

    def save(
        self, read: RunRecord, changed: RunRecord, iteration_tasks: Iterable[TaskDocument] = ()
    ) -> RunRecord:
        """Replaces the run's copies if nobody changed it since ``read`` was read.

        Counters follow a status change in the same transaction; ``iteration_tasks`` are written with it.
        Raises VersionConflict when the run changed meanwhile.
        """
        version = read.version + 1
        saved = RunRecord(
            run=changed.run, state=changed.state, version=version, placement=dict(read.placement)
        )
        iteration_items = [self._iteration_item(changed.id, task) for task in iteration_tasks]

        def operations() -> list[dict[str, Any]]:
            writes: list[dict[str, Any]] = []
            for position, item in enumerate(self.items(saved, version)):
                put: dict[str, Any] = {"TableName": self.table.name, "Item": item}
                if position == 0:
                    put["ConditionExpression"] = "v = :v"
                    put["ExpressionAttributeValues"] = {":v": number(read.version)}
                writes.append({"Put": put})
            writes += self._counter_updates(saved, read.status)
            writes += [{"Put": {"TableName": self.table.name, "Item": item}} for item in iteration_items]
            return writes

        try:
            pushed_back_retried(lambda: self.table.write(operations()), self._pushed_back(saved))
        except ClientError as error:
            code = error_code(error)
            if code == "ConditionalCheckFailedException" or (
                code == "TransactionCanceledException"
                and "ConditionalCheckFailed" in cancellation_codes(error)
            ):
                raise VersionConflict(changed.id) from None
            raise
        return saved

    def _counter_updates(self, record: RunRecord, old_status: str | None) -> list[dict[str, Any]]:
        return counter_updates(
            self.table.name, record.run["_namespaces"], old_status, record.status, self.shards.counter_shard
        )

    def _pushed_back(self, record: RunRecord) -> Callable[[ClientError], None]:
        def note(error: ClientError) -> None:
            for namespace in record.run["_namespaces"]:
                self.shards.pushed_back(namespace, throttled=is_throttled(error))

        return note

    def put_iteration_tasks(self, run_id: str, tasks: Iterable[TaskDocument]) -> None:
        """Writes iteration tasks outside a run's transaction (e.g. iterations that never started)."""
        self.table.batch_write(
            [{"PutRequest": {"Item": self._iteration_item(run_id, task)}} for task in tasks]
        )

    def delete_iteration_tasks(self, run_id: str, tasks: Iterable[TaskDocument]) -> None:
        self.table.batch_write(
            [{"DeleteRequest": {"Key": keys.key(keys.run_pk(run_id), _iteration_sk(task))}} for task in tasks]
        )

    # ------------------------------------------------------------ reads

    def get(self, run_id: str, *, consistent: bool = False) -> RunRecord | None:
        answer = self.table.query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={
                ":pk": string(keys.run_pk(run_id)),
                ":ns": string(keys.COPY_SK_PREFIX),
            },
            ProjectionExpression="v, sh, #doc",
            ExpressionAttributeNames={"#doc": "doc"},
            Limit=1,
            ConsistentRead=consistent,
        )
        if not answer["Items"]:
            return None
        item = answer["Items"][0]
        return RunRecord(
            run=run_document(item),
            state=ExecutionState.from_json(document(item)["state"]),
            version=int(item["v"]["N"]),
            placement={
                name: int(shard) for name, shard in json.loads(item.get("sh", {}).get("S", "{}")).items()
            },
        )

    def get_iteration_tasks(
        self,
        run_id: str,
        *,
        consistent: bool = False,
        parent_task_id: str | None = None,
        index: int | None = None,
    ) -> list[TaskDocument]:
        """Iteration tasks of a run; of one parent task, or of one of its iterations, when named."""
        return [
            document(item)
            for item in self.table.query_all(
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": string(keys.run_pk(run_id)),
                    ":prefix": string(keys.iteration_prefix(parent_task_id, index)),
                },
                ConsistentRead=consistent,
            )
        ]

    def due_run_ids(self, now_ns: int, limit: int = 100) -> list[str]:
        """Runs whose due time (runs.due_ns) has come, at most ``limit`` from each shard."""
        ids: list[str] = []
        for shard in range(keys.ACTIVE_SHARDS):
            answer = self.table.query(
                IndexName=keys.ACTIVE_RUN_INDEX,
                KeyConditionExpression="gsi2pk = :shard AND gsi2sk <= :now",
                ExpressionAttributeValues={
                    ":shard": string(keys.active_partition(shard)),
                    ":now": string(keys.due_upper_bound(now_ns)),
                },
                Limit=limit,
            )
            ids.extend(keys.run_id_of(item["pk"]["S"]) for item in answer["Items"])
        return ids

    # ------------------------------------------------------------ items

    def items(self, record: RunRecord, version: int = 1) -> list[Item]:
        """The run's copies: one per namespace, each the whole document, on its partition of the namespace's
        index; the first also on the active index while the run can move on its own. (Public for loading
        data sets in bulk.)"""
        run = record.run
        doc = compact_json(run)
        if len(doc) > MAX_RUN_DOCUMENT_BYTES:  # the rules keep runs below it: this is a last guard
            raise ValueError(f"run {run['_id']} would exceed the item size limit")
        # The run and its execution state compressed together: the state names the run's tasks, so the
        # two compress better as one (a run of three calls mostly fits in one write unit).
        stored = packed_json(f'{{"run":{doc},"state":{compact_json(record.state.to_json())}}}')
        due = _index_due_ns(record)
        # Where each copy is on its namespace's index: kept only where it is not partition 0.
        placement = {namespace: shard for namespace, shard in record.placement.items() if shard}
        items = []
        for position, namespace in enumerate(run["_namespaces"]):
            item: Item = {
                **keys.key(keys.run_pk(run["_id"]), keys.copy_sk(namespace)),
                "gsi1pk": string(keys.run_partition(namespace, record.placement.get(namespace, 0))),
                "gsi1sk": string(keys.created_sort_key(run["_createdAt"], run["_id"])),
                "v": number(version),
                "st": string(run["_status"]),
                "nm": string(run["_name"].lower()),
                "df": string(run["_workflowDefId"]),
                "doc": stored,
            }
            if placement:
                item["sh"] = string(compact_json(placement))
            if position == 0 and due is not None:
                item["gsi2pk"] = string(keys.active_partition(keys.active_shard(run["_id"])))
                item["gsi2sk"] = string(keys.due_sort_key(due))
            items.append(item)
        return items

    def _iteration_item(self, run_id: str, task: TaskDocument) -> Item:
        return {**keys.key(keys.run_pk(run_id), _iteration_sk(task)), "doc": packed(task)}


def _index_due_ns(record: RunRecord) -> int | None:
    """The run's key on the active index: its deadline, or the time its step must be looked at (see
    ``LOOK_AFTER_WRITE_NS``), whichever comes first; never earlier than ``runs.due_ns``, so the sweeper
    finds nothing early."""
    deadline, look = runs.due_times(record)
    if look is not None:
        look = max(look, timestamps.parse_ns(record.run["_updatedAt"]) + LOOK_AFTER_WRITE_NS)
        look = -(-look // LOOK_ROUNDING_NS) * LOOK_ROUNDING_NS
    times = [time for time in (deadline, look) if time is not None]
    return min(times) if times else None


def _iteration_sk(task: TaskDocument) -> str:
    return keys.iteration_sk(task["_loopTaskId"], task["_loopIndex"], task["_sequenceno"])

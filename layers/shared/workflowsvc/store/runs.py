"""Runs: the run's items (one full copy per namespace), its iteration tasks, and the runs the sweeper is due
to look at. Every change of a run is conditional on the version it was read at."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from workflowsvc import runs
from workflowsvc.errors import AlreadyExists, VersionConflict
from workflowsvc.models.run import MAX_RUN_DOCUMENT_BYTES, ExecutionState, RunRecord, TaskDocument
from workflowsvc.store import keys
from workflowsvc.store.counting import counter_updates
from workflowsvc.store.dynamo import (
    Item,
    Table,
    cancellation_codes,
    compact_json,
    document,
    error_code,
    number,
    string,
)


class RunStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ------------------------------------------------------------ writes

    def create(self, record: RunRecord, idempotency: dict[str, Any] | None = None) -> RunRecord:
        """Writes the run's copies and counters, and the idempotency record's operation, in one transaction.

        Raises AlreadyExists when the idempotency key is taken (and not expired).
        """
        operations: list[dict[str, Any]] = [idempotency] if idempotency is not None else []
        for item in self.items(record, 1):
            operations.append(
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        operations += counter_updates(self.table.name, record.run["_namespaces"], None, record.status)
        try:
            self.table.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            codes = cancellation_codes(error)
            if idempotency is not None and codes and codes[0] == "ConditionalCheckFailed":
                raise AlreadyExists(idempotency["Put"]["Item"]["pk"]["S"]) from None
            raise
        return RunRecord(run=record.run, state=record.state, version=1)

    def save(
        self, read: RunRecord, changed: RunRecord, iteration_tasks: Iterable[TaskDocument] = ()
    ) -> RunRecord:
        """Replaces the run's copies if nobody changed it since ``read`` was read.

        Counters follow a status change in the same transaction; ``iteration_tasks`` are written with it.
        Raises VersionConflict when the run changed meanwhile.
        """
        version = read.version + 1
        operations: list[dict[str, Any]] = []
        for position, item in enumerate(self.items(changed, version)):
            put: dict[str, Any] = {"TableName": self.table.name, "Item": item}
            if position == 0:
                put["ConditionExpression"] = "v = :v"
                put["ExpressionAttributeValues"] = {":v": number(read.version)}
            operations.append({"Put": put})
        operations += counter_updates(
            self.table.name, changed.run["_namespaces"], read.status, changed.status
        )
        for task in iteration_tasks:
            operations.append(
                {"Put": {"TableName": self.table.name, "Item": self._iteration_item(changed.id, task)}}
            )
        try:
            self.table.write(operations)
        except ClientError as error:
            code = error_code(error)
            if code == "ConditionalCheckFailedException":
                raise VersionConflict(changed.id) from None
            if code == "TransactionCanceledException" and any(
                reason in ("ConditionalCheckFailed", "TransactionConflict")
                for reason in cancellation_codes(error)
            ):
                raise VersionConflict(changed.id) from None
            raise
        return RunRecord(run=changed.run, state=changed.state, version=version)

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
        answer = self.table.client.query(
            TableName=self.table.name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={
                ":pk": string(keys.run_pk(run_id)),
                ":ns": string(keys.COPY_SK_PREFIX),
            },
            ProjectionExpression="v, #doc, #meta",
            ExpressionAttributeNames={"#doc": "doc", "#meta": "meta"},
            Limit=1,
            ConsistentRead=consistent,
        )
        if not answer["Items"]:
            return None
        item = answer["Items"][0]
        return RunRecord(
            run=document(item),
            state=ExecutionState.from_json(document(item, "meta")),
            version=int(item["v"]["N"]),
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
            answer = self.table.client.query(
                TableName=self.table.name,
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
        """The run's copies: one per namespace, each the whole document; the first also on the active index
        while the run can move on its own. (Public for loading data sets in bulk.)"""
        run = record.run
        doc = compact_json(run)
        if len(doc) > MAX_RUN_DOCUMENT_BYTES:  # the rules keep runs below it: this is a last guard
            raise ValueError(f"run {run['_id']} would exceed the item size limit")
        state = json.dumps(record.state.to_json(), separators=(",", ":"))
        due = runs.due_ns(record)
        items = []
        for position, namespace in enumerate(run["_namespaces"]):
            item: Item = {
                **keys.key(keys.run_pk(run["_id"]), keys.copy_sk(namespace)),
                "gsi1pk": string(keys.namespace_partition(namespace, keys.RUN)),
                "gsi1sk": string(keys.created_sort_key(run["_createdAt"], run["_id"])),
                "v": number(version),
                "st": string(run["_status"]),
                "nm": string(run["_name"].lower()),
                "df": string(run["_workflowDefId"]),
                "ua": string(run["_updatedAt"]),
                "doc": string(doc),
                "meta": string(state),
            }
            if position == 0 and due is not None:
                item["gsi2pk"] = string(keys.active_partition(keys.active_shard(run["_id"])))
                item["gsi2sk"] = string(keys.due_sort_key(due, run["_id"]))
            items.append(item)
        return items

    def _iteration_item(self, run_id: str, task: TaskDocument) -> Item:
        return {**keys.key(keys.run_pk(run_id), _iteration_sk(task)), "doc": string(compact_json(task))}


def _iteration_sk(task: TaskDocument) -> str:
    return keys.iteration_sk(task["_loopTaskId"], task["_loopIndex"], task["_sequenceno"])

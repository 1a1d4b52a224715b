"""The one module that talks to DynamoDB. Key design: docs/design.md, "DynamoDB".

Documents are stored as JSON strings (``doc``, ``meta``) beside the few attributes that queries key,
filter or sort on, and read with the low-level client: no type conversion on the hot paths.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.exceptions import ClientError

from workflowsvc import runs, timestamps
from workflowsvc.errors import AlreadyExists, VersionConflict

NAMESPACE_INDEX = "NamespaceIndex"
ACTIVE_RUN_INDEX = "ActiveRunIndex"
ACTIVE_SHARDS = 8  # the sparse active index is spread over a few keys so no partition runs hot
_MIN_KEY, _MAX_KEY = "0", "~"  # below and above every "<timestamp>#<id>" sort key
_IDEMPOTENCY_TTL_S = 24 * 3600


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """Created on first use, not at import, so tests and the local server can point it elsewhere first."""
    return boto3.client("dynamodb")


def reset_clients() -> None:
    dynamodb_client.cache_clear()


@dataclass(frozen=True)
class StoredRun:
    run: dict[str, Any]
    meta: dict[str, Any]
    version: int


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    offset: int
    has_more: bool
    # Sort key of the last item (index order) for the next page's cursor; None when sorted in memory.
    last_key: str | None = None


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _run_pk(run_id: str) -> str:
    return f"RUN#{run_id}"


def _loop_sk(loop_task_id: str, index: int, sequenceno: int) -> str:
    return f"LOOP#{loop_task_id}#{index:07d}#{sequenceno:07d}"


def _active_shard(run_id: str) -> int:
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:4], 16) % ACTIVE_SHARDS


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


class Repository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb_client()

    # ------------------------------------------------------------ runs: items

    def _run_items(self, run: dict[str, Any], meta: dict[str, Any], version: int) -> list[dict[str, Any]]:
        doc = json.dumps(run, separators=(",", ":"))
        meta_doc = json.dumps(meta, separators=(",", ":"))
        due = runs.due_ns(run, meta)
        items = []
        for position, namespace in enumerate(run["_namespaces"]):
            item = {
                "pk": _s(_run_pk(run["_id"])),
                "sk": _s(f"NS#{namespace}"),
                "gsi1pk": _s(f"NS#{namespace}#RUN"),
                "gsi1sk": _s(f"{run['_createdAt']}#{run['_id']}"),
                "v": _n(version),
                "st": _s(run["_status"]),
                "nm": _s(run["_name"].lower()),
                "df": _s(run["_workflowDefId"]),
                "ua": _s(run["_updatedAt"]),
                "doc": _s(doc),
                "meta": _s(meta_doc),
            }
            if position == 0 and due is not None:
                item["gsi2pk"] = _s(f"ACTIVE#{_active_shard(run['_id'])}")
                item["gsi2sk"] = _s(f"{due:020d}#{run['_id']}")
            items.append(item)
        return items

    def _counter_update(self, namespace: str, key: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": _s(f"COUNT#{namespace}"), "sk": _s(f"RUN#{key}")},
                "UpdateExpression": "ADD n :d",
                "ExpressionAttributeValues": {":d": _n(delta)},
            }
        }

    # ------------------------------------------------------------ runs: writes

    def create_run(
        self, run: dict[str, Any], meta: dict[str, Any], idempotency: dict[str, Any] | None = None
    ) -> StoredRun:
        """Writes the run's copies and counters, and the idempotency record, in one transaction.

        Raises AlreadyExists when the idempotency key is taken (and not expired).
        """
        operations: list[dict[str, Any]] = []
        if idempotency is not None:
            operations.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": idempotency,
                        "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
                        "ExpressionAttributeNames": {"#ttl": "ttl"},
                        "ExpressionAttributeValues": {":now": _n(timestamps.now_ns() // 1_000_000_000)},
                    }
                }
            )
        for item in self._run_items(run, meta, 1):
            operations.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        for namespace in run["_namespaces"]:
            operations.append(self._counter_update(namespace, "ALL", 1))
            operations.append(self._counter_update(namespace, run["_status"], 1))
        try:
            self.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            codes = _cancellation_codes(error)
            if idempotency is not None and codes and codes[0] == "ConditionalCheckFailed":
                raise AlreadyExists(idempotency["pk"]["S"]) from None
            raise
        return StoredRun(run=run, meta=meta, version=1)

    def save_run(
        self,
        stored: StoredRun,
        run: dict[str, Any],
        meta: dict[str, Any],
        loop_tasks: list[dict[str, Any]] | None = None,
    ) -> StoredRun:
        """Replaces the run's copies if nobody changed it since ``stored`` was read.

        Counters follow a status change in the same transaction; ``loop_tasks`` are written with it.
        Raises VersionConflict when the run changed meanwhile.
        """
        version = stored.version + 1
        operations: list[dict[str, Any]] = []
        for position, item in enumerate(self._run_items(run, meta, version)):
            put: dict[str, Any] = {"TableName": self.table_name, "Item": item}
            if position == 0:
                put["ConditionExpression"] = "v = :v"
                put["ExpressionAttributeValues"] = {":v": _n(stored.version)}
            operations.append({"Put": put})
        old_status, new_status = stored.run["_status"], run["_status"]
        if old_status != new_status:
            for namespace in run["_namespaces"]:
                operations.append(self._counter_update(namespace, old_status, -1))
                operations.append(self._counter_update(namespace, new_status, 1))
        for task in loop_tasks or []:
            operations.append(
                {"Put": {"TableName": self.table_name, "Item": self._loop_item(run["_id"], task)}}
            )
        try:
            if len(operations) == 1:
                self.client.put_item(**operations[0]["Put"])
            else:
                self.client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ConditionalCheckFailedException":
                raise VersionConflict(run["_id"]) from None
            if code == "TransactionCanceledException" and any(
                reason in ("ConditionalCheckFailed", "TransactionConflict")
                for reason in _cancellation_codes(error)
            ):
                raise VersionConflict(run["_id"]) from None
            raise
        return StoredRun(run=run, meta=meta, version=version)

    def _loop_item(self, run_id: str, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": _s(_run_pk(run_id)),
            "sk": _s(_loop_sk(task["_loopTaskId"], task["_loopIndex"], task["_sequenceno"])),
            "doc": _s(json.dumps(task, separators=(",", ":"))),
        }

    def put_loop_tasks(self, run_id: str, tasks: list[dict[str, Any]]) -> None:
        """Writes loop-over tasks outside a run transaction (e.g. iterations that never started)."""
        requests = [{"PutRequest": {"Item": self._loop_item(run_id, task)}} for task in tasks]
        self._batch_write(requests)

    def delete_loop_tasks(self, run_id: str, tasks: list[dict[str, Any]]) -> None:
        requests = [
            {
                "DeleteRequest": {
                    "Key": {
                        "pk": _s(_run_pk(run_id)),
                        "sk": _s(_loop_sk(task["_loopTaskId"], task["_loopIndex"], task["_sequenceno"])),
                    }
                }
            }
            for task in tasks
        ]
        self._batch_write(requests)

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table_name: requests[start : start + 25]}
            while pending:
                answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}

    # ------------------------------------------------------------ runs: reads

    def get_run(self, run_id: str, *, consistent: bool = False) -> StoredRun | None:
        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={":pk": _s(_run_pk(run_id)), ":ns": _s("NS#")},
            ProjectionExpression="v, #doc, #meta",
            ExpressionAttributeNames={"#doc": "doc", "#meta": "meta"},
            Limit=1,
            ConsistentRead=consistent,
        )
        if not answer["Items"]:
            return None
        item = answer["Items"][0]
        return StoredRun(
            run=json.loads(item["doc"]["S"]), meta=json.loads(item["meta"]["S"]), version=int(item["v"]["N"])
        )

    def get_loop_tasks(
        self,
        run_id: str,
        *,
        consistent: bool = False,
        loop_task_id: str | None = None,
        index: int | None = None,
    ) -> list[dict[str, Any]]:
        """Loop-over tasks of a run; of one LOOP_OVER task, or of one of its iterations, when named."""
        prefix = "LOOP#"
        if loop_task_id is not None:
            prefix += f"{loop_task_id}#" + (f"{index:07d}#" if index is not None else "")
        tasks = []
        for item in self._query_all(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :loop)",
            ExpressionAttributeValues={":pk": _s(_run_pk(run_id)), ":loop": _s(prefix)},
            ConsistentRead=consistent,
        ):
            tasks.append(json.loads(item["doc"]["S"]))
        return tasks

    def due_run_ids(self, now_ns: int, limit: int = 100) -> list[str]:
        ids: list[str] = []
        for shard in range(ACTIVE_SHARDS):
            answer = self.client.query(
                TableName=self.table_name,
                IndexName=ACTIVE_RUN_INDEX,
                KeyConditionExpression="gsi2pk = :shard AND gsi2sk <= :now",
                ExpressionAttributeValues={":shard": _s(f"ACTIVE#{shard}"), ":now": _s(f"{now_ns:020d}~")},
                Limit=limit,
            )
            ids.extend(item["pk"]["S"].removeprefix("RUN#") for item in answer["Items"])
        return ids

    # ------------------------------------------------------------ run lists

    def list_runs(self, query: runs.RunListQuery, position: Any | None) -> Page:
        """A page of runs. ``position`` is what the previous page's token carried, or None."""
        if query.by_creation:
            return self._list_by_creation("RUN", query, position)
        return self._list_sorted_in_memory(query, position)

    def _run_filter(self, query: runs.RunListQuery) -> tuple[str | None, dict[str, Any]]:
        clauses, values = [], {}
        if query.name:
            clauses.append("contains(nm, :name)")
            values[":name"] = _s(query.name)
        if query.def_id:
            clauses.append("contains(df, :def)")
            values[":def"] = _s(query.def_id)
        if query.statuses:
            names = [f":st{i}" for i in range(len(query.statuses))]
            clauses.append(f"st IN ({', '.join(names)})")
            values.update({name: _s(status) for name, status in zip(names, query.statuses, strict=True)})
        return (" AND ".join(clauses) or None), values

    def _key_range(
        self, query: runs.RunListQuery, after: str | None, descending: bool
    ) -> tuple[str, str] | None:
        low = query.start or _MIN_KEY
        high = f"{query.end}#~" if query.end else _MAX_KEY
        if after is not None:
            # Sort keys all have one length, so these are the nearest keys strictly past the cursor.
            if descending:
                high = min(high, after[:-1] + chr(ord(after[-1]) - 1) + "~")
            else:
                low = max(low, after + " ")
        return (low, high) if low <= high else None

    def _partition(
        self,
        partition: str,
        key_range: tuple[str, str],
        descending: bool,
        filter_expression: str | None,
        filter_values: dict[str, Any],
        limit: int | None,
    ) -> Iterator[dict[str, Any]]:
        """Items of one namespace partition of the index, in key order, read ``limit`` at a time."""
        request: dict[str, Any] = {
            "IndexName": NAMESPACE_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":p": _s(partition),
                ":lo": _s(key_range[0]),
                ":hi": _s(key_range[1]),
                **filter_values,
            },
            "ScanIndexForward": not descending,
        }
        if filter_expression:
            request["FilterExpression"] = filter_expression
        if limit is None:
            yield from self._query_all(**request)
            return
        # DynamoDB answers at most 1 MB a page: later pages ask only for what is still missing, so a
        # deep offset never reads more than it needs.
        remaining = limit
        while remaining > 0:
            request["Limit"] = remaining
            answer = self.client.query(TableName=self.table_name, **request)
            yield from answer["Items"]
            remaining -= answer["ScannedCount"]
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _list_by_creation(self, kind: str, query: Any, position: Any | None) -> Page:
        descending = query.sort[0][1] < 0
        after = position["k"] if position else None
        offset = position["o"] if position else query.offset
        skip = 0 if position else query.offset
        needed = skip + query.page_size + 1  # one more than the page says whether another page follows
        key_range = self._key_range(query, after, descending)
        if key_range is None:
            return Page(items=[], offset=offset, has_more=False)
        filter_expression, filter_values = (
            self._run_filter(query) if kind == "RUN" else self._def_filter(query)
        )
        streams = [
            self._partition(
                f"NS#{namespace}#{kind}",
                key_range,
                descending,
                filter_expression,
                filter_values,
                None if filter_expression else needed,
            )
            for namespace in query.namespaces
        ]
        merged = heapq.merge(*streams, key=lambda item: item["gsi1sk"]["S"], reverse=descending)
        seen: set[str] = set()
        picked: list[dict[str, Any]] = []
        for item in merged:
            if item["pk"]["S"] in seen:
                continue  # the same run reached through two of the requested namespaces
            seen.add(item["pk"]["S"])
            picked.append(item)
            if len(picked) == needed:
                break
        page = picked[skip : skip + query.page_size]
        return Page(
            items=[json.loads(item["doc"]["S"]) for item in page],
            offset=offset,
            has_more=len(picked) > skip + query.page_size,
            last_key=page[-1]["gsi1sk"]["S"] if page else None,
        )

    def _list_sorted_in_memory(self, query: runs.RunListQuery, position: Any | None) -> Page:
        # Only _createdAt has an index order; other sorts read the namespace's matches and sort them.
        matches = self._all_matching_runs(query)
        matches.sort(key=runs.sort_key(query))
        offset = position["o"] if position else query.offset
        return Page(
            items=matches[offset : offset + query.page_size],
            offset=offset,
            has_more=len(matches) > offset + query.page_size,
        )

    def _all_matching_runs(self, query: runs.RunListQuery) -> list[dict[str, Any]]:
        key_range = self._key_range(query, None, True)
        if key_range is None:
            return []
        filter_expression, filter_values = self._run_filter(query)
        found: dict[str, dict[str, Any]] = {}
        for namespace in query.namespaces:
            for item in self._partition(
                f"NS#{namespace}#RUN", key_range, True, filter_expression, filter_values, None
            ):
                found.setdefault(item["pk"]["S"], json.loads(item["doc"]["S"]))
        return list(found.values())

    def count_runs(self, query: runs.RunListQuery) -> int:
        if len(query.namespaces) == 1 and not (query.name or query.def_id or query.start or query.end):
            return self._read_counters(query.namespaces[0], query.statuses or ("ALL",))
        return self._count_matches("RUN", query)

    def _read_counters(self, namespace: str, keys: tuple[str, ...]) -> int:
        request_keys = [{"pk": _s(f"COUNT#{namespace}"), "sk": _s(f"RUN#{key}")} for key in keys]
        if len(request_keys) == 1:
            item = self.client.get_item(TableName=self.table_name, Key=request_keys[0]).get("Item")
            return int(item["n"]["N"]) if item else 0
        answer = self.client.batch_get_item(RequestItems={self.table_name: {"Keys": request_keys}})
        return sum(int(item["n"]["N"]) for item in answer["Responses"].get(self.table_name, []))

    def _count_matches(self, kind: str, query: Any) -> int:
        key_range = self._key_range(query, None, True)
        if key_range is None:
            return 0
        filter_expression, filter_values = (
            self._run_filter(query) if kind == "RUN" else self._def_filter(query)
        )
        request: dict[str, Any] = {
            "IndexName": NAMESPACE_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":lo": _s(key_range[0]), ":hi": _s(key_range[1]), **filter_values},
        }
        if filter_expression:
            request["FilterExpression"] = filter_expression
        if len(query.namespaces) == 1:
            request["ExpressionAttributeValues"][":p"] = _s(f"NS#{query.namespaces[0]}#{kind}")
            return sum(answer["Count"] for answer in self._query_pages(Select="COUNT", **request))
        ids: set[str] = set()
        for namespace in query.namespaces:
            request["ExpressionAttributeValues"][":p"] = _s(f"NS#{namespace}#{kind}")
            for answer in self._query_pages(ProjectionExpression="pk", **request):
                ids.update(item["pk"]["S"] for item in answer["Items"])
        return len(ids)

    # ------------------------------------------------------------ definitions

    def put_definition(self, definition: dict[str, Any]) -> None:
        doc = json.dumps(definition, separators=(",", ":"))
        operations = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        "pk": _s(f"DEF#{definition['_id']}"),
                        "sk": _s(f"NS#{namespace}"),
                        "gsi1pk": _s(f"NS#{namespace}#DEF"),
                        "gsi1sk": _s(f"{definition['_createdAt']}#{definition['_id']}"),
                        "nm": _s(definition["_name"].lower()),
                        "doc": _s(doc),
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for namespace in definition["_namespaces"]
        ]
        if len(operations) == 1:
            self.client.put_item(**operations[0]["Put"])
        else:
            self.client.transact_write_items(TransactItems=operations)

    def get_definition(self, definition_id: str) -> dict[str, Any] | None:
        answer = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={":pk": _s(f"DEF#{definition_id}"), ":ns": _s("NS#")},
            Limit=1,
        )
        return json.loads(answer["Items"][0]["doc"]["S"]) if answer["Items"] else None

    def list_definitions(self, query: Any, position: Any | None) -> Page:
        return self._list_by_creation("DEF", query, position)

    def count_definitions(self, query: Any) -> int:
        return self._count_matches("DEF", query)

    def _def_filter(self, query: Any) -> tuple[str | None, dict[str, Any]]:
        if query.name:
            return "contains(nm, :name)", {":name": _s(query.name)}
        return None, {}

    # ------------------------------------------------------------ idempotency

    def idempotency_item(self, key_hash: str, request_hash: str, status: int, body: str) -> dict[str, Any]:
        expires = timestamps.now_ns() // 1_000_000_000 + _IDEMPOTENCY_TTL_S
        return {
            "pk": _s(f"IDEMPOTENCY#{key_hash}"),
            "sk": _s("IDEMPOTENCY"),
            "hash": _s(request_hash),
            "status": _n(status),
            "body": _s(body),
            "ttl": _n(expires),
        }

    def get_idempotency(self, key_hash: str) -> dict[str, Any] | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": _s(f"IDEMPOTENCY#{key_hash}"), "sk": _s("IDEMPOTENCY")},
            ConsistentRead=True,
        ).get("Item")
        if not item or int(item["ttl"]["N"]) < timestamps.now_ns() // 1_000_000_000:
            return None  # DynamoDB deletes expired items lazily; an expired record does not count
        return {"hash": item["hash"]["S"], "status": int(item["status"]["N"]), "body": item["body"]["S"]}

    # ------------------------------------------------------------ paging through DynamoDB

    def _query_pages(self, **request: Any) -> Iterator[dict[str, Any]]:
        request["TableName"] = self.table_name
        while True:
            answer = self.client.query(**request)
            yield answer
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _query_all(self, **request: Any) -> Iterator[dict[str, Any]]:
        for answer in self._query_pages(**request):
            yield from answer["Items"]

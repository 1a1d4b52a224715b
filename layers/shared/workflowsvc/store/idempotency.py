"""Idempotency records: what a POST with an ``Idempotency-Key`` answered, kept 24 hours.

The record is written in the same transaction as the run it started (``RunStore.create``), so of two
requests racing with one key exactly one starts a run; the other reads the record and replays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflowsvc.store import keys
from workflowsvc.store.dynamo import Item, Table, number, string

TTL_SECONDS = 24 * 3600
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class IdempotencyRecord:
    key_hash: str
    request_hash: str
    status: int
    body: str  # the response body, exactly as first answered


class IdempotencyStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put_operation(self, record: IdempotencyRecord, now_ns: int) -> dict[str, Any]:
        """The transaction operation that writes ``record`` unless the key is taken and not expired."""
        now_s = now_ns // _NS_PER_S
        item: Item = {
            **keys.idempotency_key(record.key_hash),
            "hash": string(record.request_hash),
            "status": number(record.status),
            "body": string(record.body),
            "ttl": number(now_s + TTL_SECONDS),
        }
        return {
            "Put": {
                "TableName": self.table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk) OR #ttl < :now",
                "ExpressionAttributeNames": {"#ttl": "ttl"},
                "ExpressionAttributeValues": {":now": number(now_s)},
            }
        }

    def get(self, key_hash: str, now_ns: int) -> IdempotencyRecord | None:
        item = self.table.get_item(Key=keys.idempotency_key(key_hash), ConsistentRead=True).get("Item")
        if not item or int(item["ttl"]["N"]) < now_ns // _NS_PER_S:
            return None  # DynamoDB deletes expired items lazily; an expired record does not count
        return IdempotencyRecord(
            key_hash=key_hash,
            request_hash=item["hash"]["S"],
            status=int(item["status"]["N"]),
            body=item["body"]["S"],
        )

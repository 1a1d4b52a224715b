"""The DynamoDB client and the plumbing every store module shares.

Documents are stored as JSON strings beside the few attributes that queries key, filter or sort on, and
read with the low-level client: no type conversion on the hot paths.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from workflowsvc import aws
from workflowsvc.config import once_per_process

Item = dict[str, Any]

BATCH_WRITE_LIMIT = 25


@once_per_process
def dynamodb_client() -> Any:
    """Made on first use, not at import, so tests and the local run can point it elsewhere first."""
    return aws.client("dynamodb")


def string(value: str) -> dict[str, str]:
    return {"S": value}


def number(value: int) -> dict[str, str]:
    return {"N": str(value)}


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def document(item: Item, attribute: str = "doc") -> Any:
    return json.loads(item[attribute]["S"])


def cancellation_codes(error: ClientError) -> list[str]:
    """The reason of each operation of a cancelled transaction, in order (``"None"`` where it had none)."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class Table:
    """One table, through the shared client (or one given, e.g. to count a test's requests)."""

    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb_client()

    def query_pages(self, **request: Any) -> Iterator[dict[str, Any]]:
        request["TableName"] = self.name
        while True:
            answer = self.client.query(**request)
            yield answer
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def query_all(self, **request: Any) -> Iterator[Item]:
        for answer in self.query_pages(**request):
            yield from answer["Items"]

    def batch_write(self, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {self.name: requests[start : start + BATCH_WRITE_LIMIT]}
            while pending:
                answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}

    def write(self, operations: list[dict[str, Any]]) -> None:
        """One operation as a single write, several as one transaction (all or nothing)."""
        if len(operations) == 1:
            ((kind, request),) = operations[0].items()
            getattr(self.client, _SINGLE_WRITES[kind])(**request)
        else:
            self.client.transact_write_items(TransactItems=operations)


_SINGLE_WRITES = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}

"""Requests and items read, counted on the service's own boto3 clients (botocore ``after-call`` events).

Items read are what DynamoDB bills: for a Query or Scan the items it examined (``ScannedCount``, before
any filter), one per item found by GetItem, the items answered by BatchGetItem. moto's ConsumedCapacity
figures are fixed values, so they are not used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def items_read(operation: str, parsed: dict[str, Any]) -> int:
    if operation in ("Query", "Query(Select=COUNT)", "Scan"):
        return int(parsed.get("ScannedCount", parsed.get("Count", len(parsed.get("Items", [])))))
    if operation == "GetItem":
        return 1 if parsed.get("Item") else 0
    if operation == "BatchGetItem":
        return sum(len(items) for items in (parsed.get("Responses") or {}).values())
    if operation == "TransactGetItems":
        return sum(1 for response in parsed.get("Responses") or [] if response.get("Item"))
    return 0


@dataclass
class Tally:
    """What one measured piece of work sent: requests by service and operation, items read."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    reads: Counter[str] = field(default_factory=Counter)  # items read, by operation
    kinds: Counter[str] = field(default_factory=Counter)  # items read, by what they are (``_kind_of_read``)

    def count(self, *operations: str) -> int:
        return sum(n for (_, operation), n in self.requests.items() if operation in operations)

    @property
    def request_count(self) -> int:
        return sum(self.requests.values())

    def requests_to(self, service: str) -> int:
        return sum(n for (to, _), n in self.requests.items() if to == service)

    @property
    def items_read(self) -> int:
        return sum(self.reads.values())

    @property
    def writes(self) -> int:
        return self.count(*WRITE_OPERATIONS)

    def describe(self) -> str:
        """E.g. ``DynamoDB: Query 1, TransactWriteItems 1; SQS: SendMessage 1``, in the order sent."""
        by_service: dict[str, list[str]] = {}
        for (service, operation), n in self.requests.items():
            by_service.setdefault(service, []).append(f"{operation} {n}")
        return "; ".join(f"{service}: {', '.join(parts)}" for service, parts in by_service.items()) or "none"


_REQUEST = "bench_request"

INDEX_ENTRIES = "index entries"
DOCUMENTS = "documents"
COUNTERS = "counter items"
OTHER = "other items"


def _remember_request(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context[_REQUEST] = params


def _kind_of_read(operation: str, request: dict[str, Any]) -> str:
    """What a read read: index entries (a query of an index), counter items, or documents."""
    from workflowsvc.store import keys

    if operation.startswith("Query") and "IndexName" in request:
        return INDEX_ENTRIES
    if operation == "BatchGetItem":
        requested = [key for table in request.get("RequestItems", {}).values() for key in table["Keys"]]
        counter_sk = keys.counter_key("any", 0)["sk"]["S"]
        if requested and all(key["sk"]["S"] == counter_sk for key in requested):
            return COUNTERS
        return DOCUMENTS
    return OTHER


class RequestCounter:
    """Attach to clients, then ``with counter.measure() as tally:`` around the work to count."""

    def __init__(self) -> None:
        self._current: Tally | None = None

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id
        prefix = client.meta.service_model.endpoint_prefix
        client.meta.events.register(f"before-parameter-build.{prefix}", _remember_request)
        client.meta.events.register(
            f"after-call.{prefix}",
            lambda model, parsed, context, **_: self._after_call(
                str(service), model.name, parsed, context.get(_REQUEST, {})
            ),
        )

    def _after_call(
        self, service: str, operation: str, parsed: dict[str, Any], request: dict[str, Any]
    ) -> None:
        if self._current is None:
            return
        if operation == "Query" and "Items" not in parsed and "Error" not in parsed:
            operation = "Query(Select=COUNT)"  # counts matches without returning them
        self._current.requests[(service, operation)] += 1
        read = items_read(operation, parsed)
        if read:
            self._current.reads[operation] += read
            self._current.kinds[_kind_of_read(operation, request)] += read

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        tally = Tally()
        self._current = tally
        try:
            yield tally
        finally:
            self._current = None


def count_service_requests() -> RequestCounter:
    """A counter on the clients the service itself uses (the store's and the task queue's)."""
    from workflowsvc import task_queue
    from workflowsvc.store import dynamo

    counter = RequestCounter()
    counter.attach(dynamo.dynamodb_client())
    counter.attach(task_queue.sqs_client())
    return counter

"""The DynamoDB client and the plumbing every store module shares.

Documents (runs, tasks, definitions) are stored as compressed compact JSON (``packed``) beside the few
attributes that queries key, filter or sort on, and read with the low-level client: no type conversion
on the hot paths. DynamoDB bills a write by the started kilobyte of the item; a run's document of three
completed calls is some 2 KB of JSON and under 0.5 KB packed, so most writes of a run cost one unit
instead of three.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from workflowsvc import aws
from workflowsvc.config import once_per_process
from workflowsvc.models import vocabulary

Item = dict[str, Any]

# zlib's default: nearly the best ratio on JSON of a few KB, at a fraction of a millisecond.
_COMPRESSION_LEVEL = 6
# A packed document starts with a byte that says how it was packed. 1: zlib with a preset dictionary
# (``vocabulary.VOCABULARY_1``) of what every run's JSON says, which a document of a few KB is too short to
# learn: a run of three calls packs to some 480 bytes instead of 730. A better dictionary is a new byte.
_PACKED_WITH_DICTIONARY_1 = b"\x01"
_DICTIONARY_1 = vocabulary.VOCABULARY_1
BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100

# What DynamoDB answers when a write met another in flight, or more traffic than a partition takes: the
# same write may well go through a moment later. (A failed condition is never one of them.)
_TRANSIENT_ERRORS = frozenset(
    {
        "TransactionConflictException",
        "TransactionInProgressException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
    }
)
_TRANSIENT_CANCELLATIONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)

T = TypeVar("T")


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


def packed(value: Any) -> dict[str, bytes]:
    """A document as stored: compact JSON, compressed."""
    return packed_json(compact_json(value))


def packed_json(text: str) -> dict[str, bytes]:
    compressor = zlib.compressobj(
        _COMPRESSION_LEVEL, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_1
    )
    return {"B": _PACKED_WITH_DICTIONARY_1 + compressor.compress(text.encode()) + compressor.flush()}


def document(item: Item, attribute: str = "doc") -> Any:
    """A document as ``packed`` stored it."""
    packed_bytes: bytes = item[attribute]["B"]
    if packed_bytes[:1] != _PACKED_WITH_DICTIONARY_1:
        raise ValueError(f"a document packed in a way this version does not read ({packed_bytes[:1]!r})")
    decompressor = zlib.decompressobj(15, _DICTIONARY_1)
    return json.loads(decompressor.decompress(packed_bytes[1:]) + decompressor.flush())


def run_document(item: Item) -> Any:
    """The run document of a run's item, which holds the run and its execution state together
    (``RunStore.items``)."""
    return document(item)["run"]


def cancellation_codes(error: ClientError) -> list[str]:
    """The reason of each operation of a cancelled transaction, in order (``"None"`` where it had none)."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_transient(error: ClientError) -> bool:
    """Whether the request was pushed back (another transaction held an item it writes, or throttling),
    rather than refused: a cancelled transaction is transient only when no item failed its condition."""
    code = error_code(error)
    if code == "TransactionCanceledException":
        reasons = [reason for reason in cancellation_codes(error) if reason != "None"]
        return bool(reasons) and all(reason in _TRANSIENT_CANCELLATIONS for reason in reasons)
    return code in _TRANSIENT_ERRORS


@dataclass(frozen=True)
class Backoff:
    """Tries of a write that was pushed back, with full jitter between them (each pause drawn between 0
    and an exponential ceiling), so that writers that collided spread out. The pauses add up to at most
    about a second: well within the API functions' 10 s."""

    attempts: int = 8
    base_s: float = 0.01
    cap_s: float = 0.4

    def pause_s(self, retry: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**retry))  # noqa: S311 - jitter


DEFAULT_BACKOFF = Backoff()


def is_throttled(error: ClientError) -> bool:
    """Pushed back for traffic (as opposed to another transaction holding an item)."""
    if error_code(error) == "TransactionCanceledException":
        return any(
            reason != "TransactionConflict" for reason in cancellation_codes(error) if reason != "None"
        )
    return error_code(error) not in ("TransactionConflictException", "TransactionInProgressException")


def pushed_back_retried(
    call: Callable[[], T],
    on_pushed_back: Callable[[ClientError], None] | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, tried again after a pause while DynamoDB pushes it back (``is_transient``); any other
    error, or the last push-back, is raised. ``call`` builds its request afresh each time."""
    for retry in range(backoff.attempts):
        try:
            return call()
        except ClientError as error:
            if not is_transient(error) or retry == backoff.attempts - 1:
                raise
            if on_pushed_back is not None:
                on_pushed_back(error)
            sleep(backoff.pause_s(retry))
    raise AssertionError("unreachable: the last try raises")


class Table:
    """One table, through the shared client (or one given, e.g. to count a test's requests)."""

    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or dynamodb_client()

    def request(self, operation: str, **params: Any) -> dict[str, Any]:
        """One ``operation`` request (``query``, ``get_item``...) on this table, tried again while DynamoDB
        pushes it back (botocore's own retries give up on throttling after a few)."""
        method = getattr(self.client, operation)
        answer: dict[str, Any] = pushed_back_retried(lambda: method(TableName=self.name, **params))
        return answer

    def query(self, **request: Any) -> dict[str, Any]:
        return self.request("query", **request)

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self.request("get_item", **request)

    def query_pages(self, **request: Any) -> Iterator[dict[str, Any]]:
        while True:
            answer = self.query(**request)
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
                answer = pushed_back_retried(partial(self.client.batch_write_item, RequestItems=pending))
                pending = answer.get("UnprocessedItems") or {}

    def batch_get(self, item_keys: list[dict[str, Any]], projection: str | None = None) -> list[Item]:
        """The items of ``item_keys`` that exist, in no particular order (BatchGetItem, 100 at a time)."""
        found: list[Item] = []
        for start in range(0, len(item_keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {"Keys": item_keys[start : start + BATCH_GET_LIMIT]}
            if projection:
                request["ProjectionExpression"] = projection
            pending: dict[str, Any] = {self.name: request}
            while pending:
                answer = pushed_back_retried(partial(self.client.batch_get_item, RequestItems=pending))
                found.extend(answer["Responses"].get(self.name, []))
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def write(self, operations: list[dict[str, Any]]) -> None:
        """One operation as a single write, several as one transaction (all or nothing)."""
        if len(operations) == 1:
            ((kind, request),) = operations[0].items()
            getattr(self.client, _SINGLE_WRITES[kind])(**request)
        else:
            self.client.transact_write_items(TransactItems=operations)


_SINGLE_WRITES = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}

"""How many keys a namespace's runs are spread over, so that no key takes every write of a namespace.

A namespace's runs are written to ``shards`` partitions of the namespace index (a run stays on the one it
started on) and its counters to ``counter_shards`` items (a count is the sum over them). A namespace starts
with one index partition, so a quiet namespace's list reads one; it gets more when its writes are
throttled, up to ``MAX_SHARDS``, and never fewer.

Counters are in every start's and status change's transaction, so writers that pick the same counter item
at the same moment cancel each other. Each function keeps to one counter item of a namespace and picks
another at random when its write is cancelled: concurrent functions soon settle on items of their own.

Readers must read every partition a writer may have used. Each function keeps a namespace's count for
``CACHE_SECONDS`` at most, so a raise is stored with the time writers may start to use it (``since``: the
raise, plus the cache time, plus a margin); until then writers keep the ``previous`` count, while readers
read the new one at once. By the time a writer uses a new partition, every reader has read the new count.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass

from botocore.exceptions import ClientError

from workflowsvc.store import keys
from workflowsvc.store.dynamo import Table, error_code, number
from workflowsvc.timestamps import Clock

NS = 1_000_000_000
MAX_SHARDS = 64
# Counters are in every start's and status change's transaction: enough items from the start that a few
# dozen functions writing at once can each settle on one of their own, and twice the index partitions
# (a run changes its counters as often as its index entry, and each change is a transactional write, two
# units), up to what one BatchGetItem reads.
MIN_COUNTER_SHARDS = 32
MAX_COUNTER_SHARDS = 100
CACHE_SECONDS = 60
_MARGIN_SECONDS = 15
# Throttled this often within the window, a function asks for twice the partitions.
PRESSURE_EVENTS = 3
PRESSURE_WINDOW_SECONDS = 10


@dataclass(frozen=True)
class ShardCount:
    shards: int = 1  # readers read this many
    previous: int = 1  # writers write this many until ``since_ns``
    since_ns: int = 0

    def for_writers(self, now_ns: int) -> int:
        return self.shards if now_ns >= self.since_ns else self.previous

    @property
    def counter_shards(self) -> int:
        """Counter items readers sum over."""
        return counter_items(self.shards)

    def counter_shards_for_writers(self, now_ns: int) -> int:
        return counter_items(self.for_writers(now_ns))


def counter_items(shards: int) -> int:
    """How many counter items a namespace spread over ``shards`` index partitions has."""
    return min(MAX_COUNTER_SHARDS, max(MIN_COUNTER_SHARDS, 2 * shards))


def partition_of(run_id: str, shards: int) -> int:
    """The partition of ``shards`` a run goes on: from its id (random), so runs spread evenly."""
    return int(run_id.replace("-", "")[-8:], 16) % shards if shards > 1 else 0


class NamespaceShards:
    def __init__(self, table: Table, clock: Clock) -> None:
        self.table = table
        self.clock = clock
        self._cache: dict[str, tuple[int, ShardCount]] = {}
        self._pressure: dict[str, deque[int]] = {}
        self._lock = threading.Lock()
        # The counter item this function (a thread, where several share a process) keeps to, per namespace.
        self._counter_choice = threading.local()

    def get(self, namespace: str) -> ShardCount:
        now = self.clock.now_ns()
        cached = self._cache.get(namespace)
        if cached is not None and now - cached[0] < CACHE_SECONDS * NS:
            return cached[1]
        item = self.table.get_item(Key=keys.namespace_shards_key(namespace), ConsistentRead=True).get("Item")
        count = (
            ShardCount(int(item["shards"]["N"]), int(item["previous"]["N"]), int(item["since"]["N"]))
            if item
            else ShardCount()
        )
        self._cache[namespace] = (now, count)
        return count

    def writer_shard(self, namespace: str, run_id: str) -> int:
        """The index partition a new run of ``namespace`` goes on."""
        return partition_of(run_id, self.get(namespace).for_writers(self.clock.now_ns()))

    def counter_shard(self, namespace: str) -> int:
        """The counter item a write of ``namespace`` adds to: the one this function keeps to."""
        shards = self.get(namespace).counter_shards_for_writers(self.clock.now_ns())
        chosen: dict[str, int] = self._choices()
        if namespace not in chosen or chosen[namespace] >= shards:
            chosen[namespace] = random.randrange(shards)  # noqa: S311 - spreading, not security
        return chosen[namespace]

    def _choices(self) -> dict[str, int]:
        if not hasattr(self._counter_choice, "by_namespace"):
            self._counter_choice.by_namespace = {}
        chosen: dict[str, int] = self._counter_choice.by_namespace
        return chosen

    def pushed_back(self, namespace: str, *, throttled: bool) -> None:
        """A write of ``namespace`` was cancelled or refused: its next write picks another counter item;
        throttled often enough, the namespace gets twice the partitions."""
        self._choices().pop(namespace, None)
        if not throttled:
            return
        now = self.clock.now_ns()
        with self._lock:
            events = self._pressure.setdefault(namespace, deque())
            events.append(now)
            while events and events[0] < now - PRESSURE_WINDOW_SECONDS * NS:
                events.popleft()
            if len(events) < PRESSURE_EVENTS:
                return
            events.clear()
        current = self.get(namespace)
        if current.shards < MAX_SHARDS and current.for_writers(now) == current.shards:
            self.raise_to(namespace, min(MAX_SHARDS, current.shards * 2))

    def raise_to(self, namespace: str, shards: int) -> ShardCount:
        """Spread ``namespace`` over ``shards`` partitions (never fewer than now), writers from a moment on
        that every reader will have seen it."""
        now = self.clock.now_ns()
        current = self.get(namespace)
        if shards <= current.shards:
            return current
        raised = ShardCount(
            shards=shards,
            previous=current.for_writers(now),
            since_ns=now + (CACHE_SECONDS + _MARGIN_SECONDS) * NS,
        )
        try:
            self.table.client.put_item(
                TableName=self.table.name,
                Item={
                    **keys.namespace_shards_key(namespace),
                    "shards": number(raised.shards),
                    "previous": number(raised.previous),
                    "since": number(raised.since_ns),
                },
                # Only over the count read: two functions raising at once raise once.
                ConditionExpression="attribute_not_exists(pk) OR shards = :read",
                ExpressionAttributeValues={":read": number(current.shards)},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            self._cache.pop(namespace, None)
            return self.get(namespace)
        self._cache[namespace] = (now, raised)
        return raised

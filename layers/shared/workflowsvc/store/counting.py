"""``_total`` of a list: from a namespace's counters where they answer it, else by counting the matches.

A namespace's counters are spread over several items (``store.shards``): each start and each status
change adds its deltas to one of them, picked at random, in the same transaction as the run's own write,
so the sums over the items are exact the moment the write is acknowledged, and no single item takes
every write of the namespace. A count by namespace and status reads them all in one BatchGetItem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflowsvc.queries import DefinitionListQuery, RunListQuery
from workflowsvc.store import keys
from workflowsvc.store.dynamo import Table, number
from workflowsvc.store.listing import IndexQuery, ListQuery
from workflowsvc.store.shards import NamespaceShards


def counter_updates(
    table: str,
    namespaces: list[str],
    old_status: str | None,
    new_status: str,
    counter_shard: Callable[[str], int],
) -> list[Any]:
    """Transaction operations that move a run's counts from ``old_status`` (None: a new run) to
    ``new_status`` in each of its namespaces, each on the counter item ``counter_shard(namespace)``."""
    if old_status == new_status:
        return []
    old = keys.ALL_RUNS if old_status is None else old_status
    return [
        {
            "Update": {
                "TableName": table,
                "Key": keys.counter_key(namespace, counter_shard(namespace)),
                "UpdateExpression": "ADD #old :old, #new :one",
                "ExpressionAttributeNames": {"#old": old, "#new": new_status},
                "ExpressionAttributeValues": {
                    ":old": number(1 if old_status is None else -1),
                    ":one": number(1),
                },
            }
        }
        for namespace in namespaces
    ]


class Counting:
    def __init__(self, table: Table, shards: NamespaceShards) -> None:
        self.table = table
        self.shards = shards

    def runs(self, query: RunListQuery) -> int:
        if len(query.namespaces) == 1 and not (query.name or query.def_id or query.start or query.end):
            return self._read_counters(query.namespaces[0], query.statuses or (keys.ALL_RUNS,))
        return self._count_matches(keys.RUN, query)

    def definitions(self, query: DefinitionListQuery) -> int:
        return self._count_matches(keys.DEFINITION, query)

    def _read_counters(self, namespace: str, counters: tuple[str, ...]) -> int:
        shards = range(self.shards.get(namespace).counter_shards)
        items = self.table.batch_get([keys.counter_key(namespace, shard) for shard in shards])
        return sum(int(item[counter]["N"]) for item in items for counter in counters if counter in item)

    def _count_matches(self, kind: str, query: ListQuery) -> int:
        index_query = IndexQuery.of(kind, query, None, True)
        if index_query is None:
            return 0
        partitions = index_query.partitions(query.namespaces, self.shards)
        if len(query.namespaces) == 1:
            return sum(
                answer["Count"]
                for partition in partitions
                for answer in self.table.query_pages(Select="COUNT", **index_query.request(partition))
            )
        ids: set[str] = set()
        for partition in partitions:
            for answer in self.table.query_pages(ProjectionExpression="pk", **index_query.request(partition)):
                ids.update(item["pk"]["S"] for item in answer["Items"])
        return len(ids)

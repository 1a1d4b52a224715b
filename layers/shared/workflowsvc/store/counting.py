"""``_total`` of a list: from counter items where they answer it, else by counting the matches.

A namespace has a counter of all its runs and one per status, changed in the same transaction as every
run that is created or changes status, so a count by namespace and status reads one or a few items.
"""

from __future__ import annotations

from typing import Any

from workflowsvc.queries import DefinitionListQuery, RunListQuery
from workflowsvc.store import keys
from workflowsvc.store.dynamo import Table, number
from workflowsvc.store.listing import IndexQuery, ListQuery


def counter_updates(table: str, namespaces: list[str], old_status: str | None, new_status: str) -> list[Any]:
    """Transaction operations that move a run's counts from ``old_status`` (None: a new run) to
    ``new_status`` in each of its namespaces."""
    if old_status == new_status:
        return []
    deltas: list[tuple[str | None, int]] = [(new_status, 1)]
    deltas.insert(0, (None, 1) if old_status is None else (old_status, -1))
    return [
        {
            "Update": {
                "TableName": table,
                "Key": keys.counter_key(namespace, status),
                "UpdateExpression": "ADD n :d",
                "ExpressionAttributeValues": {":d": number(delta)},
            }
        }
        for namespace in namespaces
        for status, delta in deltas
    ]


class Counting:
    def __init__(self, table: Table) -> None:
        self.table = table

    def runs(self, query: RunListQuery) -> int:
        if len(query.namespaces) == 1 and not (query.name or query.def_id or query.start or query.end):
            return self._read_counters(query.namespaces[0], query.statuses or (None,))
        return self._count_matches(keys.RUN, query)

    def definitions(self, query: DefinitionListQuery) -> int:
        return self._count_matches(keys.DEFINITION, query)

    def _read_counters(self, namespace: str, statuses: tuple[str | None, ...]) -> int:
        request_keys = [keys.counter_key(namespace, status) for status in statuses]
        client = self.table.client
        if len(request_keys) == 1:
            item = client.get_item(TableName=self.table.name, Key=request_keys[0]).get("Item")
            return int(item["n"]["N"]) if item else 0
        answer = client.batch_get_item(RequestItems={self.table.name: {"Keys": request_keys}})
        return sum(int(item["n"]["N"]) for item in answer["Responses"].get(self.table.name, []))

    def _count_matches(self, kind: str, query: ListQuery) -> int:
        index_query = IndexQuery.of(kind, query, None, True)
        if index_query is None:
            return 0
        if len(query.namespaces) == 1:
            request = index_query.request(query.namespaces[0])
            return sum(answer["Count"] for answer in self.table.query_pages(Select="COUNT", **request))
        ids: set[str] = set()
        for namespace in query.namespaces:
            request = index_query.request(namespace)
            for answer in self.table.query_pages(ProjectionExpression="pk", **request):
                ids.update(item["pk"]["S"] for item in answer["Items"])
        return len(ids)

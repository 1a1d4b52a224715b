"""Finding runs and definitions: pages of a namespace's items from the namespace index.

The index orders a namespace's runs (or definitions) by creation, ties on the id, in each of the
namespace's partitions (``store.shards``). Its entries are slim: the keys and the attributes lists filter
on. A list in creation order reads from each partition of each namespace asked for a share of the page
at a time, merges them in order, and then fetches the page's documents with one BatchGetItem; date filters
are key conditions, other filters filter expressions. Any other sort reads every match and sorts it here.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workflowsvc import queries
from workflowsvc.queries import DefinitionListQuery, RunListQuery
from workflowsvc.store import keys
from workflowsvc.store.dynamo import Item, Table, document, run_document, string
from workflowsvc.store.shards import NamespaceShards

ListQuery = RunListQuery | DefinitionListQuery


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    offset: int
    has_more: bool
    # Sort key of the last item (index order) for the next page's cursor; None when sorted in memory.
    last_key: str | None = None


@dataclass(frozen=True)
class IndexQuery:
    """A query of one kind of item over the namespace index: its key range and its filter."""

    kind: str  # keys.RUN or keys.DEFINITION
    key_range: tuple[str, str]
    filter_expression: str | None
    filter_values: dict[str, Any]

    @classmethod
    def of(cls, kind: str, query: ListQuery, after: str | None, descending: bool) -> IndexQuery | None:
        """The index query of a list query, past the sort key ``after``; None when no key can match."""
        low = query.start or keys.LOWEST_SORT_KEY
        high = keys.created_upper_bound(query.end) if query.end else keys.HIGHEST_SORT_KEY
        if after is not None:
            bound = keys.after_sort_key(after, descending=descending)
            high, low = (min(high, bound), low) if descending else (high, max(low, bound))
        if low > high:
            return None
        if isinstance(query, RunListQuery):
            expression, values = _run_filter(query)
        else:
            expression, values = _definition_filter(query)
        return cls(kind, (low, high), expression, values)

    def partitions(self, namespaces: tuple[str, ...], shards: NamespaceShards) -> list[str]:
        """Every index partition of this kind of item of ``namespaces``."""
        if self.kind == keys.DEFINITION:
            return [keys.definition_partition(namespace) for namespace in namespaces]
        return [
            keys.run_partition(namespace, shard)
            for namespace in namespaces
            for shard in range(shards.get(namespace).shards)
        ]

    def request(self, partition: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "IndexName": keys.NAMESPACE_INDEX,
            "KeyConditionExpression": "gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":p": string(partition),
                ":lo": string(self.key_range[0]),
                ":hi": string(self.key_range[1]),
                **self.filter_values,
            },
        }
        if self.filter_expression:
            request["FilterExpression"] = self.filter_expression
        return request


def _run_filter(query: RunListQuery) -> tuple[str | None, dict[str, Any]]:
    clauses, values = [], {}
    if query.name:
        clauses.append("contains(nm, :name)")
        values[":name"] = string(query.name)
    if query.def_id:
        clauses.append("contains(df, :def)")
        values[":def"] = string(query.def_id)
    if query.statuses:
        names = [f":st{i}" for i in range(len(query.statuses))]
        clauses.append(f"st IN ({', '.join(names)})")
        values.update({name: string(status) for name, status in zip(names, query.statuses, strict=True)})
    return (" AND ".join(clauses) or None), values


def _definition_filter(query: DefinitionListQuery) -> tuple[str | None, dict[str, Any]]:
    if query.name:
        return "contains(nm, :name)", {":name": string(query.name)}
    return None, {}


class Listing:
    def __init__(self, table: Table, shards: NamespaceShards) -> None:
        self.table = table
        self.shards = shards

    def runs(self, query: RunListQuery, position: dict[str, Any] | None) -> Page:
        """A page of runs. ``position`` is what the previous page's token carried, or None."""
        if query.by_creation:
            return self._by_creation(keys.RUN, query, position)
        return self._sorted_here(query, position)

    def definitions(self, query: DefinitionListQuery, position: dict[str, Any] | None) -> Page:
        return self._by_creation(keys.DEFINITION, query, position)

    def _by_creation(self, kind: str, query: ListQuery, position: dict[str, Any] | None) -> Page:
        descending = query.sort[0][1] < 0
        offset = position["o"] if position else query.offset
        skip = 0 if position else query.offset
        needed = skip + query.page_size + 1  # one more than the page says whether another page follows
        # The token's sort key is where every partition goes on from: the order is one across them.
        index_query = IndexQuery.of(kind, query, position["k"] if position else None, descending)
        if index_query is None:
            return Page(items=[], offset=offset, has_more=False)
        partitions = index_query.partitions(query.namespaces, self.shards)
        # Runs are spread evenly over a namespace's partitions: each is read a share of what is needed
        # at a time, and read again only when the merge has used up what it gave.
        share = -(-needed // len(partitions)) + 1 if len(partitions) > 1 else needed
        streams = [
            self._partition(index_query.request(partition), descending, share, needed)
            for partition in partitions
        ]
        merged = heapq.merge(*streams, key=lambda item: item["gsi1sk"]["S"], reverse=descending)
        seen: set[str] = set()
        picked: list[Item] = []
        for item in merged:
            if item["pk"]["S"] in seen:
                continue  # the same run reached through two of the requested namespaces
            seen.add(item["pk"]["S"])
            picked.append(item)
            if len(picked) == needed:
                break
        page = picked[skip : skip + query.page_size]
        return Page(
            items=self._documents(page, kind),
            offset=offset,
            has_more=len(picked) > skip + query.page_size,
            last_key=page[-1]["gsi1sk"]["S"] if page else None,
        )

    def _partition(
        self, request: dict[str, Any], descending: bool, share: int, needed: int
    ) -> Iterator[Item]:
        """Items of one partition of the index, in key order, read ``share`` at a time (``needed`` at most
        in all). With a filter, how many entries a page must read is unknown: a page of the query reads as
        many as DynamoDB reads at once (1 MB), and the next only if the merge needs more."""
        request["ScanIndexForward"] = not descending
        filtered = "FilterExpression" in request
        remaining = needed
        while remaining > 0:
            if not filtered:
                request["Limit"] = min(share, remaining)
            answer = self.table.query(**request)
            yield from answer["Items"]
            if not filtered:
                remaining -= answer["ScannedCount"]
            if "LastEvaluatedKey" not in answer:
                return
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def _documents(self, entries: list[Item], kind: str) -> list[dict[str, Any]]:
        """The documents of index entries, in their order, with one BatchGetItem."""
        if not entries:
            return []
        found = self.table.batch_get(
            [{"pk": entry["pk"], "sk": entry["sk"]} for entry in entries], "pk, sk, doc"
        )
        by_key = {(item["pk"]["S"], item["sk"]["S"]): item for item in found}
        read = run_document if kind == keys.RUN else document
        return [read(by_key[(entry["pk"]["S"], entry["sk"]["S"])]) for entry in entries]

    def _sorted_here(self, query: RunListQuery, position: dict[str, Any] | None) -> Page:
        # Only _createdAt has an index order; other sorts read the namespace's matches and sort them.
        matches = self._all_matching_runs(query)
        matches.sort(key=queries.sort_key(query))
        offset = position["o"] if position else query.offset
        return Page(
            items=matches[offset : offset + query.page_size],
            offset=offset,
            has_more=len(matches) > offset + query.page_size,
        )

    def _all_matching_runs(self, query: RunListQuery) -> list[dict[str, Any]]:
        index_query = IndexQuery.of(keys.RUN, query, None, True)
        if index_query is None:
            return []
        entries: dict[str, Item] = {}
        for partition in index_query.partitions(query.namespaces, self.shards):
            for entry in self.table.query_all(**index_query.request(partition)):
                entries.setdefault(entry["pk"]["S"], entry)
        return self._documents(list(entries.values()), keys.RUN)

"""The only package that talks to DynamoDB: one table, a module per concern.

- ``keys``: every key string; ``dynamo``: the client and shared plumbing, and the tries again of a
  write DynamoDB pushed back; ``shards``: how many keys a namespace's runs are spread over;
- ``runs``: a run's items and iteration tasks, conditional writes; ``definitions``;
- ``listing`` and ``counting``: finding runs and definitions, and ``_total``;
- ``idempotency``: what a POST with an ``Idempotency-Key`` answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflowsvc.config import get_settings, once_per_process
from workflowsvc.store.counting import Counting
from workflowsvc.store.definitions import DefinitionStore
from workflowsvc.store.dynamo import Table
from workflowsvc.store.idempotency import IdempotencyStore
from workflowsvc.store.listing import Listing, Page
from workflowsvc.store.runs import RunStore
from workflowsvc.store.shards import NamespaceShards
from workflowsvc.timestamps import Clock, clock

__all__ = ["Page", "Store", "get_store"]


@dataclass(frozen=True)
class Store:
    runs: RunStore
    definitions: DefinitionStore
    listing: Listing
    counting: Counting
    idempotency: IdempotencyStore
    shards: NamespaceShards

    @classmethod
    def for_table(cls, table_name: str, client: Any | None = None, time: Clock | None = None) -> Store:
        """The store of one table, through the shared client or ``client``."""
        table = Table(table_name, client)
        shards = NamespaceShards(table, time or clock())
        return cls(
            runs=RunStore(table, shards),
            definitions=DefinitionStore(table),
            listing=Listing(table, shards),
            counting=Counting(table, shards),
            idempotency=IdempotencyStore(table),
            shards=shards,
        )


@once_per_process
def get_store() -> Store:
    return Store.for_table(get_settings().table_name)

"""The only package that talks to DynamoDB: one table, a module per concern.

- ``keys``: every key string; ``dynamo``: the client and shared plumbing;
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

__all__ = ["Page", "Store", "get_store"]


@dataclass(frozen=True)
class Store:
    runs: RunStore
    definitions: DefinitionStore
    listing: Listing
    counting: Counting
    idempotency: IdempotencyStore

    @classmethod
    def for_table(cls, table_name: str, client: Any | None = None) -> Store:
        """The store of one table, through the shared client or ``client``."""
        table = Table(table_name, client)
        return cls(
            runs=RunStore(table),
            definitions=DefinitionStore(table),
            listing=Listing(table),
            counting=Counting(table),
            idempotency=IdempotencyStore(table),
        )


@once_per_process
def get_store() -> Store:
    return Store.for_table(get_settings().table_name)

"""``--persist DIR``: the local server's DynamoDB tables on disk, every acknowledged write included.

- ``dynamodb-<LogicalId>.json`` per table holds a snapshot: its items, as DynamoDB JSON.
- ``dynamodb-journal.jsonl`` holds, one line per write request moto applied since that snapshot, the
  image of each item the request wrote (``null`` for an item it deleted). The line is written by
  ``localrun.moto_dynamodb``'s write listener, under the lock every DynamoDB request holds, so in the
  order moto applied the requests, and before the request's answer leaves.
- At start the snapshot is loaded and the journal replayed over it; a last line cut short by a crash is
  dropped (its request was never answered). Then the state is compacted: snapshots written anew, journal
  emptied. Compaction happens again whenever the journal passes ``COMPACT_BYTES``, whenever a request
  changed the tables without naming its items (PartiQL, table operations), and at a clean stop.
  Replaying a journal over a newer snapshot ends in the same tables (an item's last image wins), so a
  crash between writing the snapshots and emptying the journal loses nothing.
- A line is handed to the operating system (one unbuffered ``write``) before the answer is returned,
  without ``fsync``: that survives the death of the server process (``kill -9``), not of the machine,
  which is the promise of a local server; an ``fsync`` would add a disk flush to every write request
  (about 3 ms each where this was written, against microseconds for the write).
  A snapshot is ``fsync``-ed before it replaces the old one, so a crash of the machine never leaves a
  table's file half written.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from localrun import moto_dynamodb

COMPACT_BYTES = 32 * 1024 * 1024
JOURNAL_NAME = "dynamodb-journal.jsonl"

log = logging.getLogger("localrun")


def snapshot_path(directory: Path, logical_id: str) -> Path:
    return directory / f"dynamodb-{logical_id}.json"


def _to_wire(value: Any) -> Any:
    """Attribute values as moto holds them, with binary as base64 text (DynamoDB JSON)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {name: _to_wire(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_to_wire(inner) for inner in value]
    return value


def _from_wire(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value of DynamoDB JSON, binary decoded, as moto takes it."""
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(member) for member in inner]}
    if tag == "M":
        return {"M": {name: _from_wire(member) for name, member in inner.items()}}
    if tag == "L":
        return {"L": [_from_wire(member) for member in inner]}
    return value


class TableJournal:
    """The tables ``tables`` (logical id → table name) of ``backend``, kept in ``directory``."""

    def __init__(
        self,
        directory: Path,
        tables: Mapping[str, str],
        backend: DynamoDBBackend,
        *,
        compact_bytes: int = COMPACT_BYTES,
    ) -> None:
        self.directory = directory
        self.tables = dict(tables)
        self.backend = backend
        self.compact_bytes = compact_bytes
        self._journal = directory / JOURNAL_NAME
        self._fd: int | None = None
        self._size = 0
        self._stop_listening: Callable[[], None] | None = None

    # ---------------------------------------------------------------- start and stop

    def open(self) -> int:
        """Load the snapshots and the journal into the (empty) tables, compact, and journal every write
        from now on. Returns the number of items loaded."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with moto_dynamodb.lock:
            state = self._read_state()
            for table_name, items in state.items():
                table = self.backend.get_table(table_name)
                for attributes in items.values():
                    table.put_item({name: _from_wire(value) for name, value in attributes.items()})
            self._fd = os.open(self._journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self.compact()
            self._stop_listening = moto_dynamodb.add_write_listener(self._record)
        loaded = sum(len(items) for items in state.values())
        log.info("restored %d items from %s", loaded, self.directory)
        return loaded

    def close(self, *, compact: bool = True) -> None:
        """Stop journaling; write the snapshots and empty the journal (unless ``compact`` is false: the
        journal is then left to be replayed, as a crash leaves it)."""
        with moto_dynamodb.lock:
            if self._stop_listening is not None:
                self._stop_listening()
                self._stop_listening = None
            if self._fd is not None:
                if compact:
                    self.compact()
                os.close(self._fd)
                self._fd = None

    # ---------------------------------------------------------------- reading

    def _read_state(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Table name → item identity → attributes (DynamoDB JSON): snapshot, then journal."""
        state: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.tables.values()}
        for logical_id, table_name in self.tables.items():
            path = snapshot_path(self.directory, logical_id)
            if path.exists():
                for attributes in json.loads(path.read_text(encoding="utf-8")):
                    state[table_name][self._identity(table_name, attributes)] = attributes
        if not self._journal.exists():
            return state
        lines = self._journal.read_bytes().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                log.warning("%s: line %d cut short; it and what follows dropped", self._journal, number)
                break
            for written in entry["items"]:
                items = state.get(written["table"])
                if items is None:
                    continue  # a table this journal does not keep
                identity = self._identity(written["table"], written["key"])
                if written["item"] is None:
                    items.pop(identity, None)
                else:
                    items[identity] = written["item"]
        return state

    def _identity(self, table_name: str, attributes: Mapping[str, Any]) -> str:
        table = self.backend.get_table(table_name)
        names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
        return json.dumps([attributes[name] for name in names], sort_keys=True)

    # ---------------------------------------------------------------- writing

    def _record(self, write: moto_dynamodb.Write) -> None:
        """The write listener: one journal line per applied write request (called under the lock)."""
        if write.items is None:
            self.compact()
            return
        kept = [item for item in write.items if item.table in self.tables.values()]
        if not kept:
            return
        written = []
        for item in kept:
            image = moto_dynamodb.item_image(write.backend, item)
            key = item.key if image is None else {name: image[name] for name in item.key}  # as stored
            written.append({"table": item.table, "key": _to_wire(key), "item": _to_wire(image)})
        entry = {"op": write.operation, "items": written}
        self._append(json.dumps(entry, separators=(",", ":")).encode("utf-8") + b"\n")
        if self._size > self.compact_bytes:
            self.compact()

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size += len(data)

    def compact(self) -> None:
        """Write every table's snapshot anew, then empty the journal (under the lock)."""
        with moto_dynamodb.lock:
            for logical_id, table_name in self.tables.items():
                table = self.backend.tables.get(table_name)
                items = [] if table is None else [item.to_json()["Attributes"] for item in table.all_items()]
                target = snapshot_path(self.directory, logical_id)
                temporary = target.with_suffix(".tmp")
                with temporary.open("w", encoding="utf-8") as handle:
                    json.dump(_to_wire(items), handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                temporary.replace(target)
            if self._fd is not None:
                os.ftruncate(self._fd, 0)
                self._size = 0

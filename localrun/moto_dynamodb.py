"""moto's DynamoDB, made trustworthy; and, on request, a DynamoDB that holds a transaction's items.

Written against moto 5.2.5 (``WRITTEN_FOR_MOTO``). What moto does, and what this module changes:

1. ``TransactWriteItems`` deep-copies every table it names, once per item of the transaction, before
   applying anything, and on failure puts the copies back. The cost grows with the table (milliseconds
   per hundred items, and the memory of the copies), and the put-back undoes every write other clients
   made to those tables meanwhile. Here a transaction backs up, and on failure restores, only the items
   it names (``_transact_write_items``).
2. moto answers requests from as many threads as call it (its HTTP server serves each request on a
   thread of its own) with no lock: a write that lands while a transaction runs is lost on its rollback,
   a reader can see a transaction half applied, and a read that iterates a table while a write adds an
   item fails with ``RuntimeError: dictionary changed size during iteration`` (even ``GetItem`` adds an
   empty entry to moto's table). Here every DynamoDB request, reads included, runs under one lock
   (``lock``, served in order of arrival), from parsing to the serialized answer, so each is atomic, as
   DynamoDB applies it.
3. Conditions, errors and cancellation reasons stay moto's own: the answers are those moto gives when
   no two requests overlap.

Nothing here is specific to one project: upstream, (1) is a change inside
``DynamoDBBackend.transact_write_items`` and (2) a lock in ``DynamoHandler.call_action``; the double and
the write listener hang off that same lock.

``install()`` applies both and returns the function that undoes them (installs nest; the last undo
removes the patches); ``installed()`` is the same as a context manager. Apply it in the process that runs
moto, around ``mock_aws`` or before ``ThreadedMotoServer`` starts; patches are on moto's classes, so
every backend of the process is covered.

The concurrency double (off unless ``enable_double`` is called). moto never reports a transaction
conflict: a real transaction holds its items until it completes, and DynamoDB cancels another transaction
that touches one of them (``TransactionCanceledException``, ``TransactionConflict`` at that item's
position of ``CancellationReasons``, ``None`` elsewhere) and refuses a single write to one of them
(``TransactionConflictException``); botocore retries neither. While the double is enabled:

- a ``TransactWriteItems`` that applied holds the items it names (table and primary key, condition
  checks included) for ``hold_seconds`` after applying, outside the lock, and only then answers;
  a transaction that was cancelled holds nothing;
- a ``TransactWriteItems`` or ``TransactGetItems`` naming a held item is cancelled as DynamoDB cancels
  it, before anything is applied; a ``PutItem``, ``UpdateItem``, ``DeleteItem`` or ``BatchWriteItem``
  writing a held item is refused whole with ``TransactionConflictException`` (HTTP 400);
- other reads (``GetItem``, ``BatchGetItem``, ``Query``, ``Scan``) are never blocked;
- with ``throttle_rate`` > 0, that share of item requests (reads and writes, picked at random, seeded
  by ``seed``) is refused with ``ProvisionedThroughputExceededException`` (HTTP 400), which botocore
  retries after a back-off, before anything is applied.

``add_write_listener`` is called, under the lock, after each DynamoDB request that changed (or may have
changed) moto's state, in the order they were applied: a journal kept there replays in apply order.

Upgrading moto: run ``tests/unit/test_moto_dynamodb.py`` and ``tests/unit/test_moto_dynamodb_double.py``.
The first test fails while the installed moto is not ``WRITTEN_FOR_MOTO``; the "plain moto" test says
whether moto still puts whole tables back when a transaction fails (if it fails, moto changed what this
module works around: read the change). Then read the new ``DynamoDBBackend.transact_write_items``
(``moto/dynamodb/models/__init__.py``) and ``DynamoHandler.call_action`` / ``BaseResponse.call_action``
(``moto/dynamodb/responses.py``, ``moto/core/responses.py``), the two functions patched here, and bump
``WRITTEN_FOR_MOTO`` when both files and the whole suite pass.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.utils import camelcase_to_underscores
from moto.dynamodb.exceptions import (
    ERROR_TYPE_PREFIX,
    DynamodbException,
    ResourceNotFoundException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

WRITTEN_FOR_MOTO = "5.2.5"


class FairLock:
    """A reentrant lock that serves waiting threads in their order of arrival.

    ``threading.RLock`` lets a thread that releases it take it straight back while the threads woken to
    take it wait for the interpreter: in one process, clients that call in a tight loop keep the others
    out for seconds. Here a release hands the lock to the longest waiter.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._waiting: deque[tuple[int, threading.Lock]] = deque()

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return
            if self._owner is None:
                self._owner, self._depth = me, 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append((me, turn))
        turn.acquire()  # released by the release that hands the lock over

    def release(self) -> None:
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth:
                return
            if not self._waiting:
                self._owner = None
                return
            self._owner, turn = self._waiting.popleft()
            self._depth = 1
            turn.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


lock = FairLock()
"""Held by every DynamoDB request while moto serves it; take it to read or change moto's tables directly."""

_ITEM_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_ITEM_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
_READ_PREFIXES = ("Describe", "List", "Get")
_TRANSACTIONS = frozenset({"TransactWriteItems", "TransactGetItems"})
_CONFLICTING = _ITEM_WRITES | _TRANSACTIONS
# DynamoDB's own texts.
_CONFLICT_MESSAGE = "Transaction is ongoing for the item"
_THROTTLED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)


class TransactionConflictException(DynamodbException):
    def __init__(self) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "TransactionConflictException", _CONFLICT_MESSAGE)


class ProvisionedThroughputExceededException(DynamodbException):
    def __init__(self) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "ProvisionedThroughputExceededException", _THROTTLED_MESSAGE)


# ============================================================================ items a request names


@dataclass(frozen=True)
class ItemKey:
    """An item by table and primary key: ``identity`` compares, ``key`` is the key's attributes."""

    table: str
    identity: str
    key: dict[str, Any] = field(compare=False, hash=False)


def _item_key(backend: DynamoDBBackend, table_name: Any, attributes: Any) -> ItemKey | None:
    """The item of ``table_name`` whose key ``attributes`` hold; None when moto will refuse the request."""
    if not isinstance(table_name, str) or not isinstance(attributes, dict):
        return None
    try:
        table = backend.get_table(table_name)  # a name or an ARN
    except ResourceNotFoundException:
        return None
    names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
    if not all(name in attributes for name in names):
        return None
    key = {name: attributes[name] for name in names}
    return ItemKey(table.name, json.dumps([table.name, key], sort_keys=True, default=repr), key)


def named_items(backend: DynamoDBBackend, operation: str, params: dict[str, Any]) -> list[ItemKey | None]:
    """The items an item request names, in the request's order (a transaction's positions); None for an
    entry moto will refuse. Empty for any other request."""
    if operation == "PutItem":
        return [_item_key(backend, params.get("TableName"), params.get("Item"))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [_item_key(backend, params.get("TableName"), params.get("Key"))]
    if operation == "BatchWriteItem":
        named: list[ItemKey | None] = []
        for table_name, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                put, delete = request.get("PutRequest") or {}, request.get("DeleteRequest") or {}
                named.append(_item_key(backend, table_name, put.get("Item") or delete.get("Key")))
        return named
    if operation in _TRANSACTIONS:
        named = []
        for entry in params.get("TransactItems") or []:
            action: dict[str, Any] = next(iter(entry.values())) if len(entry) == 1 else {}
            named.append(_item_key(backend, action.get("TableName"), action.get("Item") or action.get("Key")))
        return named
    return []


def item_image(backend: DynamoDBBackend, item: ItemKey) -> dict[str, Any] | None:
    """The item's attributes as moto holds them now (binary values as bytes), or None if there is none."""
    table = backend.tables.get(item.table)
    if table is None:
        return None
    hash_key, range_key = backend.get_keys_value(table, item.key)
    stored = table.get_item(hash_key, range_key)
    return None if stored is None else dict(stored.to_json()["Attributes"])


@dataclass(frozen=True)
class Write:
    """A DynamoDB request that changed, or may have changed, moto's state; ``items`` are the items it
    wrote, or None when the request does not name them (PartiQL, table operations)."""

    operation: str
    params: dict[str, Any]
    backend: DynamoDBBackend
    items: list[ItemKey] | None


_listeners: list[Callable[[Write], None]] = []


def add_write_listener(listener: Callable[[Write], None]) -> Callable[[], None]:
    """Call ``listener`` after every write request moto applied, under the lock, before its answer is
    returned (a listener that raises turns the answer into a server error). Returns the removal."""
    with lock:
        _listeners.append(listener)

    def remove() -> None:
        with lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return remove


# ============================================================================ the concurrency double


@dataclass
class Double:
    """The double's settings, and what it did since it was enabled."""

    hold_seconds: float = 0.01
    throttle_rate: float = 0.0
    seed: int | None = None
    conflicts: int = 0
    throttled: int = 0
    _random: random.Random = field(init=False, repr=False)
    _held: set[ItemKey] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 (a test's dice, not a secret)

    def hold(self, items: list[ItemKey]) -> None:
        self._held.update(items)

    def release(self, items: list[ItemKey]) -> None:
        self._held.difference_update(items)

    def refusal(self, operation: str, named: list[ItemKey | None]) -> Exception | None:
        """Why the request must be refused now, if it must (under the lock)."""
        throttles = operation in _ITEM_READS or operation in _ITEM_WRITES
        if throttles and self.throttle_rate > 0 and self._random.random() < self.throttle_rate:
            self.throttled += 1
            return ProvisionedThroughputExceededException()
        conflicting = [item is not None and item in self._held for item in named]
        if operation not in _CONFLICTING or not any(conflicting):
            return None
        self.conflicts += 1
        if operation in _TRANSACTIONS:
            return TransactionCanceledException(
                [
                    ("TransactionConflict", _CONFLICT_MESSAGE, None) if hit else (None, None, None)
                    for hit in conflicting
                ]
            )
        return TransactionConflictException()


_double: Double | None = None
_double_uninstall: Callable[[], None] | None = None


def enable_double(
    hold_seconds: float = 0.01, *, throttle_rate: float = 0.0, seed: int | None = None
) -> Double:
    """Turn the concurrency double on, installing the module while it is on; returns its state.
    Calling it again replaces the settings and the counts (items held stay held)."""
    global _double, _double_uninstall
    with lock:
        if _double_uninstall is None:
            _double_uninstall = install()
        double = Double(hold_seconds=hold_seconds, throttle_rate=throttle_rate, seed=seed)
        if _double is not None:
            double._held = _double._held
        _double = double
        return double


def disable_double() -> None:
    """Turn the double off; items held now are released when their transactions answer."""
    global _double, _double_uninstall
    with lock:
        _double, uninstall = None, _double_uninstall
        _double_uninstall = None
    if uninstall is not None:
        uninstall()


@contextmanager
def concurrency_double(
    hold_seconds: float = 0.01, *, throttle_rate: float = 0.0, seed: int | None = None
) -> Iterator[Double]:
    double = enable_double(hold_seconds, throttle_rate=throttle_rate, seed=seed)
    try:
        yield double
    finally:
        disable_double()


# ============================================================================ the patches


_original_call_action = DynamoHandler.call_action
_original_transact_write_items = DynamoDBBackend.transact_write_items


def _call_action(handler: DynamoHandler) -> Any:
    """moto's ``call_action`` under the lock; the double's refusals and holds around it."""
    operation = handler._get_action()
    params = getattr(handler, "params", None) or {}
    held: list[ItemKey] = []
    with lock:
        double = _double
        backend = handler.dynamodb_backend
        named = named_items(backend, operation, params)
        refusal = double.refusal(operation, named) if double is not None else None
        if refusal is not None:
            # moto's own error path answers it: the action raises instead of running.
            def refuse() -> None:
                raise refusal

            setattr(handler, camelcase_to_underscores(operation), refuse)
        answer = _original_call_action(handler)
        applied = refusal is None and int(answer[0]) == 200
        if applied and operation not in _ITEM_READS and not operation.startswith(_READ_PREFIXES):
            written = [item for item in named if item is not None] if operation in _ITEM_WRITES else None
            write = Write(operation, params, backend, written)
            for listener in list(_listeners):
                listener(write)
        if applied and double is not None and operation == "TransactWriteItems" and double.hold_seconds > 0:
            held = [item for item in named if item is not None]
            double.hold(held)
    if held and double is not None:
        time.sleep(double.hold_seconds)  # the transaction is in flight; other requests go on
        with lock:
            double.release(held)
    return answer


_Backup = tuple[Table, DynamoType, DynamoType | None, Item | None, int]


def _backups(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[_Backup] | None:
    """A copy of each item the transaction names (None where there is none), and how many stream records
    its table has; None if an item is not named by a key."""
    backups: list[_Backup] = []
    for item in named_items(backend, "TransactWriteItems", {"TransactItems": transact_items}):
        if item is None:
            return None
        table = backend.tables[item.table]
        hash_key, range_key = backend.get_keys_value(table, item.key)
        stored = copy.deepcopy(table.get_item(hash_key, range_key))
        records = len(table.stream_shard.items) if table.stream_shard is not None else 0
        backups.append((table, hash_key, range_key, stored, records))
    return backups


def _restore(backups: list[_Backup]) -> None:
    """Put the items back, and drop the stream records written since (moto's put-back drops them too)."""
    for table, hash_key, range_key, stored, records in reversed(backups):
        if table.stream_shard is not None:
            del table.stream_shard.items[records:]
        if range_key is None:
            if stored is None:
                table.items.pop(hash_key, None)
            else:
                table.items[hash_key] = stored  # type: ignore[assignment]  # moto's hash-only tables
        elif stored is None:
            table.items[hash_key].pop(range_key, None)
        else:
            table.items[hash_key][range_key] = stored


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's transaction, backing up and restoring only the items it names.

    moto's own copy of each table is made a no-op for the call (a ``Table`` deep-copies to itself), so its
    put-back puts the same tables back; the named items' copies then undo what the transaction applied.
    A transaction that names an item moto cannot find the key of is left to moto's own copies: moto
    cancels it, and only the items before it can have been applied.
    """
    with lock:
        backups = _backups(self, transact_items)
        if backups is None:
            _original_transact_write_items(self, transact_items)
            return
        Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]
        try:
            _original_transact_write_items(self, transact_items)
        except Exception:
            _restore(backups)
            raise
        finally:
            del Table.__deepcopy__  # type: ignore[attr-defined]


_installs = 0


def install() -> Callable[[], None]:
    """Apply the patches (see the module's documentation); returns the function that undoes this install."""
    global _installs
    with lock:
        if _installs == 0:
            DynamoHandler.call_action = _call_action  # type: ignore[method-assign]
            DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
        _installs += 1
    undone = False

    def uninstall() -> None:
        global _installs
        nonlocal undone
        with lock:
            if undone:
                return
            undone = True
            _installs -= 1
            if _installs == 0:
                DynamoHandler.call_action = _original_call_action  # type: ignore[method-assign]
                DynamoDBBackend.transact_write_items = _original_transact_write_items  # type: ignore[method-assign]

    return uninstall


def is_installed() -> bool:
    return _installs > 0


@contextmanager
def installed() -> Iterator[None]:
    undo = install()
    try:
        yield
    finally:
        undo()

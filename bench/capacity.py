"""Write units: what DynamoDB would bill for each write the service sends, on the table and on each index,
and on which partition key value each unit lands.

The table and its indexes are read from ``template.yaml`` (``TableSchema.from_template``); a ``WriteMeter``
attached to a boto3 client (botocore's ``provide-client-params``, ``before-call`` and ``after-call``
events) prices every successful PutItem, UpdateItem, DeleteItem, BatchWriteItem and TransactWriteItems
request of that table from the item as it was before and after the request. The rules:

- item size: the attribute names' and values' lengths: a string its UTF-8 bytes, a number about one byte
  per two significant digits plus one, a binary its raw bytes, a boolean or null one byte, a list or map
  three bytes plus its elements (each one byte more, a map's with its name), a set its elements
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html);
- PutItem, UpdateItem, DeleteItem: one unit per started KB of the larger of the item before and after
  (an absent item weighs nothing, and every write costs at least one unit); BatchWriteItem: each of its
  puts and deletes so (same page, "Capacity unit consumption for writes");
- TransactWriteItems: twice that per item, one write to prepare and one to commit
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html, "Capacity
  management for transactions"); a ConditionCheck is billed the same way, as a transactional write of the
  item it checks, though it writes nothing;
- each secondary index, from the item's entry in it before and after
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html, "Write capacity units"):
  nothing when the item is in the index neither before nor after, or when neither the index key nor any
  projected attribute changed; one write when the item enters the index (the new entry's size), or when
  only projected attributes change (the larger of the two entries, as for UpdateItem); one delete when it
  leaves (the old entry's size); a delete and a put, each rounded on its own, when the index key changes.
  The delete lands on the old entry's partition key value, the put on the new one's. A transaction
  doubles the table's units only, not the indexes'.
  An entry holds the table's key attributes, the index's key attributes and the projected attributes
  (``ALL``: every attribute; ``KEYS_ONLY``: none more; ``INCLUDE``: those named). The same page counts
  100 bytes of overhead per entry for *storage*; like the table's own 100 bytes per item, they are not
  part of the size write units are computed from.

Where the AWS pages leave it open (a ConditionCheck's price, an in-place index change on the larger entry,
no transaction doubling nor 100 bytes on index writes), the rules are those measured against DynamoDB by
the dynoxide emulator's conformance captures
(https://github.com/nubo-db/dynoxide/blob/main/src/actions/index_capacity.rs,
https://github.com/nubo-db/dynoxide/pull/188, https://github.com/paritysuite/dynamodb-conformance/pull/67).

Failed requests (a condition not met, a cancelled transaction) are counted, not priced: DynamoDB bills a
failed conditional PutItem, UpdateItem or DeleteItem, but a cancelled transaction reports no capacity.
"""

from __future__ import annotations

import base64
import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]  # attribute name -> DynamoDB-typed value, e.g. {"st": {"S": "QUEUED"}}
ReadItem = Callable[[Item], Item | None]  # an item's key -> the stored item, or None

KB = 1024
TRANSACTION_FACTOR = 2
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})

_ids = itertools.count()


# ------------------------------------------------------------------------------------------ sizes


def value_size(value: Mapping[str, Any]) -> int:
    """The bytes DynamoDB counts for one typed value (its attribute name not included)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(_raw_bytes(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(element.encode()) for element in inner)
    if kind == "NS":
        return sum(_number_size(element) for element in inner)
    if kind == "BS":
        return sum(len(_raw_bytes(element)) for element in inner)
    if kind == "L":
        return 3 + sum(value_size(element) + 1 for element in inner)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(element) + 1 for name, element in inner.items())
    raise ValueError(f"not a DynamoDB value: {value!r}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """Attribute names plus values; an absent item is 0."""
    if item is None:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    """One unit per started KB, at least one."""
    return max(1, math.ceil(size / KB))


def _number_size(text: str) -> int:
    mantissa = text.strip().lstrip("+-").lower().split("e", 1)[0]
    digits = mantissa.replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def _raw_bytes(value: bytes | str) -> bytes:
    """The service's requests carry bytes; moto's stored items may hold base64 text."""
    return value if isinstance(value, bytes) else base64.b64decode(value)


# ----------------------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class IndexSchema:
    name: str
    partition_key: str
    sort_key: str | None
    projection: str  # ALL, KEYS_ONLY or INCLUDE
    non_key_attributes: frozenset[str] = frozenset()

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def key_of(self, item: Item | None) -> tuple[Any, ...] | None:
        """The item's key in this index, or None when the item is not in it (sparse index)."""
        if item is None or any(name not in item for name in self.key_attributes):
            return None
        return tuple(_key_text(item[name]) for name in self.key_attributes)

    def entry(self, item: Item, table_keys: tuple[str, ...]) -> Item:
        if self.projection == "ALL":
            return item
        kept = {*table_keys, *self.key_attributes}
        if self.projection == "INCLUDE":
            kept |= self.non_key_attributes
        return {name: value for name, value in item.items() if name in kept}


@dataclass(frozen=True)
class TableSchema:
    name: str  # the logical id, as reports name it
    partition_key: str
    sort_key: str | None
    indexes: tuple[IndexSchema, ...] = ()

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return (self.partition_key,) if self.sort_key is None else (self.partition_key, self.sort_key)

    def key_of(self, item: Item) -> Item:
        return {name: item[name] for name in self.key_attributes}

    @classmethod
    def from_properties(cls, name: str, properties: Mapping[str, Any]) -> TableSchema:
        """From an ``AWS::DynamoDB::Table``'s properties: its key schema and every secondary index."""
        declared = {
            a["AttributeName"]: a["AttributeType"] for a in properties.get("AttributeDefinitions", [])
        }
        partition_key, sort_key = _key_schema(properties["KeySchema"], declared)
        indexes = []
        for index in [
            *properties.get("GlobalSecondaryIndexes", []),
            *properties.get("LocalSecondaryIndexes", []),
        ]:
            index_partition, index_sort = _key_schema(index["KeySchema"], declared)
            projection = index.get("Projection") or {}
            indexes.append(
                IndexSchema(
                    name=index["IndexName"],
                    partition_key=index_partition,
                    sort_key=index_sort,
                    projection=projection.get("ProjectionType", "KEYS_ONLY"),
                    non_key_attributes=frozenset(projection.get("NonKeyAttributes", [])),
                )
            )
        return cls(name=name, partition_key=partition_key, sort_key=sort_key, indexes=tuple(indexes))

    @classmethod
    def from_template(cls, template: Any, logical_id: str) -> TableSchema:
        """``template``: a ``localrun.aws_resources.Template``."""
        return cls.from_properties(logical_id, template.properties(logical_id))


def _key_schema(elements: list[Mapping[str, str]], declared: Mapping[str, str]) -> tuple[str, str | None]:
    by_type = {element["KeyType"]: element["AttributeName"] for element in elements}
    for name in by_type.values():
        if name not in declared:
            raise ValueError(f"key attribute {name} is not in AttributeDefinitions")
    return by_type["HASH"], by_type.get("RANGE")


def _key_text(value: Mapping[str, Any]) -> str:
    """A key value as reports show it: a string or number as written, a binary as base64."""
    (inner,) = value.values()
    return base64.b64encode(inner).decode() if isinstance(inner, bytes) else str(inner)


# ---------------------------------------------------------------------------------------- pricing


@dataclass(frozen=True)
class Charge:
    target: str  # the table's logical id, or an index name
    partition: str  # the partition key value the units land on
    units: int


def price_write(
    schema: TableSchema, key: Item, before: Item | None, after: Item | None, *, transactional: bool
) -> list[Charge]:
    """One item's put, update or delete (of ``key``): on the table, then on each index. A delete of an
    absent item still costs the table its one unit."""
    factor = TRANSACTION_FACTOR if transactional else 1
    units = write_units(max(item_size(before), item_size(after))) * factor
    charges = [Charge(schema.name, _key_text(key[schema.partition_key]), units)]
    for index in schema.indexes:
        charges += _index_charges(schema, index, before, after)
    return charges


def price_condition_check(schema: TableSchema, key: Item, item: Item | None) -> list[Charge]:
    """A transaction's ConditionCheck: billed as a transactional write of the item it checks."""
    units = write_units(item_size(item)) * TRANSACTION_FACTOR
    return [Charge(schema.name, _key_text(key[schema.partition_key]), units)]


def _index_charges(
    schema: TableSchema, index: IndexSchema, before: Item | None, after: Item | None
) -> list[Charge]:
    old_key, new_key = index.key_of(before), index.key_of(after)
    old = index.entry(before, schema.key_attributes) if before is not None and old_key is not None else None
    new = index.entry(after, schema.key_attributes) if after is not None and new_key is not None else None
    charges = []
    if old is not None and old_key is not None and new_key != old_key:  # left, or moved: delete the old
        charges.append(Charge(index.name, old_key[0], write_units(item_size(old))))
    if new is not None and new_key is not None:
        if new_key != old_key:  # entered, or moved: put the new
            charges.append(Charge(index.name, new_key[0], write_units(item_size(new))))
        elif new != old:  # changed in place
            charges.append(Charge(index.name, new_key[0], write_units(max(item_size(old), item_size(new)))))
    return charges


# ------------------------------------------------------------------------------------------ meter


@dataclass(frozen=True)
class PricedWrite:
    """One item of a request, as it was before and after, and what writing it cost."""

    operation: str  # Put, Update, Delete or ConditionCheck
    key: Item
    before: Item | None
    after: Item | None
    charges: tuple[Charge, ...]


@dataclass(frozen=True)
class PricedRequest:
    operation: str  # PutItem, TransactWriteItems...
    writes: tuple[PricedWrite, ...]

    @property
    def units(self) -> int:
        return sum(charge.units for write in self.writes for charge in write.charges)


@dataclass
class _Pending:
    operation: str
    writes: list[tuple[str, Item]]  # (Put / Update / Delete / ConditionCheck, key)
    before: list[Item | None] = field(default_factory=list)


class WriteMeter:
    """Prices the writes of one table sent through the clients it is attached to.

    ``read_item(key)`` answers the stored item, read without a request (``moto_reader``): it is called
    just before a write request leaves, for the before images, and just after its answer, for the after
    images, so that every kind of write (an update expression, a conditional write that failed) is priced
    from what DynamoDB held, with nothing added to what the service sends or sees.
    ``on_request(priced)`` sees every priced request with its images, e.g. to tell what it changed.
    """

    def __init__(
        self,
        schema: TableSchema,
        table_name: str,
        read_item: ReadItem,
        on_request: Callable[[PricedRequest], None] | None = None,
    ) -> None:
        self.schema = schema
        self.table_name = table_name
        self.read_item = read_item
        self.on_request = on_request
        self.units: Counter[str] = Counter()  # by table or index
        self.partitions: Counter[tuple[str, str]] = Counter()  # by (table or index, partition key value)
        self.requests = 0
        self.failed = 0
        self._attached: list[tuple[Any, str, str]] = []  # (events, event name, unique id)

    @property
    def total(self) -> int:
        return sum(self.units.values())

    def add(self, request: PricedRequest) -> None:
        self.requests += 1
        for write in request.writes:
            for charge in write.charges:
                self.units[charge.target] += charge.units
                self.partitions[(charge.target, charge.partition)] += charge.units
        if self.on_request is not None:
            self.on_request(request)

    # ------------------------------------------------------------ pricing one request

    def writes_of(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, Item]]:
        """The (kind, key) of each item of this table that the request writes or checks."""
        if operation == "TransactWriteItems":
            found = []
            for entry in params.get("TransactItems", []):
                ((kind, action),) = entry.items()
                if action.get("TableName") == self.table_name:
                    found.append((kind, self.schema.key_of(action.get("Key") or action["Item"])))
            return found
        if operation == "BatchWriteItem":
            return [
                self._batch_write(request)
                for request in params.get("RequestItems", {}).get(self.table_name, [])
            ]
        if operation in WRITE_OPERATIONS and params.get("TableName") == self.table_name:
            kind = operation.removesuffix("Item")
            return [(kind, self.schema.key_of(params.get("Key") or params["Item"]))]
        return []

    def price(
        self,
        operation: str,
        writes: list[tuple[str, Item]],
        before: list[Item | None],
        after: list[Item | None],
    ) -> PricedRequest:
        transactional = operation == "TransactWriteItems"
        priced = []
        for (kind, key), old, new in zip(writes, before, after, strict=True):
            if kind == "ConditionCheck":
                charges = price_condition_check(self.schema, key, old)
            else:
                charges = price_write(self.schema, key, old, new, transactional=transactional)
            priced.append(PricedWrite(kind, key, old, new, tuple(charges)))
        return PricedRequest(operation, tuple(priced))

    def _batch_write(self, request: Mapping[str, Any]) -> tuple[str, Item]:
        if "PutRequest" in request:
            return "Put", self.schema.key_of(request["PutRequest"]["Item"])
        return "Delete", self.schema.key_of(request["DeleteRequest"]["Key"])

    # ------------------------------------------------------------ botocore events

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_id.hyphenize()
        for event, handler in (
            (f"provide-client-params.{service}", self._request_built),
            (f"before-call.{service}", self._before_send),
            (f"after-call.{service}", self._answered),
        ):
            unique = (
                f"write-meter-{next(_ids)}"  # botocore keeps one handler per unique id, whatever the event
            )
            client.meta.events.register(event, handler, unique_id=unique)
            self._attached.append((client.meta.events, event, unique))

    def detach(self) -> None:
        for events, event, unique in self._attached:
            events.unregister(event, unique_id=unique)
        self._attached.clear()

    def _request_built(
        self, params: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        writes = self.writes_of(model.name, params)
        if writes:
            context[self._context_key] = _Pending(model.name, writes)

    def _before_send(self, context: dict[str, Any], **_: Any) -> None:
        pending: _Pending | None = context.get(self._context_key)
        if pending is not None:
            pending.before = [self.read_item(key) for _, key in pending.writes]

    def _answered(self, parsed: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        pending: _Pending | None = context.pop(self._context_key, None)
        if pending is None:
            return
        if "Error" in parsed:
            self.failed += 1
            return
        writes, before = pending.writes, pending.before
        unprocessed = {
            _frozen(self._batch_write(request)[1])
            for request in (parsed.get("UnprocessedItems") or {}).get(self.table_name, [])
        }
        if unprocessed:
            kept = [n for n, (_, key) in enumerate(writes) if _frozen(key) not in unprocessed]
            writes, before = [writes[n] for n in kept], [before[n] for n in kept]
        after = [self.read_item(key) for _, key in writes]
        self.add(self.price(pending.operation, writes, before, after))

    @property
    def _context_key(self) -> str:
        return f"write-meter-{id(self)}"


def _frozen(key: Item) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, _key_text(value)) for name, value in key.items()))


def moto_reader(table_name: str, region: str) -> ReadItem:
    """Reads an item straight from moto's in-process store: no request, so nothing the service sends,
    counts or hooks changes; and without moto's ``get_item``, which leaves an empty entry behind for a key
    it does not hold. Under ``localrun.moto_dynamodb.lock``, as every request is served. Only inside
    ``mock_aws``."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from localrun import moto_dynamodb

    def read(key: Item) -> Item | None:
        with moto_dynamodb.lock:
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].get_table(table_name)
            stored: Any = table.items.get(DynamoType(key[table.hash_key_attr]))  # by range key, or the item
            if stored is not None and table.range_key_attr:
                stored = stored.get(DynamoType(key[table.range_key_attr]))
            return None if stored is None else stored.to_json()["Attributes"]  # a copy: moto builds it anew

    return read

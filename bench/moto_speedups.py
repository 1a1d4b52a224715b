"""moto's DynamoDB, made fast enough for a table of 60,000 items, with the same answers.

Several costs of moto grow with the whole table, or with moto's generic machinery, rather than with the
request; at 60,000 items one Query takes seconds:

- every Query sorts every item of the table (``Table.all_items``), and a query on an index sorts the
  matches again (``Table.sorted_items``), comparing ``DynamoType`` objects in Python, each comparison
  working out the value's type through five checks (``DynamoType.cast_value``);
- every stored item re-measures all its attributes each time one is added (``LimitedSizeDict``);
- read answers go through moto's model-driven serializer, though they are plain JSON already.

The replacements sort on the very values ``DynamoType`` compares (each key's ``cast_value``) natively,
answer a string's ``cast_value`` first (it is the string itself), keep a running item size, and write
read answers with ``json.dumps``. ``faster_moto`` also installs ``localrun.moto_dynamodb``, whose
transactions back up only the items they name (moto's own copy the whole table once per item, which at
60,000 items takes seconds), as the tests and ``make run`` have it. ``same_answers`` checks, on a real
table, that requests answer identically with and without all of it (failed transactions included).
Only the bench uses the speed-ups.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamo_type, table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import DynamoResult

from localrun import moto_dynamodb

_ITEM_SIZE_LIMIT = 405_000  # moto's own limit (DynamoDB's 400 KB, as moto measures it)
_PLAIN_JSON_READS = frozenset({"Query", "Scan", "GetItem", "BatchGetItem"})
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"

_original_cast_value: property = dynamo_type.DynamoType.__dict__["cast_value"]
_original_execute_result = DynamoResult.execute_result


@property  # type: ignore[misc]
def _cast_value(self: dynamo_type.DynamoType) -> Any:
    if self.type == "S":  # moto's own answer for a string, after ruling out every other type
        return self.value
    assert _original_cast_value.fget is not None
    return _original_cast_value.fget(self)


def _items_of(self: table.Table) -> list[Any]:
    if self.range_key_attr:
        return [item for by_range in self.items.values() for item in by_range.values()]
    return list(self.items.values())


def _all_items(self: table.Table) -> list[Any]:
    return sorted(
        _items_of(self),
        key=lambda item: (
            (item.hash_key.cast_value, item.range_key.cast_value)
            if item.range_key
            else (item.hash_key.cast_value,)
        ),
    )


def _sorted_items(
    self: table.Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]
) -> list[Any]:
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
    return items


def _attribute_size(key: str, value: Any) -> int:
    measured = value.size() if type(value) is dynamo_type.DynamoType else bytesize(str(value))
    return int(bytesize(key) + measured)


def _set_attribute(self: dynamo_type.LimitedSizeDict, key: str, value: Any) -> None:
    size = self.__dict__.get("_size")
    if size is None:  # filled before the replacement was in place: measure once
        size = sum(_attribute_size(name, stored) for name, stored in dict.items(self))
    if dict.__contains__(self, key):
        size -= _attribute_size(key, dict.__getitem__(self, key))
    size += _attribute_size(key, value)
    if size > _ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    dict.__setitem__(self, key, value)
    self.__dict__["_size"] = size


def _execute_result(self: DynamoResult, context: Any) -> Any:
    if context.operation_model.name in _PLAIN_JSON_READS:
        try:
            body = json.dumps(self.result, separators=(",", ":"))
        except TypeError:  # binary or other non-JSON values: moto's serializer knows them
            pass
        else:
            return 200, {"Content-Type": _JSON_CONTENT_TYPE}, body
    return _original_execute_result(self, context)


@contextmanager
def faster_moto() -> Iterator[None]:
    replaced: list[tuple[Any, str, Any]] = [
        (dynamo_type.DynamoType, "cast_value", _cast_value),
        (table.Table, "all_items", _all_items),
        (table.Table, "sorted_items", _sorted_items),
        (dynamo_type.LimitedSizeDict, "__setitem__", _set_attribute),
        (DynamoResult, "execute_result", _execute_result),
    ]
    originals = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in replaced]
    for owner, name, replacement in replaced:
        setattr(owner, name, replacement)
    try:
        with moto_dynamodb.installed():
            yield
    finally:
        for owner, name, original in originals:
            if original is None:  # inherited: uncover the base class's again
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def same_answers(client: Any, calls: list[tuple[str, dict[str, Any]]]) -> bool:
    """Whether ``calls`` (client method, parameters) answer exactly alike with and without the
    replacements; an error counts as its code. Call it outside ``faster_moto``, on a table with data.
    """

    def answers() -> list[Any]:
        found: list[Any] = []
        for method, parameters in calls:
            try:
                answer = getattr(client, method)(**copy.deepcopy(parameters))
            except ClientError as error:
                found.append(error.response["Error"]["Code"])
                continue
            answer.pop("ResponseMetadata", None)
            found.append(answer)
        return found

    plain = answers()
    with faster_moto():
        fast = answers()
    return plain == fast

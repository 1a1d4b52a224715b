"""The write-unit meter of the bench (``bench/capacity.py``): DynamoDB's pricing rules on small hand-made
items, then the meter on a client, against a hand-made table in moto."""

from __future__ import annotations

from typing import Any

import pytest

from bench.capacity import (
    Charge,
    IndexSchema,
    TableSchema,
    WriteMeter,
    item_size,
    moto_reader,
    price_condition_check,
    price_write,
    value_size,
)
from localrun import aws_resources

# A table with one index of each projection: every index keyed by its own attribute.
SCHEMA = TableSchema(
    name="Table",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        IndexSchema("Everything", "ga", "gs", "ALL"),
        IndexSchema("KeysOnly", "gk", None, "KEYS_ONLY"),
        IndexSchema("Some", "gi", None, "INCLUDE", frozenset({"small"})),
    ),
)
KEY = {"pk": {"S": "P"}, "sk": {"S": "S"}}


def item(**attributes: Any) -> dict[str, Any]:
    """The item at KEY with string attributes."""
    return {**KEY, **{name: {"S": value} for name, value in attributes.items()}}


def on(target: str, charges: list[Charge]) -> list[tuple[str, int]]:
    return [(charge.partition, charge.units) for charge in charges if charge.target == target]


# ------------------------------------------------------------------ sizes


def test_sizes_count_names_and_values_as_dynamodb_documents_them() -> None:
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_size({"N": "123"}) == 3  # two bytes for three significant digits, plus one
    assert value_size({"N": "-0.00120"}) == 2  # leading and trailing zeroes trimmed
    assert value_size({"N": "0"}) == 1
    assert value_size({"B": b"\x00\x01\x02"}) == 3  # raw bytes, not base64
    assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
    assert value_size({"L": []}) == value_size({"M": {}}) == 3
    assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (2 + 1) + (2 + 1)
    assert value_size({"M": {"k": {"S": "ab"}}}) == 3 + (1 + 2 + 1)
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert item_size({"name": {"S": "value"}, "n": {"N": "12"}}) == (4 + 5) + (1 + 2)
    assert item_size(None) == 0


# ------------------------------------------------------------------ the table


def test_a_new_item_costs_one_unit_per_started_kilobyte() -> None:
    small = item(doc="x" * 500)
    large = item(doc="x" * 1100)

    assert on("Table", price_write(SCHEMA, KEY, None, small, transactional=False)) == [("P", 1)]
    assert on("Table", price_write(SCHEMA, KEY, None, large, transactional=False)) == [("P", 2)]


def test_a_same_size_rewrite_costs_what_the_item_weighs() -> None:
    before, after = item(doc="a" * 1500), item(doc="b" * 1500)

    assert on("Table", price_write(SCHEMA, KEY, before, after, transactional=False)) == [("P", 2)]


def test_a_write_is_priced_on_the_larger_of_the_item_before_and_after() -> None:
    small, large = item(doc="x" * 900), item(doc="x" * 2100)

    assert on("Table", price_write(SCHEMA, KEY, small, large, transactional=False)) == [("P", 3)]
    assert on("Table", price_write(SCHEMA, KEY, large, small, transactional=False)) == [("P", 3)]
    assert on("Table", price_write(SCHEMA, KEY, large, None, transactional=False)) == [("P", 3)]


def test_a_delete_of_nothing_still_costs_one_unit() -> None:
    assert on("Table", price_write(SCHEMA, KEY, None, None, transactional=False)) == [("P", 1)]


def test_a_transaction_doubles_the_table_units_and_not_the_index_units() -> None:
    new = item(doc="x" * 1500, ga="G", gs="1")

    charges = price_write(SCHEMA, KEY, None, new, transactional=True)

    assert on("Table", charges) == [("P", 4)]
    assert on("Everything", charges) == [("G", 2)]


def test_a_condition_check_costs_a_transactional_write_of_the_item_it_checks() -> None:
    checked = item(doc="x" * 1500, ga="G", gs="1")

    assert price_condition_check(SCHEMA, KEY, checked) == [Charge("Table", "P", 4)]
    assert price_condition_check(SCHEMA, KEY, None) == [Charge("Table", "P", 2)]


# ------------------------------------------------------------------ an index


def test_no_index_write_when_the_item_is_in_the_index_neither_before_nor_after() -> None:
    charges = price_write(SCHEMA, KEY, item(doc="a"), item(doc="b"), transactional=False)

    assert [charge.target for charge in charges] == ["Table"]


def test_entering_the_index_puts_the_new_entry_on_its_partition() -> None:
    charges = price_write(SCHEMA, KEY, item(doc="a"), item(doc="a", gk="K"), transactional=False)

    assert on("KeysOnly", charges) == [("K", 1)]


def test_leaving_the_index_deletes_the_old_entry_on_its_partition() -> None:
    charges = price_write(SCHEMA, KEY, item(doc="a", gk="K"), item(doc="a"), transactional=False)
    deleted = price_write(SCHEMA, KEY, item(doc="a", gk="K"), None, transactional=False)

    assert on("KeysOnly", charges) == on("KeysOnly", deleted) == [("K", 1)]


def test_an_index_key_change_deletes_the_old_entry_and_puts_the_new_each_rounded_on_its_own() -> None:
    before = item(doc="x" * 1500, ga="OLD", gs="1")
    after = item(doc="x" * 100, ga="NEW", gs="1")

    charges = price_write(SCHEMA, KEY, before, after, transactional=False)

    assert on("Everything", charges) == [("OLD", 2), ("NEW", 1)]


def test_a_sort_key_change_also_moves_the_entry() -> None:
    charges = price_write(SCHEMA, KEY, item(ga="G", gs="1"), item(ga="G", gs="2"), transactional=False)

    assert on("Everything", charges) == [("G", 1), ("G", 1)]


def test_a_projected_change_rewrites_the_entry_in_place_on_the_larger_of_the_two() -> None:
    before = item(gi="I", small="x" * 1500)
    after = item(gi="I", small="y")

    charges = price_write(SCHEMA, KEY, before, after, transactional=False)

    assert on("Some", charges) == [("I", 2)]


def test_an_unchanged_index_entry_costs_nothing() -> None:
    same = item(doc="a", ga="G", gs="1", gk="K", gi="I", small="s")

    charges = price_write(SCHEMA, KEY, same, dict(same), transactional=False)

    assert [charge.target for charge in charges] == ["Table"]


def test_a_change_outside_the_projection_writes_only_the_indexes_that_project_it() -> None:
    before = item(doc="a", ga="G", gs="1", gk="K", gi="I", small="s")
    after = {**before, "doc": {"S": "b"}}

    charges = price_write(SCHEMA, KEY, before, after, transactional=False)

    assert sorted({charge.target for charge in charges}) == ["Everything", "Table"]


def test_an_entry_weighs_what_its_projection_keeps() -> None:
    big = item(doc="x" * 3000, ga="G", gs="1", gk="K", gi="I", small="s")

    charges = price_write(SCHEMA, KEY, None, big, transactional=False)

    assert on("Table", charges) == [("P", 3)]
    assert on("Everything", charges) == [("G", 3)]  # ALL: the whole item
    assert on("KeysOnly", charges) == [("K", 1)]  # the table's and the index's keys
    assert on("Some", charges) == [("I", 1)]  # and the attributes named


# ------------------------------------------------------------------ the schema, from a template


def table_properties() -> dict[str, Any]:
    return {
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gi", "gs")
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "Some",
                "KeySchema": [
                    {"AttributeName": "gi", "KeyType": "HASH"},
                    {"AttributeName": "gs", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["small"]},
            }
        ],
    }


def test_the_schema_is_read_from_a_table_definition() -> None:
    schema = TableSchema.from_properties("Table", table_properties())

    assert schema == TableSchema(
        "Table", "pk", "sk", (IndexSchema("Some", "gi", "gs", "INCLUDE", frozenset({"small"})),)
    )


def test_the_schema_of_the_templates_table_has_every_index_of_the_template(
    template: aws_resources.Template,
) -> None:
    (logical_id,) = template.logical_ids(aws_resources.TABLE_TYPE)
    properties = template.properties(logical_id)

    schema = TableSchema.from_template(template, logical_id)

    assert [index.name for index in schema.indexes] == [
        index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", [])
    ]
    assert {index.projection for index in schema.indexes} <= {"ALL", "KEYS_ONLY", "INCLUDE"}


# ------------------------------------------------------------------ the meter on a client


@pytest.fixture
def metered(dynamodb_client: Any) -> tuple[Any, WriteMeter]:
    """A hand-made table in moto, and a meter on the client that writes it."""
    request = aws_resources.create_table_request(table_properties(), "metered")
    dynamodb_client.create_table(**request)
    meter = WriteMeter(
        TableSchema.from_properties("Table", table_properties()),
        "metered",
        moto_reader("metered", dynamodb_client.meta.region_name),
    )
    meter.attach(dynamodb_client)
    return dynamodb_client, meter


def test_the_meter_prices_each_kind_of_write_request_from_what_the_table_held(
    metered: tuple[Any, WriteMeter],
) -> None:
    client, meter = metered
    key = {"pk": {"S": "A"}, "sk": {"S": "1"}}
    entry = {"gi": {"S": "I"}, "gs": {"S": "1"}, "small": {"S": "s"}}

    client.put_item(TableName="metered", Item={**key, **entry, "doc": {"S": "x" * 1500}})  # 2 + 1
    client.update_item(  # the doc alone, not projected: 2
        TableName="metered",
        Key=key,
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "doc"},
        ExpressionAttributeValues={":d": {"S": "y" * 1500}},
    )
    client.transact_write_items(  # a new counter (2) and a check of the item (2 x 2)
        TransactItems=[
            {
                "Update": {
                    "TableName": "metered",
                    "Key": {"pk": {"S": "COUNT"}, "sk": {"S": "ALL"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": "metered",
                    "Key": key,
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
    )
    client.batch_write_item(RequestItems={"metered": [{"DeleteRequest": {"Key": key}}]})  # 2 + 1
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.put_item(
            TableName="metered",
            Item={"pk": {"S": "COUNT"}, "sk": {"S": "ALL"}},
            ConditionExpression="attribute_not_exists(pk)",
        )

    assert meter.units == {"Table": 2 + 2 + 2 + 4 + 2, "Some": 1 + 1}
    assert meter.partitions[("Table", "COUNT")] == 2
    assert meter.partitions[("Some", "I")] == 2
    assert (meter.requests, meter.failed) == (4, 1)

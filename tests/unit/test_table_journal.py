"""``localrun.table_journal``: the tables of ``--persist DIR`` come back as the last acknowledged write left
them, through a crash too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from localrun import aws_resources, moto_dynamodb
from localrun.table_journal import JOURNAL_NAME, TableJournal, snapshot_path
from tests.unit.moto_endpoints import create_table, item, key

TABLES = {"Runs": "t-runs", "Names": "t-names"}  # logical id -> table name; t-names has no sort key


@contextmanager
def server_life(directory: Path, **options: Any) -> Iterator[tuple[Any, TableJournal]]:
    """A fresh moto with the tables, and the journal opened over ``directory`` (closed by the caller)."""
    with mock_aws(), moto_dynamodb.installed():
        client = boto3.client("dynamodb", region_name=aws_resources.LOCAL_REGION)
        create_table(client, TABLES["Runs"])
        client.create_table(
            TableName=TABLES["Names"],
            KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws_resources.LOCAL_REGION]
        journal = TableJournal(directory, TABLES, backend, **options)
        journal.open()
        yield client, journal


def everything(client: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted(client.scan(TableName=name, ConsistentRead=True)["Items"], key=repr)
        for name in TABLES.values()
    }


def writes(client: Any) -> None:
    """One of each write request, and a transaction that is cancelled."""
    runs, names = TABLES["Runs"], TABLES["Names"]
    client.put_item(TableName=runs, Item=item("r1", st="QUEUED"))
    client.put_item(TableName=runs, Item=item("r2", st="QUEUED"))
    client.put_item(TableName=names, Item={"name": {"S": "n1"}, "n": {"N": "1"}})
    client.update_item(
        TableName=runs,
        Key=key("r1"),
        UpdateExpression="SET st = :s",
        ExpressionAttributeValues={":s": {"S": "RUNNING"}},
    )
    client.delete_item(TableName=runs, Key=key("r2"))
    client.batch_write_item(
        RequestItems={
            runs: [{"PutRequest": {"Item": item("r3", st="PAUSED")}}],
            names: [{"PutRequest": {"Item": {"name": {"S": "n2"}}}}],
        }
    )
    client.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": runs, "Item": item("r4", st="QUEUED")}},
            {
                "Update": {
                    "TableName": names,
                    "Key": {"name": {"S": "n1"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": runs, "Item": item("never")}},
                {
                    "ConditionCheck": {
                        "TableName": runs,
                        "Key": key("r1"),
                        "ConditionExpression": "st = :q",
                        "ExpressionAttributeValues": {":q": {"S": "QUEUED"}},
                    }
                },
            ]
        )


def test_after_a_crash_every_acknowledged_write_is_back(tmp_path):
    # Given a server that wrote, and died without saving
    with server_life(tmp_path) as (client, journal):
        writes(client)
        before = everything(client)
        journal.close(compact=False)
    assert (tmp_path / JOURNAL_NAME).stat().st_size > 0

    # When the next one starts over the same directory
    with server_life(tmp_path) as (client, journal):
        after = everything(client)
        journal.close()

    # Then the tables are as the last answered write left them
    assert after == before
    assert {entry["pk"]["S"] for entry in after[TABLES["Runs"]]} == {"r1", "r3", "r4"}
    assert (tmp_path / JOURNAL_NAME).stat().st_size == 0  # compacted into the snapshots


def test_a_line_cut_short_by_a_crash_is_dropped_and_the_lines_before_it_replayed(tmp_path):
    with server_life(tmp_path) as (client, journal):
        client.put_item(TableName=TABLES["Runs"], Item=item("r1"))
        journal.close(compact=False)
    with (tmp_path / JOURNAL_NAME).open("ab") as handle:
        handle.write(b'{"op":"PutItem","items":[{"table":"t-runs","key":')

    with server_life(tmp_path) as (client, journal):
        after = everything(client)
        journal.close()

    assert [entry["pk"]["S"] for entry in after[TABLES["Runs"]]] == ["r1"]


def test_a_long_journal_is_compacted_into_the_snapshots_and_nothing_is_lost(tmp_path):
    with server_life(tmp_path, compact_bytes=2_000) as (client, journal):
        for index in range(30):
            client.put_item(TableName=TABLES["Runs"], Item=item(f"r{index}", pad="x" * 100))
        before = everything(client)
        journal.close(compact=False)
    assert (tmp_path / JOURNAL_NAME).stat().st_size < 2_000
    assert snapshot_path(tmp_path, "Runs").stat().st_size > 3_000

    with server_life(tmp_path) as (client, journal):
        assert everything(client) == before
        journal.close()


def test_binary_values_and_a_clean_stop_come_back_as_written(tmp_path):
    binary: dict[str, Any] = {
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "m": {"M": {"inner": {"B": b"\x03"}, "list": {"L": [{"B": b"\x04"}, {"S": "s"}]}}},
    }
    with server_life(tmp_path) as (client, journal):
        client.put_item(TableName=TABLES["Runs"], Item={**item("crashed"), **binary})
        journal.close(compact=False)
    with server_life(tmp_path) as (client, journal):
        client.put_item(TableName=TABLES["Runs"], Item={**item("stopped"), **binary})
        before = everything(client)
        journal.close()

    with server_life(tmp_path) as (client, journal):
        after = everything(client)
        journal.close()

    assert after == before
    assert sorted(stored["pk"]["S"] for stored in after[TABLES["Runs"]]) == ["crashed", "stopped"]
    for stored in after[TABLES["Runs"]]:
        assert {name: stored[name] for name in binary} == binary


def test_only_the_kept_tables_are_journaled(tmp_path):
    with server_life(tmp_path) as (client, journal):
        create_table(client, "t-other")
        client.put_item(TableName="t-other", Item=item("elsewhere"))
        journal.close(compact=False)

    assert (tmp_path / JOURNAL_NAME).read_bytes() == b""
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "dynamodb-Names.json",
        "dynamodb-Runs.json",
        JOURNAL_NAME,
    ]

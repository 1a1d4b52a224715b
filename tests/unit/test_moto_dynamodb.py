"""``localrun.moto_dynamodb``: a failed transaction restores only its own items, concurrent requests lose
no acknowledged write, and moto's answers stay moto's own."""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.responses import DynamoHandler

from localrun import aws_resources, moto_dynamodb
from tests.unit.moto_endpoints import KINDS, create_table, dynamodb_endpoint, item, key, keys_in


def test_the_installed_moto_is_the_one_the_module_was_written_for():
    assert version("moto") == moto_dynamodb.WRITTEN_FOR_MOTO, (
        f"moto {version('moto')} is installed; localrun/moto_dynamodb.py patches moto "
        f"{moto_dynamodb.WRITTEN_FOR_MOTO}. Read the module's docstring (Upgrading moto) before bumping "
        "WRITTEN_FOR_MOTO."
    )


# ---------------------------------------------------------------------------------------------- install


def test_install_nests_and_the_last_undo_restores_moto():
    # Given moto's own methods
    call_action, transact = DynamoHandler.call_action, DynamoDBBackend.transact_write_items

    # When installed twice and undone once (twice over: an undo is done once only)
    outer = moto_dynamodb.install()
    inner = moto_dynamodb.install()
    inner()
    inner()

    # Then the patches stay until the last undo
    assert DynamoHandler.call_action is not call_action
    assert moto_dynamodb.is_installed()
    outer()
    assert DynamoHandler.call_action is call_action
    assert DynamoDBBackend.transact_write_items is transact
    assert not moto_dynamodb.is_installed()


# ------------------------------------------------------------------------- a failed transaction's rollback


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=aws_resources.LOCAL_REGION)
        create_table(client, "t")
        client.put_item(TableName="t", Item=item("existing", v="1"))
        yield client


FAILING = [
    {"Put": {"TableName": "t", "Item": item("from-the-transaction")}},
    {
        "ConditionCheck": {
            "TableName": "t",
            "Key": key("existing"),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    },
]


def _write_while_the_transaction_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another client's put lands while the transaction is under way (after moto took its backups)."""
    real_get_item = DynamoDBBackend.get_item
    written: list[str] = []

    def get_item(self: DynamoDBBackend, table_name: str, keys: dict[str, Any], *args: Any) -> Any:
        if keys == key("existing") and not written:
            written.append("meanwhile")
            self.put_item(table_name, item("meanwhile"))
        return real_get_item(self, table_name, keys, *args)

    monkeypatch.setattr(DynamoDBBackend, "get_item", get_item)


def test_plain_moto_undoes_a_write_made_while_a_failed_transaction_ran(client, monkeypatch):
    # This is what the module repairs; should it fail, moto changed: see the module's "Upgrading moto".
    _write_while_the_transaction_runs(monkeypatch)

    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=FAILING)

    assert keys_in(client, "t") == {"existing"}


def test_a_failed_transaction_restores_its_own_items_only(client, monkeypatch):
    # Given the module, and another client's write landing while the transaction runs
    _write_while_the_transaction_runs(monkeypatch)

    # When the transaction fails its condition
    with moto_dynamodb.installed(), pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=FAILING)

    # Then its own put is undone and the other write stays
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert keys_in(client, "t") == {"existing", "meanwhile"}


# ----------------------------------------------------------------------------------- moto's own answers


def _calls() -> list[tuple[str, dict[str, Any]]]:
    counter = key("counter")
    return [
        ("put_item", {"TableName": "t", "Item": {**counter, "n": {"N": "1"}, "s": {"S": "text"}}}),
        (  # applies a put and an update, then fails a condition with ALL_OLD
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": item("new")}},
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": counter,
                            "UpdateExpression": "ADD n :d",
                            "ExpressionAttributeValues": {":d": {"N": "5"}},
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": key("existing"),
                            "ConditionExpression": "v = :v",
                            "ExpressionAttributeValues": {":v": {"S": "2"}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                ]
            },
        ),
        (  # an update that fails when applied, after a delete was applied
            "transact_write_items",
            {
                "TransactItems": [
                    {"Delete": {"TableName": "t", "Key": key("existing")}},
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": counter,
                            "UpdateExpression": "SET n = s + :d",
                            "ExpressionAttributeValues": {":d": {"N": "1"}},
                        }
                    },
                ]
            },
        ),
        (  # two actions on one item
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": item("twice")}},
                    {"Delete": {"TableName": "t", "Key": key("twice")}},
                ]
            },
        ),
        (  # a key without its sort key: moto's own backups are used
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": item("half")}},
                    {"Delete": {"TableName": "t", "Key": {"pk": {"S": "existing"}}}},
                ]
            },
        ),
        ("transact_write_items", {"TransactItems": [{"Put": {"TableName": "missing", "Item": item("x")}}]}),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": "t", "Item": item("applied")}},
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": counter,
                            "UpdateExpression": "ADD n :d",
                            "ConditionExpression": "n = :one",
                            "ExpressionAttributeValues": {":d": {"N": "2"}, ":one": {"N": "1"}},
                        }
                    },
                ]
            },
        ),
        (
            "put_item",
            {
                "TableName": "t",
                "Item": item("existing"),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        ),
        ("update_item", {"TableName": "t", "Key": counter, "UpdateExpression": "SET n = n + :x"}),
        ("scan", {"TableName": "t"}),
    ]


def _answers() -> list[Any]:
    """What each call answers, then the table's stream records (event and keys)."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=aws_resources.LOCAL_REGION)
        create_table(client, "t")
        client.update_table(
            TableName="t", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        )
        client.put_item(TableName="t", Item=item("existing", v="1"))
        found: list[Any] = []
        for method, parameters in _calls():
            try:
                answer = getattr(client, method)(**copy.deepcopy(parameters))
            except ClientError as error:
                answer = {name: error.response.get(name) for name in ("Error", "CancellationReasons", "Item")}
            answer.pop("ResponseMetadata", None)
            found.append(answer)
        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][aws_resources.LOCAL_REGION].tables["t"].stream_shard
        found.append(
            [(record.record["eventName"], record.record["dynamodb"]["Keys"]) for record in shard.items]
        )
        return found


def test_answers_and_rollbacks_are_moto_s_own():
    plain = _answers()
    with moto_dynamodb.installed():
        patched = _answers()

    assert patched == plain
    assert any("CancellationReasons" in str(answer) for answer in plain)


# ------------------------------------------------------------------------------- concurrent requests


@dataclass
class Race:
    acknowledged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cancelled: int = 0


WIDE = {f"a{index}": {"S": "v"} for index in range(300)}  # an item moto takes a while to build


def _code(error: Exception) -> str:
    return str(error.response["Error"]["Code"]) if isinstance(error, ClientError) else repr(error)


def race(endpoint: Any, seconds: float) -> Race:
    """Three clients put items while two send transactions that fail their condition, for ``seconds``."""
    table = endpoint.table
    setup = endpoint.client()
    setup.put_item(TableName=table, Item=item("existing"))
    outcome = Race()
    record = threading.Lock()
    deadline = 0.0
    # Every client starts racing at once: a thread that starts before the others are started can keep the
    # interpreter from starting them until it stops (seen in-process, with moto's handlers in a tight loop).
    go = threading.Event()

    def put(client: Any, name: str) -> None:
        go.wait()
        for index in range(1_000_000):
            if time.monotonic() > deadline:
                return
            try:
                client.put_item(TableName=table, Item=item(f"{name}-{index}"))
            except Exception as error:  # in-process, moto's own failures are raised as they are
                with record:
                    outcome.errors.append(_code(error))
            else:
                with record:
                    outcome.acknowledged.append(f"{name}-{index}")

    def transaction(name: str) -> list[dict[str, Any]]:
        return [
            {"Put": {"TableName": table, "Item": {**item(name), **WIDE}}},
            {
                "Update": {
                    "TableName": table,
                    "Key": key("counter"),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": key("existing"),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def fail(client: Any, name: str) -> None:
        go.wait()
        for index in range(1_000_000):
            if time.monotonic() > deadline:
                return
            try:
                client.transact_write_items(TransactItems=transaction(f"{name}-{index}"))
            except Exception as error:
                with record:
                    if _code(error) == "TransactionCanceledException":
                        outcome.cancelled += 1
                    else:
                        outcome.errors.append(_code(error))

    workers = [(put, endpoint.client(), f"put{index}") for index in range(3)]
    workers += [(fail, endpoint.client(), f"tx{index}") for index in range(2)]
    for _, client, name in workers:  # a client's first call loads what it needs: not during the race
        with contextlib.suppress(ClientError):
            client.transact_write_items(TransactItems=transaction(f"{name}-warm-up"))
    threads = [threading.Thread(target=work, args=(client, name)) for work, client, name in workers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    go.set()
    for thread in threads:
        thread.join()
    return outcome


@pytest.mark.parametrize("kind", KINDS)
def test_failed_transactions_among_concurrent_puts_lose_no_acknowledged_write(kind, moto_server):
    with moto_dynamodb.installed(), dynamodb_endpoint(kind, moto_server) as endpoint:
        # When puts and failing transactions race for a while
        outcome = race(endpoint, seconds=1.0)

        # Then every acknowledged put is there, nothing of a failed transaction is, nothing else failed
        stored = keys_in(endpoint.client(), endpoint.table)
    assert outcome.errors == []
    assert outcome.acknowledged and outcome.cancelled
    assert [name for name in outcome.acknowledged if name not in stored] == []
    assert {name for name in stored if name.startswith(("tx", "counter"))} == set()

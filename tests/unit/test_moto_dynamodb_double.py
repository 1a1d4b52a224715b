"""The concurrency double of ``localrun.moto_dynamodb``: a transaction holds its items for a while after
applying, and DynamoDB's answers to what touches them meanwhile; throttling on request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun import moto_dynamodb
from tests.unit.moto_endpoints import KINDS, Endpoint, dynamodb_endpoint, item, key

HOLD = 0.5  # long enough for a test's requests to land while the items are held


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, moto_server: str) -> Iterator[Endpoint]:
    """moto in-process, or as ``kind`` says (both ways run the same code; the tests of the answers
    DynamoDB gives run both ways, the others in-process)."""
    with dynamodb_endpoint(getattr(request, "param", "in-process"), moto_server) as endpoint:
        yield endpoint


class Holder:
    """A transaction putting items (``A`` and ``B`` unless told), sent from a thread of its own."""

    def __init__(self, endpoint: Endpoint, names: str = "AB") -> None:
        self.client = endpoint.client()
        self.table = endpoint.table
        self.names = names
        self.answered_at = 0.0
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": item(name, by="holder")}} for name in self.names
                ]
            )
        except Exception as error:
            self.error = error
        self.answered_at = time.monotonic()

    def start(self, reader: Any) -> float:
        """Sends the transaction, and returns once it has applied (its items are held from then on)."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while "Item" not in reader.get_item(TableName=self.table, Key=key(self.names[-1])):
            assert time.monotonic() < deadline, "the holding transaction never applied"
            time.sleep(0.005)
        return time.monotonic()

    def join(self) -> None:
        self.thread.join(10)
        assert self.error is None, self.error

    def still_holding(self) -> bool:
        return self.thread.is_alive()


def _error(call: Any, **parameters: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as raised:
        call(**parameters)
    response: dict[str, Any] = raised.value.response
    return response


@pytest.mark.parametrize("endpoint", KINDS, indirect=True)
@pytest.mark.parametrize("dynamodb_double", [HOLD], indirect=True)
def test_a_transaction_touching_a_held_item_is_cancelled_with_dynamodb_s_reasons(dynamodb_double, endpoint):
    # Given a transaction that applied and holds A and B
    client = endpoint.client()
    holder = Holder(endpoint)
    holder.start(client)

    # When another transaction puts C and updates B
    response = _error(
        client.transact_write_items,
        TransactItems=[
            {"Put": {"TableName": endpoint.table, "Item": item("C")}},
            {
                "Update": {
                    "TableName": endpoint.table,
                    "Key": key("B"),
                    "UpdateExpression": "SET #by = :me",
                    "ExpressionAttributeNames": {"#by": "by"},
                    "ExpressionAttributeValues": {":me": {"S": "other"}},
                }
            },
        ],
    )
    assert holder.still_holding()
    holder.join()

    # Then it is cancelled as DynamoDB cancels it, and nothing of it was applied
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, TransactionConflict]"
    )
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"},
    ]
    assert "Item" not in client.get_item(TableName=endpoint.table, Key=key("C"))
    assert client.get_item(TableName=endpoint.table, Key=key("B"))["Item"]["by"] == {"S": "holder"}
    assert dynamodb_double.conflicts == 1


@pytest.mark.parametrize("endpoint", KINDS, indirect=True)
def test_single_writes_to_a_held_item_are_refused_with_transaction_conflict(endpoint):
    table = endpoint.table
    with moto_dynamodb.concurrency_double(hold_seconds=HOLD):
        # Given a transaction that holds A and B
        client = endpoint.client()
        holder = Holder(endpoint)
        holder.start(client)

        # When single writes touch them
        refused = [
            _error(client.put_item, TableName=table, Item=item("A", by="other")),
            _error(
                client.update_item,
                TableName=table,
                Key=key("B"),
                UpdateExpression="SET #by = :me",
                ExpressionAttributeNames={"#by": "by"},
                ExpressionAttributeValues={":me": {"S": "other"}},
            ),
            _error(client.delete_item, TableName=table, Key=key("A")),
            _error(
                client.batch_write_item,
                RequestItems={
                    table: [{"PutRequest": {"Item": item("D")}}, {"DeleteRequest": {"Key": key("B")}}]
                },
            ),
        ]
        assert holder.still_holding()
        holder.join()

    # Then each is refused with TransactionConflictException and changed nothing
    for response in refused:
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert response["Error"] == {
            "Code": "TransactionConflictException",
            "Message": "Transaction is ongoing for the item",
        }
    stored = {name: client.get_item(TableName=table, Key=key(name)).get("Item") for name in "ABD"}
    assert stored["A"]["by"] == stored["B"]["by"] == {"S": "holder"}
    assert stored["D"] is None


def test_reads_and_disjoint_writes_go_on_while_items_are_held_and_the_hold_ends(endpoint):
    table = endpoint.table
    with moto_dynamodb.concurrency_double(hold_seconds=HOLD) as double:
        # Given a transaction that holds A and B
        client = endpoint.client()
        holder = Holder(endpoint)
        applied_at = holder.start(client)

        # When reads of the held items, a put and a transaction on other items are sent
        got = client.get_item(TableName=table, Key=key("A"))
        queried = client.query(
            TableName=table,
            KeyConditionExpression="pk = :b",
            ExpressionAttributeValues={":b": {"S": "B"}},
        )
        scanned = client.scan(TableName=table)
        client.put_item(TableName=table, Item=item("D"))
        other = Holder(endpoint, "CE")
        other.start(client)
        answered_while_held = holder.still_holding()

        # Then they all went through while A and B were held, and the reads saw the holder's writes
        holder.join()
        other.join()
        assert answered_while_held
        assert got["Item"]["by"] == {"S": "holder"}
        assert queried["Count"] == 1
        assert scanned["Count"] == 2

        # And the hold lasted its time, after which A and B take writes again
        assert holder.answered_at - applied_at >= HOLD * 0.8
        client.put_item(TableName=table, Item=item("A", by="later"))
        client.transact_write_items(TransactItems=[{"Delete": {"TableName": table, "Key": key("B")}}])
    assert double.conflicts == 0


def test_a_transactional_read_of_a_held_item_is_cancelled(endpoint):
    with moto_dynamodb.concurrency_double(hold_seconds=HOLD):
        client = endpoint.client()
        holder = Holder(endpoint)
        holder.start(client)

        response = _error(
            client.transact_get_items,
            TransactItems=[
                {"Get": {"TableName": endpoint.table, "Key": key("A")}},
                {"Get": {"TableName": endpoint.table, "Key": key("Z")}},
            ],
        )
        holder.join()

    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in response["CancellationReasons"]] == ["TransactionConflict", "None"]


# ------------------------------------------------------------------------------------------- throttling


def test_throttling_refuses_requests_and_botocore_retries_them(endpoint):
    table = endpoint.table
    once = endpoint.client()
    retrying = endpoint.client(retries=10)
    with moto_dynamodb.concurrency_double(hold_seconds=0, throttle_rate=1.0):
        response = _error(once.get_item, TableName=table, Key=key("A"))
    with moto_dynamodb.concurrency_double(hold_seconds=0, throttle_rate=0.5, seed=10) as double:
        for name in "ABCD":  # this seed's dice throttle two of the attempts
            retrying.put_item(TableName=table, Item=item(name))

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert double.throttled == 2
    assert len(once.scan(TableName=table)["Items"]) == 4


def test_the_double_is_off_unless_enabled(endpoint):
    # Given the module without the double, and a transaction in flight on another thread
    with moto_dynamodb.installed():
        client = endpoint.client()
        holder = Holder(endpoint)
        holder.start(client)

        # Then a write to its items right after it applied goes through
        client.put_item(TableName=endpoint.table, Item=item("A", by="other"))
        holder.join()

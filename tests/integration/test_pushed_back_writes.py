"""Writes DynamoDB pushes back (a transaction cancelled because another held one of its items, a write
refused for it, throttling) are tried again; a failed condition never is: it is the run's own news."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from workflowsvc.store.dynamo import Backoff, is_transient, pushed_back_retried

from tests.support.dynamodb import before_request
from tests.support.runs import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT

NO_PAUSE = Backoff(attempts=8, base_s=0, cap_s=0)


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": reason} for reason in reasons],
        },
        "TransactWriteItems",
    )


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutItem")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (cancelled("None", "TransactionConflict"), True),
        (cancelled("ThrottlingError", "None"), True),
        (cancelled("ConditionalCheckFailed", "TransactionConflict"), False),
        (cancelled("ConditionalCheckFailed"), False),
        (refused("TransactionConflictException"), True),
        (refused("ProvisionedThroughputExceededException"), True),
        (refused("ThrottlingException"), True),
        (refused("ConditionalCheckFailedException"), False),
        (refused("ValidationException"), False),
    ],
)
def test_what_is_tried_again(error: ClientError, transient: bool) -> None:
    assert is_transient(error) is transient


def test_a_pushed_back_call_is_tried_until_it_goes_through_and_a_refusal_is_raised_at_once() -> None:
    answers: list[Any] = [cancelled("None", "TransactionConflict"), refused("ThrottlingException"), "done"]
    seen: list[ClientError] = []

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, ClientError):
            raise answer
        return str(answer)

    assert pushed_back_retried(call, seen.append, NO_PAUSE, sleep=lambda _: None) == "done"
    assert len(seen) == 2

    answers[:] = [cancelled("ConditionalCheckFailed"), "never"]
    with pytest.raises(ClientError):
        pushed_back_retried(call, seen.append, NO_PAUSE, sleep=lambda _: None)
    assert answers == ["never"]


def test_a_start_and_a_status_change_cancelled_for_a_conflict_go_through_on_their_next_try(
    api: Any, given: Any
) -> None:
    # Given DynamoDB cancelling the next two transactions for a conflict, as another holding an item would
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    conflicts: list[str] = []

    def conflict_twice(params: dict[str, Any]) -> None:
        if len(conflicts) < 2:
            conflicts.append("cancelled")
            raise cancelled(*(["None"] * (len(params["TransactItems"]) - 1)), "TransactionConflict")

    # When a run is started, then paused
    with before_request("TransactWriteItems", conflict_twice):
        run = api.start(definition["_id"], input_params=DEVICE_SYNC_INPUT)
    conflicts.clear()
    with before_request("TransactWriteItems", conflict_twice):
        paused = api.change_status(run["_id"], "PAUSED")

    # Then both answered as if nothing had happened, and the counts are right
    assert paused.status == 200, paused.text
    assert api.get(run["_id"]).body["_status"] == "PAUSED"
    assert api.list(_status="PAUSED").body["_total"] == 1
    assert api.list(_status="QUEUED").body["_total"] == 0

"""Figure 4: in-process latency of ``GET /workflows/{id}`` against the one DynamoDB read it performs.

Both run in this process against moto, alternately, after a warm-up; the figure is the median of the
ratios of each call to the read that follows it.
The table is small on purpose: moto's cost per read grows with the table, which would hide the handler's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.api import Api, expect
from bench.call_requests import NAMESPACE, ONE_TASK, TARGET_URL
from bench.report import Row
from bench.stack import Stack

WARM_UP = 30
CALLS = 300
TARGET_RATIO = 1.5


def _seconds(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(stack: Stack) -> list[Row]:
    from workflowsvc.store import dynamo, keys

    api = Api(stack)
    query = {"nsfilter": NAMESPACE}
    definition = expect(api.call("CreateWorkflowDefFunction", query=query, body=ONE_TASK), 201)
    body = {"_workflowDefId": definition["_id"], "_inputParams": {"_url": TARGET_URL}}
    run_id = expect(api.call("StartWorkflowFunction", query=query, body=body), 201)["_id"]

    event = api.http_event("GetWorkflowFunction", path_parameters={"workflowId": run_id}, query=query)
    lambda_handler, context = api.handler("GetWorkflowFunction"), api.context("GetWorkflowFunction")
    client = dynamo.dynamodb_client()

    def handler() -> None:
        answer = lambda_handler(event, context)
        assert answer["statusCode"] == 200, answer

    def raw_read() -> None:
        # The Query the store's RunStore.get sends.
        answer = client.query(
            TableName=stack.table_name,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ns)",
            ExpressionAttributeValues={":pk": {"S": keys.run_pk(run_id)}, ":ns": {"S": keys.COPY_SK_PREFIX}},
            ProjectionExpression="v, sh, #doc",
            ExpressionAttributeNames={"#doc": "doc"},
            Limit=1,
            ConsistentRead=False,
        )
        assert answer["Items"], answer

    for _ in range(WARM_UP):
        handler()
        raw_read()
    handler_s, raw_s = [], []
    for _ in range(CALLS):
        handler_s.append(_seconds(handler))
        raw_s.append(_seconds(raw_read))
    handler_ms = statistics.median(handler_s) * 1000
    raw_ms = statistics.median(raw_s) * 1000
    # Each call is paired with the read that follows it, so a busy moment of the machine weighs on both.
    ratio = statistics.median(h / r for h, r in zip(handler_s, raw_s, strict=True))
    return [
        Row(
            f"get one run: handler vs its raw Query, in-process moto (median of {CALLS} pairs)",
            f"{handler_ms:.2f} ms vs {raw_ms:.2f} ms: {ratio:.2f}x (+{handler_ms - raw_ms:.2f} ms)",
            f"<= {TARGET_RATIO}x",
            ratio <= TARGET_RATIO,
        )
    ]

"""``python -m bench``: measure every figure, print the table, write ``docs/benchmarks.md``."""

from __future__ import annotations

import contextlib
import io
import sys
import time
import warnings
from typing import Any

from workflowsvc.store import keys

from bench import (
    REPO_ROOT,
    call_requests,
    coldstart,
    contention,
    datasets,
    latency,
    list_reads,
    report,
    worker,
    write_model,
)
from bench.moto_speedups import faster_moto, same_answers
from bench.stack import Stack, moto_stack, use_fake_aws_environment
from localrun import moto_dynamodb

OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"

HOW_MEASURED = (
    """
Everything runs on this machine with no network: DynamoDB and SQS are moto (`mock_aws`, in-process),
with the table and queues created from `template.yaml` (`localrun.aws_resources`) and the functions'
environment from the template. API calls go through the real `lambda_handler` of each function with an
API Gateway HTTP API (payload 2.0) event carrying the JWT authorizer's claims; the worker gets SQS events
as Lambda's poller builds them, one message per invocation as the template configures, and its
REST_CONNECTOR calls an HTTP server on 127.0.0.1 (allowed through `RestConnectorAllowedNetworks`).

Requests and items read are counted on the service's own boto3 clients (botocore `after-call` events on
`workflowsvc.store.dynamo.dynamodb_client()` and `workflowsvc.task_queue.sqs_client()`). Items read are what
DynamoDB bills: `ScannedCount` of a Query (items examined, before any filter), one per item GetItem
found, the items BatchGetItem answered; moto's ConsumedCapacity is not used (it is a fixed value). The
60,000 runs (10,000 in the measured namespace, 10,000 in each of five others) are made by
`runs.new_run`, moved to a realistic mix of statuses, turned into items by `RunStore.items` and
written with BatchWriteItem together with matching namespace counters (spread over the namespace's counter
items, as concurrent starts leave them); the second namespace is spread over 8 partitions of the index, as
one written hard is. Every list answer is checked against what was written (the runs on the page and
`_total`). Items read are told apart: index entries (a Query of an index), documents (the BatchGetItem of
the page's runs) and counter items (the BatchGetItem of the namespace's counters).

moto is the tests' and `make run`'s: `localrun.moto_dynamodb` serves one DynamoDB request at a time and
has a transaction back up only the items it names (moto's own copies the whole table). moto sorts the
whole table on every Query in Python, which at 60,000 items costs seconds per call; for the request
counts and the worker, the bench swaps in equivalent code (`bench/moto_speedups.py`: same items, same
order, same `ScannedCount`) after checking on a smaller table that it answers as moto's own does, failed
transactions included. The latency figure uses moto without those speed-ups.
Latencies are medians of in-process calls: the code's own cost beside an in-process moto read, not what
a deployed function sees. Cold starts are medians of fresh processes on this machine's Python (the
Lambda runtime is Python 3.13 on arm64), with bytecode compiled beforehand; on a busy machine all of
them slow down alike, the ratios much less. The peer column gives a published figure of a service users
compare this one with, where there is one (`bench/peers.py`, with its sources).
"""
    + f"""
Contention: clients at once in one namespace, each a thread with its own copy of each function's module
(an execution environment of its own, as concurrent invocations have in Lambda), through
`localrun.moto_dynamodb`'s concurrency double: a transaction holds the items it wrote for
{contention.HOLD_SECONDS * 1000:.0f} ms and meanwhile DynamoDB's answers are given to anything that touches
them (a transaction cancelled for `TransactionConflict`, a single write refused). A start or a status
change that answers 5xx, a started run that cannot be read or listed, or a `_total` that is not the number
of runs started is a miss.

The write model prices every write request the service sends as DynamoDB bills it (`bench/capacity.py`, on
the service's DynamoDB client). Per item: one write unit per started KB of the larger of the item before
and after, twice that in a transaction, a ConditionCheck as a transactional write of the item it checks
([item sizes and writes](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html),
[transactions](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html)).
Per index of the template's table, from the item's entry before and after: a put when the item enters
the index, a delete when it leaves, both when its index key changes, one write when only projected
attributes change, nothing otherwise; each sized on the entry (table keys, index keys, projected
attributes), never doubled by a transaction, and landing on the entry's partition key value
([GSI writes](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html); where the AWS
pages are silent, the rules that the
[dynoxide](https://github.com/nubo-db/dynoxide/blob/main/src/actions/index_capacity.rs) emulator measured
on DynamoDB). The items before and after each request are read from moto's store without a request. The
workload: one definition of three REST_CONNECTOR tasks, then {write_model.RUNS} runs in one namespace,
each started through `StartWorkflowFunction`'s handler and taken to COMPLETED by the worker
(`Worker.process`, its calls answered on 127.0.0.1). A key's rate at S starts a second in one namespace is
its units in the replay x S / {write_model.RUNS}; DynamoDB gives one partition key
{write_model.PARTITION_WRITE_LIMIT:,} write units a second. `python -m bench.write_model` runs it alone.
"""
)


def _progress(began: float) -> report.Progress:
    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:4.0f} s] {text}", file=sys.stderr, flush=True)

    return say


def _check_faster_moto(stack: Stack) -> bool:
    """The faster moto answers a mix of the service's requests exactly as moto's own does."""
    written = datasets.write_runs(
        stack.dynamodb, stack.table_name, datasets.generate_runs(600, ("tenant-x", "tenant-y", "tenant-z"))
    )
    run_key = keys.key(
        keys.run_pk(written.runs_by_namespace["tenant-x"][17].run_id), keys.copy_sk("tenant-x")
    )
    counter_key = keys.counter_key("tenant-x", 0)
    table_name = stack.table_name
    index_query: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": "NamespaceIndex",
        "KeyConditionExpression": "gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": {"S": keys.run_partition("tenant-y", 0)},
            ":lo": {"S": keys.created_sort_key("0", "")},
            ":hi": {"S": keys.created_upper_bound("9")},
        },
    }
    first_page = stack.dynamodb.query(**index_query, Limit=11, ScanIndexForward=False)
    filtered = dict(index_query, FilterExpression="st IN (:a, :b)")
    filtered["ExpressionAttributeValues"] = {
        **index_query["ExpressionAttributeValues"],
        ":a": {"S": "FAILED"},
        ":b": {"S": "PAUSED"},
    }
    # Applies a put and a counter update, then fails its condition: both must be rolled back.
    cancelled = {
        "TransactItems": [
            {"Put": {"TableName": table_name, "Item": {"pk": {"S": "CHECK#1"}, "sk": {"S": "CHECK"}}}},
            {
                "Update": {
                    "TableName": table_name,
                    "Key": counter_key,
                    "UpdateExpression": "ADD #all :d",
                    "ExpressionAttributeNames": {"#all": keys.ALL_RUNS},
                    "ExpressionAttributeValues": {":d": {"N": "5"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table_name,
                    "Key": run_key,
                    "ConditionExpression": "v = :v",
                    "ExpressionAttributeValues": {":v": {"N": "-1"}},
                }
            },
        ]
    }
    return same_answers(
        stack.dynamodb,
        [
            ("query", dict(index_query, Limit=11, ScanIndexForward=False)),
            (
                "query",
                dict(
                    index_query,
                    Limit=11,
                    ScanIndexForward=False,
                    ExclusiveStartKey=first_page["LastEvaluatedKey"],
                ),
            ),
            ("query", dict(index_query, ScanIndexForward=True)),
            ("query", dict(filtered, Limit=40, ScanIndexForward=False)),
            ("query", dict(filtered, Select="COUNT")),
            (
                "query",
                {
                    "TableName": table_name,
                    "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ns)",
                    "ExpressionAttributeValues": {":pk": run_key["pk"], ":ns": {"S": keys.COPY_SK_PREFIX}},
                    "Limit": 1,
                },
            ),
            ("get_item", {"TableName": table_name, "Key": counter_key}),
            ("batch_get_item", {"RequestItems": {table_name: {"Keys": [counter_key, run_key]}}}),
            ("transact_write_items", cancelled),
            ("get_item", {"TableName": table_name, "Key": counter_key}),
            ("get_item", {"TableName": table_name, "Key": {"pk": {"S": "CHECK#1"}, "sk": {"S": "CHECK"}}}),
        ],
    )


# The sample event of each API function's first request (events/<name>.json).
_FIRST_EVENTS = {
    "functions.update_workflow_status.app": "update_workflow_status_paused",
}


def _cold_start_targets(stack: Stack) -> list[coldstart.Target]:
    """Every API function (a target each), and the worker (reported, no target). The console's
    function, on routes open to anyone, serves files and is not an API function."""
    targets = [
        coldstart.Target(
            f.logical_id,
            f.module_name,
            stack.function_environment(f.logical_id),
            event=_FIRST_EVENTS.get(f.module_name, f.module_name.split(".")[1]),
        )
        for f in (route.function for route in stack.template.http_routes() if not route.public)
    ]
    worker_function = stack.template.function("TaskWorkerFunction")
    targets.append(
        coldstart.Target(
            worker_function.logical_id,
            worker_function.module_name,
            stack.function_environment(worker_function.logical_id),
            has_target=False,
        )
    )
    return targets


def main() -> int:
    began = time.perf_counter()
    progress = _progress(began)
    use_fake_aws_environment()
    # Metrics with nothing to publish warn on every call; the handlers' output is not the bench's.
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    with contextlib.redirect_stdout(io.StringIO()):
        with moto_stack() as stack:
            if not _check_faster_moto(stack):
                print("the faster moto answers differently from moto's own: stopping", file=sys.stderr)
                return 1
            targets = _cold_start_targets(stack)
        progress("moto speed-ups checked; cold starts")
        cold_rows, import_costs = coldstart.measure(targets)

        progress("handler latency (moto without the speed-ups)")
        with moto_dynamodb.installed(), moto_stack() as stack:
            latency_rows = latency.measure(stack)
        with faster_moto():
            progress("requests per call")
            with moto_stack() as stack:
                request_rows = call_requests.measure(stack)
            progress("worker")
            with moto_stack(**worker.ALLOWED_NETWORKS) as stack:
                worker_rows = worker.measure(stack)
            progress("contention")
            with moto_stack(**worker.ALLOWED_NETWORKS) as stack:
                contention_rows = contention.measure(stack, progress)
            progress("write model")
            with moto_stack(**worker.ALLOWED_NETWORKS) as stack:
                write_rows, hottest_keys = write_model.measure(stack, progress)
            progress(f"writing {list_reads.RUN_COUNT:,} runs for the list calls")
            with moto_stack() as stack:
                list_rows = list_reads.measure(stack, progress)

    rows = list_rows + request_rows + cold_rows + latency_rows + worker_rows + contention_rows + write_rows
    duration = time.perf_counter() - began
    print(report.table(rows))
    print()
    print(import_costs)
    print()
    print(hottest_keys)
    missed = sum(1 for row in rows if row.met is False)
    print(f"\n{missed} target(s) missed; took {duration:.0f} s; written to {OUTPUT.relative_to(REPO_ROOT)}")
    report.write_markdown(
        OUTPUT,
        rows,
        HOW_MEASURED,
        {"Cold start: where the time goes": import_costs, "Write model: the hottest keys": hottest_keys},
        duration,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

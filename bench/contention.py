"""Clients at once in one namespace, against DynamoDB's concurrency (``localrun.moto_dynamodb``'s double).

Each transaction holds the items it writes for ``HOLD_SECONDS`` after applying, and DynamoDB's answer to
anything that touches them meanwhile is given: a transaction cancelled for ``TransactionConflict``, a
single write refused. Each client is a thread with an execution environment of its own (a copy of each
function's module, as a Lambda execution environment loads it), calling the real handlers.

- burst: ``BURST_RUNS`` starts from ``BURST_CLIENTS`` clients; then every run read and listed.
- storm: ``STORM_RUNS`` runs paused, then resumed, from ``STORM_CLIENTS`` clients.
- burst with the worker: ``WORKED_RUNS`` three-task runs started from ``WORKED_CLIENTS`` clients while
  ``WORKERS`` workers take their step messages, until every run has ended.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar
from unittest import mock

from bench import peers
from bench.api import Answer, Api
from bench.report import Progress, Row
from bench.stack import Stack
from bench.worker import local_target
from localrun import lambda_runtime, moto_dynamodb, moto_sqs

HOLD_SECONDS = 0.01
NAMESPACE = "tenant-burst"
BURST_RUNS, BURST_CLIENTS = 200, 16
STORM_RUNS, STORM_CLIENTS = 50, 8
WORKED_RUNS, WORKED_CLIENTS, WORKERS = 100, 8, 4
WORK_TIME_LIMIT_S = 120

T = TypeVar("T")
URL_FROM_INPUT = "${workflow._inputParams._url}"
ONE_CALL = {"_name": "ping", "_tasks": [{"_name": "ping", "_type": "REST_CONNECTOR"}]}
THREE_CALLS = {
    "_name": "three_pings",
    "_tasks": [
        {"_name": f"ping_{n}", "_type": "REST_CONNECTOR", "_inputParams": {"_url": URL_FROM_INPUT}}
        for n in range(3)
    ],
}


class Environments:
    """Each client's own copy of the functions' modules (``lambda_runtime.environment_copy``), as
    concurrent invocations each have an execution environment of their own in Lambda."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def call(self, client: int, logical_id: str, **request: Any) -> Answer:
        event = self.api.http_event(logical_id, **request)
        result = self._handler(logical_id, client)(event, self.api.context(logical_id))
        return Answer(status=int(result["statusCode"]), text=result.get("body") or "")

    def worker(self, client: int, messages: list[dict[str, Any]]) -> dict[str, Any]:
        event = self.api.sqs_event(messages)
        answer: dict[str, Any] = self._handler("TaskWorkerFunction", client)(
            event, self.api.context("TaskWorkerFunction")
        )
        return answer

    def _handler(self, logical_id: str, client: int) -> Callable[[Any, Any], Any]:
        function = self.api.stack.template.function(logical_id)
        module = sys.modules[self.api.handler(logical_id).__module__]
        return getattr(lambda_runtime.environment_copy(module, client + 1), function.handler_name)  # type: ignore[no-any-return]


def at_once(clients: int, calls: list[Callable[[int], T]]) -> list[T]:
    """``calls`` made by ``clients`` threads at once (call ``i`` by client ``i % clients``), in order; the
    first failure of any is raised once all have finished."""
    answers: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []
    go = threading.Event()

    def client(index: int) -> None:
        go.wait()
        for position in range(index, len(calls), clients):
            try:
                answers[position] = calls[position](index)
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:  # all started before any calls: a busy thread can keep others from starting
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return answers


def _statuses(answers: list[Answer]) -> Counter[int]:
    return Counter(answer.status for answer in answers)


def _all_listed(api: Api) -> tuple[list[str], int]:
    seen: list[str] = []
    query: dict[str, str] = {"nsfilter": NAMESPACE, "_pageSize": "100"}
    while True:
        body = api.call("ListWorkflowsFunction", query=query).body
        seen += [run["_id"] for run in body["_list"]]
        if "_nextToken" not in body:
            return seen, int(body["_total"])
        query["_nextToken"] = body["_nextToken"]


def _burst(api: Api, environments: Environments, definition_id: str, url: str) -> Row:
    body = {"_workflowDefId": definition_id, "_inputParams": {"_url": url}}
    began = time.perf_counter()
    answers = at_once(
        BURST_CLIENTS,
        [
            lambda client: environments.call(
                client, "StartWorkflowFunction", query={"nsfilter": NAMESPACE}, body=body
            )
        ]
        * BURST_RUNS,
    )
    seconds = time.perf_counter() - began
    started = [answer.body["_id"] for answer in answers if answer.status == 201]
    readable = sum(
        api.call(
            "GetWorkflowFunction", path_parameters={"workflowId": run_id}, query={"nsfilter": NAMESPACE}
        ).status
        == 200
        for run_id in started
    )
    listed, total = _all_listed(api)
    lost = len(started) - min(readable, len(set(listed) & set(started)))
    server_errors = sum(n for status, n in _statuses(answers).items() if status >= 500)
    return Row(
        f"burst: {BURST_RUNS} starts from {BURST_CLIENTS} clients at once in one namespace",
        f"{server_errors} 5xx, {lost} lost, `_total` {total}; answers {dict(_statuses(answers))}; "
        f"{seconds:.1f} s",
        f"0 5xx, 0 lost, `_total` = {BURST_RUNS}",
        server_errors == 0 and lost == 0 and total == BURST_RUNS and len(started) == BURST_RUNS,
        peers.STEP_FUNCTIONS_STARTS,
    )


def _storm(api: Api, environments: Environments, definition_id: str, url: str) -> Row:
    body = {"_workflowDefId": definition_id, "_inputParams": {"_url": url}}
    query = {"nsfilter": NAMESPACE}
    runs = [api.call("StartWorkflowFunction", query=query, body=body).body["_id"] for _ in range(STORM_RUNS)]

    def change(run_id: str, status: str) -> Callable[[int], Answer]:
        def call(client: int) -> Answer:
            return environments.call(
                client,
                "UpdateWorkflowStatusFunction",
                path_parameters={"workflowId": run_id},
                query=query,
                body={"_status": status},
            )

        return call

    answers = at_once(STORM_CLIENTS, [change(run_id, "PAUSED") for run_id in runs])
    answers += at_once(STORM_CLIENTS, [change(run_id, "RESUMED") for run_id in runs])
    statuses = _statuses(answers)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    return Row(
        f"storm: {STORM_RUNS} runs of one namespace paused, then resumed, from {STORM_CLIENTS} clients",
        f"{server_errors} 5xx, {statuses[409]} 409; answers {dict(statuses)}",
        "0 5xx, 0 409",
        server_errors == 0 and statuses[409] == 0 and statuses[200] == 2 * STORM_RUNS,
    )


def _burst_with_worker(
    api: Api, environments: Environments, stack: Stack, definition_id: str, url: str
) -> Row:
    body = {"_workflowDefId": definition_id, "_inputParams": {"_url": url}}
    done = threading.Event()
    worker_failures: list[Any] = []

    def work(index: int) -> None:
        while not done.is_set():
            messages = stack.sqs.receive_message(
                QueueUrl=stack.queue_url, MaxNumberOfMessages=1, AttributeNames=["All"]
            ).get("Messages")
            if not messages:
                done.wait(0.02)
                continue
            answer = environments.worker(100 + index, messages)
            if answer.get("batchItemFailures"):
                worker_failures.append(answer)
                stack.sqs.change_message_visibility(
                    QueueUrl=stack.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])

    workers = [threading.Thread(target=work, args=(index,)) for index in range(WORKERS)]
    for thread in workers:
        thread.start()
    began = time.perf_counter()
    try:
        answers = at_once(
            WORKED_CLIENTS,
            [
                lambda client: environments.call(
                    client, "StartWorkflowFunction", query={"nsfilter": NAMESPACE}, body=body
                )
            ]
            * WORKED_RUNS,
        )
        started = [answer.body["_id"] for answer in answers if answer.status == 201]
        ended: Counter[str] = Counter()
        while time.perf_counter() - began < WORK_TIME_LIMIT_S:
            ended = Counter(
                api.call(
                    "GetWorkflowFunction",
                    path_parameters={"workflowId": run_id},
                    query={"nsfilter": NAMESPACE},
                ).body["_status"]
                for run_id in started
            )
            if ended["COMPLETED"] + ended["FAILED"] + ended["TIMED_OUT"] == len(started):
                break
            time.sleep(0.2)
    finally:
        done.set()
        for thread in workers:
            thread.join()
    seconds = time.perf_counter() - began
    server_errors = sum(n for status, n in _statuses(answers).items() if status >= 500)
    return Row(
        f"burst with the worker: {WORKED_RUNS} three-task runs started from {WORKED_CLIENTS} clients "
        f"while {WORKERS} workers run them",
        f"{server_errors} 5xx; {ended['COMPLETED']} of {len(started)} runs COMPLETED ({dict(ended)}); "
        f"{len(worker_failures)} worker messages failed and were delivered again; {seconds:.1f} s",
        "0 5xx, every run finishes",
        server_errors == 0 and len(started) == WORKED_RUNS and ended["COMPLETED"] == WORKED_RUNS,
    )


def measure(stack: Stack, progress: Progress) -> list[Row]:
    """The rows; ``stack`` allows the local target's address (``bench.worker.ALLOWED_NETWORKS``)."""
    api = Api(stack)
    environments = Environments(api)
    # Powertools keeps one set of metrics per process, shared by every copy of a module: clients that are
    # threads of one process would flush each other's (in Lambda each environment is a process).
    query = {"nsfilter": NAMESPACE}
    with (
        mock.patch.dict(os.environ, {"POWERTOOLS_METRICS_DISABLED": "true"}),
        moto_sqs.atomic(),
        local_target() as target_url,
        moto_dynamodb.concurrency_double(hold_seconds=HOLD_SECONDS) as double,
    ):
        one = api.call("CreateWorkflowDefFunction", query=query, body=ONE_CALL).body["_id"]
        three = api.call("CreateWorkflowDefFunction", query=query, body=THREE_CALLS).body["_id"]
        url = f"{target_url}/ping"
        rows = [_burst(api, environments, one, url)]
        progress("contention: burst")
        rows.append(_storm(api, environments, one, url))
        progress("contention: storm")
        # The storm's runs are QUEUED again: take them off the queue before the worker starts.
        stack.sqs.purge_queue(QueueUrl=stack.queue_url)
        rows.append(_burst_with_worker(api, environments, stack, three, url))
        rows.append(
            Row(
                "contention: what DynamoDB's concurrency refused along the way",
                f"{double.conflicts} transactions cancelled or writes refused for a conflict, "
                "each tried again",
            )
        )
    return rows

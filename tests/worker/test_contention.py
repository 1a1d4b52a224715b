"""Many clients at once, against DynamoDB's concurrency (``localrun.moto_dynamodb``'s double): each
transaction holds its items 10 ms, and what touches them meanwhile is cancelled or refused, as DynamoDB
does. Each client is a thread with an execution environment of its own, calling the real handlers.

What a user must see: no 5xx, no 409 for a run nobody else changed, nothing lost (every 201 readable and
listed, ``_total`` exact), every run moving to its end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from functions.task_worker import app as task_worker_app
from localrun import moto_dynamodb
from tests.support.harness import Api, Reply, Target, Worker, container, wait_for

T = TypeVar("T")


@pytest.fixture(autouse=True)
def metrics_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Powertools keeps one set of metrics per process, shared by every ``Metrics()``: execution environments
    that are threads of one process would flush each other's. (In Lambda each is a process of its own.)"""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


ONE_CALL = {"_name": "ping", "_tasks": [{"_name": "ping", "_type": "REST_CONNECTOR"}]}
THREE_CALLS = {
    "_name": "three_pings",
    "_tasks": [
        {
            "_name": f"ping_{n}",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "${workflow._inputParams._url}"},
        }
        for n in range(3)
    ],
}


def at_once(api: Api, clients: int, calls: list[Callable[[Api], T]]) -> list[T]:
    """``calls`` made by ``clients`` clients at once, each client a thread with an execution environment of
    its own; the answers in the order of ``calls``. The threads all start before any calls: a thread
    calling in a tight loop can keep the interpreter from starting the next one."""
    answers: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []
    go = threading.Event()

    def client(index: int) -> None:
        own = api.in_container(index + 1)
        go.wait()
        for position in range(index, len(calls), clients):
            try:
                answers[position] = calls[position](own)
            except BaseException as error:
                failures.append(error)

    threads = [threading.Thread(target=client, args=(index,), daemon=True) for index in range(clients)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(120)
    if failures:
        raise failures[0]
    return answers


def every_page(api: Api) -> tuple[list[str], int]:
    seen: list[str] = []
    token = None
    totals = set()
    while True:
        page = api.list(_pageSize="100", **({"_nextToken": token} if token else {}))
        totals.add(page["_total"])
        seen += [run["_id"] for run in page["_list"]]
        token = page.get("_nextToken")
        if token is None:
            assert len(totals) == 1, totals
            return seen, totals.pop()


@pytest.mark.parametrize("dynamodb_double", [0.01], indirect=True)
def test_a_burst_of_starts_in_one_namespace_answers_201_each_and_loses_none(
    api: Api, target: Target, dynamodb_double: moto_dynamodb.Double
) -> None:
    # Given a definition, and 16 clients
    definition = api.create_definition(ONE_CALL)
    inputs = {"_url": target.url("/ping")}

    # When they start 120 runs at once in one namespace
    started = at_once(api, 16, [lambda client: client.start(definition["_id"], inputs)] * 120)

    # Then every start answered 201 (Api fails on anything else)
    ids = [run["_id"] for run in started]
    assert len(set(ids)) == 120
    # And every run is readable, listed once, and counted
    assert all(api.get(run_id)["_status"] == "QUEUED" for run_id in ids)
    listed, total = every_page(api)
    assert sorted(listed) == sorted(ids)
    assert total == 120
    assert api.list(_status="QUEUED")["_total"] == 120


@pytest.mark.parametrize("dynamodb_double", [0.01], indirect=True)
def test_a_storm_of_pauses_and_resumes_on_distinct_runs_never_answers_409(
    api: Api, target: Target, dynamodb_double: moto_dynamodb.Double
) -> None:
    # Given 40 runs of one namespace
    definition = api.create_definition(ONE_CALL)
    runs = [api.start(definition["_id"], {"_url": target.url("/ping")})["_id"] for _ in range(40)]

    # When 8 clients pause them all at once, then resume them all at once
    def change(status: str) -> list[Callable[[Api], Reply]]:
        return [lambda client, run_id=run_id: client.change_status(run_id, status) for run_id in runs]

    paused = at_once(api, 8, change("PAUSED"))
    resumed = at_once(api, 8, change("RESUMED"))

    # Then each change answered 200: no run was changed by anyone else, so none may be a 409
    assert [reply.status for reply in paused + resumed] == [200] * 80, [
        r for r in paused + resumed if r.status != 200
    ]
    assert dynamodb_double.conflicts > 0
    assert api.list(_status="QUEUED")["_total"] == 40
    assert api.list(_status="PAUSED")["_total"] == 0


@pytest.mark.parametrize("dynamodb_double", [0.01], indirect=True)
def test_a_burst_of_starts_with_the_worker_running_them_alongside_finishes_every_run(
    api: Api, worker: Worker, target: Target, dynamodb_double: moto_dynamodb.Double
) -> None:
    # Given a three-task definition whose target answers at once, and 4 workers taking messages
    target.reply("/ping", {"pong": True})
    definition = api.create_definition(THREE_CALLS)
    inputs = {"_url": target.url("/ping")}
    started: list[str] = []
    done = threading.Event()
    failures: list[Any] = []

    def work(index: int) -> None:
        module = container(task_worker_app, 10 + index)  # an execution environment of its own
        while not done.is_set():
            messages = worker.receive(1)
            if not messages:
                done.wait(0.02)  # as Lambda's poller waits on an empty queue, rather than spin
                continue
            delivery = worker.invoke(worker.event_for(messages), module=module)
            if delivery.failed_ids:
                failures.append(delivery.errors)
                worker.sqs.change_message_visibility(
                    QueueUrl=worker.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                worker.sqs.delete_message(
                    QueueUrl=worker.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"]
                )

    workers = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(4)]
    for thread in workers:
        thread.start()
    try:
        # When 8 clients start 40 runs at once while the workers run them
        started = [run["_id"] for run in at_once(api, 8, [lambda c: c.start(definition["_id"], inputs)] * 40)]

        # Then every run completes, each of its calls made once
        wait_for(
            lambda: api.list(_status="COMPLETED")["_total"] == 40, timeout=60, what="every run to complete"
        )
    finally:
        done.set()
        for thread in workers:
            thread.join(10)
    assert not failures, failures
    assert all(api.get(run_id)["_status"] == "COMPLETED" for run_id in started)
    assert target.calls("/ping") == 120


@pytest.mark.parametrize(
    "dynamodb_double", [{"hold_seconds": 0.01, "throttle_rate": 0.2, "seed": 7}], indirect=True
)
def test_starts_and_reads_under_throttling_answer_as_usual(
    api: Api, target: Target, dynamodb_double: moto_dynamodb.Double
) -> None:
    # Given DynamoDB refusing one request in five for throughput
    definition = api.create_definition(ONE_CALL)

    # When 8 clients start 30 runs and read them
    started = at_once(
        api, 8, [lambda client: client.start(definition["_id"], {"_url": target.url("/p")})] * 30
    )
    read = at_once(api, 8, [lambda client, run=run: client.get(run["_id"]) for run in started])

    # Then nothing failed, and the requests were throttled along the way
    assert dynamodb_double.throttled > 0
    assert [run["_id"] for run in read] == [run["_id"] for run in started]
    assert api.list()["_total"] == 30

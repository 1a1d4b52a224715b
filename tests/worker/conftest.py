"""Fixtures of the worker tests (what they build is in ``tests/support/harness.py``).

Autouse: a clock the test can move (``tests/support/clock.py``); moto's SQS serves one request at a
time, as SQS applies each atomically (DynamoDB requests are made atomic by ``localrun.moto_dynamodb``,
installed by ``aws_mock``). (Every test, here as elsewhere, may only connect to loopback:
``tests/network_guard.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from workflowsvc import service, task_queue
from workflowsvc.execution import worker as worker_module
from workflowsvc.store import Store, dynamo

from localrun import aws_resources, moto_sqs
from tests.support.clock import ShiftedClock
from tests.support.harness import Api, Sweeper, Target, Worker, WriteCounter


@pytest.fixture(autouse=True)
def clock(clock: ShiftedClock) -> ShiftedClock:
    """Every worker test's parts read a clock the test can move, installed before any part is built."""
    return clock


@pytest.fixture(autouse=True)
def atomic_sqs_requests() -> Iterator[None]:
    """moto's SQS serves one request at a time, as SQS applies each atomically (``localrun.moto_sqs``)."""
    with moto_sqs.atomic():
        yield


@pytest.fixture
def api(aws_stack: aws_resources.Resources) -> Api:
    return Api()


@pytest.fixture
def store(table_name: str) -> Store:
    return Store.for_table(table_name)


@pytest.fixture
def worker(aws_stack: aws_resources.Resources, sqs_client: Any) -> Worker:
    # The clients and the worker are made here, before any thread starts: boto3 does not make them safely
    # from two threads at once.
    worker_module.get_worker()
    service.get_context()
    dynamo.dynamodb_client()
    task_queue.sqs_client()
    return Worker(sqs_client, aws_stack["TaskQueue"], aws_stack.arn("TaskQueue"))


@pytest.fixture
def sweeper(aws_stack: aws_resources.Resources) -> Sweeper:
    return Sweeper()


@pytest.fixture
def target() -> Iterator[Target]:
    server = Target()
    yield server
    server.close()


@pytest.fixture
def dynamodb_writes(aws_stack: aws_resources.Resources) -> Iterator[WriteCounter]:
    """Counts the write requests of the service's DynamoDB client, between ``start()`` and ``stop()``."""
    counter = WriteCounter()
    client = dynamo.dynamodb_client()
    counter.register(client)
    yield counter
    counter.unregister(client)

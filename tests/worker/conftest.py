"""Fixtures of the worker tests (what they build is in ``harness.py``).

Autouse: the engine and service caches are cleared around each test; moto's SQS serves one request at
a time, as SQS applies each atomically (DynamoDB requests are made atomic by ``localrun.moto_dynamodb``,
installed by ``aws_mock``). (Every test, here as elsewhere, may only connect to loopback:
``tests/network_guard.py``.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from moto.core.botocore_stubber import BotocoreStubber
from workflowsvc import engine, repository, service, task_queue
from workflowsvc.repository import Repository

from localrun import aws_resources
from tests.worker.harness import Api, Sweeper, Target, Worker, WriteCounter


@pytest.fixture(autouse=True)
def fresh_engine_and_service() -> Iterator[None]:
    """Both keep the settings and clients they were built with: build them anew for each test."""
    service.get_service.cache_clear()
    engine.get_engine.cache_clear()
    yield
    service.get_service.cache_clear()
    engine.get_engine.cache_clear()


@pytest.fixture(autouse=True)
def atomic_sqs_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's SQS serves requests from several threads without a lock (two receivers can take the same
    message); SQS applies each request atomically. One SQS request at a time here, so that concurrent
    workers race the way they would against the real service. DynamoDB requests are left to
    ``localrun.moto_dynamodb``'s lock: a lock around them here would also hold the concurrency double's
    transactions in flight, one at a time."""
    lock = threading.RLock()
    real_process_request = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if (urlsplit(request.url).hostname or "").startswith("dynamodb."):
            return real_process_request(self, request)
        with lock:
            return real_process_request(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


@pytest.fixture
def api(aws_stack: aws_resources.Resources) -> Api:
    return Api()


@pytest.fixture
def repo(table_name: str) -> Repository:
    return Repository(table_name)


@pytest.fixture
def worker(aws_stack: aws_resources.Resources, sqs_client: Any) -> Worker:
    # The clients and the engine are made here, before any thread starts: boto3 does not make them safely
    # from two threads at once.
    engine.get_engine()
    service.get_service()
    repository.dynamodb_client()
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
    client = repository.dynamodb_client()
    counter.register(client)
    yield counter
    counter.unregister(client)

"""Fixtures of the worker tests (what they build is in ``harness.py``).

Autouse: the engine and service caches are cleared around each test; only loopback connections go
through (``connect_attempts`` records every address tried, and any other one stops the test before it
leaves the machine); moto serves one request at a time, as DynamoDB and SQS apply each atomically.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber
from workflowsvc import engine, repository, service, task_queue
from workflowsvc.repository import Repository

from localrun import aws_resources
from tests.worker.harness import (
    Api,
    NonLoopbackConnect,
    Sweeper,
    Target,
    Worker,
    WriteCounter,
    is_loopback,
)


@pytest.fixture(autouse=True)
def fresh_engine_and_service() -> Iterator[None]:
    """Both keep the settings and clients they were built with: build them anew for each test."""
    service.get_service.cache_clear()
    engine.get_engine.cache_clear()
    yield
    service.get_service.cache_clear()
    engine.get_engine.cache_clear()


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hosts of every connection attempted in this process during the test; only loopback goes through."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def guard(address: Any) -> None:
        if isinstance(address, tuple):  # AF_INET / AF_INET6; AF_UNIX paths stay on the machine
            host = str(address[0])
            attempts.append(host)
            if not is_loopback(host):
                raise NonLoopbackConnect(f"a worker test tried to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


@pytest.fixture(autouse=True)
def atomic_aws_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto serves requests from several threads without a lock (a failed transaction even restores a
    copy of the whole table); DynamoDB and SQS apply each request atomically. One request at a time
    here, so that concurrent workers race the way they would against the real services."""
    lock = threading.RLock()
    real_process_request = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
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

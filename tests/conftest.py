"""Fixtures shared by every test: fake AWS credentials, moto, the template's resources, clean caches.

The fixtures' moto has ``localrun.moto_dynamodb`` installed: one DynamoDB request at a time, a failed
transaction undoing its own items only. ``dynamodb_double`` adds DynamoDB's transaction conflicts (and,
on request, throttling) for a test.

The environment is set when this file is imported, before any test module imports a handler: Powertools
reads ``POWERTOOLS_*`` when its objects are created at import time, and boto3 must never see real credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from workflowsvc import config, timestamps

from localrun import aws_resources, moto_dynamodb
from tests import network_guard
from tests.support.clock import ShiftedClock

REGION = aws_resources.LOCAL_REGION

FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": "workflowsvc",
    "POWERTOOLS_METRICS_NAMESPACE": "workflowsvc",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "WORKFLOWSVC_ENVIRONMENT": "local",
    # What the template gives every function, so that handlers import (they check it at init); the
    # ``aws_stack`` fixture points them at the template's resources in moto.
    "TABLE_NAME": "workflowsvc-tests",
    "TASK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com.invalid/000000000000/workflowsvc-tests",
}
# Anything that could send a client elsewhere than moto, or to a real account.
UNSET_AWS_ENVIRONMENT = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
)

for _name in UNSET_AWS_ENVIRONMENT:
    os.environ.pop(_name, None)
os.environ.update(FAKE_AWS_ENVIRONMENT)


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hosts of every connection attempted in this process during the test; only loopback goes through."""
    return network_guard.install(monkeypatch)


def reset_cached_state() -> None:
    """Forget settings read from the environment, boto3 clients made for another moto, and every part
    built from them (what a Lambda container keeps between invocations)."""
    config.reset()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, Powertools names, ``WORKFLOWSVC_ENVIRONMENT=local``; caches cleared
    before and after each test."""
    for name in UNSET_AWS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    reset_cached_state()
    yield
    reset_cached_state()


@pytest.fixture
def clock() -> Iterator[ShiftedClock]:
    """The clock every part of the service built in this test reads; ``clock.advance(s)`` moves it on."""
    shifted = ShiftedClock()
    previous = timestamps.use_clock(shifted)
    reset_cached_state()
    yield shifted
    timestamps.use_clock(previous)
    reset_cached_state()


@pytest.fixture
def aws_mock(aws_environment: None) -> Iterator[None]:
    """moto's ``mock_aws`` (with ``localrun.moto_dynamodb`` installed), started before the code under test
    creates any client."""
    with mock_aws(), moto_dynamodb.installed():
        reset_cached_state()
        yield
    reset_cached_state()


@pytest.fixture
def dynamodb_double(request: pytest.FixtureRequest) -> Iterator[moto_dynamodb.Double]:
    """moto's DynamoDB as DynamoDB handles concurrent transactions, for this test: each transaction holds
    its items 0.01 s after applying, and what touches them meanwhile is cancelled or refused (see
    ``localrun.moto_dynamodb``). Other settings through indirect parametrization, a hold time or the
    keywords of ``moto_dynamodb.enable_double``::

        @pytest.mark.parametrize("dynamodb_double", [0.05], indirect=True)
        @pytest.mark.parametrize("dynamodb_double", [{"throttle_rate": 0.1, "seed": 1}], indirect=True)

    Yields the double's state: ``conflicts`` and ``throttled`` count what it refused.
    """
    settings = getattr(request, "param", {})
    if not isinstance(settings, dict):
        settings = {"hold_seconds": settings}
    with moto_dynamodb.concurrency_double(**settings) as double:
        yield double


@pytest.fixture
def dynamodb_client(aws_mock: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def sqs_client(aws_mock: None) -> Any:
    return boto3.client("sqs", region_name=REGION)


@pytest.fixture(scope="session")
def template() -> aws_resources.Template:
    """``template.yaml``, parsed (short tags kept as ``aws_resources.Intrinsic``)."""
    return aws_resources.load_template()


@pytest.fixture
def aws_stack(
    template: aws_resources.Template, dynamodb_client: Any, sqs_client: Any, monkeypatch: pytest.MonkeyPatch
) -> aws_resources.Resources:
    """Every table and queue of ``template.yaml`` created in moto, and the environment every function gets
    (``TABLE_NAME``, ``TASK_QUEUE_URL``, ``NAMESPACES_CLAIM``, ``PAGE_TOKEN_SECRET``...) set.

    ``resources["WorkflowTable"]`` is the table name, ``resources["TaskQueue"]`` the queue URL,
    ``resources.arn("TaskQueue")`` its ARN.
    """
    resources = aws_resources.create_resources(template, dynamodb_client, sqs_client)
    for function in template.functions():
        environment = template.function_environment(
            function.logical_id, resources, overrides={"WORKFLOWSVC_ENVIRONMENT": "local"}
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
    reset_cached_state()
    return resources


@pytest.fixture
def table_name(aws_stack: aws_resources.Resources) -> str:
    return aws_stack["WorkflowTable"]


@pytest.fixture
def task_queue_url(aws_stack: aws_resources.Resources) -> str:
    return aws_stack["TaskQueue"]


@pytest.fixture
def dead_letter_queue_url(aws_stack: aws_resources.Resources) -> str:
    return aws_stack["TaskDeadLetterQueue"]


@pytest.fixture
def lambda_context() -> aws_resources.LambdaContext:
    """A Lambda context object (function name, memory, ARN, request id, remaining time)."""
    return aws_resources.LambdaContext(
        function_name="workflowsvc-test", memory_limit_in_mb=1024, timeout_seconds=10
    )

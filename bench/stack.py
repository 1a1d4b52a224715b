"""The template's table and queues in a fresh moto account, and the environment every function gets.

Fake credentials and region are set before any boto3 client is created, and every variable that could
send a client to a real endpoint is removed: nothing here leaves the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from localrun import aws_resources

REGION = aws_resources.LOCAL_REGION

# What Lambda gives every function (with fake values), and no instance metadata to fall back on.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
FAKE_AWS_ENVIRONMENT = {
    **FAKE_CREDENTIALS,
    "POWERTOOLS_SERVICE_NAME": "workflowsvc",
    "POWERTOOLS_METRICS_NAMESPACE": "workflowsvc",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
UNSET_AWS_ENVIRONMENT = (
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
)


def use_fake_aws_environment() -> None:
    for name in UNSET_AWS_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ.update(FAKE_AWS_ENVIRONMENT)


def forget_cached_state() -> None:
    """Settings, clients and the parts built from them are kept once per process: build them again."""
    from workflowsvc import config

    config.reset()


@dataclass(frozen=True)
class Stack:
    template: aws_resources.Template
    resources: aws_resources.Resources
    dynamodb: Any  # the bench's own clients, for building data and checking results
    sqs: Any

    @property
    def table_name(self) -> str:
        return self.resources["WorkflowTable"]

    @property
    def queue_url(self) -> str:
        return self.resources["TaskQueue"]

    @property
    def queue_arn(self) -> str:
        return self.resources.arn("TaskQueue")

    def context(self, logical_id: str) -> aws_resources.LambdaContext:
        return aws_resources.LambdaContext.for_function(self.template.function(logical_id))

    def function_environment(self, logical_id: str, **overrides: str) -> dict[str, str]:
        return self.template.function_environment(logical_id, self.resources, overrides=overrides)


@contextmanager
def moto_stack(**environment_overrides: str) -> Iterator[Stack]:
    """A fresh moto account holding the template's table and queues; the functions' environment is set.

    ``environment_overrides`` change what the template gives every function (e.g. the egress networks).
    """
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    use_fake_aws_environment()
    template = aws_resources.load_template()
    with mock_aws():
        # The bench's own client writes data sets of thousands of items: no client-side validation.
        dynamodb = boto3.client("dynamodb", region_name=REGION, config=Config(parameter_validation=False))
        sqs = boto3.client("sqs", region_name=REGION)
        resources = aws_resources.create_resources(template, dynamodb, sqs)
        stack = Stack(template=template, resources=resources, dynamodb=dynamodb, sqs=sqs)
        for function in template.functions():
            os.environ.update(stack.function_environment(function.logical_id, **environment_overrides))
        forget_cached_state()
        try:
            yield stack
        finally:
            forget_cached_state()

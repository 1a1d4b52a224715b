"""Fixtures of the integration tests: the real handlers fed ``events/`` payloads, against the template's
table and queues in moto.

- ``api``: invokes a function's ``lambda_handler`` with an event and returns a ``Reply``; it also checks,
  for every answer, what the contract promises of all of them (never a 500, always JSON, error bodies
  of the contract's shape).
- ``given``: Given steps. Definitions are created through the API; runs in any status are written
  through the store (the API can only start QUEUED runs).
- ``task_queue``: the messages the API sent to the worker.

The template's table and queues are created in moto once per test module (``localrun.aws_resources``, as
``tests/conftest.py`` does) and emptied before every test: creating them is most of what a test costs.
``aws_stack``, ``dynamodb_client`` and ``sqs_client`` are overridden here to that end; each test still
starts with an empty table, empty queues, the functions' environment and fresh clients and caches.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from workflowsvc import config
from workflowsvc.models.run import RunRecord
from workflowsvc.store import Store

from functions.create_workflowdef import app as create_workflowdef_app
from functions.get_workflow import app as get_workflow_app
from functions.get_workflowdef import app as get_workflowdef_app
from functions.list_workflowdefs import app as list_workflowdefs_app
from functions.list_workflows import app as list_workflows_app
from functions.start_workflow import app as start_workflow_app
from functions.update_workflow_status import app as update_workflow_status_app
from localrun import aws_resources, moto_dynamodb
from tests.support import runs as data
from tests.support.events import SAMPLE_NAMESPACE, Reply, load_event, reply_of

FUNCTIONS: dict[str, ModuleType] = {
    "create_workflowdef": create_workflowdef_app,
    "get_workflow": get_workflow_app,
    "get_workflowdef": get_workflowdef_app,
    "list_workflowdefs": list_workflowdefs_app,
    "list_workflows": list_workflows_app,
    "start_workflow": start_workflow_app,
    "update_workflow_status": update_workflow_status_app,
}


@pytest.fixture(scope="session", autouse=True)
def shared_botocore_loader() -> Iterator[None]:
    """Every ``mock_aws`` makes boto3 start afresh, and botocore would read its service models from disk
    again; they are read-only, so one loader is shared by all."""
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield


@pytest.fixture(scope="module")
def module_stack(template: aws_resources.Template) -> Iterator[tuple[aws_resources.Resources, Any, Any]]:
    """moto (with ``localrun.moto_dynamodb``), and the template's tables and queues, for one test module."""
    with mock_aws(), moto_dynamodb.installed():
        dynamodb = boto3.client("dynamodb", region_name=aws_resources.LOCAL_REGION)
        sqs = boto3.client("sqs", region_name=aws_resources.LOCAL_REGION)
        yield aws_resources.create_resources(template, dynamodb, sqs), dynamodb, sqs


def _empty(resources: aws_resources.Resources, dynamodb: Any, sqs: Any) -> None:
    for table in resources.tables.values():
        keys = [
            attribute["AttributeName"]
            for attribute in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        for page in dynamodb.get_paginator("scan").paginate(
            TableName=table, ProjectionExpression=", ".join(keys)
        ):
            items = page["Items"]
            for start in range(0, len(items), 25):
                requests = [{"DeleteRequest": {"Key": item}} for item in items[start : start + 25]]
                dynamodb.batch_write_item(RequestItems={table: requests})
        assert dynamodb.scan(TableName=table, Select="COUNT")["Count"] == 0
    for queue_url in resources.queues.values():
        sqs.purge_queue(QueueUrl=queue_url)


@pytest.fixture
def aws_stack(
    module_stack: tuple[aws_resources.Resources, Any, Any],
    template: aws_resources.Template,
    monkeypatch: pytest.MonkeyPatch,
) -> aws_resources.Resources:
    """The template's resources, empty, and the environment every function gets (as in tests/conftest.py)."""
    resources, dynamodb, sqs = module_stack
    monkeypatch.setenv("MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR", "false")  # purge before every test
    _empty(resources, dynamodb, sqs)
    for function in template.functions():
        environment = template.function_environment(
            function.logical_id, resources, overrides={"WORKFLOWSVC_ENVIRONMENT": "local"}
        )
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
    config.reset()
    return resources


@pytest.fixture
def dynamodb_client(module_stack: tuple[aws_resources.Resources, Any, Any]) -> Any:
    return module_stack[1]


@pytest.fixture
def sqs_client(module_stack: tuple[aws_resources.Resources, Any, Any]) -> Any:
    return module_stack[2]


class Api:
    def __init__(self, context: Any) -> None:
        self.context = context

    def invoke(self, function: str, event: dict[str, Any]) -> Reply:
        response = FUNCTIONS[function].lambda_handler(event, self.context)
        reply = reply_of(response)
        assert reply.status != 500, reply.text
        assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
        if reply.status >= 400:
            assert reply.error  # the contract's error shape, checked by the property
            assert "Traceback" not in reply.text and "pydantic" not in reply.text.lower(), reply.text
        return reply

    # Shortcuts for Given steps, each through the real handler.

    def create_definition(
        self, body: dict[str, Any] | None = None, nsfilter: str = SAMPLE_NAMESPACE
    ) -> dict[str, Any]:
        event = load_event(
            "create_workflowdef", body=body or data.SEED_DEFINITION, query={"nsfilter": nsfilter}
        )
        reply = self.invoke("create_workflowdef", event)
        assert reply.status == 201, reply.text
        created: dict[str, Any] = reply.body
        return created

    def start(
        self,
        definition_id: str,
        nsfilter: str = SAMPLE_NAMESPACE,
        input_params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {"_workflowDefId": definition_id, "_inputParams": input_params or data.SEED_INPUT}
        reply = self.invoke(
            "start_workflow", load_event("start_workflow", body=body, query={"nsfilter": nsfilter})
        )
        assert reply.status == 201, reply.text
        run: dict[str, Any] = reply.body
        return run

    def get(self, run_id: str, nsfilter: str = SAMPLE_NAMESPACE, **query: str) -> Reply:
        event = load_event(
            "get_workflow", path_parameters={"workflowId": run_id}, query={"nsfilter": nsfilter, **query}
        )
        return self.invoke("get_workflow", event)

    def list(self, **query: str | None) -> Reply:
        """``GET /workflows`` with only the given query parameters (``nsfilter`` defaults to the sample's)."""
        base = load_event("list_workflows")
        removed = {name: None for name in base.get("queryStringParameters", {})}
        event = load_event("list_workflows", query={**removed, "nsfilter": SAMPLE_NAMESPACE, **query})
        return self.invoke("list_workflows", event)

    def change_status(
        self, run_id: str, status: str, nsfilter: str = SAMPLE_NAMESPACE, sub: str | None = None
    ) -> Reply:
        event = load_event(
            "update_workflow_status_paused",
            path_parameters={"workflowId": run_id},
            query={"nsfilter": nsfilter},
            body={"_status": status},
        )
        if sub is not None:
            event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = sub
        return self.invoke("update_workflow_status", event)


@pytest.fixture
def api(aws_stack: Any, lambda_context: Any) -> Api:
    return Api(lambda_context)


@pytest.fixture
def store(table_name: str) -> Store:
    return Store.for_table(table_name)


class Given:
    def __init__(self, api: Api, store: Store) -> None:
        self.api = api
        self.store = store

    def definition(
        self, body: dict[str, Any] | None = None, nsfilter: str = SAMPLE_NAMESPACE
    ) -> dict[str, Any]:
        return self.api.create_definition(body, nsfilter)

    def run(self, definition: dict[str, Any], status: str = "QUEUED", **options: Any) -> dict[str, Any]:
        """A run of ``definition`` stored in ``status`` (options: ``tests.support.runs.run_in_status``)."""
        record = data.run_in_status(definition, status, **options)
        self.store.runs.create(record)
        return record.run

    def stored(self, run_id: str) -> RunRecord:
        stored = self.store.runs.get(run_id, consistent=True)
        assert stored is not None
        return stored


@pytest.fixture
def given(api: Api, store: Store) -> Given:
    return Given(api, store)


class QueueProbe:
    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self.sqs = sqs_client
        self.queue_url = queue_url

    def drain(self) -> list[dict[str, Any]]:
        """Every message on the queue (taken off it), bodies parsed; none may be left delayed."""
        bodies: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300
            )
            messages = answer.get("Messages", [])
            if not messages:
                break
            bodies.extend(json.loads(message["Body"]) for message in messages)
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        assert attributes["ApproximateNumberOfMessagesDelayed"] == "0", "delayed messages the test cannot see"
        return bodies


@pytest.fixture
def task_queue(sqs_client: Any, task_queue_url: str) -> QueueProbe:
    return QueueProbe(sqs_client, task_queue_url)

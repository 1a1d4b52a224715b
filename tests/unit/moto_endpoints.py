"""moto's DynamoDB two ways, for the tests of ``localrun.moto_dynamodb``: in-process (``mock_aws``, as the
test fixtures use it) and moto's HTTP server on 127.0.0.1 (as ``make run`` uses it; one for the session,
the ``moto_server`` fixture), each test with a table of its own (``pk`` and ``sk``, both strings)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from localrun import aws_resources

KINDS = ("in-process", "server")


@dataclass(frozen=True)
class Endpoint:
    kind: str
    url: str | None
    table: str
    session: boto3.session.Session = field(default_factory=boto3.session.Session, repr=False)

    def client(self, *, retries: int = 1) -> Any:
        """A new client (make them in one thread: boto3 does not make clients safely from several); by
        default it makes one attempt only, so that every error shows. Retries back off as botocore's
        default (legacy) mode does for DynamoDB: 50 ms, doubled each time."""
        config = Config(retries={"mode": "legacy", "max_attempts": retries})
        return self.session.client(
            "dynamodb", region_name=aws_resources.LOCAL_REGION, endpoint_url=self.url, config=config
        )


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's HTTP server on a free port of 127.0.0.1; its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def dynamodb_endpoint(kind: str, server_url: str) -> Iterator[Endpoint]:
    """moto, in-process or the server at ``server_url``, holding a new empty table."""
    table = f"t-{uuid.uuid4().hex[:8]}"
    if kind == "in-process":
        with mock_aws():
            endpoint = Endpoint(kind, None, table)
            create_table(endpoint.client(), table)
            yield endpoint
        return
    endpoint = Endpoint(kind, server_url, table)
    client = endpoint.client()
    create_table(client, table)
    try:
        yield endpoint
    finally:
        client.delete_table(TableName=table)


def key(pk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "-"}}


def item(pk: str, **attributes: str) -> dict[str, Any]:
    return {**key(pk), **{name: {"S": value} for name, value in attributes.items()}}


def keys_in(client: Any, table: str) -> set[str]:
    found: set[str] = set()
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        found.update(entry["pk"]["S"] for entry in page["Items"])
    return found

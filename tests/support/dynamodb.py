"""Seeing and steering the service's DynamoDB requests from a test, through botocore's own event hooks
on the client the service uses (``workflowsvc.store.dynamo.dynamodb_client()``): no code of the service
is patched.

- ``before_request(operation, action)``: ``action(params)`` runs just before each such request leaves,
  e.g. to let a competitor write first, or to make the request fail as if the process had died.
- ``RequestLog``: the requests sent, by operation, with their parameters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from workflowsvc.store.dynamo import dynamodb_client

_ids = itertools.count()


@contextmanager
def before_request(
    operation: str, action: Callable[[dict[str, Any]], None], *, client: Any | None = None
) -> Iterator[None]:
    """While in the block, ``action(params)`` runs before every ``operation`` request (e.g.
    ``"TransactWriteItems"``) of the service's client; what it raises, the request raises."""
    client = client or dynamodb_client()
    unique_id = f"tests-before-{next(_ids)}"
    event = f"before-parameter-build.dynamodb.{operation}"

    def handler(params: dict[str, Any], **_: Any) -> None:
        action(params)

    client.meta.events.register(event, handler, unique_id=unique_id)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=unique_id)


class RequestLog:
    """The requests the service's client sends while ``recording``: ``(operation, parameters)``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []

    @contextmanager
    def recording(self, client: Any | None = None) -> Iterator[RequestLog]:
        client = client or dynamodb_client()
        unique_id = f"tests-log-{next(_ids)}"

        def handler(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.requests.append((model.name, params))

        client.meta.events.register("provide-client-params.dynamodb", handler, unique_id=unique_id)
        try:
            yield self
        finally:
            client.meta.events.unregister("provide-client-params.dynamodb", unique_id=unique_id)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.requests if name == operation]

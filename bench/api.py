"""The real handlers, called with the events API Gateway (HTTP API, payload 2.0) and SQS would send."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from bench.stack import REGION, Stack
from localrun import aws_resources, events

Handler = Callable[[dict[str, Any], Any], Any]

SUBJECT = "5b0f8b5e-6a1c-4b7e-9f43-2d8c1e0a7b61"
# What the JWT authorizer passes for a caller granted every namespace.
CLAIMS: dict[str, Any] = {
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
    "sub": SUBJECT,
    "aud": "workflowsvc",
    "iat": "1780272000",
    "exp": "1780275600",
    "scope": "workflowsvc/workflows.read workflowsvc/workflows.write",
    "namespaces": "*",
}
API_DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"


@dataclass(frozen=True)
class Answer:
    status: int
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text)


class Api:
    """Calls a function's ``lambda_handler`` the way Lambda does for its route or queue."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self._routes = {route.function.logical_id: route for route in stack.template.http_routes()}
        self._handlers: dict[str, Handler] = {}
        self._contexts: dict[str, aws_resources.LambdaContext] = {}

    def handler(self, logical_id: str) -> Handler:
        """The function's ``lambda_handler``, its module imported on first use (as at a cold start)."""
        if logical_id not in self._handlers:
            function = self.stack.template.function(logical_id)
            module = importlib.import_module(function.module_name)
            self._handlers[logical_id] = getattr(module, function.handler_name)
            self._contexts[logical_id] = self.stack.context(logical_id)
        return self._handlers[logical_id]

    def context(self, logical_id: str) -> aws_resources.LambdaContext:
        self.handler(logical_id)
        return self._contexts[logical_id]

    def http_event(
        self,
        logical_id: str,
        *,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        route = self._routes[logical_id]
        path = route.path
        for name, value in (path_parameters or {}).items():
            path = path.replace(f"{{{name}}}", value)
        headers = [("accept", "application/json"), ("host", API_DOMAIN), ("user-agent", "bench/1.0")]
        payload = b""
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            headers += [("content-type", "application/json"), ("content-length", str(len(payload)))]
        return events.build_http_event(
            method=route.method,
            raw_path=path,
            raw_query_string=urlencode(list((query or {}).items()), quote_via=quote, safe=","),
            headers=headers,
            body=payload,
            route_key=route.route_key,
            path_parameters=path_parameters,
            claims=CLAIMS,
            source_ip="203.0.113.10",
            protocol="HTTP/1.1",
            domain_name=API_DOMAIN,
            api_id=API_DOMAIN.split(".", 1)[0],
        )

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        return self.handler(logical_id)(event, self.context(logical_id))

    def call(self, logical_id: str, **request: Any) -> Answer:
        """One HTTP request to the function's route; the answer as API Gateway would pass it on."""
        result = self.invoke(logical_id, self.http_event(logical_id, **request))
        return Answer(status=int(result["statusCode"]), text=result.get("body") or "")

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return events.sqs_event(messages, self.stack.queue_arn, REGION)


def expect(answer: Answer, status: int) -> Any:
    if answer.status != status:
        raise AssertionError(f"expected HTTP {status}, got {answer.status}: {answer.text[:300]}")
    return answer.body

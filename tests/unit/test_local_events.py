"""The events the local server hands the functions, and its answers, have the shapes AWS uses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from werkzeug.test import Client

from localrun import aws_resources, events
from localrun.aws_resources import Template
from localrun.lambda_runtime import Invocation
from localrun.server import LocalHttpApi

NOW = datetime(2026, 2, 24, 2, 32, 22, 148000, tzinfo=UTC)


def sample_event(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "method": "GET",
        "raw_path": "/workflowsvc/api/v1/workflows/0b7c3b3e-7d1a-4c9c-9a59-2f1d3f1b2a11",
        "raw_query_string": "nsfilter=a,b&_status=RUNNING&_status=FAILED&name=x%20y&flag",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "application/json"),
            ("X-Custom", "one"),
            ("x-custom", "two"),
            ("Cookie", "session=abc; theme=dark"),
        ],
        "route_key": "GET /workflowsvc/api/v1/workflows/{workflowId}",
        "path_parameters": {"workflowId": "0b7c3b3e-7d1a-4c9c-9a59-2f1d3f1b2a11"},
        "claims": {"sub": "alice", "namespaces": ["a", "b"], "exp": 1795957000, "scope": "read write"},
        "domain_name": "127.0.0.1:3000",
        "request_id": "JKJaXmPLvHcESHA=",
        "now": NOW,
    }
    arguments.update(overrides)
    return events.build_http_event(**arguments)


# --------------------------------------------------------------------------------------------- HTTP API event


def test_the_event_has_the_http_api_v2_shape() -> None:
    # When
    event = sample_event()

    # Then
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /workflowsvc/api/v1/workflows/{workflowId}"
    assert event["rawPath"] == "/workflowsvc/api/v1/workflows/0b7c3b3e-7d1a-4c9c-9a59-2f1d3f1b2a11"
    assert event["rawQueryString"] == "nsfilter=a,b&_status=RUNNING&_status=FAILED&name=x%20y&flag"
    assert event["pathParameters"] == {"workflowId": "0b7c3b3e-7d1a-4c9c-9a59-2f1d3f1b2a11"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["accountId"] == aws_resources.LOCAL_ACCOUNT_ID
    assert context["apiId"] == events.LOCAL_API_ID
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["http"] == {
        "method": "GET",
        "path": event["rawPath"],
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8.5.0",
    }
    assert context["requestId"] == "JKJaXmPLvHcESHA="
    assert context["routeKey"] == event["routeKey"]
    assert context["stage"] == "$default"
    assert context["time"] == "24/Feb/2026:02:32:22 +0000"
    assert context["timeEpoch"] == int(NOW.timestamp() * 1000)


def test_headers_are_lower_cased_and_repeated_ones_joined() -> None:
    # When
    headers = sample_event()["headers"]

    # Then
    assert headers["user-agent"] == "curl/8.5.0"
    assert headers["x-custom"] == "one,two"
    assert "cookie" not in headers
    assert all(name == name.lower() for name in headers)


def test_cookies_are_listed_apart() -> None:
    assert sample_event()["cookies"] == ["session=abc", "theme=dark"]


def test_repeated_query_keys_are_joined_with_commas() -> None:
    # When
    query = sample_event()["queryStringParameters"]

    # Then
    assert query == {"nsfilter": "a,b", "_status": "RUNNING,FAILED", "name": "x y", "flag": ""}


def test_no_query_string_means_no_parameters() -> None:
    event = sample_event(raw_query_string="", path_parameters=None)
    assert "queryStringParameters" not in event
    assert "pathParameters" not in event


def test_claims_are_rendered_as_the_jwt_authorizer_renders_them() -> None:
    # When
    authorizer = sample_event()["requestContext"]["authorizer"]["jwt"]

    # Then
    assert authorizer["claims"] == {
        "sub": "alice",
        "namespaces": "[a b]",
        "exp": "1795957000",
        "scope": "read write",
    }
    assert authorizer["scopes"] == ["read", "write"]


@pytest.mark.parametrize(
    ("value", "rendered"),
    [("x", "x"), (["a", "b", "c"], "[a b c]"), ([], "[]"), (True, "true"), (42, "42"), (None, "")],
)
def test_claim_rendering(value: Any, rendered: str) -> None:
    assert events.render_claim(value) == rendered


def test_a_json_body_is_text_and_a_binary_body_is_base64() -> None:
    # When
    text = sample_event(
        method="POST", body=b'{"_status": "PAUSED"}', headers=[("Content-Type", "application/json")]
    )
    binary = sample_event(
        method="POST", body=b"\x00\xff", headers=[("Content-Type", "application/octet-stream")]
    )

    # Then
    assert text["body"] == '{"_status": "PAUSED"}'
    assert text["isBase64Encoded"] is False
    assert base64.b64decode(binary["body"]) == b"\x00\xff"
    assert binary["isBase64Encoded"] is True


# --------------------------------------------------------------------------------------------- identity


def test_no_authorization_header_is_the_local_developer() -> None:
    assert events.claims_from_authorization(None, "namespaces") == {
        "sub": "local-developer",
        "namespaces": "*",
    }
    assert events.claims_from_authorization(None, "groups") == {"sub": "local-developer", "groups": "*"}


def test_a_bearer_token_is_decoded_without_its_signature_being_checked() -> None:
    # Given: signed with a key the server never sees
    token = jwt.encode({"sub": "bob", "namespaces": ["x"]}, "some-key-nobody-shares-with-localrun", "HS256")

    # Then
    assert events.claims_from_authorization(f"Bearer {token}") == {"sub": "bob", "namespaces": ["x"]}
    assert events.claims_from_authorization(token) == {"sub": "bob", "namespaces": ["x"]}


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_a_malformed_token_is_refused(header: str) -> None:
    with pytest.raises(events.InvalidToken):
        events.claims_from_authorization(header)


# --------------------------------------------------------------------------------------------- answers


def test_a_handler_result_becomes_the_http_answer() -> None:
    # When
    answer = events.http_answer_from_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "Location": "/x"},
            "cookies": ["a=1", "b=2"],
            "body": '{"_id": "1"}',
            "isBase64Encoded": False,
        }
    )

    # Then
    assert answer.status == 201
    assert ("Location", "/x") in answer.headers
    assert [value for name, value in answer.headers if name == "Set-Cookie"] == ["a=1", "b=2"]
    assert answer.body == b'{"_id": "1"}'


def test_a_base64_body_is_decoded_and_multi_value_headers_kept() -> None:
    # When
    answer = events.http_answer_from_result(
        {
            "statusCode": 200,
            "multiValueHeaders": {"X-Many": ["1", "2"]},
            "body": base64.b64encode(b"\x1f\x8b").decode(),
            "isBase64Encoded": True,
        }
    )

    # Then
    assert answer.body == b"\x1f\x8b"
    assert [value for name, value in answer.headers if name == "X-Many"] == ["1", "2"]


def test_a_result_without_status_code_is_a_json_200() -> None:
    answer = events.http_answer_from_result({"hello": "world"})
    assert (answer.status, json.loads(answer.body)) == (200, {"hello": "world"})


# --------------------------------------------------------------------------------------------- SQS, schedule


def test_an_sqs_batch_has_the_lambda_event_source_shape() -> None:
    # Given: a message as ReceiveMessage returns it
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "MD5OfBody": "md5",
        "Body": '{"runId": "1"}',
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1795957000000"},
        "MessageAttributes": {"kind": {"StringValue": "step", "DataType": "String"}},
        "MD5OfMessageAttributes": "md5a",
    }

    # When
    (record,) = events.sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")["Records"]

    # Then
    assert record["messageId"] == "m-1"
    assert record["receiptHandle"] == "r-1"
    assert record["body"] == '{"runId": "1"}'
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "step",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["md5OfBody"] == "md5"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert record["awsRegion"] == "us-east-1"


def test_a_scheduled_event_has_the_eventbridge_shape() -> None:
    # When
    event = events.scheduled_event(
        "arn:aws:events:us-east-1:123456789012:rule/r", region="us-east-1", account_id="123456789012", now=NOW
    )

    # Then
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-02-24T02:32:22Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/r"]
    assert event["detail"] == {}


# --------------------------------------------------------------------------------------------- the local API


class StandInRuntime:
    """Stands in for a function: records the events and answers with a fixed result."""

    def __init__(self, logical_id: str, result: Any) -> None:
        self.logical_id = logical_id
        self.result = result
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any], **_: Any) -> Invocation:
        self.events.append(event)
        return Invocation(ok=True, result=self.result)


@pytest.fixture
def local_api(template: Template) -> tuple[Client, dict[str, StandInRuntime]]:
    routes = template.http_routes()
    runtimes = {
        route.function.logical_id: StandInRuntime(
            route.function.logical_id,
            {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"ok": true}'},
        )
        for route in routes
    }
    app = LocalHttpApi(routes, runtimes, openapi=lambda: '{"openapi": "3.1.0", "paths": {}}')  # type: ignore[arg-type]
    return Client(app), runtimes


def test_a_request_reaches_its_function_as_an_http_api_event(
    local_api: tuple[Client, dict[str, StandInRuntime]],
) -> None:
    # Given
    client, runtimes = local_api
    token = jwt.encode({"sub": "carol", "namespaces": ["a", "b"]}, "k" * 32, "HS256")

    # When
    response = client.put(
        "/workflowsvc/api/v1/workflows/abc/status?nsfilter=a&nsfilter=b",
        json={"_status": "PAUSED"},
        headers={"Authorization": f"Bearer {token}"},
    )

    # Then
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    assert response.headers["Apigw-Requestid"]
    (event,) = runtimes["UpdateWorkflowStatusFunction"].events
    assert event["routeKey"] == "PUT /workflowsvc/api/v1/workflows/{workflowId}/status"
    assert event["pathParameters"] == {"workflowId": "abc"}
    assert event["queryStringParameters"] == {"nsfilter": "a,b"}
    assert json.loads(event["body"]) == {"_status": "PAUSED"}
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {"sub": "carol", "namespaces": "[a b]"}


def test_the_path_arrives_decoded_as_http_apis_pass_it(
    local_api: tuple[Client, dict[str, StandInRuntime]],
) -> None:
    # Given
    client, runtimes = local_api

    # When
    client.get("/workflowsvc/api/v1/workflowdefs/a%20b?nsfilter=x%2Cy")

    # Then
    (event,) = runtimes["GetWorkflowDefFunction"].events
    assert event["rawPath"] == "/workflowsvc/api/v1/workflowdefs/a b"
    assert event["pathParameters"] == {"workflowDefId": "a b"}
    assert event["rawQueryString"] == "nsfilter=x%2Cy"
    assert event["queryStringParameters"] == {"nsfilter": "x,y"}


def test_without_a_token_the_caller_is_the_local_developer(
    local_api: tuple[Client, dict[str, StandInRuntime]],
) -> None:
    # Given
    client, runtimes = local_api

    # When
    client.get("/workflowsvc/api/v1/workflowdefs?nsfilter=a")

    # Then
    (event,) = runtimes["ListWorkflowDefsFunction"].events
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {
        "sub": "local-developer",
        "namespaces": "*",
    }


def test_unknown_path_wrong_method_and_bad_token(local_api: tuple[Client, dict[str, StandInRuntime]]) -> None:
    # Given
    client, runtimes = local_api

    # When
    unknown = client.get("/workflowsvc/api/v1/nothing")
    trailing = client.get("/workflowsvc/api/v1/workflows/")
    wrong_method = client.patch("/workflowsvc/api/v1/workflows/abc")
    bad_token = client.get(
        "/workflowsvc/api/v1/workflows?nsfilter=a", headers={"Authorization": "Bearer x.y"}
    )

    # Then
    assert (unknown.status_code, unknown.get_json()["_error"]["_code"]) == (404, "NOT_FOUND")
    assert trailing.status_code == 404
    assert (wrong_method.status_code, wrong_method.get_json()["_error"]["_code"]) == (
        405,
        "METHOD_NOT_ALLOWED",
    )
    assert wrong_method.headers["Allow"] == "GET"
    assert (bad_token.status_code, bad_token.get_json()["_error"]["_code"]) == (401, "UNAUTHORIZED")
    assert not any(runtime.events for runtime in runtimes.values())


def _page_routes() -> list[aws_resources.HttpRoute]:
    """A function on ``GET /page`` and ``GET /page/{proxy+}``, both open to anyone."""
    events = {
        name: {
            "Type": "HttpApi",
            "Properties": {"Path": path, "Method": "GET", "Auth": {"Authorizer": "NONE"}},
        }
        for name, path in (("Page", "/page"), ("Files", "/page/{proxy+}"))
    }
    resources = {
        "PageFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {"CodeUri": "page/", "Handler": "app.lambda_handler", "Events": events},
        }
    }
    return Template(document={"Resources": resources}, base_dir=aws_resources.REPO_ROOT).http_routes()


def test_a_route_open_to_anyone_gets_no_claims_takes_no_token_and_is_not_part_of_the_api(
    template: Template,
) -> None:
    # Given
    api_routes = [route for route in template.http_routes() if route.path.startswith("/workflowsvc/")]
    page_routes = _page_routes()
    runtimes = {
        logical_id: StandInRuntime(logical_id, {"statusCode": 200, "body": "<html></html>"})
        for logical_id in {route.function.logical_id for route in api_routes + page_routes}
    }
    app = LocalHttpApi(api_routes + page_routes, runtimes, openapi=lambda: '{"openapi": "3.1.0"}')  # type: ignore[arg-type]
    client = Client(app)

    # When
    page = client.get("/page")
    folder = client.get("/page/")
    asset = client.get("/page/js/main.js", headers={"Authorization": "Bearer not-a-jwt"})
    document = client.get("/workflowsvc/api/v1/openapi.json")

    # Then: served with no authorizer context, as API Gateway does for `Authorizer: NONE`
    assert [route.public for route in page_routes] == [True, True]
    assert not any(route.public for route in api_routes)
    assert (page.status_code, folder.status_code, asset.status_code) == (200, 200, 200)
    page_event, folder_event, asset_event = runtimes["PageFunction"].events
    assert page_event["routeKey"] == "GET /page"
    assert (folder_event["routeKey"], folder_event["rawPath"]) == ("GET /page/{proxy+}", "/page/")
    assert not folder_event.get("pathParameters")
    assert asset_event["pathParameters"] == {"proxy": "js/main.js"}
    assert not any("authorizer" in event["requestContext"] for event in runtimes["PageFunction"].events)
    # and the API's own paths stay where they were
    assert app.base_path == "/workflowsvc/api/v1"
    assert document.status_code == 200


def test_the_openapi_document_is_served(local_api: tuple[Client, dict[str, StandInRuntime]]) -> None:
    # Given
    client, _ = local_api

    # When
    response = client.get("/workflowsvc/api/v1/openapi.json")

    # Then
    assert response.status_code == 200
    assert response.get_json()["openapi"] == "3.1.0"

"""The payloads in events/: shaped as API Gateway (HTTP API, payload 2.0) delivers them for the template's
routes, and answered as their names say when sent as they are."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qsl

import pytest

from tests.support.events import (
    SAMPLE_DEFINITION_ID,
    SAMPLE_RUN_ID,
    SAMPLE_SUBJECT,
    api_event_names,
    load_event,
)

# Each sample: the function it is for, and the status it gets when sent unchanged to an empty service.
SAMPLES = {
    "create_workflowdef": ("create_workflowdef", 201),
    "list_workflowdefs": ("list_workflowdefs", 200),
    "get_workflowdef": ("get_workflowdef", 404),
    "start_workflow": ("start_workflow", 404),
    "start_workflow_idempotency_key": ("start_workflow", 404),
    "start_workflow_no_identity": ("start_workflow", 401),
    "get_workflow": ("get_workflow", 404),
    "get_workflow_unknown_id": ("get_workflow", 404),
    "get_workflow_foreign_namespace": ("get_workflow", 404),
    "list_workflows": ("list_workflows", 200),
    "list_workflows_seed_example": ("list_workflows", 400),
    "list_workflows_missing_nsfilter": ("list_workflows", 400),
    "list_workflows_bad_sort": ("list_workflows", 400),
    "list_workflows_forbidden_namespace": ("list_workflows", 403),
    "update_workflow_status_paused": ("update_workflow_status", 404),
    "update_workflow_status_illegal": ("update_workflow_status", 404),
}


def test_every_http_api_event_in_events_is_listed_here():
    assert sorted(SAMPLES) == api_event_names()


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_sample_is_shaped_like_what_api_gateway_sends_for_its_route(template, name):
    function, _status = SAMPLES[name]
    event = load_event(name)
    routes = {f"{route.method} {route.path}": route for route in template.http_routes()}

    # the route and the function the template maps it to
    assert event["version"] == "2.0"
    assert event["routeKey"] in routes, event["routeKey"]
    assert routes[event["routeKey"]].function.code_uri.rstrip("/") == f"functions/{function}"
    context = event["requestContext"]
    assert context["routeKey"] == event["routeKey"]
    method, path = event["routeKey"].split(" ", 1)
    assert context["http"]["method"] == method
    assert context["stage"] == "$default"

    # the path: rawPath is the route with its path parameters filled in
    match = _route_pattern(path).match(event["rawPath"])
    assert match, (path, event["rawPath"])
    assert match.groupdict() == (event.get("pathParameters") or {})
    assert context["http"]["path"] == event["rawPath"]

    # the query: queryStringParameters is rawQueryString decoded
    decoded = dict(parse_qsl(event["rawQueryString"], keep_blank_values=True))
    assert decoded == (event.get("queryStringParameters") or {})

    # the body: text, with its length in the headers
    assert event["isBase64Encoded"] is False
    if "body" in event:
        json.loads(event["body"])
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
        assert event["headers"]["content-type"] == "application/json"
    assert all(header == header.lower() for header in event["headers"])

    # the identity: the JWT authorizer's claims, all strings, the namespaces array as API Gateway renders it
    authorizer = context.get("authorizer")
    if name.endswith("no_identity"):
        assert authorizer is None
        assert "authorization" not in event["headers"]
    else:
        claims = authorizer["jwt"]["claims"]
        assert claims["sub"] == SAMPLE_SUBJECT
        assert all(isinstance(value, str) for value in claims.values())
        assert re.fullmatch(r"\[[^\[\]\",]+( [^\[\]\",]+)*\]", claims["namespaces"]), claims["namespaces"]
        assert isinstance(authorizer["jwt"]["scopes"], list)
        # the bearer token carries the same claims (the local server decodes it)
        token = event["headers"]["authorization"].removeprefix("Bearer ")
        payload = token.split(".")[1]
        decoded_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert decoded_claims["sub"] == claims["sub"]
        assert "[" + " ".join(decoded_claims["namespaces"]) + "]" == claims["namespaces"]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_sample_sent_unchanged_gets_the_status_its_name_says(api, name):
    function, status = SAMPLES[name]
    reply = api.invoke(function, load_event(name))
    assert reply.status == status, reply.text


def test_samples_use_the_vendors_placeholder_ids():
    assert load_event("get_workflow")["pathParameters"]["workflowId"] == SAMPLE_RUN_ID
    assert load_event("update_workflow_status_paused")["pathParameters"]["workflowId"] == SAMPLE_RUN_ID
    assert load_event("get_workflowdef")["pathParameters"]["workflowDefId"] == SAMPLE_DEFINITION_ID
    assert json.loads(load_event("start_workflow")["body"])["_workflowDefId"] == SAMPLE_DEFINITION_ID


def test_substituting_an_id_changes_the_path_but_not_the_route():
    event = load_event(
        "update_workflow_status_paused",
        path_parameters={"workflowId": "0b8f5a0e-1111-4222-8333-944455556666"},
    )
    assert event["rawPath"] == "/workflowsvc/api/v1/workflows/0b8f5a0e-1111-4222-8333-944455556666/status"
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert event["routeKey"] == "PUT /workflowsvc/api/v1/workflows/{workflowId}/status"
    assert event["pathParameters"] == {"workflowId": "0b8f5a0e-1111-4222-8333-944455556666"}


def test_overriding_the_query_rebuilds_the_raw_query_string():
    event = load_event("list_workflows", query={"_status": "FAILED,TIMED_OUT", "sort": None})
    assert "sort" not in event["queryStringParameters"]
    assert dict(parse_qsl(event["rawQueryString"])) == event["queryStringParameters"]

"""Hostile input is bounded with a clear 400 naming the limit; logs carry the request id, never the token."""

from __future__ import annotations

import io
import json
import logging

import pytest
from workflowsvc.limits import MAX_INPUT_BYTES, MAX_INPUT_DEPTH, MAX_NAME_LENGTH, MAX_TASKS

from functions.start_workflow import app as start_workflow_app
from tests.support.dynamodb import before_request
from tests.support.events import SAMPLE_NAMESPACE, load_event


@pytest.fixture
def service_log():
    """What the service logs, formatted as in Lambda (Powertools' JSON lines) but kept in memory."""
    service_logger = logging.getLogger("workflowsvc")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(service_logger.handlers[0].formatter)
    service_logger.addHandler(handler)
    yield stream
    service_logger.removeHandler(handler)


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def _start(api, definition_id: str, input_params: dict, **changes):
    body = {"_workflowDefId": definition_id, "_inputParams": input_params}
    return api.invoke("start_workflow", load_event("start_workflow", body=body, **changes))


def test_input_params_nested_deeper_than_the_limit_is_400_naming_the_field(api):
    definition = api.create_definition()
    assert _start(api, definition["_id"], _nested(MAX_INPUT_DEPTH)).status == 201

    reply = _start(api, definition["_id"], _nested(MAX_INPUT_DEPTH + 1))

    assert reply.status == 400
    assert reply.error["_message"].startswith("_inputParams:")
    assert f"at most {MAX_INPUT_DEPTH}" in reply.error["_message"]


def test_input_params_larger_than_the_limit_is_400_naming_the_field(api):
    definition = api.create_definition()

    reply = _start(api, definition["_id"], {"blob": "x" * MAX_INPUT_BYTES})

    assert reply.status == 400
    assert reply.error["_message"].startswith("_inputParams:")
    assert f"at most {MAX_INPUT_BYTES}" in reply.error["_message"]


def test_too_many_tasks_and_too_long_a_name_are_400_naming_the_field(api):
    tasks = [{"_name": f"t{i}", "_type": "REST_CONNECTOR"} for i in range(MAX_TASKS + 1)]
    reply = api.invoke(
        "create_workflowdef", load_event("create_workflowdef", body={"_name": "n", "_tasks": tasks})
    )
    assert reply.status == 400
    assert reply.error["_message"].startswith("_tasks:")

    long_name = {"_name": "n" * (MAX_NAME_LENGTH + 1), "_tasks": tasks[:1]}
    reply = api.invoke("create_workflowdef", load_event("create_workflowdef", body=long_name))
    assert reply.status == 400
    assert reply.error["_message"].startswith("_name:")


def test_more_namespaces_than_the_limit_in_nsfilter_is_400(api):
    nsfilter = ",".join(f"ns{i}" for i in range(11))

    reply = api.invoke(
        "list_workflows",
        load_event("list_workflows", query={"nsfilter": nsfilter}, claims={"namespaces": "*"}),
    )

    assert reply.status == 400
    assert reply.error["_message"].startswith("nsfilter:") and "at most 10" in reply.error["_message"]


def test_an_idempotency_key_over_255_characters_is_400(api):
    definition = api.create_definition()

    reply = _start(api, definition["_id"], {}, headers={"idempotency-key": "k" * 256})

    assert reply.status == 400
    assert reply.error["_message"].lower().startswith("idempotency-key:")  # header names know no case


def test_an_unexpected_error_is_a_generic_500_logged_with_the_request_id_and_never_the_token(
    api, monkeypatch, service_log
):
    definition = api.create_definition()
    event = load_event("start_workflow", body={"_workflowDefId": definition["_id"], "_inputParams": {}})
    token = event["headers"]["authorization"].removeprefix("Bearer ")

    def broken(params):
        raise RuntimeError("storage exploded")

    with before_request("TransactWriteItems", broken):
        response = start_workflow_app.lambda_handler(event, api.context)

    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["_error"]["_code"] == "INTERNAL_ERROR"
    assert "storage exploded" not in response["body"] and "Traceback" not in response["body"]
    output = service_log.getvalue()
    assert event["requestContext"]["requestId"] in output  # the correlation id of the log line
    assert "storage exploded" in output  # the cause is in the log, for the operator
    assert token not in output
    assert token.split(".")[1] not in output  # not even the claims part of it


@pytest.mark.parametrize("nsfilter", [SAMPLE_NAMESPACE])
def test_a_normal_request_logs_nothing_of_the_token(api, service_log, nsfilter):
    definition = api.create_definition(nsfilter=nsfilter)
    event = load_event("get_workflowdef", path_parameters={"workflowDefId": definition["_id"]})
    token = event["headers"]["authorization"].removeprefix("Bearer ")

    assert api.invoke("get_workflowdef", event).status == 200

    assert token not in service_log.getvalue()


def test_the_location_header_is_built_from_the_checked_namespaces_not_the_raw_query(api):
    # a blank around a name is accepted in nsfilter; a newline must never reach a response header
    event = load_event("create_workflowdef", query={"nsfilter": f"\n{SAMPLE_NAMESPACE}\r"})

    reply = api.invoke("create_workflowdef", event)

    assert reply.status == 201
    assert (
        reply.headers["location"]
        == f"/workflowsvc/api/v1/workflowdefs/{reply.body['_id']}?nsfilter={SAMPLE_NAMESPACE}"
    )


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 201),  # no media type said: the body is read as JSON (curl -d without a header)
        ("application/json; charset=utf-8", 201),
        ("application/x-www-form-urlencoded", 415),  # curl -d's default
        ("text/plain", 415),
    ],
)
def test_a_body_is_json_said_or_unsaid_and_any_other_media_type_is_415(api, content_type, status):
    definition = api.create_definition()
    event = load_event(
        "start_workflow",
        body={"_workflowDefId": definition["_id"], "_inputParams": {}},
        headers={"content-type": content_type},
    )

    reply = api.invoke("start_workflow", event)

    assert reply.status == status, reply.text
    if status == 415:
        assert reply.error["_code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert reply.error["_message"].startswith(f"Content-Type: {content_type!r}")


@pytest.mark.parametrize("content_type", ["multipart/form-data", "text/plain"])
def test_a_non_json_media_type_is_415_even_without_a_body(api, content_type):
    event = load_event("start_workflow", body=None, headers={"content-type": content_type})

    reply = api.invoke("start_workflow", event)

    assert reply.status == 415, reply.text
    assert reply.error["_code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_a_read_ignores_the_media_type_it_has_no_body_for(api):
    event = load_event("list_workflows", headers={"content-type": "text/plain"})

    assert api.invoke("list_workflows", event).status == 200

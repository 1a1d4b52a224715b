"""Workflow definitions: POST /workflowdefs, GET /workflowdefs, GET /workflowdefs/{id}."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.support.checks import ids, is_timestamp, is_uuid4
from tests.support.events import (
    SAMPLE_NAMESPACE,
    SAMPLE_OTHER_NAMESPACE,
    SAMPLE_SUBJECT,
    load_event,
)
from tests.support.runs import DEVICE_SYNC_DEFINITION, SEED_DEFINITION

BOTH_NAMESPACES = f"{SAMPLE_NAMESPACE},{SAMPLE_OTHER_NAMESPACE}"


def _list(api: Any, **query: str | None) -> Any:
    event = load_event(
        "list_workflowdefs", query={"_pageSize": None, "_offset": None, "_name": None, **query}
    )
    return api.invoke("list_workflowdefs", event)


def _get(api: Any, definition_id: str, nsfilter: str = SAMPLE_NAMESPACE) -> Any:
    event = load_event(
        "get_workflowdef", path_parameters={"workflowDefId": definition_id}, query={"nsfilter": nsfilter}
    )
    return api.invoke("get_workflowdef", event)


def _named(name: str) -> dict[str, Any]:
    body = copy.deepcopy(SEED_DEFINITION)
    body["_name"] = name
    return body


# ------------------------------------------------------------------ create


def test_create_answers_201_with_the_definition_its_id_and_location(api):
    # Given the sample request
    event = load_event("create_workflowdef")

    # When
    reply = api.invoke("create_workflowdef", event)

    # Then
    assert reply.status == 201, reply.text
    created = reply.body
    assert is_uuid4(created["_id"])
    for field, value in SEED_DEFINITION.items():
        assert created[field] == value, field
    assert created["_namespaces"] == [SAMPLE_NAMESPACE]
    assert created["_createdBy"] == SAMPLE_SUBJECT
    assert is_timestamp(created["_createdAt"])
    assert reply.headers["location"].startswith(f"/workflowsvc/api/v1/workflowdefs/{created['_id']}")


def test_a_created_definition_can_be_read_back(api):
    # Given
    created = api.create_definition(DEVICE_SYNC_DEFINITION)

    # When
    reply = _get(api, created["_id"])

    # Then
    assert reply.status == 200, reply.text
    assert reply.body == created
    assert reply.body["_tasks"][1]["_retryCount"] == 2
    assert reply.body["_tasks"][1]["_backoff"] == "EXPONENTIAL"


def test_the_sample_get_event_finds_the_definition_it_names_once_the_id_is_substituted(api):
    # Given
    created = api.create_definition()

    # When
    untouched = api.invoke("get_workflowdef", load_event("get_workflowdef"))
    substituted = api.invoke(
        "get_workflowdef", load_event("get_workflowdef", path_parameters={"workflowDefId": created["_id"]})
    )

    # Then
    assert untouched.status == 404
    assert substituted.status == 200
    assert substituted.body["_id"] == created["_id"]


def test_a_definition_created_for_two_namespaces_belongs_to_both(api):
    # Given
    created = api.create_definition(nsfilter=BOTH_NAMESPACES)

    # Then
    assert created["_namespaces"] == [SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE]
    assert _get(api, created["_id"], SAMPLE_NAMESPACE).status == 200
    assert _get(api, created["_id"], SAMPLE_OTHER_NAMESPACE).status == 200


def test_a_loop_over_definition_is_accepted(api):
    # Given
    body = {
        "_name": "poll_each_device",
        "_tasks": [
            {
                "_name": "each_device",
                "_type": "LOOP_OVER",
                "_inputParams": {"_items": "${workflow._inputParams.devices}"},
                "_tasks": [
                    {
                        "_name": "read_device",
                        "_type": "REST_CONNECTOR",
                        "_inputParams": {"_url": "https://api.example.com/v2/devices/${loop.item}"},
                    }
                ],
            }
        ],
    }

    # When
    reply = api.invoke("create_workflowdef", load_event("create_workflowdef", body=body))

    # Then
    assert reply.status == 201, reply.text
    assert reply.body["_tasks"][0]["_tasks"][0]["_name"] == "read_device"


# ------------------------------------------------------------------ bad definitions


def _task(name: str = "call", **fields: Any) -> dict[str, Any]:
    return {"_name": name, "_type": "REST_CONNECTOR", **fields}


# (name, body, the field the message names, the value it names or None)
BAD_DEFINITIONS = [
    (
        "unknown-task-type",
        {"_name": "d", "_tasks": [{"_name": "call", "_type": "SOAP_CONNECTOR"}]},
        "_tasks[0]._type",
        "SOAP_CONNECTOR",
    ),
    (
        "duplicate-task-names",
        {"_name": "d", "_tasks": [_task("fetch"), _task("fetch")]},
        "_tasks[1]._name",
        "fetch",
    ),
    (
        "loop-over-without-tasks",
        {
            "_name": "d",
            "_tasks": [{"_name": "each", "_type": "LOOP_OVER", "_inputParams": {"_items": [1, 2]}}],
        },
        "_tasks[0]._tasks",
        None,
    ),
    (
        "loop-over-with-empty-tasks",
        {"_name": "d", "_tasks": [{"_name": "each", "_type": "LOOP_OVER", "_tasks": []}]},
        "_tasks[0]._tasks",
        None,
    ),
    (
        "nested-loop-over",
        {
            "_name": "d",
            "_tasks": [
                {
                    "_name": "outer",
                    "_type": "LOOP_OVER",
                    "_tasks": [{"_name": "inner", "_type": "LOOP_OVER", "_tasks": [_task()]}],
                }
            ],
        },
        "_tasks[0]._tasks[0]._type",
        None,
    ),
    (
        "nested-tasks-on-a-rest-connector",
        {"_name": "d", "_tasks": [_task(_tasks=[_task("inner")])]},
        "_tasks[0]._tasks",
        None,
    ),
    ("retry-11", {"_name": "d", "_tasks": [_task(_retryCount=11)]}, "_tasks[0]._retryCount", "11"),
    ("retry-neg", {"_name": "d", "_tasks": [_task(_retryCount=-1)]}, "_tasks[0]._retryCount", "-1"),
    ("retry-text", {"_name": "d", "_tasks": [_task(_retryCount="three")]}, "_tasks[0]._retryCount", "three"),
    ("backoff", {"_name": "d", "_tasks": [_task(_backoff="LINEAR")]}, "_tasks[0]._backoff", "LINEAR"),
    ("t/o", {"_name": "d", "_timeoutSeconds": "soon", "_tasks": [_task()]}, "_timeoutSeconds", "soon"),
    ("t/o-neg", {"_name": "d", "_timeoutSeconds": -5, "_tasks": [_task()]}, "_timeoutSeconds", "-5"),
    ("policy", {"_name": "d", "_timeoutPolicy": "RETRY", "_tasks": [_task()]}, "_timeoutPolicy", "RETRY"),
    ("name-number", {"_name": 5, "_tasks": [_task()]}, "_name", "5"),
    ("name-empty", {"_name": "", "_tasks": [_task()]}, "_name", None),
    ("name-missing", {"_tasks": [_task()]}, "_name", None),
    ("tasks-string", {"_name": "d", "_tasks": "fetch"}, "_tasks", "fetch"),
    ("tasks-empty", {"_name": "d", "_tasks": []}, "_tasks", None),
    ("tasks-missing", {"_name": "d"}, "_tasks", None),
    ("task-name", {"_name": "d", "_tasks": [{"_type": "REST_CONNECTOR"}]}, "_tasks[0]._name", None),
    ("input", {"_name": "d", "_tasks": [_task(_inputParams="x")]}, "_tasks[0]._inputParams", "x"),
    ("unknown-field", {"_name": "d", "_priority": 3, "_tasks": [_task()]}, "_priority", None),
    ("not-an-object", ["_name", "d"], "body", None),
]


def test_a_bad_definition_is_400_naming_the_field(api, subtests):
    for name, body, field, value in BAD_DEFINITIONS:
        with subtests.test(name):
            # When
            reply = api.invoke("create_workflowdef", load_event("create_workflowdef", body=body))

            # Then
            assert reply.status == 400, reply.text
            assert field in reply.message
            if value is not None:
                assert value in reply.message
    # and nothing was stored
    assert _list(api).body["_total"] == 0


def test_malformed_json_is_400(api):
    reply = api.invoke(
        "create_workflowdef", load_event("create_workflowdef", body='{"_name": "d", "_tasks": [')
    )
    assert reply.status == 400
    assert "JSON" in reply.message


def test_a_missing_body_is_400(api):
    reply = api.invoke("create_workflowdef", load_event("create_workflowdef", body=None))
    assert reply.status == 400


def test_the_retry_count_bounds_are_accepted(api):
    for count in (0, 10):
        body = {"_name": f"retry_{count}", "_tasks": [_task(_retryCount=count)]}
        reply = api.invoke("create_workflowdef", load_event("create_workflowdef", body=body))
        assert reply.status == 201, reply.text


# ------------------------------------------------------------------ get


def test_another_namespaces_definition_is_404(api):
    # Given a definition of the other namespace only
    created = api.create_definition(nsfilter=SAMPLE_OTHER_NAMESPACE)

    # When the caller asks in their first namespace (both are granted)
    reply = _get(api, created["_id"], SAMPLE_NAMESPACE)

    # Then
    assert reply.status == 404
    assert created["_id"] in reply.message


@pytest.mark.parametrize("definition_id", ["824beec4-4a58-4bf8-b9df-b86172a2d5d5", "not-a-uuid", "824beec4"])
def test_an_unknown_definition_is_404(api, definition_id):
    reply = _get(api, definition_id)
    assert reply.status == 404
    assert definition_id in reply.message


# ------------------------------------------------------------------ list


def test_the_sample_list_event_finds_definitions_by_name(api):
    # Given
    wanted = api.create_definition(_named("rest_connector_workflow"))
    api.create_definition(_named("device_sync"))

    # When
    reply = api.invoke("list_workflowdefs", load_event("list_workflowdefs"))

    # Then
    assert reply.status == 200, reply.text
    assert reply.body["_total"] == 1
    assert ids(reply.body["_list"]) == [wanted["_id"]]
    assert reply.body["_offset"] == 0
    assert reply.body["_pageSize"] == 10


def test_list_is_newest_first_with_paging_and_a_total(api):
    # Given five definitions
    created = [api.create_definition(_named(f"flow_{index}")) for index in range(5)]
    newest_first = ids(created)[::-1]

    # When
    first = _list(api, _pageSize="2")
    second = _list(api, _pageSize="2", _offset="2")
    lower_spelling = _list(api, _pagesize="4")

    # Then
    assert first.body["_total"] == 5 and second.body["_total"] == 5
    assert ids(first.body["_list"]) == newest_first[:2]
    assert ids(second.body["_list"]) == newest_first[2:4]
    assert second.body["_offset"] == 2
    assert len(lower_spelling.body["_list"]) == 4
    assert lower_spelling.body["_pageSize"] == 4


def test_list_next_token_walks_every_definition_once(api):
    # Given
    created = [api.create_definition(_named(f"flow_{index}")) for index in range(5)]

    # When
    seen: list[str] = []
    token = None
    for _ in range(10):
        reply = _list(api, _pageSize="2", _nextToken=token)
        assert reply.status == 200, reply.text
        seen.extend(ids(reply.body["_list"]))
        token = reply.body.get("_nextToken")
        if token is None:
            break

    # Then
    assert seen == ids(created)[::-1]


def test_list_name_filter_is_a_case_insensitive_substring_and_total_counts_matches(api):
    # Given
    matching = [api.create_definition(_named(name)) for name in ("ActiveMQ_bridge", "activemq_ingest")]
    api.create_definition(_named("rest_connector_workflow"))

    # When
    reply = _list(api, _name="ACTIVEmq")

    # Then
    assert reply.status == 200
    assert sorted(ids(reply.body["_list"])) == sorted(ids(matching))
    assert reply.body["_total"] == 2


def test_list_shows_only_the_namespaces_of_nsfilter(api):
    # Given
    mine = api.create_definition(_named("mine"))
    api.create_definition(_named("theirs"), nsfilter=SAMPLE_OTHER_NAMESPACE)
    shared = api.create_definition(_named("shared"), nsfilter=BOTH_NAMESPACES)

    # When
    first_only = _list(api)
    both = _list(api, nsfilter=BOTH_NAMESPACES)

    # Then
    assert sorted(ids(first_only.body["_list"])) == sorted([mine["_id"], shared["_id"]])
    assert first_only.body["_total"] == 2
    assert both.body["_total"] == 3  # the shared definition counted once
    assert len(both.body["_list"]) == 3


@pytest.mark.parametrize(
    ("name", "value"), [("_pageSize", "0"), ("_pageSize", "101"), ("_pagesize", "abc"), ("_offset", "-1")]
)
def test_list_bad_paging_is_400_naming_the_field(api, name, value):
    reply = _list(api, **{name: value})
    assert reply.status == 400
    assert name in reply.message and value in reply.message


def test_list_refuses_an_altered_token(api):
    # Given
    for index in range(3):
        api.create_definition(_named(f"flow_{index}"))
    token = _list(api, _pageSize="2").body["_nextToken"]
    altered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")

    # When
    reply = _list(api, _pageSize="2", _nextToken=altered)
    other_filter = _list(api, _pageSize="2", _name="flow", _nextToken=token)

    # Then
    assert reply.status == 400
    assert "_nextToken" in reply.message
    assert other_filter.status == 400

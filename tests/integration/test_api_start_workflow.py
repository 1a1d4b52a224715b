"""Starting a run: POST /workflows, with and without an Idempotency-Key."""

from __future__ import annotations

import base64
import json

import pytest
from workflowsvc import timestamps

from tests.support.checks import is_timestamp, is_uuid4
from tests.support.events import (
    SAMPLE_DEFINITION_ID,
    SAMPLE_NAMESPACE,
    SAMPLE_OTHER_NAMESPACE,
    SAMPLE_SUBJECT,
    load_event,
)
from tests.support.runs import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT, SEED_INPUT

BOTH_NAMESPACES = f"{SAMPLE_NAMESPACE},{SAMPLE_OTHER_NAMESPACE}"

# The fields of a run in the vendor's response example, in its order.
SEED_RUN_FIELDS = [
    "_id",
    "_workflowDefId",
    "_name",
    "_namespaces",
    "_userType",
    "_tasks",
    "_timeoutSeconds",
    "_timeoutPolicy",
    "_status",
    "_createdAt",
    "_updatedAt",
    "_createdBy",
    "_updatedBy",
    "_inputParams",
    "_output",
]
SEED_TASK_FIELDS = ["_id", "_name", "_sequenceno", "_type", "_status"]


def _start_event(definition_id: str, **changes):
    return load_event(
        "start_workflow",
        body={"_workflowDefId": definition_id, "_inputParams": SEED_INPUT},
        **changes,
    )


def test_start_answers_201_with_the_run_in_the_seeds_shape(api):
    # Given the definition of the contract's example
    definition = api.create_definition()
    before = timestamps.now_ns()

    # When the sample request starts it
    reply = api.invoke("start_workflow", _start_event(definition["_id"]))

    # Then
    after = timestamps.now_ns()
    assert reply.status == 201, reply.text
    run = reply.body
    assert list(run) == SEED_RUN_FIELDS
    assert is_uuid4(run["_id"])
    assert run["_workflowDefId"] == definition["_id"]
    assert run["_name"] == "rest_connector_workflow"
    assert run["_namespaces"] == [SAMPLE_NAMESPACE]
    assert run["_userType"] == "iaq_realtime_setup"
    assert run["_timeoutSeconds"] == 3600
    assert run["_timeoutPolicy"] == "TIME_OUT_WF"
    assert run["_status"] == "QUEUED"
    assert run["_createdBy"] == run["_updatedBy"] == SAMPLE_SUBJECT
    assert run["_inputParams"] == SEED_INPUT
    assert run["_output"] is None
    for field in ("_createdAt", "_updatedAt"):
        assert is_timestamp(run[field]), run[field]
        assert before <= timestamps.parse_ns(run[field]) <= after
    assert run["_updatedAt"] >= run["_createdAt"]
    [task] = run["_tasks"]
    assert list(task) == SEED_TASK_FIELDS
    assert is_uuid4(task["_id"]) and task["_id"] != run["_id"]
    assert task == {
        "_id": task["_id"],
        "_name": "REST_CONNECTOR",
        "_sequenceno": 1,
        "_type": "REST_CONNECTOR",
        "_status": "QUEUED",
    }


def test_start_sets_a_location_header_that_reads_the_run_back(api):
    # Given
    definition = api.create_definition()

    # When
    reply = api.invoke("start_workflow", _start_event(definition["_id"]))

    # Then
    run = reply.body
    location = reply.headers["location"]
    assert location.startswith(f"/workflowsvc/api/v1/workflows/{run['_id']}")
    assert api.get(run["_id"]).body == run


def test_start_queues_one_message_for_the_first_task(api, task_queue):
    # Given
    definition = api.create_definition(DEVICE_SYNC_DEFINITION)

    # When
    run = api.start(definition["_id"], input_params=DEVICE_SYNC_INPUT)

    # Then
    messages = task_queue.drain()
    assert len(messages) == 1
    assert messages[0]["runId"] == run["_id"]
    assert messages[0]["taskId"] == run["_tasks"][0]["_id"]


def test_every_task_of_the_definition_is_queued_in_order(api):
    # Given
    definition = api.create_definition(DEVICE_SYNC_DEFINITION)

    # When
    run = api.start(definition["_id"], input_params=DEVICE_SYNC_INPUT)

    # Then
    assert [task["_name"] for task in run["_tasks"]] == ["login", "fetch_devices", "notify"]
    assert [task["_sequenceno"] for task in run["_tasks"]] == [1, 2, 3]
    assert {task["_status"] for task in run["_tasks"]} == {"QUEUED"}
    assert all(is_uuid4(task["_id"]) for task in run["_tasks"])
    assert len({task["_id"] for task in run["_tasks"]}) == 3
    assert run["_timeoutSeconds"] == 900
    assert run["_inputParams"] == DEVICE_SYNC_INPUT


def test_a_definition_without_timeout_gives_null_timeout_fields_as_in_the_seed(api):
    # Given
    definition = api.create_definition(
        {"_name": "no_timeout", "_tasks": [{"_name": "call", "_type": "REST_CONNECTOR"}]}
    )

    # When
    run = api.start(definition["_id"])

    # Then
    assert run["_timeoutSeconds"] is None
    assert run["_timeoutPolicy"] is None
    assert run["_userType"] is None


def test_namespaces_of_the_run_are_those_of_nsfilter(api):
    # Given a definition shared by both namespaces
    definition = api.create_definition(nsfilter=BOTH_NAMESPACES)

    # When
    both = api.start(definition["_id"], nsfilter=BOTH_NAMESPACES)
    second = api.start(definition["_id"], nsfilter=SAMPLE_OTHER_NAMESPACE)

    # Then
    assert both["_namespaces"] == [SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE]
    assert second["_namespaces"] == [SAMPLE_OTHER_NAMESPACE]
    assert api.get(second["_id"], nsfilter=SAMPLE_NAMESPACE).status == 404


def test_input_params_default_to_an_empty_object(api):
    definition = api.create_definition()
    reply = api.invoke(
        "start_workflow", load_event("start_workflow", body={"_workflowDefId": definition["_id"]})
    )
    assert reply.status == 201, reply.text
    assert reply.body["_inputParams"] == {}


def test_a_base64_encoded_body_is_read_like_a_text_body(api):
    # Given a body API Gateway passed base64-encoded
    definition = api.create_definition()
    event = _start_event(definition["_id"])
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True

    # When
    reply = api.invoke("start_workflow", event)

    # Then
    assert reply.status == 201, reply.text
    assert reply.body["_inputParams"] == SEED_INPUT


# ------------------------------------------------------------------ unknown definitions


def test_the_sample_event_unchanged_names_a_definition_that_does_not_exist(api, task_queue):
    reply = api.invoke("start_workflow", load_event("start_workflow"))
    assert reply.status == 404
    assert SAMPLE_DEFINITION_ID in reply.message
    assert task_queue.drain() == []


@pytest.mark.parametrize("definition_id", ["0f6b3c9e-1d2a-4e5f-8a7b-9c0d1e2f3a4b", "rest_connector_workflow"])
def test_an_unknown_definition_is_404(api, definition_id):
    reply = api.invoke("start_workflow", _start_event(definition_id))
    assert reply.status == 404
    assert definition_id in reply.message


def test_a_definition_of_another_namespace_is_404_and_starts_nothing(api, task_queue):
    # Given a definition that belongs to the other namespace only
    definition = api.create_definition(nsfilter=SAMPLE_OTHER_NAMESPACE)

    # When started in the first namespace
    reply = api.invoke("start_workflow", _start_event(definition["_id"]))

    # Then
    assert reply.status == 404
    assert reply.error["_code"] != "FORBIDDEN"
    assert api.list().body["_total"] == 0
    assert task_queue.drain() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"_inputParams": SEED_INPUT}, "_workflowDefId"),
        ({"_workflowDefId": 42}, "_workflowDefId"),
        ({"_workflowDefId": SAMPLE_DEFINITION_ID, "_inputParams": ["_url"]}, "_inputParams"),
        ({"_workflowDefId": SAMPLE_DEFINITION_ID, "_inputParams": "https://example.com"}, "_inputParams"),
    ],
)
def test_a_bad_start_request_is_400_naming_the_field(api, body, field):
    reply = api.invoke("start_workflow", load_event("start_workflow", body=body))
    assert reply.status == 400
    assert field in reply.message


def test_malformed_json_is_400(api):
    reply = api.invoke("start_workflow", load_event("start_workflow", body='{"_workflowDefId": '))
    assert reply.status == 400
    assert "JSON" in reply.message


# ------------------------------------------------------------------ Idempotency-Key


def _keyed(definition_id: str, key: str = "5d0b1c8e-start-rest-connector-0001", **changes):
    return load_event(
        "start_workflow_idempotency_key",
        body={"_workflowDefId": definition_id, "_inputParams": SEED_INPUT},
        headers={"idempotency-key": key},
        **changes,
    )


def test_a_replayed_request_answers_the_original_and_starts_one_run(api, task_queue):
    # Given a first request with a key
    definition = api.create_definition()
    first = api.invoke("start_workflow", _keyed(definition["_id"]))
    assert first.status == 201
    assert "idempotent-replayed" not in first.headers

    # When the client retries it
    again = api.invoke("start_workflow", _keyed(definition["_id"]))

    # Then
    assert again.status == 201
    assert again.body == first.body
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = api.list().body
    assert listed["_total"] == 1
    assert [run["_id"] for run in listed["_list"]] == [first.body["_id"]]
    assert len(task_queue.drain()) == 1


def test_the_sample_keyed_event_replays_too(api):
    definition = api.create_definition()
    event = load_event("start_workflow_idempotency_key", body={"_workflowDefId": definition["_id"]})
    first = api.invoke("start_workflow", event)
    second = api.invoke("start_workflow", event)
    assert (first.status, second.status) == (201, 201)
    assert second.body["_id"] == first.body["_id"]
    assert second.headers["idempotent-replayed"] == "true"


def test_the_same_key_with_another_body_is_409(api, task_queue):
    # Given
    definition = api.create_definition()
    api.invoke("start_workflow", _keyed(definition["_id"]))
    task_queue.drain()
    other = _keyed(definition["_id"])
    other["body"] = json.dumps(
        {"_workflowDefId": definition["_id"], "_inputParams": {"_url": "https://example.com"}}
    )

    # When
    reply = api.invoke("start_workflow", other)

    # Then
    assert reply.status == 409
    assert "Idempotency-Key" in reply.message
    assert api.list().body["_total"] == 1
    assert task_queue.drain() == []


def test_the_same_key_in_another_namespace_starts_a_new_run(api):
    # Given a definition in both namespaces, started with a key in the first
    definition = api.create_definition(nsfilter=BOTH_NAMESPACES)
    first = api.invoke("start_workflow", _keyed(definition["_id"]))

    # When the same key is used in the second namespace
    second = api.invoke(
        "start_workflow", _keyed(definition["_id"], query={"nsfilter": SAMPLE_OTHER_NAMESPACE})
    )

    # Then
    assert second.status == 201
    assert "idempotent-replayed" not in second.headers
    assert second.body["_id"] != first.body["_id"]
    assert second.body["_namespaces"] == [SAMPLE_OTHER_NAMESPACE]


def test_different_keys_start_different_runs(api):
    definition = api.create_definition()
    first = api.invoke("start_workflow", _keyed(definition["_id"], key="order-1"))
    second = api.invoke("start_workflow", _keyed(definition["_id"], key="order-2"))
    assert first.body["_id"] != second.body["_id"]
    assert api.list().body["_total"] == 2


def test_without_a_key_every_request_starts_a_run(api):
    definition = api.create_definition()
    event = _start_event(definition["_id"])
    first, second = api.invoke("start_workflow", event), api.invoke("start_workflow", event)
    assert first.body["_id"] != second.body["_id"]


def test_an_unknown_definition_is_404_before_a_reused_key_is_409(api):
    # Given a key already used
    definition = api.create_definition()
    api.invoke("start_workflow", _keyed(definition["_id"]))

    # When it comes back with a body naming a definition that does not exist
    reply = api.invoke("start_workflow", _keyed("0f6b3c9e-1d2a-4e5f-8a7b-9c0d1e2f3a4b"))

    # Then the 404 comes first, as the contract orders them
    assert reply.status == 404


def test_a_replay_ignores_how_the_same_body_is_formatted(api):
    definition = api.create_definition()
    first = api.invoke("start_workflow", _keyed(definition["_id"]))
    pretty = _keyed(definition["_id"])
    pretty["body"] = json.dumps(
        {"_inputParams": SEED_INPUT, "_workflowDefId": definition["_id"]}, indent=4, sort_keys=True
    )
    again = api.invoke("start_workflow", pretty)
    assert again.status == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.body["_id"] == first.body["_id"]


def test_a_key_is_remembered_for_24_hours_and_then_forgotten(api, dynamodb_client, table_name):
    # Given a keyed start, remembered until about 24 hours from now
    definition = api.create_definition()
    first = api.invoke("start_workflow", _keyed(definition["_id"]))
    [record] = [
        item
        for item in dynamodb_client.scan(TableName=table_name)["Items"]
        if item["pk"]["S"].startswith("IDEMPOTENCY#")
    ]
    expires = int(record["ttl"]["N"])
    now_s = timestamps.now_ns() // 1_000_000_000
    assert now_s + 24 * 3600 - 60 <= expires <= now_s + 24 * 3600 + 60

    # When the 24 hours have passed (DynamoDB may not have deleted the record yet)
    dynamodb_client.update_item(
        TableName=table_name,
        Key={"pk": record["pk"], "sk": record["sk"]},
        UpdateExpression="SET #ttl = :past",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={":past": {"N": str(now_s - 1)}},
    )
    later = api.invoke("start_workflow", _keyed(definition["_id"]))

    # Then the same key starts a new run
    assert later.status == 201
    assert "idempotent-replayed" not in later.headers
    assert later.body["_id"] != first.body["_id"]

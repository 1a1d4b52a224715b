"""Starting a run and reading it back over HTTP: the seed's shape, the Location header, Idempotency-Key."""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

SEED_DEFINITION = {
    "_name": "rest_connector_workflow",
    "_userType": "iaq_realtime_setup",
    "_timeoutSeconds": 3600,
    "_timeoutPolicy": "TIME_OUT_WF",
}
SEED_TASKS = [{"_name": "REST_CONNECTOR", "_type": "REST_CONNECTOR"}]
# The fields of a run and of its task in the seed's "Create (Run) a new workflow" answer.
SEED_RUN_FIELDS = {
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
}
SEED_TASK_FIELDS = {"_id", "_name", "_sequenceno", "_type", "_status"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")


def is_uuid4(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 4 and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def test_starting_a_run_answers_201_with_the_seed_shape(
    api: Any, target: Any, namespace: str, define_workflow: Callable[..., dict[str, Any]]
) -> None:
    # Given
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    alice = api.as_caller(sub="alice", namespaces=[namespace])
    input_params = {"_url": target.url_for("/artists/0TnOYISbd1XYRBk9myaseg")}

    # When
    result = alice.post(
        "/workflows",
        params={"nsfilter": namespace},
        json={"_workflowDefId": definition["_id"], "_inputParams": input_params},
    )

    # Then
    assert result.status == 201, result
    assert result.header("Content-Type") == "application/json"
    run = result.json()
    assert set(run) == SEED_RUN_FIELDS
    assert is_uuid4(run["_id"])
    assert run["_workflowDefId"] == definition["_id"]
    assert run["_namespaces"] == [namespace]
    assert {key: run[key] for key in SEED_DEFINITION} == SEED_DEFINITION
    assert run["_status"] == "QUEUED"
    assert run["_inputParams"] == input_params
    assert run["_output"] is None
    assert run["_createdBy"] == run["_updatedBy"] == "alice"
    assert TIMESTAMP.match(run["_createdAt"]), run["_createdAt"]
    assert TIMESTAMP.match(run["_updatedAt"]), run["_updatedAt"]
    assert run["_updatedAt"] >= run["_createdAt"]
    [task] = run["_tasks"]
    assert set(task) == SEED_TASK_FIELDS
    assert is_uuid4(task["_id"])
    assert task == {
        "_id": task["_id"],
        "_name": "REST_CONNECTOR",
        "_sequenceno": 1,
        "_type": "REST_CONNECTOR",
        "_status": "QUEUED",
    }


def test_the_location_header_of_a_new_run_leads_to_it(
    api: Any,
    local_server: str,
    http: Callable[..., Any],
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
) -> None:
    # Given
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    started = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        json={"_workflowDefId": definition["_id"], "_inputParams": {"_url": target.url_for("/ok")}},
    )
    assert started.status == 201, started
    location = started.header("Location")
    assert location, "a 201 without a Location header"

    # When
    followed = http("GET", urllib.parse.urljoin(f"{local_server}/", location))

    # Then
    assert followed.status == 200, followed
    run = followed.json()
    assert run["_id"] == started.json()["_id"]
    assert run["_workflowDefId"] == definition["_id"]
    assert run["_createdAt"] == started.json()["_createdAt"]


def test_a_run_read_back_after_completing_carries_the_targets_answer(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/artist", (200, {"name": "Artist", "followers": 42}))
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    started = start_run(namespace, definition["_id"], {"_url": target.url_for("/artist")})
    wait_for_run(started["_id"], namespace, {"COMPLETED", "FAILED"})

    # When
    result = api.get(f"/workflows/{started['_id']}", params={"nsfilter": namespace})

    # Then
    assert result.status == 200, result
    run = result.json()
    assert run["_status"] == "COMPLETED", run
    assert run["_output"]["_statusCode"] == 200
    assert run["_output"]["_body"] == {"name": "Artist", "followers": 42}
    [task] = run["_tasks"]
    assert task["_id"] == started["_tasks"][0]["_id"]
    assert task["_status"] == "COMPLETED"
    assert task["_attempts"] == 1
    assert task["_output"] == run["_output"]
    assert run["_createdAt"] == started["_createdAt"]
    assert run["_updatedAt"] > started["_updatedAt"]
    assert target.calls("/artist") == 1


def test_a_run_without_loops_reads_the_same_with_and_without_loop_over_tasks(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    started = start_run(namespace, definition["_id"], {"_url": target.url_for("/ok")})
    wait_for_run(started["_id"], namespace, {"COMPLETED", "FAILED"})

    # When
    plain = api.get(f"/workflows/{started['_id']}", params={"nsfilter": namespace})
    without = api.get(
        f"/workflows/{started['_id']}", params={"nsfilter": namespace, "_includeLoopOverTasks": "false"}
    )
    with_loops = api.get(
        f"/workflows/{started['_id']}", params={"nsfilter": namespace, "_includeLoopOverTasks": "true"}
    )

    # Then
    assert plain.status == without.status == with_loops.status == 200
    assert plain.json() == without.json() == with_loops.json()


def test_a_repeated_start_with_the_same_idempotency_key_replays_the_first_answer(
    api: Any, target: Any, namespace: str, define_workflow: Callable[..., dict[str, Any]]
) -> None:
    # Given
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    body = {"_workflowDefId": definition["_id"], "_inputParams": {"_url": target.url_for("/once")}}
    key = {"Idempotency-Key": f"start-{uuid.uuid4()}"}
    first = api.post("/workflows", params={"nsfilter": namespace}, json=body, headers=key)
    assert first.status == 201, first
    assert first.header("Idempotent-Replayed") is None

    # When
    again = api.post("/workflows", params={"nsfilter": namespace}, json=body, headers=key)

    # Then
    assert again.status == 201, again
    assert again.header("Idempotent-Replayed") == "true"
    assert again.json()["_id"] == first.json()["_id"]
    assert again.json() == first.json()
    listed = api.get("/workflows", params={"nsfilter": namespace})
    assert listed.status == 200, listed
    assert listed.json()["_total"] == 1
    assert [run["_id"] for run in listed.json()["_list"]] == [first.json()["_id"]]


def test_the_same_idempotency_key_with_another_body_is_a_409(
    api: Any, target: Any, namespace: str, define_workflow: Callable[..., dict[str, Any]]
) -> None:
    # Given
    definition = define_workflow(namespace, SEED_TASKS, **SEED_DEFINITION)
    key = {"Idempotency-Key": f"start-{uuid.uuid4()}"}
    first = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        json={"_workflowDefId": definition["_id"], "_inputParams": {"_url": target.url_for("/a")}},
        headers=key,
    )
    assert first.status == 201, first

    # When
    other = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        json={"_workflowDefId": definition["_id"], "_inputParams": {"_url": target.url_for("/b")}},
        headers=key,
    )

    # Then
    assert other.status == 409, other
    assert other.json()["_error"]["_code"]
    assert "Idempotency-Key" in other.json()["_error"]["_message"]
    assert api.get("/workflows", params={"nsfilter": namespace}).json()["_total"] == 1

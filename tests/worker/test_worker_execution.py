"""A run moves from QUEUED to COMPLETED through the worker, and its tasks pass data to each other."""

from __future__ import annotations

from typing import Any

from workflowsvc import timestamps

from tests.support.harness import Api, Target, Worker, task_named


def one_task_definition() -> dict[str, Any]:
    return {
        "_name": "rest_connector_workflow",
        "_userType": "iaq_realtime_setup",
        "_timeoutSeconds": 3600,
        "_timeoutPolicy": "TIME_OUT_WF",
        "_tasks": [{"_name": "REST_CONNECTOR", "_type": "REST_CONNECTOR"}],
    }


def test_a_one_task_run_goes_from_queued_through_running_to_completed_with_the_answer_as_output(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run of the seed's one-task definition, whose URL answers JSON
    gate = target.gate("/v1/artists/0TnOYISbd1XYRBk9myaseg", body={"name": "Elvis Presley", "popularity": 77})
    started = api.start_run(one_task_definition(), {"_url": target.url("/v1/artists/0TnOYISbd1XYRBk9myaseg")})
    queued = api.get(started["_id"])
    assert queued["_status"] == "QUEUED"
    assert [task["_status"] for task in queued["_tasks"]] == ["QUEUED"]

    # When the worker takes the run's message, and the call is in flight
    background = worker.step_in_background()
    gate.wait_arrival()
    running = api.get(started["_id"])

    # Then the run and its task are RUNNING, the task has started and not ended
    assert running["_status"] == "RUNNING"
    task = task_named(running, "REST_CONNECTOR")
    assert task["_status"] == "RUNNING"
    assert task["_startedAt"] and "_endedAt" not in task
    assert running["_updatedAt"] > queued["_updatedAt"]
    assert running["_updatedAt"] >= task["_startedAt"]

    # When the target answers
    gate.release()
    background.join()
    completed = api.get(started["_id"])

    # Then the run is COMPLETED with the target's answer as the task's output and the run's
    assert completed["_status"] == "COMPLETED"
    task = task_named(completed, "REST_CONNECTOR")
    assert task["_status"] == "COMPLETED"
    assert task["_output"]["_statusCode"] == 200
    assert task["_output"]["_body"] == {"name": "Elvis Presley", "popularity": 77}
    assert task["_output"]["_headers"]["content-type"] == "application/json"
    assert completed["_output"] == task["_output"]
    assert task["_startedAt"] <= task["_endedAt"] <= completed["_updatedAt"]
    assert completed["_updatedAt"] > running["_updatedAt"]
    timestamps.parse_ns(task["_startedAt"])  # RFC 3339 with nanoseconds
    assert task["_endedAt"].endswith("Z") and len(task["_endedAt"]) == len("2026-02-24T02:32:22.148605220Z")
    assert "_error" not in completed and "_error" not in task
    assert target.calls() == 1
    # And nothing is left to do
    assert worker.waiting() == (0, 0)


def chain_definition(output_params: dict[str, Any] | None = None) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "_name": "device_sync",
        "_timeoutSeconds": 60,
        "_tasks": [
            {
                "_name": "login",
                "_type": "REST_CONNECTOR",
                "_inputParams": {
                    "_url": "${workflow._inputParams.base}/auth/login",
                    "_method": "POST",
                    "_body": {"user": "${workflow._inputParams.user}", "site": "berlin-hq"},
                },
            },
            {
                "_name": "get-token",
                "_type": "REST_CONNECTOR",
                "_inputParams": {
                    "_url": "${workflow._inputParams.base}/accounts/${tasks.login._output._body.token}/token",
                    "_headers": {"Authorization": "Bearer ${tasks.login._output._body.token}"},
                },
            },
            {
                "_name": "devices",
                "_type": "REST_CONNECTOR",
                "_inputParams": {
                    "_url": "${workflow._inputParams.base}/devices",
                    "_method": "POST",
                    "_headers": {"X-Access-Token": '${tasks."get-token"._output._body.accessToken}'},
                    "_body": '${tasks."get-token"._output._body}',
                },
            },
        ],
    }
    if output_params is not None:
        definition["_outputParams"] = output_params
    return definition


def program_chain(target: Target) -> None:
    target.reply("/auth/login", {"token": "tkn-81f2"})
    target.reply("/accounts/tkn-81f2/token", {"accessToken": "at-42", "scope": ["devices:read"], "ttl": 3600})
    target.reply("/devices", {"devices": ["d-1", "d-2"]})


def test_a_three_task_chain_passes_each_answer_into_the_next_request(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a chain whose tasks read the run's inputs and earlier tasks' outputs
    program_chain(target)
    run = api.start_run(chain_definition(), {"base": target.base_url, "user": "ada"})

    # When the worker runs it to the end
    worker.drain()

    # Then each request carried what the earlier answers said
    login = target.received("/auth/login")
    assert [request.method for request in login] == ["POST"]
    assert login[0].json == {"user": "ada", "site": "berlin-hq"}
    token = target.received("/accounts/tkn-81f2/token")
    assert len(token) == 1
    assert token[0].headers["authorization"] == "Bearer tkn-81f2"
    devices = target.received("/devices")
    assert len(devices) == 1
    assert devices[0].headers["x-access-token"] == "at-42"
    # a whole-value expression keeps its JSON type: the object itself, sent as JSON
    assert devices[0].headers["content-type"] == "application/json"
    assert devices[0].json == {"accessToken": "at-42", "scope": ["devices:read"], "ttl": 3600}

    # And the run completed with the last task's output as its own
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [task["_status"] for task in finished["_tasks"]] == ["COMPLETED"] * 3
    assert finished["_output"] == task_named(finished, "devices")["_output"]
    assert finished["_output"]["_body"] == {"devices": ["d-1", "d-2"]}
    assert target.calls() == 3


def test_a_definition_with_output_params_makes_them_the_run_output(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given the chain with _outputParams picking values out of several tasks
    program_chain(target)
    output_params = {
        "token": "${tasks.login._output._body.token}",
        "deviceCount": "${length(tasks.devices._output._body.devices)}",
        "summary": "${workflow._inputParams.user} has ${length(tasks.devices._output._body.devices)} devices",
        "status": '${tasks."get-token"._output._statusCode}',
    }
    run = api.start_run(chain_definition(output_params), {"base": target.base_url, "user": "ada"})

    # When the worker runs it to the end
    worker.drain()

    # Then the run's output is the evaluated _outputParams
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert finished["_output"] == {
        "token": "tkn-81f2",
        "deviceCount": 2,
        "summary": "ada has 2 devices",
        "status": 200,
    }


def test_a_task_without_input_params_receives_the_run_inputs(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given the seed's definition, whose task declares no _inputParams, started with _url and _method
    target.reply("/hooks/devices-synced", {"ok": True}, status=202)
    run = api.start_run(
        one_task_definition(), {"_url": target.url("/hooks/devices-synced"), "_method": "PUT"}
    )

    # When the worker runs it
    worker.drain()

    # Then the call used the run's inputs
    assert [request.method for request in target.received("/hooks/devices-synced")] == ["PUT"]
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert finished["_output"]["_statusCode"] == 202

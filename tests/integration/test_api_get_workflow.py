"""Reading one run: GET /workflows/{id}."""

from __future__ import annotations

import uuid

from workflowsvc import timestamps

from tests.support.events import SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE, SAMPLE_RUN_ID, load_event
from tests.support.runs import LOOP_DEFINITION, ts


def test_the_sample_event_reads_a_run_once_its_id_is_substituted(api):
    # Given
    definition = api.create_definition()
    run = api.start(definition["_id"])

    # When
    reply = api.invoke("get_workflow", load_event("get_workflow", path_parameters={"workflowId": run["_id"]}))

    # Then
    assert reply.status == 200, reply.text
    assert reply.body == run


def test_include_loop_over_tasks_accepts_booleans_and_refuses_anything_else(api, subtests):
    definition = api.create_definition()
    run = api.start(definition["_id"])
    for value in ("true", "false", "True", "0", "1"):
        with subtests.test(value=value):
            reply = api.get(run["_id"], _includeLoopOverTasks=value)
            assert reply.status == 200, reply.text
            assert reply.body["_id"] == run["_id"]
    for value in ("maybe", "yes please", "", "2"):
        with subtests.test(value=value):
            reply = api.get(run["_id"], _includeLoopOverTasks=value)
            assert reply.status == 400, reply.text
            assert "_includeLoopOverTasks" in reply.message


def test_the_sample_unknown_id_event_is_404(api):
    reply = api.invoke("get_workflow", load_event("get_workflow_unknown_id"))
    assert reply.status == 404
    assert load_event("get_workflow_unknown_id")["pathParameters"]["workflowId"] in reply.message


def test_an_unknown_or_malformed_id_is_404(api, subtests):
    for run_id in (
        SAMPLE_RUN_ID,
        str(uuid.uuid4()),
        "not-a-uuid",
        "94bcf41e8d054011a64bd5a5164b0155",
        "%2e%2e",
    ):
        with subtests.test(run_id=run_id):
            reply = api.get(run_id)
            assert reply.status == 404
            assert reply.error["_code"] != "FORBIDDEN"


def test_another_namespaces_run_is_404_never_403(api):
    # Given a run of the first namespace; the caller is granted both namespaces
    definition = api.create_definition()
    run = api.start(definition["_id"])

    # When read through the other namespace, with the sample event
    event = load_event("get_workflow_foreign_namespace", path_parameters={"workflowId": run["_id"]})
    reply = api.invoke("get_workflow", event)

    # Then it does not exist there
    assert event["queryStringParameters"]["nsfilter"] == SAMPLE_OTHER_NAMESPACE
    assert reply.status == 404
    # and the answer is the one for an id that exists nowhere: nothing tells the two apart
    unknown_id = str(uuid.uuid4())
    unknown = api.get(unknown_id, nsfilter=SAMPLE_OTHER_NAMESPACE)
    assert reply.error["_code"] == unknown.error["_code"]
    assert reply.message.replace(run["_id"], "ID") == unknown.message.replace(unknown_id, "ID")


def test_a_run_is_found_through_any_of_its_namespaces(api):
    # Given a run of both namespaces
    both = f"{SAMPLE_NAMESPACE},{SAMPLE_OTHER_NAMESPACE}"
    definition = api.create_definition(nsfilter=both)
    run = api.start(definition["_id"], nsfilter=both)

    # Then
    for nsfilter in (
        SAMPLE_NAMESPACE,
        SAMPLE_OTHER_NAMESPACE,
        both,
        f"{SAMPLE_OTHER_NAMESPACE},unrelated_ns",
    ):
        reply = api.get(run["_id"], nsfilter=nsfilter)
        if nsfilter.endswith("unrelated_ns"):
            assert reply.status == 403  # a namespace the caller was not granted
        else:
            assert reply.status == 200, (nsfilter, reply.text)
            assert reply.body == run


def _loop_run(given, api):
    """A completed run whose LOOP_OVER ran two iterations, stored as the worker stores them."""
    definition = api.create_definition(LOOP_DEFINITION)
    run = given.run(definition, "COMPLETED", input_params={})
    stored = given.stored(run["_id"])
    loop_task = stored.run["_tasks"][1]
    created_ns = timestamps.parse_ns(run["_createdAt"])
    iterations = []
    for index, device in enumerate(["d-1", "d-2"]):
        iterations.append(
            {
                "_id": str(uuid.uuid4()),
                "_name": "read_device",
                "_sequenceno": 3 + index,
                "_type": "REST_CONNECTOR",
                "_status": "COMPLETED",
                "_loopTaskId": loop_task["_id"],
                "_loopIndex": index,
                "_inputParams": {"_url": f"https://api.example.com/v2/devices/{device}"},
                "_attempts": 1,
                "_startedAt": ts(created_ns + (5 + index) * 1_000_000_000),
                "_endedAt": ts(created_ns + (6 + index) * 1_000_000_000),
                "_output": {"_statusCode": 200, "_headers": {}, "_body": {"id": device, "co2": 612 + index}},
            }
        )
    given.store.runs.put_iteration_tasks(run["_id"], iterations)
    return run, loop_task, iterations


def test_loop_over_tasks_are_hidden_by_default_and_shown_on_request(api, given):
    # Given
    run, loop_task, iterations = _loop_run(given, api)

    # When
    default = api.get(run["_id"])
    hidden = api.get(run["_id"], _includeLoopOverTasks="false")
    shown = api.get(run["_id"], _includeLoopOverTasks="true")

    # Then
    assert [task["_name"] for task in default.body["_tasks"]] == ["list_devices", "each_device"]
    assert hidden.body["_tasks"] == default.body["_tasks"]
    assert [task["_id"] for task in shown.body["_tasks"]] == [
        run["_tasks"][0]["_id"],
        loop_task["_id"],
        iterations[0]["_id"],
        iterations[1]["_id"],
    ]
    for shown_task, stored_task in zip(shown.body["_tasks"][2:], iterations, strict=True):
        assert shown_task["_loopTaskId"] == loop_task["_id"]
        assert shown_task["_loopIndex"] == stored_task["_loopIndex"]
        assert shown_task["_sequenceno"] == stored_task["_sequenceno"]


def test_a_loop_over_tasks_output_lists_each_iterations_output(api, given):
    run, _loop_task, iterations = _loop_run(given, api)
    reply = api.get(run["_id"])
    assert reply.body["_tasks"][1]["_output"] == [iteration["_output"] for iteration in iterations]

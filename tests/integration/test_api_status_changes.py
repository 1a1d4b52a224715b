"""Changing a run's status: PUT /workflows/{id}/status, every row of the contract's table.

| X          | allowed from                  | run becomes         | its unfinished tasks become     |
| PAUSED     | QUEUED, RUNNING               | PAUSED              | PAUSED (in-flight one finishes) |
| RESUMED    | PAUSED                        | as before the pause | QUEUED                          |
| RETRIED    | FAILED, TIMED_OUT, TERMINATED | QUEUED              | QUEUED (completed ones stay)    |
| TERMINATED | QUEUED, RUNNING, PAUSED       | TERMINATED          | TERMINATED                      |

Runs are put into their source status through the store (the API only starts QUEUED runs).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.checks import is_timestamp
from tests.support.events import SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE, SAMPLE_RUN_ID, load_event
from tests.support.runs import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT, LOOP_DEFINITION

OPERATOR = "5e1b7c2a-operator-0f3a-9d4e-6b2c8a1f7e90"
RUN_STATUSES = ["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]
REQUESTS = ["PAUSED", "RESUMED", "RETRIED", "TERMINATED"]
ALLOWED = {
    "PAUSED": {"QUEUED", "RUNNING"},
    "RESUMED": {"PAUSED"},
    "RETRIED": {"FAILED", "TIMED_OUT", "TERMINATED"},
    "TERMINATED": {"QUEUED", "RUNNING", "PAUSED"},
}


@dataclass(frozen=True)
class Case:
    """One allowed change: the source run, what the run and its three tasks become, the task queued next."""

    requested: str
    source: str
    options: dict[str, Any]
    run_after: str
    tasks_after: tuple[str, str, str]
    queued_task: int | None  # index of the task a message is sent for; None: no message

    @property
    def id(self) -> str:
        extra = "-".join(f"{key}={value}" for key, value in self.options.items())
        return f"{self.requested}-from-{self.source}" + (f"-{extra}" if extra else "")


# Source runs of the three-task definition (see given.run_in_status):
#   QUEUED [Q Q Q] · RUNNING [C Q Q] · RUNNING in flight [C R Q] · PAUSED from RUNNING [C P P]
#   PAUSED from QUEUED [P P P] · FAILED [C F S] · TIMED_OUT [C T S] · TERMINATED [C X X] · COMPLETED [C C C]
ALLOWED_CASES = [
    Case("PAUSED", "QUEUED", {}, "PAUSED", ("PAUSED", "PAUSED", "PAUSED"), None),
    Case("PAUSED", "RUNNING", {}, "PAUSED", ("COMPLETED", "PAUSED", "PAUSED"), None),
    Case("PAUSED", "RUNNING", {"in_flight": True}, "PAUSED", ("COMPLETED", "RUNNING", "PAUSED"), None),
    Case("RESUMED", "PAUSED", {"paused_from": "RUNNING"}, "RUNNING", ("COMPLETED", "QUEUED", "QUEUED"), 1),
    Case("RESUMED", "PAUSED", {"paused_from": "QUEUED"}, "QUEUED", ("QUEUED", "QUEUED", "QUEUED"), 0),
    Case("RETRIED", "FAILED", {}, "QUEUED", ("COMPLETED", "QUEUED", "QUEUED"), 1),
    Case("RETRIED", "TIMED_OUT", {}, "QUEUED", ("COMPLETED", "QUEUED", "QUEUED"), 1),
    Case("RETRIED", "TERMINATED", {}, "QUEUED", ("COMPLETED", "QUEUED", "QUEUED"), 1),
    Case("TERMINATED", "QUEUED", {}, "TERMINATED", ("TERMINATED", "TERMINATED", "TERMINATED"), None),
    Case("TERMINATED", "RUNNING", {}, "TERMINATED", ("COMPLETED", "TERMINATED", "TERMINATED"), None),
    Case(
        "TERMINATED",
        "RUNNING",
        {"in_flight": True},
        "TERMINATED",
        ("COMPLETED", "TERMINATED", "TERMINATED"),
        None,
    ),
    Case("TERMINATED", "PAUSED", {}, "TERMINATED", ("COMPLETED", "TERMINATED", "TERMINATED"), None),
]


def test_the_cases_cover_every_allowed_row_of_the_table():
    covered = {(case.requested, case.source) for case in ALLOWED_CASES}
    assert covered == {(requested, source) for requested, sources in ALLOWED.items() for source in sources}


@pytest.fixture
def device_sync(given) -> dict[str, Any]:
    return given.definition(DEVICE_SYNC_DEFINITION)


@pytest.mark.parametrize("case", ALLOWED_CASES, ids=lambda case: case.id)
def test_an_allowed_change(api, given, task_queue, device_sync, case):
    # Given a run in the source status
    before = given.run(device_sync, case.source, input_params=DEVICE_SYNC_INPUT, **case.options)
    counted_before = {
        status: api.list(_status=status).body["_total"] for status in (case.source, case.run_after)
    }

    # When the operator asks for the change
    reply = api.change_status(before["_id"], case.requested, sub=OPERATOR)

    # Then the run and its tasks are as the table says
    assert reply.status == 200, reply.text
    after = reply.body
    assert after["_status"] == case.run_after
    assert tuple(task["_status"] for task in after["_tasks"]) == case.tasks_after
    # who and when
    assert is_timestamp(after["_updatedAt"]) and after["_updatedAt"] > before["_updatedAt"]
    assert after["_updatedBy"] == OPERATOR
    assert (after["_createdBy"], after["_createdAt"]) == (before["_createdBy"], before["_createdAt"])
    # what does not change
    for field in ("_id", "_workflowDefId", "_name", "_namespaces", "_inputParams", "_timeoutSeconds"):
        assert after[field] == before[field], field
    assert [task["_id"] for task in after["_tasks"]] == [task["_id"] for task in before["_tasks"]]
    # a completed task keeps its output
    for old, new in zip(before["_tasks"], after["_tasks"], strict=True):
        if old["_status"] == "COMPLETED":
            assert new == old
    # the queue
    messages = task_queue.drain()
    if case.queued_task is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert messages[0]["runId"] == before["_id"]
        assert messages[0]["taskId"] == after["_tasks"][case.queued_task]["_id"]
    # it is stored: a read and the counts by status agree
    assert api.get(before["_id"]).body == after
    if case.source != case.run_after:
        assert api.list(_status=case.source).body["_total"] == counted_before[case.source] - 1
        assert api.list(_status=case.run_after).body["_total"] == counted_before[case.run_after] + 1


@pytest.mark.parametrize("source", ["FAILED", "TIMED_OUT", "TERMINATED"])
def test_a_retry_requeues_what_did_not_finish_and_keeps_what_did(api, given, task_queue, device_sync, source):
    # Given a run that stopped after its first task completed, with an alert recorded
    before = given.run(device_sync, source, input_params=DEVICE_SYNC_INPUT)
    stored = given.stored(before["_id"])
    alerted = stored.clone()
    alerted.run["_timeoutAlertedAt"] = stored.run["_updatedAt"]
    given.store.runs.save(stored, alerted)

    # When
    reply = api.change_status(before["_id"], "RETRIED")

    # Then
    assert reply.status == 200, reply.text
    run = reply.body
    assert run["_output"] is None
    assert "_error" not in run
    assert "_timeoutAlertedAt" not in run
    login, fetch, notify = run["_tasks"]
    assert login == before["_tasks"][0]
    assert login["_output"]["_body"] == {"access_token": "tkn-81f2"}
    for task in (fetch, notify):
        assert task["_status"] == "QUEUED"
        for field in ("_error", "_output", "_endedAt", "_attempts"):
            assert field not in task, (task["_name"], field)


def test_refused_changes_are_409_naming_the_current_status_and_change_nothing(
    api, given, task_queue, subtests
):
    # Given a run in every status
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    runs = {status: given.run(definition, status, input_params=DEVICE_SYNC_INPUT) for status in RUN_STATUSES}
    refused = [
        (requested, source)
        for requested in REQUESTS
        for source in RUN_STATUSES
        if source not in ALLOWED[requested]
    ]
    assert len(refused) == 4 * 7 - 9

    for requested, source in refused:
        with subtests.test(requested=requested, source=source):
            # When
            reply = api.change_status(runs[source]["_id"], requested, sub=OPERATOR)

            # Then
            assert reply.status == 409, reply.text
            assert source in reply.message
            assert requested in reply.message
            assert api.get(runs[source]["_id"]).body == runs[source]
    assert task_queue.drain() == []


def test_the_sample_events_pause_a_queued_run_and_refuse_to_resume_it(api, given, device_sync):
    # Given
    run = given.run(device_sync, "QUEUED")

    # When
    illegal = api.invoke(
        "update_workflow_status",
        load_event("update_workflow_status_illegal", path_parameters={"workflowId": run["_id"]}),
    )
    paused = api.invoke(
        "update_workflow_status",
        load_event("update_workflow_status_paused", path_parameters={"workflowId": run["_id"]}),
    )

    # Then
    assert illegal.status == 409
    assert "QUEUED" in illegal.message
    assert paused.status == 200
    assert paused.body["_status"] == "PAUSED"
    assert {task["_status"] for task in paused.body["_tasks"]} == {"PAUSED"}


def test_a_started_run_can_be_paused_resumed_and_terminated(api, task_queue):
    # Given a run started through the API
    definition = api.create_definition()
    run = api.start(definition["_id"])
    [started] = task_queue.drain()

    # When / Then
    paused = api.change_status(run["_id"], "PAUSED")
    assert paused.status == 200 and paused.body["_status"] == "PAUSED"
    assert task_queue.drain() == []

    resumed = api.change_status(run["_id"], "RESUMED")
    assert resumed.status == 200 and resumed.body["_status"] == "QUEUED"
    assert resumed.body["_tasks"][0]["_status"] == "QUEUED"
    [message] = task_queue.drain()
    assert message["runId"] == run["_id"] and message["taskId"] == run["_tasks"][0]["_id"]
    assert message["step"] > started["step"]  # the message sent at start is now stale

    terminated = api.change_status(run["_id"], "TERMINATED")
    assert terminated.status == 200 and terminated.body["_status"] == "TERMINATED"
    assert terminated.body["_tasks"][0]["_status"] == "TERMINATED"
    assert task_queue.drain() == []
    assert resumed.body["_updatedAt"] < terminated.body["_updatedAt"]

    again = api.change_status(run["_id"], "TERMINATED")
    assert again.status == 409
    assert "TERMINATED" in again.message


@pytest.mark.parametrize(
    "body",
    [
        {"_status": "RESUME"},
        {"_status": "COMPLETED"},
        {"_status": "RUNNING"},
        {"_status": ""},
        {"_status": None},
        {"_status": 5},
        {"_status": ["PAUSED"]},
        {},
        {"status": "PAUSED"},
        {"_status": "PAUSED", "_reason": "maintenance"},
    ],
    ids=lambda body: repr(body),
)
def test_a_bad_status_request_is_400_naming_the_field(api, given, device_sync, body):
    run = given.run(device_sync, "QUEUED")
    event = load_event("update_workflow_status_paused", path_parameters={"workflowId": run["_id"]}, body=body)
    reply = api.invoke("update_workflow_status", event)
    assert reply.status == 400, reply.text
    assert "_status" in reply.message or "status" in reply.message or "_reason" in reply.message
    assert api.get(run["_id"]).body == run


@pytest.mark.parametrize("text", ['{"_status": "PAUSED"', "PAUSED", "", "null", '["PAUSED"]'])
def test_a_malformed_body_is_400(api, given, device_sync, text):
    run = given.run(device_sync, "QUEUED")
    event = load_event("update_workflow_status_paused", path_parameters={"workflowId": run["_id"]}, body=text)
    reply = api.invoke("update_workflow_status", event)
    assert reply.status == 400, reply.text
    assert api.get(run["_id"]).body == run


def test_another_namespaces_run_is_404_and_unchanged(api, given, device_sync):
    # Given a run of the first namespace
    run = given.run(device_sync, "RUNNING")

    # When the caller, granted both, pauses it through the other namespace
    reply = api.change_status(run["_id"], "PAUSED", nsfilter=SAMPLE_OTHER_NAMESPACE)

    # Then
    assert reply.status == 404
    assert api.get(run["_id"], nsfilter=SAMPLE_NAMESPACE).body == run


@pytest.mark.parametrize("run_id", [SAMPLE_RUN_ID, "not-a-uuid"])
def test_an_unknown_run_is_404(api, run_id):
    reply = api.change_status(run_id, "PAUSED")
    assert reply.status == 404
    assert run_id in reply.message


def test_a_retried_loop_over_runs_again_the_iterations_that_did_not_complete(api, given, task_queue):
    # Given a run whose LOOP_OVER failed at its second item: one iteration completed, one failed, one skipped
    definition = given.definition(LOOP_DEFINITION)
    run = given.run(definition, "FAILED", input_params={})
    loop_task = run["_tasks"][1]
    outcomes = [
        {
            "_status": "COMPLETED",
            "_attempts": 1,
            "_output": {"_statusCode": 200, "_headers": {}, "_body": {"co2": 612}},
        },
        {
            "_status": "FAILED",
            "_attempts": 1,
            "_error": "HTTP 404 from https://api.example.com/v2/devices/d-2: {}",
        },
        {"_status": "SKIPPED"},
    ]
    iterations = [
        {
            "_id": str(uuid.uuid4()),
            "_name": "read_device",
            "_sequenceno": 3 + index,
            "_type": "REST_CONNECTOR",
            "_loopTaskId": loop_task["_id"],
            "_loopIndex": index,
            **outcome,
        }
        for index, outcome in enumerate(outcomes)
    ]
    given.store.runs.put_iteration_tasks(run["_id"], iterations)

    # When
    reply = api.change_status(run["_id"], "RETRIED")

    # Then the LOOP_OVER task is queued again, the completed iteration kept, the others to be run again
    assert reply.status == 200, reply.text
    shown = api.get(run["_id"], _includeLoopOverTasks="true").body
    assert [task["_status"] for task in shown["_tasks"][:2]] == ["COMPLETED", "QUEUED"]
    kept = [task for task in shown["_tasks"][2:] if task["_loopTaskId"] == loop_task["_id"]]
    assert [task["_id"] for task in kept] == [iterations[0]["_id"]]
    assert kept[0]["_output"] == iterations[0]["_output"]
    [message] = task_queue.drain()
    assert message["taskId"] == loop_task["_id"]

"""Rules of runs, without I/O: a new run, and the status-change table of a user's PUT. Time is passed in."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from workflowsvc import runs, timestamps
from workflowsvc.errors import Conflict
from workflowsvc.execution.status import change_status
from workflowsvc.models.run import RunRecord

NS = 1_000_000_000
NOW = timestamps.parse_ns("2026-02-24T02:32:22.148605220Z")
LATER = NOW + 7 * NS
SUBJECT = "c9daff7e-b55b-41ec-aa46-d0150f3199dc"
OPERATOR = "operator-42"
RUN_STATUSES = ["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]
ALLOWED = {
    "PAUSED": {"QUEUED", "RUNNING"},
    "RESUMED": {"PAUSED"},
    "RETRIED": {"FAILED", "TIMED_OUT", "TERMINATED"},
    "TERMINATED": {"QUEUED", "RUNNING", "PAUSED"},
}

DEFINITION: dict[str, Any] = {
    "_id": "824beec4-4a58-4bf8-b9df-b86172a2d5d5",
    "_name": "device_sync",
    "_userType": "iaq_realtime_setup",
    "_namespaces": ["first_tchgt1VU"],
    "_timeoutSeconds": 900,
    "_timeoutPolicy": "TIME_OUT_WF",
    "_tasks": [
        {
            "_name": "login",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "https://auth.example.com/token"},
        },
        {"_name": "fetch_devices", "_type": "REST_CONNECTOR", "_retryCount": 2},
        {"_name": "notify", "_type": "REST_CONNECTOR"},
    ],
    "_createdAt": "2026-02-01T08:00:00.000000000Z",
    "_createdBy": SUBJECT,
}

# Task statuses a run is left with in each status, as the worker leaves it.
TASKS_IN = {
    "QUEUED": ("QUEUED", "QUEUED", "QUEUED"),
    "RUNNING": ("COMPLETED", "QUEUED", "QUEUED"),
    "PAUSED": ("COMPLETED", "PAUSED", "PAUSED"),
    "COMPLETED": ("COMPLETED", "COMPLETED", "COMPLETED"),
    "FAILED": ("COMPLETED", "FAILED", "SKIPPED"),
    "TIMED_OUT": ("COMPLETED", "TIMED_OUT", "SKIPPED"),
    "TERMINATED": ("COMPLETED", "TERMINATED", "TERMINATED"),
}


def run_in(status: str, **state_changes: Any) -> RunRecord:
    record = runs.new_run(copy.deepcopy(DEFINITION), {"site": "berlin-hq"}, ("first_tchgt1VU",), SUBJECT, NOW)
    run, state = record.run, record.state
    for task, task_status in zip(run["_tasks"], TASKS_IN[status], strict=True):
        task["_status"] = task_status
        if task_status == "COMPLETED":
            task.update(_attempts=1, _output={"_statusCode": 200, "_headers": {}, "_body": {"ok": True}})
        if task_status in ("FAILED", "TIMED_OUT"):
            task.update(_attempts=3, _error="HTTP 503 from https://api.example.com: Service Unavailable")
    run["_status"] = status
    if status == "PAUSED":
        state.paused_from = "RUNNING"
    for name, value in state_changes.items():
        setattr(state, name, value)
    return record


def change(record: RunRecord, requested: str, at: int = LATER) -> tuple[RunRecord, bool]:
    """``requested`` by the operator at ``at``: the run as changed, and whether a step message is due."""
    changed = change_status(record, requested, OPERATOR, at)
    return changed.change.record, changed.send_step


# ------------------------------------------------------------------ new runs


def test_a_new_run_has_the_seeds_shape():
    record = runs.new_run(
        copy.deepcopy(DEFINITION), {"site": "x"}, ("first_tchgt1VU", "second_ns"), SUBJECT, NOW
    )
    run = record.run

    assert uuid.UUID(run["_id"]).version == 4
    assert run["_workflowDefId"] == DEFINITION["_id"]
    assert run["_namespaces"] == ["first_tchgt1VU", "second_ns"]
    assert run["_status"] == "QUEUED"
    assert run["_output"] is None
    assert run["_createdAt"] == run["_updatedAt"] == timestamps.format_ns(NOW)
    assert run["_createdBy"] == run["_updatedBy"] == SUBJECT
    assert [task["_sequenceno"] for task in run["_tasks"]] == [1, 2, 3]
    assert {task["_status"] for task in run["_tasks"]} == {"QUEUED"}
    assert len({task["_id"] for task in run["_tasks"]}) == 3
    assert run["_tasks"][1]["_retryCount"] == 2  # the definition's task settings are copied
    assert record.state.step == 1
    assert record.state.deadline_ns == NOW + 900 * NS


@pytest.mark.parametrize("timeout", [None, 0])
def test_no_timeout_means_no_deadline(timeout):
    definition = dict(copy.deepcopy(DEFINITION), _timeoutSeconds=timeout)
    assert runs.new_run(definition, {}, ("first_tchgt1VU",), SUBJECT, NOW).state.deadline_ns is None


# ------------------------------------------------------------------ the transition table


@pytest.mark.parametrize("current", RUN_STATUSES)
@pytest.mark.parametrize("requested", sorted(ALLOWED))
def test_the_transition_table(requested, current):
    record = run_in(current)
    original = record.clone()
    if current in ALLOWED[requested]:
        changed, _ = change(record, requested)
        assert changed.run["_updatedBy"] == OPERATOR
        assert changed.run["_updatedAt"] == timestamps.format_ns(LATER)
    else:
        with pytest.raises(Conflict) as refused:
            change(record, requested)
        assert current in refused.value.message
        assert requested in refused.value.message
        assert "_status" in refused.value.message
    assert record == original  # the record given is never changed in place


def test_pause_pauses_what_has_not_started():
    paused, send_step = change(run_in("RUNNING"), "PAUSED")
    assert paused.run["_status"] == "PAUSED"
    assert [task["_status"] for task in paused.run["_tasks"]] == ["COMPLETED", "PAUSED", "PAUSED"]
    assert paused.state.paused_from == "RUNNING"
    assert send_step is False


def _in_flight() -> RunRecord:
    record = run_in("RUNNING")
    record.run["_tasks"][1]["_status"] = "RUNNING"
    record.state.claimed, record.state.in_flight_task_id = True, record.run["_tasks"][1]["_id"]
    record.state.lease_ns = NOW + 60 * NS
    return record


def test_pause_lets_the_task_in_flight_finish():
    record = _in_flight()
    paused, _ = change(record, "PAUSED")
    assert [task["_status"] for task in paused.run["_tasks"]] == ["COMPLETED", "RUNNING", "PAUSED"]
    # the worker may still record its attempt: its claim is kept
    assert paused.state.step == record.state.step
    assert paused.state.claimed is True


def test_resume_while_the_paused_task_is_still_in_flight_keeps_its_claim_and_sends_nothing():
    record = _in_flight()
    paused, _ = change(record, "PAUSED")

    resumed, send_step = change(paused, "RESUMED", LATER + NS)

    assert resumed.run["_status"] == "RUNNING"
    assert [task["_status"] for task in resumed.run["_tasks"]] == ["COMPLETED", "RUNNING", "QUEUED"]
    # the attempt in flight records its result and moves the run on; a message now would be a second one
    assert resumed.state.step == record.state.step
    assert resumed.state.claimed is True
    assert send_step is False


@pytest.mark.parametrize("paused_from", ["QUEUED", "RUNNING"])
def test_resume_returns_to_the_status_before_the_pause(paused_from):
    record = run_in("PAUSED", paused_from=paused_from)
    resumed, send_step = change(record, "RESUMED")
    assert resumed.run["_status"] == paused_from
    assert [task["_status"] for task in resumed.run["_tasks"]] == ["COMPLETED", "QUEUED", "QUEUED"]
    assert send_step is True
    assert resumed.state.step == record.state.step + 1
    assert resumed.state.paused_from is None


@pytest.mark.parametrize("source", ["FAILED", "TIMED_OUT", "TERMINATED"])
def test_retry_requeues_unfinished_tasks_and_keeps_completed_ones(source):
    record = run_in(source)
    record.run["_error"] = "task 'fetch_devices' failed"
    record.run["_timeoutAlertedAt"] = record.run["_updatedAt"]
    retried, send_step = change(record, "RETRIED")
    assert retried.run["_status"] == "QUEUED"
    assert retried.run["_output"] is None
    assert "_error" not in retried.run and "_timeoutAlertedAt" not in retried.run
    login, fetch, notify = retried.run["_tasks"]
    assert login == record.run["_tasks"][0]
    for task in (fetch, notify):
        assert task["_status"] == "QUEUED"
        assert not {"_error", "_output", "_attempts"} & set(task)
    assert send_step is True
    assert runs.next_task(retried.run)["_id"] == fetch["_id"]


@pytest.mark.parametrize("source", ["QUEUED", "RUNNING", "PAUSED"])
def test_terminate_terminates_what_did_not_finish(source):
    terminated, send_step = change(run_in(source), "TERMINATED")
    assert terminated.run["_status"] == "TERMINATED"
    expected = ["TERMINATED" if status != "COMPLETED" else "COMPLETED" for status in TASKS_IN[source]]
    assert [task["_status"] for task in terminated.run["_tasks"]] == expected
    assert all("_endedAt" in task for task in terminated.run["_tasks"] if task["_status"] == "TERMINATED")
    assert send_step is False
    assert terminated.state.deadline_ns is None
    assert runs.due_ns(terminated) is None  # nothing left for the sweeper


def test_the_timeout_clock_stops_while_paused_and_starts_afresh_on_retry():
    # Given a run with 100 s left on its clock
    record = run_in("RUNNING", deadline_ns=NOW + 100 * NS)

    # When paused 30 s later, the remaining 70 s are kept and there is no deadline
    paused, _ = change(record, "PAUSED", NOW + 30 * NS)
    assert paused.state.deadline_ns is None
    assert paused.state.remaining_ns == 70 * NS

    # When resumed an hour later, the deadline is the remaining time from then
    resumed, _ = change(paused, "RESUMED", NOW + 3630 * NS)
    assert resumed.state.deadline_ns == NOW + 3700 * NS
    assert resumed.state.remaining_ns is None

    # and a retry gives the whole timeout again
    retried, _ = change(run_in("FAILED", deadline_ns=None), "RETRIED", NOW + 5000 * NS)
    assert retried.state.deadline_ns == NOW + 5900 * NS


def test_every_change_but_a_pause_in_flight_makes_older_messages_stale():
    for requested, source in [
        ("PAUSED", "QUEUED"),
        ("RESUMED", "PAUSED"),
        ("RETRIED", "FAILED"),
        ("TERMINATED", "RUNNING"),
    ]:
        changed, _ = change(run_in(source, step=4), requested)
        assert changed.state.step == 5, requested

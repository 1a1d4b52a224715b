"""The rules of a step, without I/O: claim, an attempt's end, a run's end, the sweeper's look.

The time is passed in, so each test says exactly when things happen; tasks kept apart (a loop's
iterations) are read from a dict standing in for the table.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from workflowsvc import runs, timestamps
from workflowsvc.execution import steps, timing
from workflowsvc.models.run import RunRecord, TaskDocument
from workflowsvc.tasks.base import Attempt, Outcome

NS = 1_000_000_000
NOW = timestamps.parse_ns("2026-02-24T02:32:22.148605220Z")
SUBJECT = "c9daff7e-b55b-41ec-aa46-d0150f3199dc"

DEFINITION: dict[str, Any] = {
    "_id": "824beec4-4a58-4bf8-b9df-b86172a2d5d5",
    "_name": "device_sync",
    "_timeoutSeconds": 900,
    "_tasks": [
        {"_name": "login", "_type": "REST_CONNECTOR", "_timeoutSeconds": 10, "_retryCount": 2},
        {
            "_name": "each_device",
            "_type": "LOOP_OVER",
            "_inputParams": {"_items": "${workflow._inputParams.devices}"},
            "_tasks": [{"_name": "read_device", "_type": "REST_CONNECTOR"}],
        },
    ],
}


class TasksApart:
    """What the table would answer for a run's iteration tasks."""

    def __init__(self) -> None:
        self.stored: dict[str, TaskDocument] = {}

    def get_iteration_tasks(
        self,
        run_id: str,
        *,
        consistent: bool = False,
        parent_task_id: str | None = None,
        index: int | None = None,
    ) -> list[TaskDocument]:
        return [
            task
            for task in self.stored.values()
            if (parent_task_id is None or task["_loopTaskId"] == parent_task_id)
            and (index is None or task["_loopIndex"] == index)
        ]

    def keep(self, change: steps.Change) -> None:
        for task in [*change.iteration_tasks, *change.later_tasks]:
            self.stored[task["_id"]] = copy.deepcopy(task)


def new_run(devices: list[str] | None = None) -> RunRecord:
    inputs = {"devices": devices if devices is not None else ["d-1", "d-2"]}
    return runs.new_run(copy.deepcopy(DEFINITION), inputs, ("first_tchgt1VU",), SUBJECT, NOW)


def claimed(record: RunRecord, at: int, tasks_apart: TasksApart) -> tuple[RunRecord, Attempt]:
    claim = steps.claim(record, record.state.step, at, tasks_apart)
    assert claim.change is not None and claim.attempt is not None
    tasks_apart.keep(claim.change)
    return claim.change.record, claim.attempt


def finished(
    record: RunRecord, attempt: Attempt, outcome: Outcome, at: int, tasks_apart: TasksApart
) -> RunRecord:
    change = steps.finish(record, record.state.step, attempt, outcome, at, tasks_apart)
    assert change is not None
    tasks_apart.keep(change)
    return change.record


def test_a_claim_starts_the_attempt_and_leases_it_for_the_tasks_timeout():
    record, tasks_apart = new_run(), TasksApart()

    running, attempt = claimed(record, NOW + NS, tasks_apart)

    login = running.run["_tasks"][0]
    assert attempt == Attempt(task_id=login["_id"])
    assert (running.status, login["_status"], login["_attempts"]) == ("RUNNING", "RUNNING", 1)
    assert login["_startedAt"] == running.run["_updatedAt"] == timestamps.format_ns(NOW + NS)
    assert running.run["_updatedBy"] == steps.SYSTEM_ACTOR
    assert running.state.claimed and running.state.in_flight_task_id == login["_id"]
    assert running.state.lease_ns == NOW + NS + 10 * NS + timing.LEASE_MARGIN_NS
    assert running.state.step == record.state.step  # the result is recorded under the same step
    assert record.run["_tasks"][0]["_status"] == "QUEUED"  # the record read is left as it was


def test_a_second_claim_of_the_same_step_and_a_message_of_another_step_do_nothing():
    record, tasks_apart = new_run(), TasksApart()
    running, _ = claimed(record, NOW, tasks_apart)
    assert steps.claim(running, running.state.step, NOW + NS, tasks_apart) == steps.Claim()
    assert steps.claim(record, record.state.step + 1, NOW, tasks_apart) == steps.Claim()


def test_a_step_scheduled_later_than_sqs_can_delay_is_postponed():
    record = new_run()
    record.state.scheduled_ns = NOW + 1800 * NS
    assert steps.claim(record, record.state.step, NOW, TasksApart()).postpone_s == 1800


def test_a_failed_attempt_with_retries_left_is_scheduled_again_after_its_delay():
    record, tasks_apart = new_run(), TasksApart()
    running, attempt = claimed(record, NOW, tasks_apart)

    retrying = finished(running, attempt, Outcome(error="HTTP 503"), NOW + 2 * NS, tasks_apart)

    login = retrying.run["_tasks"][0]
    assert (login["_status"], login["_error"]) == ("QUEUED", "HTTP 503")
    assert not retrying.state.claimed
    assert retrying.state.step == running.state.step + 1
    assert retrying.state.scheduled_ns == NOW + 2 * NS + 1 * NS  # the default delay of 1 s
    assert steps.next_step(retrying, NOW + 2 * NS) == steps.NextStep(retrying.state.step, login["_id"], 1.0)


def test_a_failure_no_retry_can_help_fails_the_task_and_the_run_at_once():
    record, tasks_apart = new_run(), TasksApart()
    running, attempt = claimed(record, NOW, tasks_apart)

    failed = finished(
        running, attempt, Outcome(error="the input _url is missing", permanent=True), NOW, tasks_apart
    )

    assert failed.status == "FAILED"
    assert [task["_status"] for task in failed.run["_tasks"]] == ["FAILED", "SKIPPED"]
    assert failed.run["_error"] == "task 'login' failed: the input _url is missing"
    assert steps.next_step(failed, NOW) is None


def test_an_attempt_that_fails_while_the_run_is_paused_leaves_the_pause_and_fails_it_on_resume():
    record, tasks_apart = new_run(), TasksApart()
    running, attempt = claimed(record, NOW, tasks_apart)
    running.run["_status"] = "PAUSED"

    paused = finished(running, attempt, Outcome(error="HTTP 500", permanent=True), NOW + NS, tasks_apart)

    assert paused.status == "PAUSED"
    assert paused.state.fail_on_resume == "task 'login' failed while the run was paused: HTTP 500"
    resumed = paused.clone()
    resumed.run["_status"] = "RUNNING"
    ended = steps.claim(resumed, resumed.state.step, NOW + 2 * NS, tasks_apart).change
    assert ended is not None
    assert ended.record.status == "FAILED" and ended.record.state.fail_on_resume is None


def test_a_loop_attempts_each_item_in_turn_and_the_run_completes_with_their_outputs():
    record, tasks_apart = new_run(["d-1", "d-2"]), TasksApart()
    running, attempt = claimed(record, NOW, tasks_apart)
    record = finished(running, attempt, Outcome(output={"token": "t"}), NOW + NS, tasks_apart)

    outputs = []
    for index, device in enumerate(["d-1", "d-2"]):
        running, attempt = claimed(record, NOW + (2 + index) * NS, tasks_apart)
        assert attempt.apart and attempt.context == ["d-1", "d-2"]
        assert attempt.runnable is not None
        assert (attempt.runnable["_loopIndex"], attempt.runnable["_status"]) == (index, "RUNNING")
        assert running.run["_tasks"][1]["_status"] == "RUNNING"
        outputs.append({"device": device})
        record = finished(running, attempt, Outcome(output=outputs[-1]), NOW + (2 + index) * NS, tasks_apart)

    assert record.status == "COMPLETED"
    assert record.run["_output"] == outputs  # the last task is the loop: its iterations' outputs
    assert record.run["_tasks"][1]["_status"] == "COMPLETED"
    assert record.state.progress == {}
    assert [task["_sequenceno"] for task in tasks_apart.stored.values()] == [3, 4]


def test_a_failed_iteration_fails_the_loop_and_shows_the_iterations_that_never_started_as_skipped():
    record, tasks_apart = new_run(["d-1", "d-2", "d-3"]), TasksApart()
    running, attempt = claimed(record, NOW, tasks_apart)
    record = finished(running, attempt, Outcome(output={}), NOW, tasks_apart)
    running, attempt = claimed(record, NOW + NS, tasks_apart)

    failed = finished(running, attempt, Outcome(error="HTTP 404", permanent=True), NOW + 2 * NS, tasks_apart)

    assert failed.status == "FAILED"
    loop = failed.run["_tasks"][1]
    assert loop["_status"] == "FAILED"
    assert loop["_error"] == "iteration 0 (item \"d-1\") failed: task 'read_device': HTTP 404"
    shown = sorted((task["_loopIndex"], task["_status"]) for task in tasks_apart.stored.values())
    assert shown == [(0, "FAILED"), (1, "SKIPPED"), (2, "SKIPPED")]


def test_a_loop_whose_items_are_not_a_list_fails_without_retries():
    record, tasks_apart = new_run(), TasksApart()
    record.run["_inputParams"]["devices"] = "d-1"
    running, attempt = claimed(record, NOW, tasks_apart)
    record = finished(running, attempt, Outcome(output={}), NOW, tasks_apart)
    record.run["_tasks"][1]["_retryCount"] = 5

    change = steps.claim(record, record.state.step, NOW + NS, tasks_apart).change

    assert change is not None
    assert change.record.status == "FAILED"
    assert "must be a list" in change.record.run["_tasks"][1]["_error"]


def test_the_deadline_ends_a_run_at_its_next_step_with_its_running_tasks_timed_out():
    record, tasks_apart = new_run(), TasksApart()
    deadline = record.state.deadline_ns
    assert deadline == NOW + 900 * NS

    change = steps.claim(record, record.state.step, deadline, tasks_apart).change

    assert change is not None
    assert change.record.status == "TIMED_OUT"
    assert change.record.run["_error"] == "the run passed its timeout of 900 s"
    assert [task["_status"] for task in change.record.run["_tasks"]] == ["SKIPPED", "SKIPPED"]


@pytest.mark.parametrize(
    ("moment", "handled", "what"),
    [
        (NOW + 5 * NS, False, "nothing is due"),
        (NOW + 10 * NS + timing.LEASE_MARGIN_NS, True, "the lease passed"),
        (NOW + 900 * NS, True, "the deadline passed"),
    ],
)
def test_the_sweeper_acts_on_an_attempt_in_flight_only_once_its_lease_or_the_deadline_has_passed(
    moment: int, handled: bool, what: str
):
    record, tasks_apart = new_run(), TasksApart()
    running, _ = claimed(record, NOW, tasks_apart)

    look = steps.sweep(running, moment, tasks_apart)

    assert look.handled is handled, what
    if what == "the lease passed":
        assert look.change is not None
        login = look.change.record.run["_tasks"][0]
        assert login["_status"] == "QUEUED" and "presumed lost" in login["_error"]  # it has retries left
    if what == "the deadline passed":
        assert look.change is not None and look.change.record.status == "TIMED_OUT"


def test_the_sweeper_sends_a_step_again_once_its_message_is_overdue():
    record, tasks_apart = new_run(), TasksApart()
    assert steps.sweep(record, NOW + runs.REDRIVE_AFTER_NS - 1, tasks_apart).change is None

    look = steps.sweep(record, NOW + runs.REDRIVE_AFTER_NS, tasks_apart)

    assert look.handled and look.change is not None and look.change.continues
    assert look.change.record.state.scheduled_ns == NOW + runs.REDRIVE_AFTER_NS

"""Run timeouts: TIME_OUT_WF ends the run, ALERT_ONLY only records it, the sweeper enforces both."""

from __future__ import annotations

import time
from typing import Any

import pytest
from workflowsvc import runs, timestamps
from workflowsvc.execution import timing

from tests.support.clock import ShiftedClock
from tests.support.harness import Api, Sweeper, Target, Worker, task_named, wait_for


def definition(timeout_seconds: int, policy: str | None = "TIME_OUT_WF") -> dict[str, Any]:
    return {
        "_name": "slow_sync",
        "_timeoutSeconds": timeout_seconds,
        "_timeoutPolicy": policy,
        "_tasks": [
            {
                "_name": "fetch_devices",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/slow", "_timeoutSeconds": 30},
            },
            {
                "_name": "notify",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/notify", "_method": "POST"},
            },
        ],
    }


def test_a_run_past_its_timeout_ends_timed_out_without_waiting_for_a_hanging_target(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run with a 2 s timeout whose first task calls a target that hangs for 6 s
    target.hang("/slow", 6, body={"too": "late"})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(2), {"base": target.base_url})
    created = time.monotonic()

    # When the worker runs it
    worker.drain()
    elapsed = time.monotonic() - created

    # Then the run ended TIMED_OUT at its deadline, well before the target would have answered
    assert elapsed < 4, elapsed
    finished = api.get(run["_id"])
    assert finished["_status"] == "TIMED_OUT"
    assert "timeout" in finished["_error"] and "2 s" in finished["_error"]
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "TIMED_OUT"
    assert "timeout" in task["_error"]
    assert task["_endedAt"] >= task["_startedAt"]
    # And the task after it never started
    assert task_named(finished, "notify")["_status"] == "SKIPPED"
    assert target.calls("/notify") == 0
    assert target.calls("/slow") == 1


def test_alert_only_lets_the_run_complete_and_records_when_it_passed_its_deadline(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given an ALERT_ONLY run with a 1 s timeout whose first task takes 1.5 s
    target.hang("/slow", 1.5, body={"devices": ["d-1"]})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(1, "ALERT_ONLY"), {"base": target.base_url})

    # When the worker runs it to the end
    worker.drain()

    # Then the run completed normally, and records that it passed its deadline
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [task["_status"] for task in finished["_tasks"]] == ["COMPLETED", "COMPLETED"]
    assert task_named(finished, "fetch_devices")["_output"]["_body"] == {"devices": ["d-1"]}
    alerted = finished["_timeoutAlertedAt"]
    assert timestamps.parse_ns(alerted) >= timestamps.parse_ns(finished["_createdAt"]) + runs.NS
    assert alerted <= finished["_updatedAt"]
    assert "_error" not in finished


def test_the_sweeper_alerts_an_alert_only_run_still_running_past_its_deadline(
    api: Api, worker: Worker, target: Target, sweeper: Sweeper
) -> None:
    # Given an ALERT_ONLY run with a 1 s timeout whose task is in flight
    gate = target.gate("/slow", body={"devices": []})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(1, "ALERT_ONLY"), {"base": target.base_url})
    background = worker.step_in_background()
    gate.wait_arrival()

    # When the deadline passes and the sweeper runs
    wait_for(lambda: sweeper.run() >= 1, timeout=5, what="the sweeper to alert the run")

    # Then the run records the alert and goes on RUNNING
    alerted = api.get(run["_id"])
    assert alerted["_status"] == "RUNNING"
    assert alerted["_timeoutAlertedAt"]
    # And it alerts once only
    assert sweeper.run() == 0

    # And when the task answers, the run completes, keeping the alert
    gate.release()
    background.join()
    worker.drain()
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert finished["_timeoutAlertedAt"] == alerted["_timeoutAlertedAt"]


def test_the_sweeper_times_out_a_queued_run_whose_deadline_passed_while_no_worker_ran(
    api: Api, worker: Worker, target: Target, sweeper: Sweeper, clock: ShiftedClock
) -> None:
    # Given a QUEUED run whose deadline has passed (no worker took its message)
    target.reply("/slow", {"devices": []})
    run = api.start_run(definition(3600), {"base": target.base_url})
    clock.advance(3600 + 1)

    # When the sweeper runs
    handled = sweeper.run()

    # Then the run is TIMED_OUT and its tasks, which never started, SKIPPED
    assert handled == 1
    swept = api.get(run["_id"])
    assert swept["_status"] == "TIMED_OUT"
    assert "timeout of 3600 s" in swept["_error"]
    assert [task["_status"] for task in swept["_tasks"]] == ["SKIPPED", "SKIPPED"]
    assert swept["_updatedAt"] > run["_updatedAt"]

    # And the run's message, when it finally arrives, calls nothing and changes nothing
    worker.drain()
    assert target.calls() == 0
    assert api.get(run["_id"]) == swept
    # And the sweeper leaves the ended run alone
    assert sweeper.run() == 0


def test_a_task_timeout_limits_its_call(api: Api, worker: Worker, target: Target) -> None:
    # Given a task with a 1 s timeout whose target answers after 3 s
    target.hang("/slow", 3, body={"too": "late"})
    run = api.start_run(
        {
            "_name": "slow_sync",
            "_tasks": [
                {
                    "_name": "fetch_devices",
                    "_type": "REST_CONNECTOR",
                    "_timeoutSeconds": 1,
                    "_inputParams": {"_url": "${workflow._inputParams.base}/slow"},
                }
            ],
        },
        {"base": target.base_url},
    )
    started = time.monotonic()

    # When the worker runs it
    worker.drain()

    # Then the attempt gave up after about 1 s: the task TIMED_OUT, saying so, and the run failed on it
    assert time.monotonic() - started < 2.5
    finished = api.get(run["_id"])
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "TIMED_OUT"
    assert "timed out after 1 second" in task["_error"]
    assert task.get("_output") is None
    assert finished["_status"] == "FAILED"
    assert "fetch_devices" in finished["_error"]


def test_the_sweeper_leaves_an_attempt_alone_while_its_call_may_still_answer(
    api: Api, worker: Worker, target: Target, sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no lease margin, and a task with a 3 s timeout whose call is in flight
    monkeypatch.setattr(timing, "LEASE_MARGIN_NS", 0)
    gate = target.gate("/slow", body={"devices": ["d-1"]})
    run = api.start_run(
        {
            "_name": "slow_sync",
            "_tasks": [
                {
                    "_name": "fetch_devices",
                    "_type": "REST_CONNECTOR",
                    "_timeoutSeconds": 3,
                    "_retryCount": 1,
                    "_retryDelaySeconds": 0,
                    "_inputParams": {"_url": "${workflow._inputParams.base}/slow", "_timeoutSeconds": 60},
                }
            ],
        },
        {"base": target.base_url},
    )
    background = worker.step_in_background()
    gate.wait_arrival()
    arrived = time.monotonic()

    # When the sweeper runs within the task's timeout, and the call then answers
    handled = sweeper.run()
    time.sleep(max(0.0, arrived + 1.2 - time.monotonic()))
    handled += sweeper.run()
    gate.release()
    background.join()
    worker.drain()

    # Then the sweeper left the attempt alone, the target was called once, and the run completed
    assert handled == 0
    assert target.calls("/slow") == 1
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert task_named(finished, "fetch_devices")["_attempts"] == 1

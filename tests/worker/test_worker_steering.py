"""Pause, resume, terminate and retry while the worker runs: a user's change always stands."""

from __future__ import annotations

import time
from typing import Any

from tests.support.harness import Api, Target, Worker, task_named


def three_steps(timeout_seconds: int = 60) -> dict[str, Any]:
    def step(name: str, path: str) -> dict[str, Any]:
        return {
            "_name": name,
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "${workflow._inputParams.base}" + path, "_method": "POST"},
        }

    return {
        "_name": "device_sync",
        "_timeoutSeconds": timeout_seconds,
        "_tasks": [step("login", "/login"), step("fetch_devices", "/devices"), step("notify", "/notify")],
    }


def program(target: Target) -> None:
    target.reply("/login", {"token": "tkn-81f2"})
    target.reply("/devices", {"devices": ["d-1", "d-2"]})
    target.reply("/notify", {"ok": True})


def statuses(run: dict[str, Any]) -> list[str]:
    return [task["_status"] for task in run["_tasks"]]


def test_a_pause_between_tasks_stops_the_run_and_a_resume_finishes_it(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run whose first task has completed
    program(target)
    run = api.start_run(three_steps(), {"base": target.base_url})
    worker.step()
    assert statuses(api.get(run["_id"])) == ["COMPLETED", "QUEUED", "QUEUED"]

    # When the user pauses it, and the worker then gets the next task's message
    paused = api.set_status(run["_id"], "PAUSED")
    deliveries = worker.drain()

    # Then the message did nothing: the next task was not called, and the run stays PAUSED
    assert len(deliveries) == 1 and not deliveries[0].failed_ids
    assert target.calls("/devices") == 0
    after = api.get(run["_id"])
    assert after["_status"] == "PAUSED"
    assert statuses(after) == ["COMPLETED", "PAUSED", "PAUSED"]
    assert after["_updatedAt"] == paused["_updatedAt"]

    # When the user resumes it
    resumed = api.set_status(run["_id"], "RESUMED")
    assert resumed["_status"] == "RUNNING"
    worker.drain()

    # Then it runs to the end, each task called once
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert statuses(finished) == ["COMPLETED"] * 3
    assert [target.calls(path) for path in ("/login", "/devices", "/notify")] == [1, 1, 1]


def test_a_task_in_flight_when_the_run_is_paused_records_its_result_and_nothing_new_starts(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run whose first task's call is in flight
    program(target)
    gate = target.gate("/login", body={"token": "tkn-81f2"})
    run = api.start_run(three_steps(), {"base": target.base_url})
    background = worker.step_in_background()
    gate.wait_arrival()

    # When the user pauses the run, and then the call answers
    paused = api.set_status(run["_id"], "PAUSED")
    assert paused["_status"] == "PAUSED"
    assert statuses(paused) == ["RUNNING", "PAUSED", "PAUSED"]
    gate.release()
    background.join()
    worker.drain()

    # Then the task's result is recorded, the run stays PAUSED, and no other task started
    after = api.get(run["_id"])
    assert after["_status"] == "PAUSED"
    assert statuses(after) == ["COMPLETED", "PAUSED", "PAUSED"]
    assert task_named(after, "login")["_output"]["_body"] == {"token": "tkn-81f2"}
    assert target.calls("/devices") == 0 and target.calls("/notify") == 0
    assert worker.waiting() == (0, 0)

    # When the user resumes it
    api.set_status(run["_id"], "RESUMED")
    worker.drain()

    # Then it completes without calling the first task again
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [target.calls(path) for path in ("/login", "/devices", "/notify")] == [1, 1, 1]


def test_a_terminate_while_a_task_is_in_flight_drops_its_result_and_the_run_stays_terminated(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run whose second task's call is in flight
    program(target)
    gate = target.gate("/devices", body={"devices": ["d-1"]})
    run = api.start_run(three_steps(), {"base": target.base_url})
    worker.step()
    background = worker.step_in_background()
    gate.wait_arrival()

    # When the user terminates the run, and then the call answers
    terminated = api.set_status(run["_id"], "TERMINATED")
    gate.release()
    background.join()
    worker.drain()

    # Then the run and its unfinished tasks are TERMINATED, and the late answer was dropped
    after = api.get(run["_id"])
    assert after["_status"] == "TERMINATED"
    assert statuses(after) == ["COMPLETED", "TERMINATED", "TERMINATED"]
    devices = task_named(after, "fetch_devices")
    assert "_output" not in devices or devices["_output"] is None
    assert after["_updatedAt"] == terminated["_updatedAt"]
    assert after["_updatedBy"] == terminated["_updatedBy"]
    # And nothing else was called
    assert target.calls("/notify") == 0
    assert worker.waiting() == (0, 0)


def test_a_retry_of_a_failed_run_runs_only_the_failed_and_skipped_tasks(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run that failed on its second task
    program(target)
    target.reply("/devices", {"message": "device registry down"}, status=502)
    run = api.start_run(three_steps(), {"base": target.base_url})
    worker.drain()
    failed = api.get(run["_id"])
    assert failed["_status"] == "FAILED"
    assert statuses(failed) == ["COMPLETED", "FAILED", "SKIPPED"]
    login_output = task_named(failed, "login")["_output"]

    # When the target recovers and the user retries the run
    target.reply("/devices", {"devices": ["d-1", "d-2"]})
    retried = api.set_status(run["_id"], "RETRIED")
    assert retried["_status"] == "QUEUED"
    assert statuses(retried) == ["COMPLETED", "QUEUED", "QUEUED"]
    assert "_error" not in retried
    worker.drain()

    # Then it completes; the completed task kept its output and was not called again
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert statuses(finished) == ["COMPLETED"] * 3
    assert task_named(finished, "login")["_output"] == login_output
    assert [target.calls(path) for path in ("/login", "/devices", "/notify")] == [1, 2, 1]
    assert task_named(finished, "fetch_devices")["_output"]["_body"] == {"devices": ["d-1", "d-2"]}
    assert "_error" not in task_named(finished, "fetch_devices")


def test_a_retry_of_a_timed_out_run_restarts_its_clock(api: Api, worker: Worker, target: Target) -> None:
    # Given a run with a 2 s timeout that timed out on a hanging second task
    program(target)
    target.hang("/devices", 5, body={"devices": []})
    run = api.start_run(three_steps(timeout_seconds=2), {"base": target.base_url})
    worker.drain()
    timed_out = api.get(run["_id"])
    assert timed_out["_status"] == "TIMED_OUT"
    assert statuses(timed_out) == ["COMPLETED", "TIMED_OUT", "SKIPPED"]

    # When the user retries it, past its first deadline, and the task hangs again
    retried_at = time.monotonic()
    api.set_status(run["_id"], "RETRIED")
    worker.drain()
    elapsed = time.monotonic() - retried_at

    # Then the task was called again and the run timed out after a fresh 2 s: not at once, not never
    again = api.get(run["_id"])
    assert again["_status"] == "TIMED_OUT"
    assert target.calls("/devices") == 2
    assert 1.5 <= elapsed < 4, elapsed

    # When the target answers at once again and the user retries once more
    target.reply("/devices", {"devices": ["d-1"]})
    api.set_status(run["_id"], "RETRIED")
    worker.drain()

    # Then it completes within its fresh 2 s, the first task never called again
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED", finished.get("_error")
    assert statuses(finished) == ["COMPLETED"] * 3
    assert [target.calls(path) for path in ("/login", "/devices", "/notify")] == [1, 3, 1]
    assert "_error" not in finished


def test_status_changes_the_current_status_does_not_allow_are_refused(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a completed run
    program(target)
    run = api.start_run(three_steps(), {"base": target.base_url})
    worker.drain()

    # When the user tries to pause, resume, retry or terminate it
    replies = {
        status: api.change_status(run["_id"], status)
        for status in ("PAUSED", "RESUMED", "RETRIED", "TERMINATED")
    }

    # Then each is a 409 naming the current status, and the run is unchanged
    for reply in replies.values():
        assert reply.status == 409
        assert "COMPLETED" in reply.body["_error"]["_message"]
    assert api.get(run["_id"])["_status"] == "COMPLETED"

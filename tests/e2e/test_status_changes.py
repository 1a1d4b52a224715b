"""Steering a run over HTTP: pause and resume, terminate, retry, and the changes its status does not allow."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

# Two calls in a row; each task reads its URL from the run's input.
TWO_CALLS = [
    {"_name": "first", "_type": "REST_CONNECTOR", "_inputParams": {"_url": "${workflow._inputParams.first}"}},
    {
        "_name": "second",
        "_type": "REST_CONNECTOR",
        "_inputParams": {"_url": "${workflow._inputParams.second}"},
    },
]
SLOW_ANSWER_S = 1.5
# How long a worker that wrongly went on would take to make its next call: a queue poll and a step.
QUIET_WINDOW_S = 1.5


def change_status(api: Any, namespace: str, run_id: str, status: str) -> Any:
    return api.put(f"/workflows/{run_id}/status", params={"nsfilter": namespace}, json={"_status": status})


def read_run(api: Any, namespace: str, run_id: str) -> dict[str, Any]:
    result = api.get(f"/workflows/{run_id}", params={"nsfilter": namespace})
    assert result.status == 200, result
    run: dict[str, Any] = result.json()
    return run


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return value


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {task["_name"]: task["_status"] for task in run["_tasks"]}


@pytest.fixture
def two_call_run(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> Callable[[], dict[str, Any]]:
    """Starts a run of two calls, to ``/first`` and then ``/second`` on the target."""
    definition = define_workflow(namespace, TWO_CALLS)
    # A status change must land while a slow call is in flight: have the status route's execution
    # environment started beforehand, so that its first answer does not take a cold start.
    warm_up = change_status(api, namespace, str(uuid.uuid4()), "PAUSED")
    assert warm_up.status == 404, warm_up

    def start() -> dict[str, Any]:
        inputs = {"first": target.url_for("/first"), "second": target.url_for("/second")}
        return start_run(namespace, definition["_id"], inputs)

    return start


def test_a_paused_run_finishes_its_call_in_flight_starts_nothing_new_and_completes_when_resumed(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    target.program("/second", (200, {"step": 2}))
    run_id = two_call_run()["_id"]
    wait_for(lambda: target.calls("/first") == 1, "the first call to be in flight")

    # When
    paused = change_status(api, namespace, run_id, "PAUSED")

    # Then
    assert paused.status == 200, paused
    assert paused.json()["_status"] == "PAUSED"
    assert statuses(paused.json()) == {"first": "RUNNING", "second": "PAUSED"}
    after_the_call = wait_for(
        lambda: (run := read_run(api, namespace, run_id))["_tasks"][0]["_status"] != "RUNNING" and run,
        "the call in flight to finish",
    )
    assert after_the_call["_status"] == "PAUSED"
    assert statuses(after_the_call) == {"first": "COMPLETED", "second": "PAUSED"}
    assert after_the_call["_tasks"][0]["_output"]["_body"] == {"step": 1}
    time.sleep(QUIET_WINDOW_S)  # nothing should happen now: watch for a while
    assert target.calls("/second") == 0
    assert read_run(api, namespace, run_id)["_status"] == "PAUSED"

    # When
    resumed = change_status(api, namespace, run_id, "RESUMED")

    # Then
    assert resumed.status == 200, resumed
    assert resumed.json()["_status"] == "RUNNING"
    assert statuses(resumed.json()) == {"first": "COMPLETED", "second": "QUEUED"}
    done = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert done["_status"] == "COMPLETED", done
    assert done["_output"]["_body"] == {"step": 2}
    assert target.calls("/first") == 1
    assert target.calls("/second") == 1


def test_a_run_paused_as_it_starts_resumes_to_the_status_it_paused_from_and_completes(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    run_id = two_call_run()["_id"]

    # When
    paused = change_status(api, namespace, run_id, "PAUSED")

    # Then
    assert paused.status == 200, paused
    assert paused.json()["_status"] == "PAUSED"
    # Either no worker had claimed the first task yet (the run was QUEUED), or its call is in flight.
    first = statuses(paused.json())["first"]
    assert first in ("PAUSED", "RUNNING"), paused
    assert statuses(paused.json())["second"] == "PAUSED"
    paused_from = "QUEUED" if first == "PAUSED" else "RUNNING"
    wait_for(
        lambda: "RUNNING" not in statuses(read_run(api, namespace, run_id)).values(),
        "no call in flight any more",
    )

    # When
    resumed = change_status(api, namespace, run_id, "RESUMED")

    # Then
    assert resumed.status == 200, resumed
    assert resumed.json()["_status"] == paused_from
    done = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert done["_status"] == "COMPLETED", done
    assert target.calls("/first") == 1
    assert target.calls("/second") == 1


def test_a_run_resumed_while_its_call_is_still_in_flight_goes_on_when_the_call_answers(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    target.program("/second", (200, {"step": 2}))
    run_id = two_call_run()["_id"]
    wait_for(lambda: target.calls("/first") == 1, "the first call to be in flight")
    paused = change_status(api, namespace, run_id, "PAUSED")
    assert paused.status == 200, paused
    assert statuses(paused.json()) == {"first": "RUNNING", "second": "PAUSED"}

    # When
    resumed = change_status(api, namespace, run_id, "RESUMED")

    # Then
    assert resumed.status == 200, resumed
    assert resumed.json()["_status"] == "RUNNING"
    done = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"}, timeout=SLOW_ANSWER_S + 2.5)
    assert done["_status"] == "COMPLETED", done
    assert done["_tasks"][0]["_output"]["_body"] == {"step": 1}
    assert target.calls("/first") == 1
    assert target.calls("/second") == 1


def test_a_terminated_run_stops_and_its_target_is_not_called_again(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
) -> None:
    # Given
    target.program("/first", target.Answer(json={"step": 1}, delay=SLOW_ANSWER_S))
    run_id = two_call_run()["_id"]
    wait_for(lambda: target.calls("/first") == 1, "the first call to be in flight")
    call_started = time.monotonic()

    # When
    terminated = change_status(api, namespace, run_id, "TERMINATED")

    # Then
    assert terminated.status == 200, terminated
    assert terminated.json()["_status"] == "TERMINATED"
    assert statuses(terminated.json()) == {"first": "TERMINATED", "second": "TERMINATED"}
    # Watch until the call in flight has answered and a worker that went on would have called again.
    while time.monotonic() < call_started + SLOW_ANSWER_S + QUIET_WINDOW_S:
        run = read_run(api, namespace, run_id)
        assert run["_status"] == "TERMINATED", run
        assert statuses(run) == {"first": "TERMINATED", "second": "TERMINATED"}, run
        time.sleep(0.2)
    assert target.calls("/first") == 1
    assert target.calls("/second") == 0


def test_retrying_a_failed_run_completes_it_without_calling_completed_tasks_again(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/first", (200, {"token": "abc"}))
    target.program("/second", (503, {"busy": True}), (200, {"step": 2}))
    run_id = two_call_run()["_id"]
    failed = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert failed["_status"] == "FAILED", failed
    assert statuses(failed) == {"first": "COMPLETED", "second": "FAILED"}
    assert "503" in failed["_tasks"][1]["_error"]
    first_output = failed["_tasks"][0]["_output"]

    # When
    retried = change_status(api, namespace, run_id, "RETRIED")

    # Then
    assert retried.status == 200, retried
    assert retried.json()["_status"] == "QUEUED"
    assert statuses(retried.json()) == {"first": "COMPLETED", "second": "QUEUED"}
    assert "_error" not in retried.json()["_tasks"][1]
    done = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert done["_status"] == "COMPLETED", done
    assert done["_tasks"][0]["_output"] == first_output
    assert done["_output"]["_body"] == {"step": 2}
    assert target.calls("/first") == 1
    assert target.calls("/second") == 2


def test_a_change_that_the_current_status_does_not_allow_is_a_409_naming_it(
    api: Any,
    target: Any,
    namespace: str,
    two_call_run: Callable[[], dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    run_id = two_call_run()["_id"]
    completed = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert completed["_status"] == "COMPLETED", completed

    # When
    answers = {
        status: change_status(api, namespace, run_id, status)
        for status in ("PAUSED", "RESUMED", "RETRIED", "TERMINATED")
    }

    # Then
    for status, answer in answers.items():
        assert answer.status == 409, (status, answer)
        assert "COMPLETED" in answer.json()["_error"]["_message"], answer
    assert read_run(api, namespace, run_id) == completed
    assert target.calls("/first") == 1

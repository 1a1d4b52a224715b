"""What the worker does with a run, seen over HTTP: LOOP_OVER iterations, retries, the run's timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

LOOP_OVER_DEVICES = [
    {
        "_name": "each_device",
        "_type": "LOOP_OVER",
        "_inputParams": {"_items": "${workflow._inputParams.devices}"},
        "_tasks": [
            {
                "_name": "read_device",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/device?id=${loop.item}"},
            }
        ],
    }
]


def test_a_loop_over_three_items_calls_once_per_item_and_shows_its_tasks_only_when_asked(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    definition = define_workflow(namespace, LOOP_OVER_DEVICES)
    run_id = start_run(namespace, definition["_id"], {"base": target.url, "devices": ["d1", "d2", "d3"]})[
        "_id"
    ]
    wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})

    # When
    plain = api.get(f"/workflows/{run_id}", params={"nsfilter": namespace})
    with_loops = api.get(
        f"/workflows/{run_id}", params={"nsfilter": namespace, "_includeLoopOverTasks": "true"}
    )

    # Then
    assert target.calls("/device") == 3
    assert [request.query["id"] for request in target.requests("/device")] == [["d1"], ["d2"], ["d3"]]
    assert plain.status == with_loops.status == 200
    run = plain.json()
    assert run["_status"] == "COMPLETED", run
    [loop_task] = run["_tasks"]
    assert loop_task["_name"] == "each_device"
    assert loop_task["_status"] == "COMPLETED"
    assert [output["_body"]["query"] for output in loop_task["_output"]] == [
        {"id": ["d1"]},
        {"id": ["d2"]},
        {"id": ["d3"]},
    ]
    assert run["_output"] == loop_task["_output"]

    tasks = with_loops.json()["_tasks"]
    assert tasks[0] == loop_task
    iterations = tasks[1:]
    assert len(iterations) == 3
    assert [task["_loopIndex"] for task in iterations] == [0, 1, 2]
    assert {task["_loopTaskId"] for task in iterations} == {loop_task["_id"]}
    assert {task["_name"] for task in iterations} == {"read_device"}
    assert {task["_status"] for task in iterations} == {"COMPLETED"}
    assert len({task["_id"] for task in tasks}) == 4
    assert len({task["_sequenceno"] for task in tasks}) == 4
    assert [task["_output"] for task in iterations] == loop_task["_output"]


def test_a_loop_iteration_that_fails_fails_the_loop_and_skips_the_rest(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/device", (200, {"ok": True}), (404, {"error": "no such device"}))
    definition = define_workflow(namespace, LOOP_OVER_DEVICES)

    # When
    run_id = start_run(namespace, definition["_id"], {"base": target.url, "devices": ["d1", "d2", "d3"]})[
        "_id"
    ]

    # Then
    run = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"}, _includeLoopOverTasks="true")
    assert run["_status"] == "FAILED", run
    assert target.calls("/device") == 2
    loop_task = run["_tasks"][0]
    assert loop_task["_status"] == "FAILED"
    assert "iteration 1" in loop_task["_error"]
    assert "404" in loop_task["_error"]
    iterations = run["_tasks"][1:]
    assert [(task["_loopIndex"], task["_status"]) for task in iterations] == [
        (0, "COMPLETED"),
        (1, "FAILED"),
        (2, "SKIPPED"),
    ]
    assert "404" in iterations[1]["_error"]


def test_a_task_with_two_retries_that_fails_twice_then_succeeds_completes_after_three_calls(
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/flaky", 500, 500, (200, {"reading": 21.5}))
    definition = define_workflow(
        namespace, [{"_name": "read", "_type": "REST_CONNECTOR", "_retryCount": 2, "_retryDelaySeconds": 0}]
    )

    # When
    run_id = start_run(namespace, definition["_id"], {"_url": target.url_for("/flaky")})["_id"]

    # Then
    run = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert run["_status"] == "COMPLETED", run
    assert target.calls("/flaky") == 3
    [task] = run["_tasks"]
    assert task["_status"] == "COMPLETED"
    assert task["_attempts"] == 3
    assert "_error" not in task
    assert run["_output"]["_body"] == {"reading": 21.5}


def test_a_task_that_fails_more_often_than_its_retries_fails_the_run_saying_why(
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.program("/down", (503, {"error": "maintenance window"}))
    definition = define_workflow(
        namespace,
        [
            {"_name": "read", "_type": "REST_CONNECTOR", "_retryCount": 1, "_retryDelaySeconds": 0},
            {"_name": "never", "_type": "REST_CONNECTOR", "_inputParams": {"_url": target.url_for("/never")}},
        ],
    )

    # When
    run_id = start_run(namespace, definition["_id"], {"_url": target.url_for("/down")})["_id"]

    # Then
    run = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED"})
    assert run["_status"] == "FAILED", run
    assert target.calls("/down") == 2
    assert target.calls("/never") == 0
    read, never = run["_tasks"]
    assert read["_status"] == "FAILED"
    assert read["_attempts"] == 2
    assert "503" in read["_error"]
    assert "maintenance window" in read["_error"]
    assert never["_status"] == "SKIPPED"


def test_a_run_past_its_timeout_is_timed_out_without_waiting_for_the_slow_target(
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
    wait_for_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    target.hang("/slow", seconds=6.0)
    definition = define_workflow(
        namespace,
        [
            {"_name": "slow_call", "_type": "REST_CONNECTOR"},
            {"_name": "after", "_type": "REST_CONNECTOR", "_inputParams": {"_url": target.url_for("/after")}},
        ],
        _timeoutSeconds=2,
    )

    # When
    started_at = time.monotonic()
    run_id = start_run(namespace, definition["_id"], {"_url": target.url_for("/slow")})["_id"]
    run = wait_for_run(run_id, namespace, {"COMPLETED", "FAILED", "TIMED_OUT"}, timeout=8)
    elapsed = time.monotonic() - started_at

    # Then
    assert run["_status"] == "TIMED_OUT", run
    assert elapsed < 4.5, f"timed out after {elapsed:.1f} s, not soon after the 2 s timeout"
    slow_call, after = run["_tasks"]
    assert slow_call["_status"] == "TIMED_OUT"
    assert slow_call["_error"]
    assert after["_status"] == "SKIPPED"
    assert target.calls("/slow") == 1
    assert target.calls("/after") == 0

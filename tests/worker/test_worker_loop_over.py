"""LOOP_OVER: its nested tasks run once per item, each iteration shown as its own tasks on request."""

from __future__ import annotations

from typing import Any

from workflowsvc.store import keys

from tests.support.dynamodb import RequestLog
from tests.support.harness import Api, Target, Worker, task_named


def loop_definition(nested: list[dict[str, Any]], *, then_notify: bool = False) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = [
        {
            "_name": "each_device",
            "_type": "LOOP_OVER",
            "_inputParams": {"_items": "${workflow._inputParams.devices}"},
            "_tasks": nested,
        }
    ]
    if then_notify:
        tasks.append(
            {
                "_name": "notify",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/notify", "_method": "POST"},
            }
        )
    return {"_name": "device_sync", "_timeoutSeconds": 60, "_tasks": tasks}


SYNC = {
    "_name": "sync",
    "_type": "REST_CONNECTOR",
    "_inputParams": {
        "_url": "${workflow._inputParams.base}/devices/${loop.item}",
        "_method": "POST",
        "_body": {"index": "${loop.index}", "device": "${loop.item}"},
    },
}


def test_a_loop_over_three_items_calls_once_per_item_and_collects_the_outputs(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER over three devices
    for device in ("d-1", "d-2", "d-3"):
        target.reply(f"/devices/{device}", {"synced": device})
    run = api.start_run(loop_definition([SYNC]), {"base": target.base_url, "devices": ["d-1", "d-2", "d-3"]})

    # When the worker runs it to the end
    worker.drain()

    # Then each item was called exactly once, with the item and its index
    assert target.calls() == 3
    for index, device in enumerate(("d-1", "d-2", "d-3")):
        received = target.received(f"/devices/{device}")
        assert len(received) == 1
        assert received[0].json == {"index": index, "device": device}

    # And GET shows only the LOOP_OVER task, whose output lists each iteration's output
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [task["_name"] for task in finished["_tasks"]] == ["each_device"]
    loop = task_named(finished, "each_device")
    assert loop["_status"] == "COMPLETED"
    assert [output["_body"] for output in loop["_output"]] == [
        {"synced": "d-1"},
        {"synced": "d-2"},
        {"synced": "d-3"},
    ]
    assert all(output["_statusCode"] == 200 for output in loop["_output"])
    # And the run, whose last task is the LOOP_OVER, has the same output
    assert finished["_output"] == loop["_output"]

    # And with _includeLoopOverTasks=true, each iteration's task follows the LOOP_OVER task
    detailed = api.get(run["_id"], include_loop_over_tasks=True)
    assert detailed["_status"] == "COMPLETED"
    assert detailed["_tasks"][0]["_id"] == loop["_id"]
    iterations = detailed["_tasks"][1:]
    assert [task["_name"] for task in iterations] == ["sync"] * 3
    assert [task["_loopIndex"] for task in iterations] == [0, 1, 2]
    assert {task["_loopTaskId"] for task in iterations} == {loop["_id"]}
    assert [task["_status"] for task in iterations] == ["COMPLETED"] * 3
    assert [task["_output"]["_body"] for task in iterations] == [
        {"synced": "d-1"},
        {"synced": "d-2"},
        {"synced": "d-3"},
    ]
    ids = [task["_id"] for task in detailed["_tasks"]]
    assert len(set(ids)) == 4
    sequence_numbers = [task["_sequenceno"] for task in detailed["_tasks"]]
    assert len(set(sequence_numbers)) == 4
    assert sequence_numbers[1:] == sorted(sequence_numbers[1:])
    assert all(task["_startedAt"] <= task["_endedAt"] for task in iterations)


def test_each_iteration_output_is_its_last_task_output_and_tasks_of_an_iteration_see_each_other(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER of two nested tasks, the second reading the first of the same iteration
    for device in ("d-1", "d-2"):
        target.reply(f"/devices/{device}", {"synced": device, "etag": f"etag-{device}"})
        target.reply(f"/confirm/etag-{device}", {"confirmed": device})
    confirm = {
        "_name": "confirm",
        "_type": "REST_CONNECTOR",
        "_inputParams": {"_url": "${workflow._inputParams.base}/confirm/${tasks.sync._output._body.etag}"},
    }
    run = api.start_run(
        loop_definition([SYNC, confirm]), {"base": target.base_url, "devices": ["d-1", "d-2"]}
    )

    # When the worker runs it to the end
    worker.drain()

    # Then each confirm call used its own iteration's sync answer
    assert target.calls("/confirm/etag-d-1") == 1
    assert target.calls("/confirm/etag-d-2") == 1
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "COMPLETED"
    assert [(task["_name"], task.get("_loopIndex")) for task in finished["_tasks"]] == [
        ("each_device", None),
        ("sync", 0),
        ("confirm", 0),
        ("sync", 1),
        ("confirm", 1),
    ]
    # And the LOOP_OVER's output is the last output of each iteration
    loop = finished["_tasks"][0]
    assert [output["_body"] for output in loop["_output"]] == [{"confirmed": "d-1"}, {"confirmed": "d-2"}]


def test_an_iteration_that_fails_after_its_retries_fails_the_loop_and_skips_the_rest(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER whose second item keeps failing, with one retry, and a task after the loop
    target.reply("/devices/d-1", {"synced": "d-1"})
    target.reply("/devices/d-2", {"message": "device d-2 is offline"}, status=500)
    target.reply("/devices/d-3", {"synced": "d-3"})
    target.reply("/notify", {"ok": True})
    sync = dict(SYNC, _retryCount=1, _retryDelaySeconds=0)
    run = api.start_run(
        loop_definition([sync], then_notify=True), {"base": target.base_url, "devices": ["d-1", "d-2", "d-3"]}
    )

    # When the worker runs it to the end
    worker.drain()

    # Then the second item was tried twice, the third never, and nothing after the loop ran
    assert target.calls("/devices/d-1") == 1
    assert target.calls("/devices/d-2") == 2
    assert target.calls("/devices/d-3") == 0
    assert target.calls("/notify") == 0

    # And the run and the LOOP_OVER failed, naming the iteration and the answer
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "FAILED"
    loop = task_named(finished, "each_device")
    assert loop["_status"] == "FAILED"
    assert "iteration 1" in loop["_error"] and "d-2" in loop["_error"]
    assert "HTTP 500" in loop["_error"] and "device d-2 is offline" in loop["_error"]
    assert "each_device" in finished["_error"]
    assert task_named(finished, "notify")["_status"] == "SKIPPED"
    iterations = [task for task in finished["_tasks"] if "_loopTaskId" in task]
    assert [(task["_loopIndex"], task["_status"]) for task in iterations] == [
        (0, "COMPLETED"),
        (1, "FAILED"),
        (2, "SKIPPED"),
    ]
    assert iterations[1]["_attempts"] == 2
    assert "HTTP 500" in iterations[1]["_error"]
    assert "_startedAt" not in iterations[2]


def test_a_loop_over_an_empty_list_completes_without_a_call(api: Api, worker: Worker, target: Target) -> None:
    # Given a LOOP_OVER over no items, followed by another task
    target.reply("/notify", {"ok": True})
    run = api.start_run(loop_definition([SYNC], then_notify=True), {"base": target.base_url, "devices": []})

    # When the worker runs it to the end
    worker.drain()

    # Then the loop completed at once and the run went on
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "COMPLETED"
    assert [task["_name"] for task in finished["_tasks"]] == ["each_device", "notify"]
    loop = task_named(finished, "each_device")
    assert loop["_status"] == "COMPLETED"
    assert loop["_output"] == []
    assert target.calls("/notify") == 1
    assert target.calls() == 1


def test_a_run_whose_last_task_loops_over_an_empty_list_completes(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run whose only task is a LOOP_OVER over no items
    run = api.start_run(loop_definition([SYNC]), {"base": target.base_url, "devices": []})

    # When the worker runs it to the end
    worker.drain()

    # Then the run completed, with the (empty) list of outputs as its output
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert finished["_output"] == []
    assert target.calls() == 0


def test_items_that_are_not_a_list_fail_the_loop_with_a_clear_error(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER whose _items resolve to a string
    target.reply("/notify", {"ok": True})
    run = api.start_run(
        loop_definition([SYNC], then_notify=True), {"base": target.base_url, "devices": "d-1"}
    )

    # When the worker runs it
    worker.drain()

    # Then the loop and the run failed, saying _items must be a list and what it was
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "FAILED"
    loop = task_named(finished, "each_device")
    assert loop["_status"] == "FAILED"
    assert "_items" in loop["_error"] and "must be a list" in loop["_error"] and '"d-1"' in loop["_error"]
    assert "must be a list" in finished["_error"]
    assert task_named(finished, "notify")["_status"] == "SKIPPED"
    assert target.calls() == 0


def test_a_retry_of_a_failed_loop_runs_only_the_iterations_that_did_not_complete(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a run whose LOOP_OVER failed on its second item, the third skipped
    target.reply("/devices/d-1", {"synced": "d-1"})
    target.reply("/devices/d-2", {"message": "device d-2 is offline"}, status=500)
    target.reply("/devices/d-3", {"synced": "d-3"})
    target.reply("/notify", {"ok": True})
    run = api.start_run(
        loop_definition([SYNC], then_notify=True), {"base": target.base_url, "devices": ["d-1", "d-2", "d-3"]}
    )
    worker.drain()
    assert api.get(run["_id"])["_status"] == "FAILED"

    # When the device comes back and the user retries the run
    target.reply("/devices/d-2", {"synced": "d-2"})
    retried = api.set_status(run["_id"], "RETRIED")
    assert retried["_status"] == "QUEUED"
    worker.drain()

    # Then the completed iteration was not called again; the failed and skipped ones ran once more
    assert [target.calls(f"/devices/{device}") for device in ("d-1", "d-2", "d-3")] == [1, 2, 1]
    assert target.calls("/notify") == 1
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "COMPLETED"
    loop = task_named(finished, "each_device")
    assert loop["_status"] == "COMPLETED"
    assert "_error" not in loop
    assert [output["_body"] for output in loop["_output"]] == [
        {"synced": "d-1"},
        {"synced": "d-2"},
        {"synced": "d-3"},
    ]
    # And each item shows one iteration, completed
    iterations = [task for task in finished["_tasks"] if "_loopTaskId" in task]
    assert [(task["_loopIndex"], task["_status"]) for task in iterations] == [
        (0, "COMPLETED"),
        (1, "COMPLETED"),
        (2, "COMPLETED"),
    ]


def test_a_loop_paused_between_iterations_goes_on_where_it_stopped(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER over three items whose first iteration completed, every message delivered twice
    for device in ("d-1", "d-2", "d-3"):
        target.reply(f"/devices/{device}", {"synced": device})
    run = api.start_run(loop_definition([SYNC]), {"base": target.base_url, "devices": ["d-1", "d-2", "d-3"]})
    worker.step(twice=True)
    assert target.calls() == 1

    # When the user pauses the run, the pending message arrives, and the user resumes
    paused = api.set_status(run["_id"], "PAUSED")
    assert task_named(paused, "each_device")["_status"] == "PAUSED"
    worker.drain(twice=True)
    assert target.calls() == 1
    assert api.get(run["_id"])["_status"] == "PAUSED"
    api.set_status(run["_id"], "RESUMED")
    worker.drain(twice=True)

    # Then the loop went on with the second item, each item called exactly once
    assert [target.calls(f"/devices/{device}") for device in ("d-1", "d-2", "d-3")] == [1, 1, 1]
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "COMPLETED"
    assert [task.get("_loopIndex") for task in finished["_tasks"]] == [None, 0, 1, 2]
    assert [task["_status"] for task in finished["_tasks"]] == ["COMPLETED"] * 4


def test_a_loop_terminated_while_an_iteration_is_in_flight_stops_there(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a LOOP_OVER whose second iteration's call is in flight
    target.reply("/devices/d-1", {"synced": "d-1"})
    gate = target.gate("/devices/d-2", body={"synced": "d-2"})
    target.reply("/devices/d-3", {"synced": "d-3"})
    run = api.start_run(loop_definition([SYNC]), {"base": target.base_url, "devices": ["d-1", "d-2", "d-3"]})
    worker.step()
    background = worker.step_in_background()
    gate.wait_arrival()

    # When the user terminates the run, and then the call answers
    terminated = api.set_status(run["_id"], "TERMINATED")
    gate.release()
    background.join()
    worker.drain()

    # Then the run, the loop and the iteration in flight are TERMINATED; the third item never called
    finished = api.get(run["_id"], include_loop_over_tasks=True)
    assert finished["_status"] == "TERMINATED"
    assert finished["_updatedAt"] == terminated["_updatedAt"]
    assert task_named(finished, "each_device")["_status"] == "TERMINATED"
    iterations = [
        (task["_loopIndex"], task["_status"]) for task in finished["_tasks"] if "_loopTaskId" in task
    ]
    assert iterations == [(0, "COMPLETED"), (1, "TERMINATED")]
    assert target.calls("/devices/d-3") == 0


def test_a_finished_loop_is_read_back_only_for_the_inputs_that_name_it(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given runs whose task after a LOOP_OVER ignores it, or sends the loop's output on
    requests = RequestLog()

    def reads() -> list[str]:
        """The worker's reads of one loop's iterations (GET's own view reads all of a run's, not one's)."""
        prefixes = [
            query["ExpressionAttributeValues"].get(":prefix", {}).get("S") for query in requests.of("Query")
        ]
        return [prefix for prefix in prefixes if prefix and prefix != keys.iteration_prefix()]

    for device in ("d-1", "d-2"):
        target.reply(f"/devices/{device}", {"synced": device})
    target.reply("/notify", {"ok": True})
    inputs = {"base": target.base_url, "devices": ["d-1", "d-2"]}

    # When the worker runs a loop followed by a task that does not name it
    with requests.recording():
        ignoring = api.start_run(loop_definition([SYNC], then_notify=True), inputs)
        worker.drain()

    # Then the loop's iterations were never read back
    assert api.get(ignoring["_id"])["_status"] == "COMPLETED"
    assert reads() == []

    # When the task after the loop sends the loop's output on
    definition = loop_definition([SYNC], then_notify=True)
    definition["_tasks"][1]["_inputParams"]["_body"] = "${tasks.each_device._output[*]._body}"
    with requests.recording():
        naming = api.start_run(definition, inputs)
        worker.drain()

    # Then the iterations were read once, for that task, and it received their outputs
    assert api.get(naming["_id"])["_status"] == "COMPLETED"
    assert len(reads()) == 1
    assert target.received("/notify")[-1].json == [{"synced": "d-1"}, {"synced": "d-2"}]

"""Two changes racing on the same version of a run: one wins, the other answers 409 or retries on what
the winner left; the stored run is never a mix of both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from workflowsvc import timestamps
from workflowsvc.errors import VersionConflict
from workflowsvc.execution.status import change_status
from workflowsvc.models.run import RunRecord
from workflowsvc.store import Store, keys

from tests.support.dynamodb import before_request
from tests.support.runs import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT, ts

WORKER = "task-worker"


def test_saving_over_a_version_that_was_already_replaced_raises_version_conflict(given, store):
    # Given a run read once by two writers
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT)
    read = store.runs.get(run["_id"], consistent=True)
    assert read is not None
    now = timestamps.now_ns()
    paused = change_status(read, "PAUSED", "operator", now).change.record
    terminated = change_status(read, "TERMINATED", "someone-else", now).change.record

    # When the first saves, then the second saves over the same old version
    saved = store.runs.save(read, paused)
    with pytest.raises(VersionConflict):
        store.runs.save(read, terminated)

    # Then the stored run is the first writer's, whole
    stored = store.runs.get(run["_id"], consistent=True)
    assert stored is not None
    assert stored.version == saved.version == read.version + 1
    assert stored.run == paused.run
    assert stored.state == paused.state


def _race(store: Store, competitor: Callable[[Store, RunRecord], None]) -> Any:
    """While in the block, the service's first transaction loses: just before it goes out, ``competitor``
    writes a change of its own to the run it reads."""
    raced: list[str] = []

    def first_write_loses(params: dict[str, Any]) -> None:
        if raced:
            return
        run_id = keys.run_id_of(params["TransactItems"][0]["Put"]["Item"]["pk"]["S"])
        raced.append(run_id)
        read = store.runs.get(run_id, consistent=True)
        assert read is not None
        competitor(store, read)

    return raced, before_request("TransactWriteItems", first_write_loses)


def test_a_pause_that_loses_to_a_terminate_answers_409_and_leaves_the_run_terminated(api, given, task_queue):
    # Given a running run, and another user terminating it at the moment this one pauses it
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT)

    def terminate(store: Store, read: RunRecord) -> None:
        store.runs.save(
            read, change_status(read, "TERMINATED", "another-operator", timestamps.now_ns()).change.record
        )

    raced, racing = _race(given.store, terminate)

    # When
    with racing:
        reply = api.change_status(run["_id"], "PAUSED")

    # Then the loser is told what the run now is
    assert raced == [run["_id"]]
    assert reply.status == 409, reply.text
    assert "TERMINATED" in reply.message
    stored = api.get(run["_id"]).body
    assert stored["_status"] == "TERMINATED"
    assert stored["_updatedBy"] == "another-operator"
    assert [task["_status"] for task in stored["_tasks"]] == ["COMPLETED", "TERMINATED", "TERMINATED"]
    assert api.list(_status="TERMINATED").body["_total"] == 1
    assert api.list(_status="RUNNING").body["_total"] == 0
    assert api.list(_status="PAUSED").body["_total"] == 0
    assert task_queue.drain() == []


def test_a_pause_that_loses_to_the_worker_retries_on_the_workers_result(api, given, task_queue):
    # Given a running run whose current task the worker completes at the moment the user pauses
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT, in_flight=True)
    output = {"_statusCode": 200, "_headers": {}, "_body": {"devices": ["d-1"]}}

    def worker_completes(store: Store, read: RunRecord) -> None:
        progressed = read.clone()
        now = timestamps.now_ns()
        progressed.run["_tasks"][1].update({"_status": "COMPLETED", "_endedAt": ts(now), "_output": output})
        progressed.run["_updatedAt"], progressed.run["_updatedBy"] = ts(now), WORKER
        progressed.state.release_claim()
        progressed.state.step += 1
        store.runs.save(read, progressed)

    raced, racing = _race(given.store, worker_completes)

    # When
    with racing:
        reply = api.change_status(run["_id"], "PAUSED")

    # Then the pause applies to the run as the worker left it: the completed task keeps its output
    assert raced == [run["_id"]]
    assert reply.status == 200, reply.text
    paused = reply.body
    assert paused["_status"] == "PAUSED"
    assert [task["_status"] for task in paused["_tasks"]] == ["COMPLETED", "COMPLETED", "PAUSED"]
    assert paused["_tasks"][1]["_output"] == output
    assert api.get(run["_id"]).body == paused
    assert api.list(_status="PAUSED").body["_total"] == 1
    assert api.list(_status="RUNNING").body["_total"] == 0
    assert task_queue.drain() == []

"""Two changes racing on the same version of a run: one wins, the other answers 409 or retries on what
the winner left; the stored run is never a mix of both."""

from __future__ import annotations

from typing import Any

import pytest
from workflowsvc import runs, timestamps
from workflowsvc.errors import VersionConflict
from workflowsvc.repository import Repository, StoredRun

from tests.integration.given import DEVICE_SYNC_DEFINITION, DEVICE_SYNC_INPUT, ts

WORKER = "task-worker"
SAVE_RUN = Repository.save_run  # as the repository defines it, before any test patches it


def test_saving_over_a_version_that_was_already_replaced_raises_version_conflict(given, repository):
    # Given a run read once by two writers
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT)
    read = repository.get_run(run["_id"], consistent=True)
    assert read is not None
    paused = runs.change_status(read.run, read.meta, "PAUSED", "operator")
    terminated = runs.change_status(read.run, read.meta, "TERMINATED", "someone-else")

    # When the first saves, then the second saves over the same old version
    saved = repository.save_run(read, paused.run, paused.meta)
    with pytest.raises(VersionConflict):
        repository.save_run(read, terminated.run, terminated.meta)

    # Then the stored run is the first writer's, whole
    stored = repository.get_run(run["_id"], consistent=True)
    assert stored is not None
    assert stored.version == saved.version == read.version + 1
    assert stored.run == paused.run
    assert stored.meta == paused.meta


def _race(monkeypatch: pytest.MonkeyPatch, competitor: Any) -> list[str]:
    """Make the API's first save lose: just before it, ``competitor`` writes a change of its own."""
    raced: list[str] = []

    def save_run(self: Repository, stored: StoredRun, *args: Any, **kwargs: Any) -> StoredRun:
        if not raced:
            raced.append(stored.run["_id"])
            competitor(self, stored)
        return SAVE_RUN(self, stored, *args, **kwargs)

    monkeypatch.setattr(Repository, "save_run", save_run)
    return raced


def test_a_pause_that_loses_to_a_terminate_answers_409_and_leaves_the_run_terminated(
    api, given, task_queue, monkeypatch
):
    # Given a running run, and another user terminating it at the moment this one pauses it
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT)

    def terminate(repository: Repository, stored: StoredRun) -> None:
        change = runs.change_status(stored.run, stored.meta, "TERMINATED", "another-operator")
        SAVE_RUN(repository, stored, change.run, change.meta)

    raced = _race(monkeypatch, terminate)

    # When
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


def test_a_pause_that_loses_to_the_worker_retries_on_the_workers_result(api, given, task_queue, monkeypatch):
    # Given a running run whose current task the worker completes at the moment the user pauses
    definition = given.definition(DEVICE_SYNC_DEFINITION)
    run = given.run(definition, "RUNNING", input_params=DEVICE_SYNC_INPUT, in_flight=True)
    output = {"_statusCode": 200, "_headers": {}, "_body": {"devices": ["d-1"]}}

    def worker_completes(repository: Repository, stored: StoredRun) -> None:
        progressed, meta = dict(stored.run), dict(stored.meta)
        progressed["_tasks"] = [dict(task) for task in stored.run["_tasks"]]
        now = timestamps.now_ns()
        progressed["_tasks"][1].update({"_status": "COMPLETED", "_endedAt": ts(now), "_output": output})
        progressed["_updatedAt"], progressed["_updatedBy"] = ts(now), WORKER
        meta.update({"claimed": False, "step": meta["step"] + 1})
        meta.pop("inFlightTaskId", None)
        SAVE_RUN(repository, stored, progressed, meta)

    raced = _race(monkeypatch, worker_completes)

    # When
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

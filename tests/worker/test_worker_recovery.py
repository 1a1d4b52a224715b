"""A worker that dies mid-attempt, or a message that never arrives: the sweeper gets the run going again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from workflowsvc import runs
from workflowsvc.execution import timing
from workflowsvc.store import keys
from workflowsvc.store.runs import LOOK_AFTER_WRITE_NS, LOOK_ROUNDING_NS

from tests.support.clock import ShiftedClock
from tests.support.dynamodb import before_request
from tests.support.harness import Api, Sweeper, Target, Worker, task_named


class WorkerDied(Exception):
    """The worker's process ended between the call and the write of its result."""


def _run_id(params: dict[str, Any]) -> str:
    item = params["TransactItems"][0]["Put"]["Item"] if "TransactItems" in params else params["Item"]
    return keys.run_id_of(item["pk"]["S"])


@pytest.fixture
def worker_dies_once_before_recording(target: Target) -> Iterator[list[str]]:
    """The first result of an attempt is never written, as if the worker died right after its call: the
    first write of a run once the target has been called fails."""
    deaths: list[str] = []

    def die(params: dict[str, Any]) -> None:
        if not deaths and target.calls() > 0:
            deaths.append(_run_id(params))
            raise WorkerDied("the worker's process ended before it recorded the result")

    with before_request("TransactWriteItems", die), before_request("PutItem", die):
        yield deaths


def past_the_lease(clock: ShiftedClock, task_timeout_seconds: float) -> None:
    """Move the clock past the lease of an attempt of a task with that timeout, as the active index keys
    it: no sooner than a while after the run's last write, rounded up."""
    lease = task_timeout_seconds + timing.LEASE_MARGIN_NS / runs.NS
    clock.advance(max(lease, LOOK_AFTER_WRITE_NS / runs.NS) + LOOK_ROUNDING_NS / runs.NS + 1)


def past_the_redrive_time(clock: ShiftedClock) -> None:
    """Move the clock past the time a step nobody took is sent again, as the active index keys it."""
    clock.advance((max(runs.REDRIVE_AFTER_NS, LOOK_AFTER_WRITE_NS) + LOOK_ROUNDING_NS) / runs.NS + 1)


def definition(
    retry_count: int, task_timeout_seconds: int = 1, run_timeout_seconds: int = 3600
) -> dict[str, Any]:
    return {
        "_name": "device_sync",
        "_timeoutSeconds": 3600,
        "_tasks": [
            {
                "_name": "fetch_devices",
                "_type": "REST_CONNECTOR",
                "_inputParams": {
                    "_url": "${workflow._inputParams.base}/devices",
                    "_timeoutSeconds": task_timeout_seconds,
                },
                "_timeoutSeconds": task_timeout_seconds,
                "_retryCount": retry_count,
                "_retryDelaySeconds": 0,
            },
            {
                "_name": "notify",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/notify", "_method": "POST"},
            },
        ],
    }


def test_an_attempt_lost_with_its_worker_is_retried_by_the_sweeper_once_its_lease_passes(
    api: Api,
    worker: Worker,
    target: Target,
    sweeper: Sweeper,
    clock: ShiftedClock,
    worker_dies_once_before_recording: list[str],
) -> None:
    # Given a task with a retry and a 2 s timeout, whose worker made the call and died before
    # recording its result
    target.reply("/devices", {"devices": ["d-1"]})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(retry_count=1, task_timeout_seconds=2), {"base": target.base_url})
    deliveries = worker.step(allow_failures=True, redeliver_failures=True)
    assert worker_dies_once_before_recording == [run["_id"]]
    assert deliveries[0].failed_ids  # SQS will deliver the message again
    assert target.calls("/devices") == 1
    stuck = api.get(run["_id"])
    assert stuck["_status"] == "RUNNING"
    assert task_named(stuck, "fetch_devices")["_status"] == "RUNNING"

    # When SQS redelivers the message before the lease has passed
    redelivered = worker.drain()

    # Then that delivery does nothing: the attempt may still be under way
    assert len(redelivered) == 1
    assert target.calls("/devices") == 1
    assert api.get(run["_id"])["_status"] == "RUNNING"
    assert sweeper.run() == 0

    # When the lease passes and the sweeper runs
    past_the_lease(clock, 2)
    assert sweeper.run() == 1

    # Then the attempt counts as failed, the task is retried, and the run completes
    retrying = task_named(api.get(run["_id"]), "fetch_devices")
    assert retrying["_status"] == "QUEUED"
    assert "presumed lost" in retrying["_error"]
    worker.drain()
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    task = task_named(finished, "fetch_devices")
    assert task["_attempts"] == 2
    assert "_error" not in task
    assert target.calls("/devices") == 2
    assert target.calls("/notify") == 1


def test_an_attempt_lost_with_its_worker_fails_the_task_when_no_retry_is_left(
    api: Api,
    worker: Worker,
    target: Target,
    sweeper: Sweeper,
    clock: ShiftedClock,
    worker_dies_once_before_recording: list[str],
) -> None:
    # Given a task without retries, whose worker made the call and died before recording its result
    target.reply("/devices", {"devices": ["d-1"]})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(retry_count=0), {"base": target.base_url})
    worker.step(allow_failures=True)

    # When the lease passes and the sweeper runs
    past_the_lease(clock, 1)
    assert sweeper.run() == 1
    worker.drain()

    # Then the task failed with an error that says what happened, and the run failed
    finished = api.get(run["_id"])
    assert finished["_status"] == "FAILED"
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "FAILED"
    assert "no result came back" in task["_error"] and "presumed lost" in task["_error"]
    assert task_named(finished, "notify")["_status"] == "SKIPPED"
    assert target.calls("/devices") == 1
    assert target.calls("/notify") == 0


def test_a_lost_message_is_sent_again_by_the_sweeper(
    api: Api, worker: Worker, target: Target, sweeper: Sweeper, clock: ShiftedClock
) -> None:
    # Given a run whose first message was lost
    target.reply("/devices", {"devices": ["d-1"]})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(retry_count=0), {"base": target.base_url})
    assert worker.discard_all() == 1

    # When the sweeper runs before and after the re-drive time
    assert sweeper.run() == 0
    past_the_redrive_time(clock)
    assert sweeper.run() == 1

    # Then the step's message is on the queue again, and the run completes, each task called once
    assert [body["runId"] for body in worker.bodies()] == [run["_id"]]
    worker.drain()
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert target.calls("/devices") == 1 and target.calls("/notify") == 1


def test_a_message_lost_between_two_tasks_is_sent_again_by_the_sweeper(
    api: Api, worker: Worker, target: Target, sweeper: Sweeper, clock: ShiftedClock
) -> None:
    # Given a run whose first task completed and whose next message was lost
    target.reply("/devices", {"devices": ["d-1"]})
    target.reply("/notify", {"ok": True})
    run = api.start_run(definition(retry_count=0), {"base": target.base_url})
    worker.step()
    assert worker.discard_all() == 1

    # When the re-drive time passes and the sweeper runs
    past_the_redrive_time(clock)
    assert sweeper.run() == 1
    worker.drain()

    # Then the run completes without calling the first task again
    assert api.get(run["_id"])["_status"] == "COMPLETED"
    assert target.calls("/devices") == 1 and target.calls("/notify") == 1

"""A failed attempt is retried per the task's policy; a task out of retries fails the run."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from workflowsvc.execution import timing

from tests.support.harness import Api, Target, Worker, task_named


def flaky_definition(retry_count: int, retry_delay_seconds: int = 0, **policy: Any) -> dict[str, Any]:
    return {
        "_name": "device_sync",
        "_timeoutSeconds": 60,
        "_tasks": [
            {
                "_name": "fetch_devices",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/v2/devices"},
                "_retryCount": retry_count,
                "_retryDelaySeconds": retry_delay_seconds,
                **policy,
            },
            {
                "_name": "notify",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/notify", "_method": "POST"},
            },
        ],
    }


def test_a_task_that_fails_twice_then_succeeds_completes_after_three_calls_with_two_retries(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a task with two retries whose target fails twice, then answers
    target.fail_then_reply(
        "/v2/devices", 2, {"devices": ["d-1"]}, status=503, failure_body={"message": "Service Unavailable"}
    )
    target.reply("/notify", {"ok": True})
    run = api.start_run(flaky_definition(retry_count=2), {"base": target.base_url})

    # When the worker runs it to the end
    worker.drain()

    # Then the task was called three times and the run completed with the third answer
    assert target.calls("/v2/devices") == 3
    assert target.calls("/notify") == 1
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "COMPLETED"
    assert task["_attempts"] == 3
    assert task["_output"]["_body"] == {"devices": ["d-1"]}
    assert "_error" not in task


def test_a_task_out_of_retries_fails_the_run_naming_the_status_and_the_answer(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a task with one retry whose target fails twice
    target.fail_then_reply(
        "/v2/devices", 2, {"devices": ["d-1"]}, status=503, failure_body={"message": "upstream maintenance"}
    )
    target.reply("/notify", {"ok": True})
    run = api.start_run(flaky_definition(retry_count=1), {"base": target.base_url})

    # When the worker runs it to the end
    worker.drain()

    # Then the task was called twice and failed, and the task after it never ran
    assert target.calls("/v2/devices") == 2
    assert target.calls("/notify") == 0
    finished = api.get(run["_id"])
    assert finished["_status"] == "FAILED"
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "FAILED"
    assert task["_attempts"] == 2
    assert "HTTP 503" in task["_error"]
    assert "upstream maintenance" in task["_error"]
    assert task["_output"]["_statusCode"] == 503
    assert task["_startedAt"] <= task["_endedAt"]
    assert "fetch_devices" in finished["_error"] and "HTTP 503" in finished["_error"]
    assert task_named(finished, "notify")["_status"] == "SKIPPED"
    assert finished["_output"] is None


def test_a_retry_waits_its_delay_on_the_queue(api: Api, worker: Worker, target: Target) -> None:
    # Given a task with one retry after 1 s whose target fails once
    target.fail_then_reply("/v2/devices", 1, {"devices": []})
    target.reply("/notify", {"ok": True})
    run = api.start_run(flaky_definition(retry_count=1, retry_delay_seconds=1), {"base": target.base_url})

    # When the first attempt fails
    worker.step()
    failed_at = time.monotonic()

    # Then the retry's message waits, delayed, and the task waits QUEUED for it
    assert worker.waiting() == (0, 1)
    assert worker.step() == []
    waiting = api.get(run["_id"])
    assert waiting["_status"] == "RUNNING"
    assert task_named(waiting, "fetch_devices")["_status"] == "QUEUED"
    assert "HTTP 503" in task_named(waiting, "fetch_devices")["_error"]

    # And it is delivered once the delay has passed, and the run completes
    deliveries = worker.drain()
    finished = api.get(run["_id"])
    assert time.monotonic() - failed_at >= 0.9
    assert target.calls("/v2/devices") == 2, (deliveries, finished)
    assert finished["_status"] == "COMPLETED"


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_exponential_backoff_grows_with_each_attempt_within_its_jitter_bounds(delay: int) -> None:
    # Given an EXPONENTIAL task
    task = {"_retryDelaySeconds": delay, "_backoff": "EXPONENTIAL"}

    # When delays are drawn for attempts 1 to 5
    samples = {
        attempt: [timing.retry_delay_seconds(task, attempt) for _ in range(200)] for attempt in range(1, 6)
    }

    # Then each lies within [half, all] of delay x 2^(attempt-1), and they grow attempt after attempt
    for attempt, delays in samples.items():
        ceiling = delay * 2 ** (attempt - 1)
        assert all(ceiling / 2 <= value <= ceiling for value in delays), (attempt, min(delays), max(delays))
        assert len(set(delays)) > 1  # jittered
    means = [statistics.mean(samples[attempt]) for attempt in range(1, 6)]
    assert means == sorted(means) and means[-1] > 8 * means[0]
    for attempt in range(1, 5):
        assert min(samples[attempt + 1]) >= max(samples[attempt]) * 0.999  # no overlap between attempts


def test_fixed_backoff_waits_the_same_delay_each_time_and_defaults_to_one_second() -> None:
    assert [timing.retry_delay_seconds({"_retryDelaySeconds": 3}, attempt) for attempt in (1, 2, 5)] == [
        3,
        3,
        3,
    ]
    assert [timing.retry_delay_seconds({"_backoff": "FIXED"}, attempt) for attempt in (1, 4)] == [1, 1]
    assert timing.retry_delay_seconds({"_retryDelaySeconds": 0, "_backoff": "EXPONENTIAL"}, 3) == 0


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        # an expression that cannot be evaluated: JMESPath's length() of a number
        ({"_url": "${workflow._inputParams.base}/v2/devices", "_body": "${length(`3`)}"}, "length"),
        # an input the call cannot be made with
        ({"_url": "${workflow._inputParams.base}/v2/devices", "_method": "FETCH"}, "_method"),
        ({"_url": "${workflow._inputParams.missing}"}, "_url is missing"),
    ],
    ids=["expression", "method", "no-url"],
)
def test_a_failure_no_retry_can_help_is_not_retried(
    api: Api, worker: Worker, target: Target, inputs: dict[str, Any], error: str
) -> None:
    # Given a task with three retries whose inputs fail the same way on every attempt
    target.reply("/v2/devices", {"devices": []})
    definition = flaky_definition(retry_count=3)
    definition["_tasks"][0]["_inputParams"] = inputs
    run = api.start_run(definition, {"base": target.base_url})

    # When the worker runs it
    worker.drain()

    # Then the task failed on its first attempt, saying why, without calling anything or retrying
    finished = api.get(run["_id"])
    assert finished["_status"] == "FAILED"
    task = task_named(finished, "fetch_devices")
    assert task["_status"] == "FAILED"
    assert task["_attempts"] == 1
    assert error in task["_error"]
    assert target.calls() == 0

"""What SQS really delivers: duplicates, two workers at once, malformed bodies, sample events."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from workflowsvc.store import Store

from tests.support.harness import Api, Target, Worker, load_event, task_named


def chain(base_path: str = "") -> dict[str, Any]:
    return {
        "_name": "device_sync",
        "_timeoutSeconds": 60,
        "_tasks": [
            {
                "_name": name,
                "_type": "REST_CONNECTOR",
                "_inputParams": {
                    "_url": "${workflow._inputParams.base}" + f"{base_path}/{name}",
                    "_method": "POST",
                },
            }
            for name in ("login", "fetch_devices", "notify")
        ],
    }


def program(target: Target) -> None:
    for name in ("login", "fetch_devices", "notify"):
        target.reply(f"/{name}", {"done": name})


def test_every_message_delivered_twice_in_a_row_still_calls_each_task_once(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a three-task run
    program(target)
    run = api.start_run(chain(), {"base": target.base_url})

    # When SQS delivers every message twice, one delivery after the other
    deliveries = worker.drain(twice=True)

    # Then both deliveries of each message succeeded, and each task was called exactly once
    assert len(deliveries) == 6
    assert all(not delivery.failed_ids for delivery in deliveries)
    assert [target.calls(f"/{name}") for name in ("login", "fetch_devices", "notify")] == [1, 1, 1]
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [task["_attempts"] for task in finished["_tasks"]] == [1, 1, 1]


def test_every_message_delivered_to_two_workers_at_once_still_calls_each_task_once(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a three-task run
    program(target)
    run = api.start_run(chain(), {"base": target.base_url})

    # When every message reaches two workers at the same moment
    deliveries = worker.drain(concurrently=True)

    # Then each task was called exactly once, and the run completed
    assert len(deliveries) == 6
    assert all(not delivery.failed_ids for delivery in deliveries), [d.errors for d in deliveries]
    assert [target.calls(f"/{name}") for name in ("login", "fetch_devices", "notify")] == [1, 1, 1]
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert [task["_attempts"] for task in finished["_tasks"]] == [1, 1, 1]


def sample_step_event(name: str, worker: Worker, run_id: str, step: int, task_id: str) -> dict[str, Any]:
    """``events/<name>.json`` with this run's step and this queue's ARN."""
    event = load_event(name)
    for record in event["Records"]:
        body = dict(json.loads(record["body"]), runId=run_id, step=step, taskId=task_id)
        record["body"] = json.dumps(body, separators=(",", ":"))
        record["md5OfBody"] = hashlib.md5(record["body"].encode()).hexdigest()
        record["eventSourceARN"] = worker.queue_arn
    return event


def test_the_sample_step_message_runs_the_step_it_names(api: Api, worker: Worker, target: Target) -> None:
    # Given a run whose message was taken off the queue, and the sample SQS event naming its first step
    target.reply("/login", {"token": "tkn-81f2"})
    run = api.start_run({**chain(), "_tasks": chain()["_tasks"][:1]}, {"base": target.base_url})
    assert worker.discard_all() == 1
    event = sample_step_event("sqs_step_message", worker, run["_id"], 1, run["_tasks"][0]["_id"])

    # When the worker gets the sample event
    delivery = worker.invoke(event)

    # Then it reports no failure and the run completed
    assert delivery.response == {"batchItemFailures": []}
    assert target.calls("/login") == 1
    assert api.get(run["_id"])["_status"] == "COMPLETED"


def test_the_same_message_twice_in_one_batch_runs_its_step_once(
    api: Api, worker: Worker, target: Target
) -> None:
    # Given a one-task run and the sample batch holding its step message twice
    target.reply("/login", {"token": "tkn-81f2"})
    run = api.start_run({**chain(), "_tasks": chain()["_tasks"][:1]}, {"base": target.base_url})
    worker.discard_all()
    event = sample_step_event("sqs_step_message_duplicate", worker, run["_id"], 1, run["_tasks"][0]["_id"])
    assert len(event["Records"]) == 2

    # When the worker gets the batch
    delivery = worker.invoke(event)

    # Then both records succeed, and the task was called once
    assert delivery.response == {"batchItemFailures": []}
    assert target.calls("/login") == 1
    finished = api.get(run["_id"])
    assert finished["_status"] == "COMPLETED"
    assert task_named(finished, "login")["_attempts"] == 1


def test_a_step_message_for_a_paused_run_does_nothing(
    api: Api, worker: Worker, target: Target, store: Store
) -> None:
    # Given a paused run, and the sample message naming its current step
    program(target)
    run = api.start_run(chain(), {"base": target.base_url})
    paused = api.set_status(run["_id"], "PAUSED")
    worker.discard_all()
    stored = store.runs.get(run["_id"], consistent=True)
    assert stored is not None
    event = sample_step_event(
        "sqs_step_message_paused_run", worker, run["_id"], stored.state.step, run["_tasks"][0]["_id"]
    )

    # When the worker gets it
    delivery = worker.invoke(event)

    # Then the message is consumed without a call, and the run is as the user left it
    assert delivery.response == {"batchItemFailures": []}
    assert target.calls() == 0
    assert api.get(run["_id"]) == paused


def test_malformed_messages_fail_alone_and_end_on_the_dead_letter_queue(
    api: Api, worker: Worker, target: Target, sqs_client: Any, dead_letter_queue_url: str
) -> None:
    # Given a run's step message, and beside it on the queue a body that is not JSON, one without
    # runId, and one for a run that does not exist
    target.reply("/login", {"token": "tkn-81f2"})
    run = api.start_run({**chain(), "_tasks": chain()["_tasks"][:1]}, {"base": target.base_url})
    malformed = ["Hello from SQS!", json.dumps({"step": 1, "taskId": "5b0e3c1a-7f2d-4e8b-9a61-2c4d8e9f0a13"})]
    for body in malformed:
        sqs_client.send_message(QueueUrl=worker.queue_url, MessageBody=body)
    sqs_client.send_message(
        QueueUrl=worker.queue_url,
        MessageBody=json.dumps({"runId": "2c0d7a55-0d44-4d8f-b1f3-9a7e05c3b1aa", "step": 1}),
    )

    # When the worker gets the four in one batch
    messages = worker.receive(10)
    assert len(messages) == 4
    first = worker.deliver(messages, redeliver_failures=True)[0]

    # Then exactly the two malformed ones are reported as failures, and the run's step ran
    failed_bodies = sorted(m["Body"] for m in messages if m["MessageId"] in first.failed_ids)
    assert failed_bodies == sorted(malformed)
    assert target.calls("/login") == 1
    assert api.get(run["_id"])["_status"] == "COMPLETED"

    # When SQS keeps redelivering them
    later = worker.drain(allow_failures=True, redeliver_failures=True)

    # Then they fail every time, and after the queue's maxReceiveCount they are on the dead-letter queue
    assert later and all(delivery.failed_ids for delivery in later)
    dead = sqs_client.receive_message(QueueUrl=dead_letter_queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(message["Body"] for message in dead) == sorted(malformed)
    assert worker.waiting() == (0, 0)
    assert target.calls() == 1


def test_a_batch_of_steps_of_different_runs_moves_each_run(api: Api, worker: Worker, target: Target) -> None:
    # Given three one-task runs whose messages arrive in one batch
    target.reply("/login", {"token": "tkn-81f2"})
    definition = {**chain(), "_tasks": chain()["_tasks"][:1]}
    runs = [api.start_run(copy.deepcopy(definition), {"base": target.base_url}) for _ in range(3)]

    # When the worker gets them in one batch
    messages = worker.receive(10)
    assert len(messages) == 3
    delivery = worker.deliver(messages)[0]

    # Then each run completed
    assert delivery.response == {"batchItemFailures": []}
    assert [api.get(run["_id"])["_status"] for run in runs] == ["COMPLETED"] * 3
    assert target.calls("/login") == 3

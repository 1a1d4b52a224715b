"""What one step costs in DynamoDB writes: the claim and the record, nothing more."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Api, Target, Worker, WriteCounter


def test_one_attempt_of_a_one_task_run_costs_two_write_requests(
    api: Api, worker: Worker, target: Target, dynamodb_writes: WriteCounter
) -> None:
    # Given a QUEUED one-task run
    target.reply("/devices", {"devices": ["d-1"]})
    run = api.start_run(
        {"_name": "device_sync", "_tasks": [{"_name": "fetch", "_type": "REST_CONNECTOR"}]},
        {"_url": target.url("/devices")},
    )

    # When the worker takes its one step, writes counted
    dynamodb_writes.start()
    worker.step()
    writes = dynamodb_writes.stop()

    # Then the step made two write requests: the claim and the record
    print(f"DynamoDB writes for one attempt of a one-task run: {len(writes)} requests {writes}")
    assert api.get(run["_id"])["_status"] == "COMPLETED"
    assert 1 <= len(writes) <= 2, writes


def test_each_step_of_a_three_task_run_costs_at_most_two_write_requests(
    api: Api, worker: Worker, target: Target, dynamodb_writes: WriteCounter
) -> None:
    # Given a QUEUED three-task run
    definition: dict[str, Any] = {
        "_name": "device_sync",
        "_tasks": [
            {
                "_name": name,
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.base}/ok"},
            }
            for name in ("login", "fetch_devices", "notify")
        ],
    }
    target.reply("/ok", {"ok": True})
    run = api.start_run(definition, {"base": target.base_url})

    # When the worker takes each step, writes counted per step
    per_step = []
    while True:
        dynamodb_writes.start()
        deliveries = worker.step()
        writes = dynamodb_writes.stop()
        if not deliveries:
            break
        per_step.append(writes)

    # Then every step made at most two write requests
    print("DynamoDB write requests per step of a three-task run:", [len(writes) for writes in per_step])
    for number, writes in enumerate(per_step, start=1):
        print(f"  step {number}: {writes}")
    assert api.get(run["_id"])["_status"] == "COMPLETED"
    assert len(per_step) == 3
    assert all(1 <= len(writes) <= 2 for writes in per_step), per_step

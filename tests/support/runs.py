"""Realistic data for Given steps: definitions as a user writes them, and runs in any status.

Runs are built with the service's own ``runs.new_run`` and then moved to the status a test needs, the way
the worker would have left them (completed tasks carry their output, a failed task its error, the tasks
after a failure are SKIPPED...). Tests write them through the store (``workflowsvc.store``) and then look
at them only through the handlers.
"""

from __future__ import annotations

import copy
from typing import Any

from workflowsvc import runs, timestamps
from workflowsvc.models.run import RunRecord

from tests.support.events import SAMPLE_NAMESPACE, SAMPLE_SUBJECT

NS = 1_000_000_000

SEED_DEFINITION: dict[str, Any] = {
    "_name": "rest_connector_workflow",
    "_userType": "iaq_realtime_setup",
    "_timeoutSeconds": 3600,
    "_timeoutPolicy": "TIME_OUT_WF",
    "_tasks": [{"_name": "REST_CONNECTOR", "_type": "REST_CONNECTOR"}],
}

SEED_INPUT: dict[str, Any] = {"_url": "https://api.spotify.com/v1/artists/0TnOYISbd1XYRBk9myaseg"}

# Three steps, so that a run can be part done: one task completed, one current, one still to come.
DEVICE_SYNC_DEFINITION: dict[str, Any] = {
    "_name": "device_sync",
    "_userType": "iaq_realtime_setup",
    "_timeoutSeconds": 900,
    "_timeoutPolicy": "TIME_OUT_WF",
    "_tasks": [
        {
            "_name": "login",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "https://auth.example.com/oauth/token", "_method": "POST"},
        },
        {
            "_name": "fetch_devices",
            "_type": "REST_CONNECTOR",
            "_inputParams": {
                "_url": "https://api.example.com/v2/devices",
                "_headers": {"Authorization": "Bearer ${tasks.login._output._body.access_token}"},
            },
            "_retryCount": 2,
            "_retryDelaySeconds": 5,
            "_backoff": "EXPONENTIAL",
        },
        {
            "_name": "notify",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "https://hooks.example.com/devices-synced", "_method": "POST"},
        },
    ],
}

DEVICE_SYNC_INPUT: dict[str, Any] = {"site": "berlin-hq"}

# A LOOP_OVER over the devices the first task lists.
LOOP_DEFINITION: dict[str, Any] = {
    "_name": "poll_each_device",
    "_userType": "iaq_realtime_setup",
    "_tasks": [
        {
            "_name": "list_devices",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "https://api.example.com/v2/devices"},
        },
        {
            "_name": "each_device",
            "_type": "LOOP_OVER",
            "_inputParams": {"_items": "${tasks.list_devices._output._body.devices}"},
            "_tasks": [
                {
                    "_name": "read_device",
                    "_type": "REST_CONNECTOR",
                    "_inputParams": {"_url": "https://api.example.com/v2/devices/${loop.item}"},
                }
            ],
        },
    ],
}

_OUTPUTS = [
    {
        "_statusCode": 200,
        "_headers": {"content-type": "application/json"},
        "_body": {"access_token": "tkn-81f2"},
    },
    {
        "_statusCode": 200,
        "_headers": {"content-type": "application/json"},
        "_body": {"devices": ["d-1", "d-2"]},
    },
    {"_statusCode": 204, "_headers": {}, "_body": None},
]

_ERRORS = {
    "FAILED": 'HTTP 503 from https://api.example.com/v2/devices: {"message": "Service Unavailable"}',
    "TIMED_OUT": "the run passed its _timeoutSeconds (900) while this task was running",
}


def ts(epoch_ns: int) -> str:
    return timestamps.format_ns(epoch_ns)


def run_in_status(
    definition: dict[str, Any],
    status: str,
    *,
    namespaces: tuple[str, ...] = (SAMPLE_NAMESPACE,),
    subject: str = SAMPLE_SUBJECT,
    created_ns: int | None = None,
    updated_ns: int | None = None,
    input_params: dict[str, Any] | None = None,
    paused_from: str = "RUNNING",
    in_flight: bool = False,
) -> RunRecord:
    """A run of ``definition`` as the worker would leave it in ``status``, and its execution state.

    The current task is the second one (the only one for a one-task definition): the tasks before it are
    COMPLETED with their output. RUNNING runs have the current task QUEUED between two steps, or RUNNING
    when ``in_flight`` (a worker holds it); a PAUSED run was paused from ``paused_from``.
    """
    created_ns = created_ns if created_ns is not None else timestamps.now_ns() - 600 * NS
    updated_ns = updated_ns if updated_ns is not None else created_ns + (7 * NS if status != "QUEUED" else 0)
    record = runs.new_run(
        copy.deepcopy(definition),
        copy.deepcopy(input_params if input_params is not None else SEED_INPUT),
        namespaces,
        subject,
        created_ns,
    )
    run, state = record.run, record.state
    run["_updatedAt"] = ts(updated_ns)
    tasks = run["_tasks"]
    current = min(1, len(tasks) - 1)

    def complete(index: int) -> None:
        task = tasks[index]
        task.update(
            {
                "_status": "COMPLETED",
                "_attempts": 1,
                "_startedAt": ts(created_ns + (2 * index + 1) * NS),
                "_endedAt": ts(created_ns + (2 * index + 2) * NS),
                "_output": _OUTPUTS[index % len(_OUTPUTS)],
            }
        )

    if status == "QUEUED":
        pass
    elif status == "COMPLETED":
        for index in range(len(tasks)):
            complete(index)
        run["_output"] = tasks[-1]["_output"]
    else:
        for index in range(current):
            complete(index)
        task = tasks[current]
        later = tasks[current + 1 :]
        state.step = current + 1
        if status == "RUNNING":
            if in_flight:
                task.update({"_status": "RUNNING", "_attempts": 1, "_startedAt": ts(updated_ns)})
                state.claimed, state.in_flight_task_id = True, task["_id"]
                state.lease_ns = updated_ns + 120 * NS
        elif status == "PAUSED":
            if paused_from == "QUEUED":
                for index in range(current):
                    runs.reset_task(tasks[index])
                later = tasks
            else:
                later = [task, *later]
            for item in later:
                item["_status"] = "PAUSED"
            state.paused_from = paused_from
            if state.deadline_ns is not None:
                state.remaining_ns = max(state.deadline_ns - updated_ns, 0)
                state.deadline_ns = None
        elif status in ("FAILED", "TIMED_OUT"):
            task.update(
                {
                    "_status": status,
                    "_attempts": 3 if status == "FAILED" else 1,
                    "_startedAt": ts(updated_ns - NS),
                    "_endedAt": ts(updated_ns),
                    "_error": _ERRORS[status],
                }
            )
            for item in later:
                item["_status"] = "SKIPPED"
            run["_error"] = f"task {task['_name']!r}: {_ERRORS[status]}"
            state.deadline_ns = None
        elif status == "TERMINATED":
            for item in [task, *later]:
                item.update({"_status": "TERMINATED", "_endedAt": ts(updated_ns)})
            state.deadline_ns = None
        else:
            raise ValueError(f"not a run status: {status}")
    run["_status"] = status
    return record

"""Figure 2: the requests one API call sends, by operation, DynamoDB and SQS apart."""

from __future__ import annotations

from typing import Any

from bench.api import Api, expect
from bench.counting import Tally, count_service_requests
from bench.report import Row
from bench.stack import Stack

NAMESPACE = "tenant-a"
TARGET_URL = "https://api.example.com/v1/devices/42"

ONE_TASK: dict[str, Any] = {
    "_name": "rest_connector_workflow",
    "_userType": "iaq_realtime_setup",
    "_timeoutSeconds": 3600,
    "_timeoutPolicy": "TIME_OUT_WF",
    "_tasks": [{"_name": "REST_CONNECTOR", "_type": "REST_CONNECTOR"}],
}
WITH_LOOP: dict[str, Any] = {
    "_name": "device_fan_out",
    "_tasks": [
        {
            "_name": "each_device",
            "_type": "LOOP_OVER",
            "_inputParams": {"_items": "${workflow._inputParams.devices}"},
            "_tasks": [
                {
                    "_name": "ping",
                    "_type": "REST_CONNECTOR",
                    "_inputParams": {"_url": "https://api.example.com/v1/devices/${loop.item}/ping"},
                }
            ],
        }
    ],
}


def _row(figure: str, tally: Tally, target: str, met: bool) -> Row:
    return Row(figure, tally.describe(), target, met)


def measure(stack: Stack) -> list[Row]:
    api = Api(stack)
    counter = count_service_requests()
    query = {"nsfilter": NAMESPACE}

    def create(definition: dict[str, Any]) -> str:
        created = expect(api.call("CreateWorkflowDefFunction", query=query, body=definition), 201)
        return str(created["_id"])

    def start(definition_id: str, inputs: dict[str, Any]) -> str:
        body = {"_workflowDefId": definition_id, "_inputParams": inputs}
        return str(expect(api.call("StartWorkflowFunction", query=query, body=body), 201)["_id"])

    def get(run_id: str, **extra: str) -> None:
        path = {"workflowId": run_id}
        expect(api.call("GetWorkflowFunction", path_parameters=path, query={**query, **extra}), 200)

    def change(run_id: str, status: str) -> None:
        path = {"workflowId": run_id}
        body = {"_status": status}
        expect(api.call("UpdateWorkflowStatusFunction", path_parameters=path, query=query, body=body), 200)

    one_task, with_loop = create(ONE_TASK), create(WITH_LOOP)
    with counter.measure() as started:
        run_id = start(one_task, {"_url": TARGET_URL})
    with counter.measure() as read:
        get(run_id)
    loop_run_id = start(with_loop, {"devices": ["a1", "b2", "c3"]})
    with counter.measure() as read_loop:
        get(loop_run_id, _includeLoopOverTasks="true")
    with counter.measure() as paused:
        change(run_id, "PAUSED")
    with counter.measure() as resumed:
        change(run_id, "RESUMED")

    return [
        _row(
            "start a run (`POST /workflows`)",
            started,
            "1 transaction + 1 send",
            started.writes == 1
            and started.count("TransactWriteItems") == 1
            and started.count("SendMessage") == 1,
        ),
        _row("get one run", read, "1 read", read.request_count == 1),
        _row(
            "get one run with loop tasks (`_includeLoopOverTasks=true`)",
            read_loop,
            "2 reads",
            read_loop.request_count == 2,
        ),
        _row(
            "status change to PAUSED",
            paused,
            "1 conditional write, no send",
            paused.writes == 1 and paused.count("SendMessage") == 0,
        ),
        _row(
            "status change to RESUMED",
            resumed,
            "1 conditional write + 1 send",
            resumed.writes == 1 and resumed.count("SendMessage") == 1,
        ),
    ]

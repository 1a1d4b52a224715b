"""Figure 5: the worker's DynamoDB writes per step, and tasks per second against a local HTTP target.

The target is an HTTP server on 127.0.0.1 in a thread of this process; REST_CONNECTOR may call it because
the worker's ``REST_CONNECTOR_ALLOWED_NETWORKS`` (the template's ``RestConnectorAllowedNetworks``) allows
127.0.0.1/32, as a deployment that calls a service on its own network would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from workflowsvc.queries import RunListQuery
from workflowsvc.store import Store

from bench.api import Api, expect
from bench.counting import count_service_requests
from bench.report import Row
from bench.stack import Stack

NAMESPACE = "tenant-w"
RUNS = 200
DRAIN_TIME_LIMIT_S = 120.0
ALLOWED_NETWORKS = {"REST_CONNECTOR_ALLOWED_NETWORKS": "127.0.0.1/32"}
TARGET_WRITES_PER_STEP = 2


class _JsonTarget(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        payload = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request would drown the results."""


@contextmanager
def local_target() -> Iterator[str]:
    """An HTTP server answering JSON on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JsonTarget)
    thread = threading.Thread(target=server.serve_forever, name="bench-target", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _completed(stack: Stack) -> int:
    """The namespace's COMPLETED count, read by the bench's own client (not counted)."""
    store = Store.for_table(stack.table_name, stack.dynamodb)
    return store.counting.runs(RunListQuery(namespaces=(NAMESPACE,), statuses=("COMPLETED",)))


def measure(stack: Stack) -> list[Row]:
    from workflowsvc.execution.worker import get_worker
    from workflowsvc.models.messages import StepMessage

    api = Api(stack)
    counter = count_service_requests()
    query = {"nsfilter": NAMESPACE}
    trigger = next(t for t in stack.template.queue_triggers() if t.queue_logical_id == "TaskQueue")
    worker_function = trigger.function.logical_id

    def receive(count: int) -> list[dict[str, Any]]:
        answer = stack.sqs.receive_message(
            QueueUrl=stack.queue_url,
            MaxNumberOfMessages=count,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def delete(messages: list[dict[str, Any]]) -> None:
        if messages:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            stack.sqs.delete_message_batch(QueueUrl=stack.queue_url, Entries=entries)

    with local_target() as target_url:
        definition = {
            "_name": "ping_local_service",
            "_tasks": [{"_name": "ping", "_type": "REST_CONNECTOR"}],
        }
        created = expect(api.call("CreateWorkflowDefFunction", query=query, body=definition), 201)

        def start() -> str:
            body = {"_workflowDefId": created["_id"], "_inputParams": {"_url": f"{target_url}/ping"}}
            return str(expect(api.call("StartWorkflowFunction", query=query, body=body), 201)["_id"])

        # One step of a one-task run: claim the attempt, call, record the result.
        start()
        (message,) = receive(1)
        with counter.measure() as step:
            get_worker().process(StepMessage.model_validate_json(message["Body"]))
        delete([message])
        step_done = _completed(stack) == 1

        for _ in range(RUNS):
            start()
        began = time.perf_counter()
        while time.perf_counter() - began < DRAIN_TIME_LIMIT_S:
            messages = receive(trigger.batch_size)
            if not messages:
                if _completed(stack) >= RUNS + 1:
                    break
                continue
            result = api.invoke(worker_function, api.sqs_event(messages))
            failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
            delete([m for m in messages if m["MessageId"] not in failed])
            for m in messages:
                if m["MessageId"] in failed:  # visible again at once, as after a retry
                    stack.sqs.change_message_visibility(
                        QueueUrl=stack.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                    )
        elapsed = time.perf_counter() - began
        done = _completed(stack) - 1

    writes = step.writes
    return [
        Row(
            "worker: DynamoDB writes for one step of a one-task run",
            f"{writes} writes ({step.describe()})" + ("" if step_done else "; run NOT completed"),
            f"<= {TARGET_WRITES_PER_STEP}",
            writes <= TARGET_WRITES_PER_STEP and step_done,
        ),
        Row(
            f"worker: tasks per second, {RUNS} one-task runs, local HTTP target, "
            f"batch size {trigger.batch_size} (the template's)",
            f"{done / elapsed:.0f} tasks/s ({elapsed * 1000 / max(done, 1):.1f} ms per task; "
            f"{done}/{RUNS} runs COMPLETED)",
        ),
    ]

"""What the worker tests drive and observe: the real handlers, the moto queue, an HTTP target on loopback.

- ``Api``: the API functions' ``lambda_handler`` fed the HTTP API v2 payloads of ``events/``.
- ``Worker``: takes the step messages that are really on the moto task queue (``DelaySeconds`` honoured),
  hands them to ``functions.task_worker.app.lambda_handler`` as SQS events, deletes what succeeded and
  leaves what the handler reported in ``batchItemFailures``.
- ``Sweeper``: ``functions.sweeper.app.lambda_handler`` fed the scheduled event of ``events/``.
- ``Target``: an HTTP server on 127.0.0.1 that tasks call; each path is programmed by the test.
- ``WriteCounter``: the write requests made to DynamoDB.

The fixtures that build them are in ``conftest.py``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from functions.create_workflowdef import app as create_workflowdef_app
from functions.get_workflow import app as get_workflow_app
from functions.list_workflows import app as list_workflows_app
from functions.start_workflow import app as start_workflow_app
from functions.sweeper import app as sweeper_app
from functions.task_worker import app as task_worker_app
from functions.update_workflow_status import app as update_workflow_status_app
from localrun import aws_resources, lambda_runtime

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
NAMESPACE = "first_tchgt1VU"  # granted by the JWT claims of the sample events

# ================================================================================ safety


def lambda_context(function_name: str, timeout_seconds: float) -> aws_resources.LambdaContext:
    return aws_resources.LambdaContext(
        function_name=function_name, memory_limit_in_mb=512, timeout_seconds=timeout_seconds
    )


def load_event(name: str) -> dict[str, Any]:
    path = EVENTS_DIR / f"{name}.json"
    with path.open(encoding="utf-8") as handle:
        event: dict[str, Any] = json.load(handle)
    return event


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Polls ``condition`` until it answers something true; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


# ================================================================================ the HTTP API


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any


def http_event(
    name: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """``events/<name>.json`` (an HTTP API v2 payload) with this test's ids, query and body."""
    event = load_event(name)
    for parameter, value in (path_parameters or {}).items():
        old = event["pathParameters"][parameter]
        event["pathParameters"][parameter] = value
        event["rawPath"] = event["rawPath"].replace(old, value)
        event["requestContext"]["http"]["path"] = event["requestContext"]["http"]["path"].replace(old, value)
    parameters = {"nsfilter": NAMESPACE, **(query or {})}
    event["queryStringParameters"] = parameters
    event["rawQueryString"] = urlencode(list(parameters.items()), quote_via=quote, safe=",")
    if body is not None:
        event["body"] = json.dumps(body, separators=(",", ":"))
        event["isBase64Encoded"] = False
        event["headers"]["content-length"] = str(len(event["body"].encode()))
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    return event


class Api:
    """The API as a user drives it: each call goes through the function's real handler, in the execution
    environment ``container`` (see ``container``: one per thread that calls at the same time)."""

    def __init__(self, container_index: int = 0) -> None:
        self.container_index = container_index

    def in_container(self, index: int) -> Api:
        return Api(index)

    def _invoke(self, module: ModuleType, event: dict[str, Any]) -> Reply:
        module = container(module, self.container_index)
        response = module.lambda_handler(event, lambda_context("workflowsvc-api", 29))
        reply = Reply(status=int(response["statusCode"]), body=json.loads(response.get("body") or "null"))
        assert reply.status < 500, reply
        return reply

    def create_definition(self, definition: dict[str, Any]) -> dict[str, Any]:
        reply = self._invoke(create_workflowdef_app, http_event("create_workflowdef", body=definition))
        assert reply.status == 201, reply
        created: dict[str, Any] = reply.body
        return created

    def start(self, definition_id: str, input_params: dict[str, Any]) -> dict[str, Any]:
        body = {"_workflowDefId": definition_id, "_inputParams": input_params}
        reply = self._invoke(start_workflow_app, http_event("start_workflow", body=body))
        assert reply.status == 201, reply
        run: dict[str, Any] = reply.body
        return run

    def start_run(
        self, definition: dict[str, Any], input_params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Creates ``definition`` and starts a run of it; answers the run as POST /workflows did."""
        return self.start(self.create_definition(definition)["_id"], input_params or {})

    def get(self, run_id: str, *, include_loop_over_tasks: bool = False) -> dict[str, Any]:
        query = {"_includeLoopOverTasks": "true"} if include_loop_over_tasks else {}
        event = http_event("get_workflow", path_parameters={"workflowId": run_id}, query=query)
        reply = self._invoke(get_workflow_app, event)
        assert reply.status == 200, reply
        run: dict[str, Any] = reply.body
        return run

    def list(self, **query: str) -> dict[str, Any]:
        """``GET /workflows`` in the sample namespace, with ``query``."""
        reply = self._invoke(list_workflows_app, http_event("list_workflows", query=query))
        assert reply.status == 200, reply
        page: dict[str, Any] = reply.body
        return page

    def change_status(self, run_id: str, status: str) -> Reply:
        event = http_event(
            "update_workflow_status_paused", path_parameters={"workflowId": run_id}, body={"_status": status}
        )
        return self._invoke(update_workflow_status_app, event)

    def set_status(self, run_id: str, status: str) -> dict[str, Any]:
        reply = self.change_status(run_id, status)
        assert reply.status == 200, reply
        run: dict[str, Any] = reply.body
        return run


def task_named(run: dict[str, Any], name: str) -> dict[str, Any]:
    matches = [task for task in run["_tasks"] if task["_name"] == name and "_loopTaskId" not in task]
    assert len(matches) == 1, f"expected one top-level task {name!r} in {run['_tasks']}"
    return matches[0]


# ================================================================================ the worker


@dataclass
class Delivery:
    """One invocation of the worker: the SQS event it got and what it answered."""

    event: dict[str, Any]
    response: dict[str, Any] | None  # None: the invocation raised
    errors: list[str]

    @property
    def failed_ids(self) -> list[str]:
        if self.response is None:  # Lambda reports a function error: SQS retries the whole batch
            return [record["messageId"] for record in self.event["Records"]]
        return [item["itemIdentifier"] for item in self.response.get("batchItemFailures", [])]


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message as SQS hands it to Lambda (what ``sam local generate-event sqs receive-message`` shows)."""
    attributes = message.get("Attributes", {})
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", str(int(time.time() * 1000))),
            "SenderId": attributes.get("SenderId", aws_resources.LOCAL_ACCOUNT_ID),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }


def container(module: ModuleType, index: int) -> ModuleType:
    """Copy ``index`` of a function's module, as another Lambda execution environment would load it
    (``lambda_runtime.environment_copy``): threads standing for concurrent invocations each use one."""
    return lambda_runtime.environment_copy(module, index)


def second_container() -> ModuleType:
    """Another copy of the worker's module (see ``container``)."""
    return container(task_worker_app, 1)


class Worker:
    """Moves runs forward by handing the task queue's messages to the worker function."""

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.deliveries: list[Delivery] = []

    # ---------------------------------------------------------------- the queue

    def receive(self, max_messages: int = 1) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def waiting(self) -> tuple[int, int]:
        """(visible, delayed) messages on the queue; the ones a worker holds are neither."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(
            attributes["ApproximateNumberOfMessagesDelayed"]
        )

    def bodies(self) -> list[dict[str, Any]]:
        """The step messages waiting now (visible), parsed, left on the queue."""
        messages = self.receive(10)
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return [json.loads(message["Body"]) for message in messages]

    def discard_all(self) -> int:
        """Deletes every visible message, delivering none (messages lost on the way)."""
        lost = 0
        while messages := self.receive(10):
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                lost += 1
        return lost

    # ---------------------------------------------------------------- invoking the function

    def event_for(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Records": [sqs_record(message, self.queue_arn) for message in messages]}

    def invoke(self, event: dict[str, Any], module: ModuleType = task_worker_app) -> Delivery:
        """One invocation. A handler that raises is a function error for Lambda: every record of the
        batch counts as failed, as SQS sees it."""
        response: dict[str, Any] | None
        try:
            response = module.lambda_handler(event, lambda_context("workflowsvc-TaskWorkerFunction", 150))
        except Exception as error:  # e.g. Powertools' BatchProcessingError when every record failed
            response, raised = None, [f"{type(error).__name__}: {error}"]
        else:
            raised = []
        errors = raised + [
            f"{info[0].__name__}: {info[1]}" for info in module.processor.exceptions if info[0] is not None
        ]
        delivery = Delivery(event=event, response=response, errors=errors)
        self.deliveries.append(delivery)
        return delivery

    def invoke_concurrently(self, event: dict[str, Any]) -> list[Delivery]:
        """The same event handed to two execution environments at the same moment."""
        second_container()
        barrier = threading.Barrier(2)
        results: dict[int, Delivery] = {}
        failures: list[BaseException] = []

        def run(index: int, module: ModuleType) -> None:
            try:
                barrier.wait(timeout=5)
                results[index] = self.invoke(copy.deepcopy(event), module)
            except BaseException as error:  # reported in the test's thread below
                failures.append(error)

        threads = [
            threading.Thread(target=run, args=(0, task_worker_app)),
            threading.Thread(target=run, args=(1, second_container())),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not failures, failures
        return [results[0], results[1]]

    def deliver(
        self,
        messages: list[dict[str, Any]],
        *,
        twice: bool = False,
        concurrently: bool = False,
        redeliver_failures: bool = False,
    ) -> list[Delivery]:
        """Hands ``messages`` to the worker (once, twice in a row, or to two workers at once), deletes
        what succeeded, and leaves the failures on the queue: invisible for the queue's visibility
        timeout, or at once visible again with ``redeliver_failures``."""
        event = self.event_for(messages)
        if concurrently:
            deliveries = self.invoke_concurrently(event)
        else:
            deliveries = [self.invoke(event)]
            if twice:
                deliveries.append(self.invoke(copy.deepcopy(event)))
        failed = {message_id for delivery in deliveries for message_id in delivery.failed_ids}
        for message in messages:
            if message["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            elif redeliver_failures:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        return deliveries

    def step(self, *, batch_size: int = 1, allow_failures: bool = False, **options: Any) -> list[Delivery]:
        """Receives what is visible now (up to ``batch_size``, the template's batch size is 1) and
        delivers it; no message, no invocation."""
        messages = self.receive(batch_size)
        if not messages:
            return []
        deliveries = self.deliver(messages, **options)
        if not allow_failures:
            for delivery in deliveries:
                assert not delivery.failed_ids, f"the worker failed a message: {delivery.errors}"
        return deliveries

    def drain(
        self, *, timeout: float = 10.0, until: Callable[[], bool] | None = None, **options: Any
    ) -> list[Delivery]:
        """Delivers messages as they become visible until none is waiting, visible or delayed (or
        ``until`` holds). Fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        deliveries: list[Delivery] = []
        while True:
            if until is not None and until():
                return deliveries
            step = self.step(**options)
            if step:
                deliveries.extend(step)
                continue
            visible, delayed = self.waiting()
            if not visible and not delayed and until is None:
                # moto reads the two counts at slightly different instants: a delay that expires in
                # between shows in neither. Look once more before calling the queue drained.
                time.sleep(0.05)
                if self.waiting() == (0, 0):
                    return deliveries
                continue
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the queue did not drain in {timeout} s ({visible} visible, {delayed} delayed)"
                )
            time.sleep(0.05)

    def step_in_background(self, **options: Any) -> Background:
        """Delivers the next message in a thread, so that the test can act while the task is in flight."""
        background = Background()

        def run() -> None:
            try:
                background.deliveries = self.step(**options)
            except BaseException as error:  # re-raised by Background.join in the test's thread
                background.error = error

        background.thread = threading.Thread(target=run, daemon=True)
        background.thread.start()
        return background


@dataclass
class Background:
    thread: threading.Thread | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    error: BaseException | None = None

    def join(self, timeout: float = 15.0) -> list[Delivery]:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not finish"
        if self.error is not None:
            raise self.error
        return self.deliveries


class Sweeper:
    def run(self) -> int:
        event = load_event("schedule_sweeper")
        event["id"] = str(uuid.uuid4())
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        answer = sweeper_app.lambda_handler(event, lambda_context("workflowsvc-SweeperFunction", 60))
        handled: int = answer["runsHandled"]
        return handled


# ================================================================================ the HTTP target


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    target: str  # path and query as requested
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Gate:
    """Holds a request until the test releases it: the task is in flight meanwhile."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.released = threading.Event()

    def wait_arrival(self, timeout: float = 10.0) -> None:
        assert self.arrived.wait(timeout), "the request never reached the target"

    def release(self) -> None:
        self.released.set()


@dataclass
class Route:
    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    failures: int = 0  # the first N calls answer failure_status
    failure_status: int = 503
    failure_body: Any = None
    delay: float = 0.0  # seconds before answering
    gate: Gate | None = None
    location: str | None = None  # a redirect


class Target:
    """An HTTP service on 127.0.0.1 whose answers each test programs, path by path."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._calls: Counter[str] = Counter()
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _TargetHandler)
        self._server.daemon_threads = True
        self._server.target = self  # type: ignore[attr-defined]
        self._server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    # ---------------------------------------------------------------- programming

    def reply(
        self, path: str, body: Any = None, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """Answer ``body`` as JSON."""
        self._routes[path] = Route(body=body, status=status, headers=headers or {})

    def fail_then_reply(
        self, path: str, failures: int, body: Any = None, *, status: int = 503, failure_body: Any = None
    ) -> None:
        """The first ``failures`` calls answer ``status`` with ``failure_body``, later ones 200 ``body``."""
        self._routes[path] = Route(
            body=body, failures=failures, failure_status=status, failure_body=failure_body
        )

    def hang(self, path: str, seconds: float, body: Any = None) -> None:
        """Answer only after ``seconds`` (the wait ends early when the test ends)."""
        self._routes[path] = Route(body=body, delay=seconds)

    def gate(self, path: str, body: Any = None) -> Gate:
        gate = Gate()
        self._routes[path] = Route(body=body, gate=gate)
        return gate

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self._routes[path] = Route(status=status, location=location)

    # ---------------------------------------------------------------- observing

    def calls(self, path: str | None = None) -> int:
        with self._lock:
            return self._calls[path] if path is not None else sum(self._calls.values())

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self._received if request.path == path]

    # ---------------------------------------------------------------- serving

    def _arrive(self, request: Received) -> tuple[Route | None, int]:
        with self._lock:
            self._received.append(request)
            self._calls[request.path] += 1
            return self._routes.get(request.path), self._calls[request.path]

    def close(self) -> None:
        self._closing.set()
        for route in self._routes.values():
            if route.gate is not None:
                route.gate.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _TargetHandler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        target: Target = self.server.target
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = urlsplit(self.path).path
        route, count = target._arrive(Received(self.command, path, self.path, headers, body))
        if route is None:
            self._send(404, {"message": f"no route {path}"})
            return
        if route.gate is not None:
            route.gate.arrived.set()
            route.gate.released.wait(timeout=30)
        if route.delay:
            target._closing.wait(route.delay)
        if count <= route.failures:
            self._send(route.failure_status, route.failure_body)
        elif route.location is not None:
            self._send(route.status, None, {"Location": route.location})
        else:
            self._send(route.status, route.body, route.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the caller gave up (its timeout) before the answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


# ================================================================================ DynamoDB writes

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class WriteCounter:
    """Write requests made through a DynamoDB client, with how many items each wrote."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int]] = []  # (operation, items written)
        self.counting = False

    def before_parameter_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **kwargs: Any
    ) -> None:
        if self.counting and model.name in WRITE_OPERATIONS:
            if model.name == "TransactWriteItems":
                items = len(params["TransactItems"])
            elif model.name == "BatchWriteItem":
                items = sum(len(requests) for requests in params["RequestItems"].values())
            else:
                items = 1
            context["counted_items"] = items

    def after_call(self, model: Any, context: dict[str, Any], **kwargs: Any) -> None:
        if "counted_items" in context:  # the request was sent and answered
            self.requests.append((model.name, context["counted_items"]))

    def register(self, client: Any) -> None:
        client.meta.events.register(
            "before-parameter-build.dynamodb",
            self.before_parameter_build,
            unique_id="worker-tests-writes-params",
        )
        client.meta.events.register(
            "after-call.dynamodb", self.after_call, unique_id="worker-tests-writes-count"
        )

    def unregister(self, client: Any) -> None:
        client.meta.events.unregister(
            "before-parameter-build.dynamodb", unique_id="worker-tests-writes-params"
        )
        client.meta.events.unregister("after-call.dynamodb", unique_id="worker-tests-writes-count")

    def start(self) -> None:
        self.requests.clear()
        self.counting = True

    def stop(self) -> list[tuple[str, int]]:
        self.counting = False
        return list(self.requests)

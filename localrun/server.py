"""``python -m localrun``: the whole service on one machine, with no AWS account and no Docker.

- DynamoDB and SQS are moto's server on a free loopback port, with the tables and queues of ``template.yaml``;
  its DynamoDB is made atomic per request, as DynamoDB is, by ``localrun.moto_dynamodb``.
- Each HTTP request becomes the API Gateway HTTP API (payload 2.0) event AWS would send, routed by the
  template's ``HttpApi`` events to the real ``lambda_handler`` of ``functions/<name>/app.py``.
- Each function runs in its own worker processes ("containers"), one invocation at a time per process, as on
  Lambda: module-level state (the Powertools resolver, metrics, batch processor) is never shared between
  concurrent invocations, and each process has exactly its function's environment variables.
- The task worker is fed real-shaped SQS batches by poller threads; the sweeper gets a scheduled event on the
  template's schedule (``SWEEPER_INTERVAL_SECONDS`` or ``--sweeper-interval`` runs it more often).
- Locally, an ``Authorization: Bearer <JWT>`` header is decoded WITHOUT checking its signature; with no header
  the caller is the local developer, allowed every namespace.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends
from werkzeug.exceptions import HTTPException, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from localrun import aws_resources, moto_dynamodb
from localrun.aws_resources import FunctionSpec, HttpRoute, Template
from localrun.events import (
    LOCAL_API_ID,
    LOCAL_SUBJECT,
    InvalidToken,
    build_http_event,
    claims_from_authorization,
    error_body,
    http_answer_from_result,
    new_api_request_id,
    scheduled_event,
    sqs_event,
)
from localrun.lambda_runtime import (
    DEFAULT_CONCURRENCY,
    ContainerSpec,
    FunctionRuntime,
    build_openapi_document,
    process_context,
)
from localrun.table_journal import TableJournal

DEFAULT_PORT = 3000
DEFAULT_HOST = "127.0.0.1"
# Lambda refuses a synchronous invocation payload over 6 MB.
MAX_EVENT_BODY_BYTES = 6 * 1024 * 1024

LOCAL_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": aws_resources.LOCAL_REGION,
    "AWS_REGION": aws_resources.LOCAL_REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "WORKFLOWSVC_ENVIRONMENT": "local",
}
# Settings that could send a client to a real account.
_UNSET_ENVIRONMENT = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")

log = logging.getLogger("localrun")


# ======================================================================================== HTTP API


def _rule_path(template_path: str) -> tuple[str, list[str]]:
    """``/workflows/{workflowId}`` as a werkzeug rule, and the template's parameter names in order."""
    names: list[str] = []
    parts = []
    for segment in template_path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            greedy = name.endswith("+")
            names.append(name.rstrip("+"))
            parts.append(f"<{'path:' if greedy else ''}p{len(names) - 1}>")
        else:
            parts.append(segment)
    return "/".join(parts), names


def base_path_of(routes: Iterable[HttpRoute]) -> str:
    """The literal prefix shared by every route: ``/workflowsvc/api/v1``."""
    literal = [route.path.split("{", 1)[0].rstrip("/").split("/") for route in routes]
    if not literal:
        return ""
    prefix: list[str] = []
    for parts in zip(*literal, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    if all(len(parts) == len(prefix) for parts in literal) and prefix:
        prefix = prefix[:-1]  # every route is the same path: keep its parent
    return "/".join(prefix)


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without its own access log: the local API logs one line per request itself."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class LocalHttpApi:
    """The WSGI application standing in for API Gateway: routes from the template, claims from the JWT."""

    def __init__(
        self,
        routes: list[HttpRoute],
        runtimes: Mapping[str, FunctionRuntime],
        *,
        namespaces_claim: str = "namespaces",
        openapi: Callable[[], str] | None = None,
        account_id: str = aws_resources.LOCAL_ACCOUNT_ID,
        api_id: str = LOCAL_API_ID,
    ) -> None:
        self.routes = routes
        self.runtimes = runtimes
        self.namespaces_claim = namespaces_claim
        self.account_id = account_id
        self.api_id = api_id
        # Routes open to anyone (the console's files) are not part of the API, nor of its base path.
        self.base_path = base_path_of(route for route in routes if not route.public)
        self.openapi_path = f"{self.base_path}/openapi.json"
        self.docs_path = f"{self.base_path}/docs"
        self._openapi = openapi
        self._docs_html: str | None = None
        self._methods: dict[str, dict[str, HttpRoute]] = {}
        self._parameter_names: dict[str, list[str]] = {}
        rules = []
        for route in routes:
            if route.path not in self._methods:
                rule, names = _rule_path(route.path)
                rules.append(Rule(rule, endpoint=("route", route.path)))
                if route.path.endswith("+}"):
                    # The folder itself (``/console/``) reaches the greedy route too, with no parameter:
                    # a page served at its folder's URL.
                    rules.append(Rule(rule.rsplit("/", 1)[0] + "/", endpoint=("route", route.path)))
                self._parameter_names[route.path] = names
            self._methods.setdefault(route.path, {})[route.method] = route
        if openapi is not None:
            rules += [
                Rule(self.openapi_path, endpoint=("openapi", "")),
                Rule(self.docs_path, endpoint=("docs", "")),
                Rule(f"{self.docs_path}/<asset>", endpoint=("asset", "")),
            ]
        self.url_map = Map(rules, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        request = Request(environ)
        request.max_content_length = MAX_EVENT_BODY_BYTES
        try:
            response = self.dispatch(request)
        except Exception:
            log.exception("local API failure on %s %s", request.method, request.path)
            response = _json_response(500, b'{"message":"Internal Server Error"}')
        log.info(
            "%s %s %d %.1f ms",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            (kind, path), arguments = adapter.match()
        except NotFound:
            return _error_response(404, "NOT_FOUND", f"no route for {request.method} {request.path}")
        except HTTPException:
            return _error_response(404, "NOT_FOUND", f"no route for {request.method} {request.path}")
        if kind == "route":
            return self._invoke(request, path, arguments)
        if request.method not in ("GET", "HEAD"):
            return _method_not_allowed(request, ["GET", "HEAD"])
        if kind == "openapi":
            return _json_response(200, self._openapi_json().encode())
        if kind == "asset":
            return _swagger_asset(arguments["asset"])
        return self._docs(request)

    # ---------------------------------------------------------------- routes

    def _invoke(self, request: Request, path: str, arguments: Mapping[str, str]) -> Response:
        methods = self._methods[path]
        route = methods.get(request.method) or methods.get("ANY")
        if route is None:
            return _method_not_allowed(request, sorted(methods))
        try:
            claims = (
                None
                if route.public  # no authorizer runs, and the function gets no claims
                else claims_from_authorization(request.headers.get("Authorization"), self.namespaces_claim)
            )
        except InvalidToken as error:
            response = _error_response(401, "UNAUTHORIZED", str(error))
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _error_response(
                413,
                "PAYLOAD_TOO_LARGE",
                f"the request body is over {MAX_EVENT_BODY_BYTES} bytes (Lambda's limit)",
            )
        names = self._parameter_names[path]
        api_request_id = new_api_request_id()
        event = build_http_event(
            method=request.method,
            raw_path=request.path,  # HTTP APIs pass the path percent-decoded, rawPath included
            raw_query_string=request.environ.get("QUERY_STRING", ""),
            headers=request.headers.items(),
            body=body,
            route_key=route.route_key,
            path_parameters={names[int(key[1:])]: value for key, value in arguments.items()},
            claims=claims,
            source_ip=request.remote_addr or "127.0.0.1",
            protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            domain_name=request.host,
            api_id=self.api_id,
            account_id=self.account_id,
            request_id=api_request_id,
        )
        invocation = self.runtimes[route.function.logical_id].invoke(event)
        if not invocation.ok:
            failure = invocation.error or {}
            log.error(
                "%s failed (%s): %s",
                route.function.logical_id,
                failure.get("errorType"),
                failure.get("errorMessage"),
            )
            response = _json_response(500, b'{"message":"Internal Server Error"}')
        else:
            answer = http_answer_from_result(invocation.result)
            response = Response(answer.body, status=answer.status, headers=answer.headers)
            if not any(name.lower() == "content-type" for name, _ in answer.headers):
                del response.headers["Content-Type"]  # API Gateway adds none either
        response.headers["Apigw-Requestid"] = api_request_id
        return response

    # ---------------------------------------------------------------- documentation

    def _openapi_json(self) -> str:
        assert self._openapi is not None
        return self._openapi()

    def _docs(self, request: Request) -> Response:
        from aws_lambda_powertools.event_handler.openapi.swagger_ui import (
            generate_oauth2_redirect_html,
            generate_swagger_html,
        )

        query_format = request.args.get("format")
        if query_format == "json":
            return _json_response(200, self._openapi_json().encode())
        if query_format == "oauth2-redirect":
            return Response(generate_oauth2_redirect_html(), content_type="text/html; charset=utf-8")
        if self._docs_html is None:
            self._docs_html = generate_swagger_html(
                spec=self._openapi_json().replace("</", "<\\/"),
                swagger_js=f"{self.docs_path}/swagger-ui-bundle.min.js",
                swagger_css=f"{self.docs_path}/swagger-ui.min.css",
                swagger_base_url=self.docs_path,
                oauth2_config=None,
            )
        return Response(self._docs_html, content_type="text/html; charset=utf-8")


def _swagger_asset(name: str) -> Response:
    import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui

    content_types = {"swagger-ui-bundle.min.js": "application/javascript", "swagger-ui.min.css": "text/css"}
    if name not in content_types:
        return _error_response(404, "NOT_FOUND", f"no documentation asset {name!r}")
    data = (Path(swagger_ui.__file__).parent / name).read_bytes()
    response = Response(data, content_type=f"{content_types[name]}; charset=utf-8")
    response.headers["Cache-Control"] = "max-age=3600"
    return response


def _json_response(status: int, body: bytes) -> Response:
    return Response(body, status=status, content_type="application/json")


def _error_response(status: int, code: str, message: str) -> Response:
    return _json_response(status, error_body(code, message))


def _method_not_allowed(request: Request, allowed: list[str]) -> Response:
    response = _error_response(
        405,
        "METHOD_NOT_ALLOWED",
        f"{request.method} is not allowed on {request.path}; allowed: {', '.join(allowed)}",
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


# ============================================================================== worker and sweeper


class QueuePoller(threading.Thread):
    """Lambda's SQS event source: long-polls the queue, invokes the function with the batch, deletes what
    succeeded; ``batchItemFailures`` (or a failed invocation) come back after their visibility timeout."""

    def __init__(
        self,
        *,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        runtime: FunctionRuntime,
        batch_size: int,
        report_batch_item_failures: bool,
        stop: threading.Event,
        region: str,
        name: str,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.runtime = runtime
        self.batch_size = max(1, min(10, batch_size))
        self.report_batch_item_failures = report_batch_item_failures
        self.stop_event = stop
        self.region = region

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stop_event.is_set():
                    return
                log.exception("%s: polling %s failed", self.name, self.queue_url)
                self.stop_event.wait(1.0)

    def poll_once(self) -> None:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages or self.stop_event.is_set():
            return
        invocation = self.runtime.invoke(sqs_event(messages, self.queue_arn, self.region))
        if not invocation.ok:
            if not self.stop_event.is_set():
                error = invocation.error or {}
                log.error(
                    "%s failed on a batch of %d (%s: %s); they come back after the visibility timeout",
                    self.runtime.logical_id,
                    len(messages),
                    error.get("errorType"),
                    error.get("errorMessage"),
                )
            return
        failed = self._failed_ids(invocation.result, messages)
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        if failed:
            log.info(
                "%s: %d of %d messages reported as failed",
                self.runtime.logical_id,
                len(failed),
                len(messages),
            )

    def _failed_ids(self, result: Any, messages: list[dict[str, Any]]) -> set[str]:
        if not self.report_batch_item_failures or not isinstance(result, dict):
            return set()
        ids = {message["MessageId"] for message in messages}
        failures = result.get("batchItemFailures") or []
        failed = {str(item.get("itemIdentifier") or "") for item in failures if isinstance(item, dict)}
        if len(failed) != len(failures) or not failed <= ids:
            return ids  # an unusable answer fails the whole batch, as on Lambda
        return failed


class Scheduler(threading.Thread):
    """EventBridge's schedule rule: invokes the function every ``interval`` seconds with a scheduled event."""

    def __init__(
        self,
        *,
        runtime: FunctionRuntime,
        interval: float,
        rule_arn: str,
        stop: threading.Event,
        region: str,
        account_id: str,
    ) -> None:
        super().__init__(name=f"schedule-{runtime.logical_id}", daemon=True)
        self.runtime = runtime
        self.interval = interval
        self.rule_arn = rule_arn
        self.stop_event = stop
        self.region = region
        self.account_id = account_id

    def run(self) -> None:
        while not self.stop_event.wait(self.interval):
            invocation = self.runtime.invoke(
                scheduled_event(self.rule_arn, region=self.region, account_id=self.account_id)
            )
            if not invocation.ok and not self.stop_event.is_set():
                error = invocation.error or {}
                log.error(
                    "%s failed (%s): %s",
                    self.runtime.logical_id,
                    error.get("errorType"),
                    error.get("errorMessage"),
                )


# ===================================================================================== the service


@dataclass
class Options:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    template_path: Path = aws_resources.TEMPLATE_PATH
    persist_dir: Path | None = None
    sweeper_interval: float | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    worker_concurrency: int = DEFAULT_CONCURRENCY
    stack_name: str = aws_resources.DEFAULT_STACK_NAME
    region: str = aws_resources.LOCAL_REGION
    account_id: str = aws_resources.LOCAL_ACCOUNT_ID
    extra_environment: dict[str, str] = field(default_factory=dict)


class LocalService:
    """moto, the template's resources, the functions, the HTTP API, the worker pollers and the schedules."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.template: Template = aws_resources.load_template(options.template_path)
        self.stop_event = threading.Event()
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.threads: list[threading.Thread] = []
        self.resources: aws_resources.Resources | None = None
        self.moto: Any = None
        self.http: BaseWSGIServer | None = None
        self.app: LocalHttpApi | None = None
        self._http_thread: threading.Thread | None = None
        self._openapi_lock = threading.Lock()
        self._openapi_json: str | None = None
        self._uninstall_moto_patches: Callable[[], None] | None = None
        self.journal: TableJournal | None = None
        self.url = ""
        self.moto_url = ""

    # ---------------------------------------------------------------- start

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        options = self.options
        for name in _UNSET_ENVIRONMENT:
            os.environ.pop(name, None)
        os.environ.update(LOCAL_ENVIRONMENT)
        self._uninstall_moto_patches = moto_dynamodb.install()
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        os.environ["AWS_ENDPOINT_URL"] = self.moto_url

        dynamodb, sqs = self._client("dynamodb"), self._client("sqs")
        self.resources = aws_resources.create_resources(
            self.template,
            dynamodb,
            sqs,
            stack_name=options.stack_name,
            region=options.region,
            account_id=options.account_id,
        )
        if options.persist_dir is not None:
            backend = dynamodb_backends[options.account_id][options.region]
            self.journal = TableJournal(options.persist_dir, self.resources.tables, backend)
            self.journal.open()

        # Every function's variables in this process too (the functions' own processes get exactly theirs).
        for function in self.template.functions():
            os.environ.update(self._function_environment(function))

        # A queue-driven function runs as many invocations at a time as it has pollers.
        queue_driven = {trigger.function.logical_id for trigger in self.template.queue_triggers()}
        context = process_context()
        for function in self.template.functions():
            concurrency = (
                options.worker_concurrency if function.logical_id in queue_driven else options.concurrency
            )
            self.runtimes[function.logical_id] = FunctionRuntime(
                self._container_spec(function), context, concurrency
            )
        self._start_pollers()
        self._start_schedules()
        for thread in self.threads:
            thread.start()

        routes = self.template.http_routes()
        app = LocalHttpApi(
            routes,
            self.runtimes,
            namespaces_claim=os.environ.get("NAMESPACES_CLAIM", "namespaces") or "namespaces",
            openapi=self.openapi_json,
            account_id=options.account_id,
        )
        self.app = app
        self.http = make_server(
            options.host, options.port, app, threaded=True, request_handler=QuietRequestHandler
        )
        bound_host, bound_port = (str(part) for part in self.http.server_address[:2])
        display_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        self.url = f"http://{display_host}:{bound_port}"
        self._http_thread = threading.Thread(target=self.http.serve_forever, name="http", daemon=True)
        self._http_thread.start()

    def _client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session().client(
            service, region_name=self.options.region, endpoint_url=self.moto_url
        )

    def _function_environment(self, function: FunctionSpec) -> dict[str, str]:
        assert self.resources is not None
        overrides = {**LOCAL_ENVIRONMENT, **self.options.extra_environment}
        return self.template.function_environment(
            function.logical_id,
            self.resources,
            overrides=overrides,
            region=self.options.region,
            account_id=self.options.account_id,
            stack_name=self.options.stack_name,
        )

    def _container_spec(self, function: FunctionSpec) -> ContainerSpec:
        name = function.physical_name(self.options.stack_name)
        lambda_environment = {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
        }
        environment = {**os.environ, **lambda_environment, **self._function_environment(function)}
        sys_path = (
            str(function.code_dir),
            *(str(path) for path in self.template.layer_dirs(function)),
            str(aws_resources.REPO_ROOT),
        )
        return ContainerSpec(
            logical_id=function.logical_id,
            function_name=name,
            module_name=function.module_name,
            module_path=str(function.module_path),
            handler_name=function.handler_name,
            sys_path=sys_path,
            environment=environment,
            memory_size=function.memory_size,
            timeout=float(function.timeout),
            region=self.options.region,
            account_id=self.options.account_id,
        )

    def _start_pollers(self) -> None:
        assert self.resources is not None
        for trigger in self.template.queue_triggers():
            runtime = self.runtimes[trigger.function.logical_id]
            for index in range(self.options.worker_concurrency):
                self.threads.append(
                    QueuePoller(
                        sqs=self._client("sqs"),
                        queue_url=self.resources[trigger.queue_logical_id],
                        queue_arn=self.resources.arn(trigger.queue_logical_id),
                        runtime=runtime,
                        batch_size=trigger.batch_size,
                        report_batch_item_failures=trigger.report_batch_item_failures,
                        stop=self.stop_event,
                        region=self.options.region,
                        name=f"poller-{trigger.function.logical_id}-{index + 1}",
                    )
                )

    def _start_schedules(self) -> None:
        for trigger in self.template.schedules():
            if not trigger.enabled:
                continue
            interval = self.options.sweeper_interval or trigger.interval_seconds
            rule = f"{self.options.stack_name}-{trigger.function.logical_id}{trigger.event_name}"
            self.threads.append(
                Scheduler(
                    runtime=self.runtimes[trigger.function.logical_id],
                    interval=interval,
                    rule_arn=f"arn:aws:events:{self.options.region}:{self.options.account_id}:rule/{rule}",
                    stop=self.stop_event,
                    region=self.options.region,
                    account_id=self.options.account_id,
                )
            )

    # ---------------------------------------------------------------- OpenAPI

    def openapi_json(self) -> str:
        """The merged OpenAPI document, built once (in a separate process) from every API function."""
        with self._openapi_lock:
            if self._openapi_json is None:
                self._openapi_json = self._build_openapi()
            return self._openapi_json

    def _build_openapi(self) -> str:
        api_functions = {
            route.function.logical_id for route in self.template.http_routes() if not route.public
        }
        specs = [self.runtimes[logical_id].spec for logical_id in api_functions]
        return build_openapi_document(specs, title="workflowsvc", version=_project_version())

    # ---------------------------------------------------------------- stop

    def stop(self) -> None:
        """Stop the HTTP server, the pollers and schedules, the function processes and moto, in that order."""
        self.stop_event.set()
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self._http_thread is not None:
            self._http_thread.join(5)
        for runtime in self.runtimes.values():
            runtime.close()
        for thread in self.threads:
            thread.join(5)
        if self.journal is not None:
            try:
                self.journal.close()
            except Exception:
                log.exception("could not save the tables to %s", self.options.persist_dir)
        if self.moto is not None:
            self.moto.stop()
        if self._uninstall_moto_patches is not None:
            self._uninstall_moto_patches()

    def banner(self) -> str:
        assert self.resources is not None and self.app is not None
        base = f"{self.url}{self.app.base_path}"
        lines = [
            "workflowsvc, local run: no AWS account; DynamoDB and SQS are moto on " + self.moto_url,
            f"  API       {base}",
            f"  OpenAPI   {self.url}{self.app.openapi_path}",
            f"  Docs      {self.url}{self.app.docs_path}",
        ]
        lines += [
            f"  Console   {self.url}{route.path}/"
            for route in self.app.routes
            if route.public and route.method == "GET" and "{" not in route.path
        ]
        lines += [
            f"  route     {route.route_key}  ->  {route.function.logical_id}" for route in self.app.routes
        ]
        for trigger in self.template.queue_triggers():
            lines.append(
                f"  worker    {trigger.function.logical_id} polls {trigger.queue_logical_id} "
                f"({self.options.worker_concurrency} at a time, batches of up to {trigger.batch_size})"
            )
        for thread in self.threads:
            if isinstance(thread, Scheduler):
                lines.append(f"  schedule  {thread.runtime.logical_id} every {thread.interval:g} s")
        if self.options.persist_dir is not None:
            lines.append(
                f"  state     tables kept in {self.options.persist_dir} (every acknowledged write, "
                "through a crash of this process)"
            )
        lines += [
            "  identity  Authorization: Bearer <JWT> is decoded WITHOUT checking its signature (local only);",
            f"            no Authorization header = '{LOCAL_SUBJECT}', allowed every namespace",
            "Press Ctrl-C to stop",
        ]
        return "\n".join(lines)


def _project_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("workflowsvc")
    except PackageNotFoundError:
        return "0.1.0"


# ============================================================================================ main


def parse_arguments(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m localrun",
        description="Serve workflowsvc locally: the HTTP API, the task worker and the sweeper, on moto.",
    )
    parser.add_argument(
        "--port", type=int, default=None, help=f"HTTP port (default: $PORT, else {DEFAULT_PORT})"
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--persist",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the tables in DIR: every acknowledged write survives a stop or a crash of the server "
        "(not of the machine) and is back on the next start",
    )
    parser.add_argument(
        "--sweeper-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="run scheduled functions this often (default: $SWEEPER_INTERVAL_SECONDS, "
        "else the template's schedule)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="execution environments per API function (default %(default)s)",
    )
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="concurrent batches of the queue-driven worker (default %(default)s)",
    )
    parser.add_argument("--template", type=Path, default=aws_resources.TEMPLATE_PATH, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    port = arguments.port if arguments.port is not None else int(os.environ.get("PORT") or DEFAULT_PORT)
    interval = arguments.sweeper_interval
    if interval is None and os.environ.get("SWEEPER_INTERVAL_SECONDS"):
        interval = float(os.environ["SWEEPER_INTERVAL_SECONDS"])
    if interval is not None and interval <= 0:
        parser.error("the sweeper interval must be positive")
    return Options(
        host=arguments.host,
        port=port,
        template_path=arguments.template,
        persist_dir=arguments.persist,
        sweeper_interval=interval,
        concurrency=max(1, arguments.concurrency),
        worker_concurrency=max(1, arguments.worker_concurrency),
    )


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    options = parse_arguments(argv)
    _configure_logging()
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    service = LocalService(options)
    try:
        service.start()
    except (OSError, SystemExit) as error:  # werkzeug exits when the port is taken, having said why
        if isinstance(error, OSError):
            print(f"cannot start: {error}", file=sys.stderr)
        service.stop()
        return 1
    print(service.banner(), flush=True)
    while not stop.wait(0.5):
        pass
    print("Stopping...", flush=True)
    service.stop()
    print("Stopped.", flush=True)
    return 0

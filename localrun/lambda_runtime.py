"""Lambda's execution model, locally: each function runs in its own processes ("execution environments"),
one invocation at a time per process, created on demand (a cold start) and reused.

Handlers are written for that model: the Powertools resolver, metrics and batch processor are module-level
objects that one invocation uses at a time, and each function sees only its own environment variables.
Running them in threads of one process would share all of that between concurrent invocations.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from localrun import aws_resources

DEFAULT_CONCURRENCY = 4


# ====================================================================================== containers


@dataclass(frozen=True)
class ContainerSpec:
    """What one Lambda execution environment of a function needs: picklable, sent to the process."""

    logical_id: str
    function_name: str
    module_name: str
    module_path: str
    handler_name: str
    sys_path: tuple[str, ...]
    environment: Mapping[str, str]
    memory_size: int
    timeout: float
    region: str = aws_resources.LOCAL_REGION
    account_id: str = aws_resources.LOCAL_ACCOUNT_ID


@dataclass
class Invocation:
    ok: bool
    result: Any = None
    error: dict[str, Any] | None = None
    request_id: str = ""
    duration_ms: float = 0.0
    cold_start: bool = False


def load_handler_module(module_name: str, module_path: Path) -> ModuleType:
    """Import ``functions/<name>/app.py`` by its path under a distinct name (``functions.<name>.app``)."""
    spec = importlib.util.spec_from_file_location(module_name, module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


_copies: dict[tuple[str, int], ModuleType] = {}
_copies_lock = threading.Lock()


def environment_copy(module: ModuleType, index: int) -> ModuleType:
    """Copy ``index`` of a function's module, as another execution environment would load it: for threads
    that stand for concurrent invocations in one process (tests, benchmarks). A function's module keeps
    state that belongs to the invocation under way (the resolver's context, the batch processor); two
    concurrent invocations never share it in Lambda. Copy 0 is the module itself."""
    if index == 0:
        return module
    with _copies_lock:
        key = (module.__name__, index)
        if key not in _copies:
            assert module.__file__ is not None
            name = f"{module.__name__.replace('.', '_')}_environment_{index}"
            spec = importlib.util.spec_from_file_location(name, module.__file__)
            assert spec is not None and spec.loader is not None
            copy = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(copy)
            _copies[key] = copy
        return _copies[key]


def _error_payload(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(error),
    }


def _prepare_process(spec: ContainerSpec) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    os.environ.clear()
    os.environ.update(spec.environment)
    for entry in reversed(spec.sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def _container_main(connection: Any, spec: ContainerSpec) -> None:
    """One execution environment: import the handler once, then invoke it once per message, in turn."""
    _prepare_process(spec)
    handler: Callable[[Any, Any], Any] | None = None
    init_error: dict[str, Any] | None = None
    try:
        handler = getattr(load_handler_module(spec.module_name, Path(spec.module_path)), spec.handler_name)
    except Exception as error:  # Lambda reports an init failure on the invocation that triggered it
        traceback.print_exc()
        init_error = _error_payload(error, "Runtime.ImportModuleError")
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if init_error is not None or handler is None:
            connection.send(("init_error", init_error))
            return
        if message[0] == "invoke":
            _, event, request_id = message
            context = aws_resources.LambdaContext(
                function_name=spec.function_name,
                memory_limit_in_mb=spec.memory_size,
                timeout_seconds=spec.timeout,
                aws_request_id=request_id,
                region=spec.region,
                account_id=spec.account_id,
            )
            try:
                result = handler(event, context)
            except Exception as error:
                traceback.print_exc()
                connection.send(("error", _error_payload(error)))
                continue
            try:
                connection.send(("ok", json.dumps(result)))
            except (TypeError, ValueError) as error:
                connection.send(("error", _error_payload(error, "Runtime.MarshalError")))


class FunctionRuntime:
    """A function's pool of execution environments: up to ``max_concurrency`` processes, each running one
    invocation at a time, created on demand (a cold start) and reused."""

    def __init__(self, spec: ContainerSpec, context: Any, max_concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self.spec = spec
        self._context = context
        self._max = max(1, max_concurrency)
        self._condition = threading.Condition()
        self._idle: list[_Container] = []
        self._live: set[_Container] = set()
        self._starting = 0
        self._closed = False

    @property
    def logical_id(self) -> str:
        return self.spec.logical_id

    def invoke(self, event: Any, *, request_id: str | None = None) -> Invocation:
        request_id = request_id or str(uuid.uuid4())
        started = time.perf_counter()
        try:
            container, cold = self._checkout()
        except RuntimeError as error:
            return Invocation(ok=False, error={"errorType": "ServiceUnavailable", "errorMessage": str(error)})
        # The init phase has its own 10 s limit on Lambda; the invocation then has the function's Timeout.
        timeout = self.spec.timeout + (10.0 if cold else 0.0)
        healthy = True
        try:
            kind, payload = container.request(("invoke", event, request_id), timeout)
        except TimeoutError:
            healthy = False
            invocation = Invocation(
                ok=False,
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {self.spec.timeout:.2f} seconds",
                },
            )
        except (EOFError, OSError):
            healthy = False
            invocation = Invocation(
                ok=False,
                error={"errorType": "Runtime.ExitError", "errorMessage": "the execution environment exited"},
            )
        else:
            if kind == "ok":
                invocation = Invocation(ok=True, result=json.loads(payload))
            else:
                healthy = kind != "init_error"
                invocation = Invocation(ok=False, error=payload)
        finally:
            self._checkin(container, healthy)
        invocation.request_id = request_id
        invocation.cold_start = cold
        invocation.duration_ms = (time.perf_counter() - started) * 1000
        return invocation

    def _checkout(self) -> tuple[_Container, bool]:
        with self._condition:
            while True:
                if self._closed:
                    raise RuntimeError(f"{self.logical_id} is shutting down")
                if self._idle:
                    return self._idle.pop(), False
                if len(self._live) + self._starting < self._max:
                    self._starting += 1
                    break
                self._condition.wait()
        try:
            container = _Container(self._context, self.spec)
        except BaseException:
            with self._condition:
                self._starting -= 1
                self._condition.notify()
            raise
        with self._condition:
            self._starting -= 1
            if not self._closed:
                self._live.add(container)
                return container, True
        container.stop(grace=0)
        raise RuntimeError(f"{self.logical_id} is shutting down")

    def _checkin(self, container: _Container, healthy: bool) -> None:
        with self._condition:
            if healthy and not self._closed:
                self._idle.append(container)
                self._condition.notify()
                return
            self._live.discard(container)
            self._condition.notify()
        container.stop(grace=0)

    def close(self, grace: float = 2.0) -> None:
        """Stop every process, busy or idle: a busy invocation then ends with an error."""
        with self._condition:
            self._closed = True
            containers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._condition.notify_all()
        for container in containers:
            container.stop(grace=grace)


class _Container:
    def __init__(self, context: Any, spec: ContainerSpec) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_container_main, args=(child, spec), name=f"lambda-{spec.logical_id}", daemon=True
        )
        self.process.start()
        child.close()
        self._lock = threading.Lock()

    def request(self, message: Any, timeout: float) -> Any:
        with self._lock:
            self.connection.send(message)
            if not self.connection.poll(timeout):
                raise TimeoutError
            return self.connection.recv()

    def stop(self, grace: float = 2.0) -> None:
        if grace > 0:
            with contextlib.suppress(OSError, ValueError):
                self.connection.send(None)
            self.process.join(grace)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self.connection.close()


def process_context() -> Any:
    """Processes forked from a clean single-threaded server that has the heavy imports done (fast cold starts,
    shared memory), or spawned where that is not available."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(
            [
                "localrun.aws_resources",
                "boto3",
                "botocore.session",
                "pydantic",
                "aws_lambda_powertools",
                "aws_lambda_powertools.event_handler",
                "aws_lambda_powertools.utilities.batch",
            ]
        )
        return context
    return multiprocessing.get_context("spawn")


# ========================================================================================= OpenAPI


def _openapi_main(
    connection: Any, specs: list[ContainerSpec], environment: Mapping[str, str], title: str, version: str
) -> None:
    """Load every API function's module, and send back one OpenAPI document merged from their resolvers."""
    first = specs[0]
    _prepare_process(
        ContainerSpec(
            logical_id="openapi",
            function_name="openapi",
            module_name="",
            module_path="",
            handler_name="",
            sys_path=tuple(dict.fromkeys(entry for spec in specs for entry in spec.sys_path)),
            environment=environment,
            memory_size=first.memory_size,
            timeout=first.timeout,
        )
    )
    try:
        resolvers = [load_handler_module(spec.module_name, Path(spec.module_path)).app for spec in specs]
        connection.send(("ok", json.dumps(merge_openapi(resolvers, title=title, version=version))))
    except Exception as error:
        traceback.print_exc()
        connection.send(("error", _error_payload(error)))


def merge_openapi(resolvers: list[Any], *, title: str, version: str) -> dict[str, Any]:
    """One document from every function's Powertools resolver, with the project's own merge rules."""
    from workflowsvc import api

    return api.openapi_document(resolvers, title=title, version=version)


def build_openapi_document(
    specs: list[ContainerSpec], *, title: str, version: str, timeout: float = 60.0
) -> str:
    """The OpenAPI document of these functions, as JSON, built in a separate process that imports their
    modules (with the union of their environments) and merges their resolvers."""
    environment: dict[str, str] = {}
    for spec in specs:
        environment.update(spec.environment)
    context = process_context()
    parent, child = context.Pipe()
    process = context.Process(
        target=_openapi_main, args=(child, specs, environment, title, version), name="openapi", daemon=True
    )
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise RuntimeError(f"building the OpenAPI document took over {timeout:g} s")
        kind, payload = parent.recv()
    finally:
        process.join(5)
        if process.is_alive():
            process.kill()
            process.join(2)
        parent.close()
    if kind != "ok":
        raise RuntimeError(f"building the OpenAPI document failed: {payload.get('errorMessage')}")
    return str(payload)

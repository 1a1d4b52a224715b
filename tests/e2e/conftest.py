"""End-to-end fixtures: the local server (``python -m localrun``) as a subprocess, a programmable loopback
target for REST_CONNECTOR tasks, and a small HTTP client. Every address is on 127.0.0.1.

Tests use the fixtures, not imports from this file (pytest loads it under a name of its own):

    def test_something(api, target, namespace, wait_for_run):
        target.program("/device", 500, 500, (200, {"ok": True}))      # fails twice, then 200 forever
        created = api.post("/workflowdefs", params={"nsfilter": namespace}, json={...})
        ...
        run = wait_for_run(run_id, namespace, {"COMPLETED"})
        assert target.calls("/device") == 3
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import jwt
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_PATH = "/workflowsvc/api/v1"
LOOPBACK = "127.0.0.1"
SERVER_START_TIMEOUT_S = 60
SERVER_STOP_TIMEOUT_S = 30

T = TypeVar("T")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder drives the local server: mark it ``e2e`` (``-m "not e2e"`` skips them)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------------- HTTP client


@dataclass
class HttpResult:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"HttpResult(status={self.status}, body={self.text[:500]!r})"


def http_request(
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpResult:
    """One HTTP request with urllib; a 4xx or 5xx answer is a result, not an exception."""
    if not url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"end-to-end tests only call {LOOPBACK}: {url}")
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params, doseq=True)}"
    all_headers = dict(headers or {})
    if json_body is not None:
        body = json.dumps(json_body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=body, method=method.upper(), headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return HttpResult(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResult(error.code, error.headers, error.read())


def make_token(claims: Mapping[str, Any]) -> str:
    """A JWT with these claims. The local server does not check signatures; this one is signed anyway."""
    return jwt.encode(dict(claims), "local-test-signing-key-of-32-bytes!", algorithm="HS256")


@dataclass
class ApiClient:
    """Requests relative to ``base_url``: ``api.get("/workflows", params={"nsfilter": "ns"})``."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    def as_caller(self, sub: str = "e2e-user", namespaces: Any = "*", **claims: Any) -> ApiClient:
        """The same client with ``Authorization: Bearer <JWT>`` carrying these claims."""
        token = make_token({"sub": sub, "namespaces": namespaces, **claims})
        return ApiClient(self.base_url, {**self.headers, "Authorization": f"Bearer {token}"}, self.timeout)

    def with_headers(self, **headers: str) -> ApiClient:
        return ApiClient(self.base_url, {**self.headers, **headers}, self.timeout)

    def request(self, method: str, path: str, **kwargs: Any) -> HttpResult:
        headers = {**self.headers, **(kwargs.pop("headers", None) or {})}
        if "json" in kwargs:
            kwargs["json_body"] = kwargs.pop("json")
        return http_request(method, f"{self.base_url}{path}", headers=headers, timeout=self.timeout, **kwargs)

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpResult:
        return self.request("DELETE", path, **kwargs)


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "the condition",
) -> T:
    """Call ``probe`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def poll_run(
    api: ApiClient,
    run_id: str,
    nsfilter: str,
    statuses: set[str] | str,
    *,
    timeout: float = 30.0,
    **params: Any,
) -> dict[str, Any]:
    """Poll ``GET /workflows/{id}`` until the run's ``_status`` is one of ``statuses``; returns the run."""
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    last: dict[str, Any] = {}

    def probe() -> dict[str, Any] | None:
        nonlocal last
        result = api.get(f"/workflows/{run_id}", params={"nsfilter": nsfilter, **params})
        assert result.status == 200, result
        last = result.json()
        return last if last.get("_status") in wanted else None

    deadline = time.monotonic() + timeout
    while True:
        run = probe()
        if run is not None:
            return run
        if time.monotonic() > deadline:
            pytest.fail(
                f"run {run_id} not in {sorted(wanted)} after {timeout:g} s; last seen: {json.dumps(last)}"
            )
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------- local server


@dataclass
class LocalServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_local_server(
    log_path: Path, extra_env: Mapping[str, str] | None = None, arguments: Sequence[str] = ()
) -> LocalServer:
    """``python -m localrun [arguments]`` on a free loopback port, waited for until it answers."""
    port = free_port()
    environment = {
        **os.environ,
        "SWEEPER_INTERVAL_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    environment.pop("PORT", None)
    log_file = log_path.open("ab")  # a restarted server's log follows the last one's
    process = subprocess.Popen(
        [sys.executable, "-m", "localrun", "--port", str(port), "--host", LOOPBACK, *arguments],
        cwd=REPO_ROOT,
        env=environment,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()
    server = LocalServer(url=f"http://{LOOPBACK}:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            http_request("GET", f"{server.url}/", timeout=2)
            return server
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                stop_local_server(server)
                raise RuntimeError(f"the local server did not answer in {SERVER_START_TIMEOUT_S} s") from None
            time.sleep(0.2)


def stop_local_server(server: LocalServer) -> int:
    """SIGTERM, then wait; returns the exit code (killed after ``SERVER_STOP_TIMEOUT_S``: -9)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)
    return int(server.process.returncode)


@pytest.fixture(scope="session")
def local_server_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The running local server (``.url``, ``.process``, ``.log_tail()``); stopped and checked at the end."""
    server = start_local_server(tmp_path_factory.mktemp("localrun") / "server.log")
    yield server
    code = stop_local_server(server)
    assert code == 0, f"the local server exited with {code} on SIGTERM:\n{server.log_tail()}"


@pytest.fixture
def start_another_server(tmp_path: Path) -> Iterator[Callable[..., LocalServer]]:
    """``start_another_server(*arguments)``: a local server of the test's own, ``python -m localrun
    *arguments`` (``.url``, ``.process``, ``.log_tail()``); every one still running is stopped at the end."""
    started: list[LocalServer] = []

    def start(*arguments: str) -> LocalServer:
        server = start_local_server(tmp_path / "servers.log", arguments=arguments)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_local_server(server)


@pytest.fixture(scope="session")
def local_server(local_server_process: LocalServer) -> str:
    """The local server's root URL, ``http://127.0.0.1:<port>``."""
    return local_server_process.url


@pytest.fixture
def api(local_server: str) -> ApiClient:
    """A client for ``http://127.0.0.1:<port>/workflowsvc/api/v1`` as the local developer (no token)."""
    return ApiClient(f"{local_server}{BASE_PATH}")


@pytest.fixture
def namespace() -> str:
    """A namespace no other test uses, so that lists and counts see only this test's runs."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------------- target server


@dataclass(frozen=True)
class Answer:
    """One programmed answer of the target: a status, a JSON or raw body, headers, and a delay first."""

    status: int = 200
    json: Any = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _as_answer(answer: Answer | int | tuple[int, Any]) -> Answer:
    if isinstance(answer, int):
        return Answer(status=answer)
    if isinstance(answer, tuple):
        status, body = answer
        return Answer(status=status, json=body)
    return answer


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class TargetServer:
    """A loopback HTTP server that tests program per path.

    ``program(path, *answers)`` queues answers; the last one repeats (so ``500, 500, (200, {"ok": True})``
    fails twice, then succeeds forever). An answer is an ``Answer`` (``target.Answer(...)``: status, json,
    body, headers, delay), a status, or a ``(status, json)`` pair. ``hang(path)`` delays the answer past
    any task timeout. An unprogrammed path answers 200 with ``{"method", "path", "query", "body"}``.
    ``calls(path)`` counts requests, ``requests(path)`` returns them.
    """

    Answer = Answer

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._programs: dict[str, deque[Answer]] = {}
        self._requests: dict[str, list[RecordedRequest]] = defaultdict(list)
        self._release = threading.Event()
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="target", daemon=True)
        self._thread.start()
        self.url = f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def url_for(self, path: str) -> str:
        return f"{self.url}{path}"

    def program(self, path: str, *answers: Answer | int | tuple[int, Any]) -> None:
        with self._lock:
            self._programs[path] = deque(_as_answer(answer) for answer in answers or (Answer(),))

    def reply_json(self, path: str, body: Any, status: int = 200) -> None:
        self.program(path, Answer(status=status, json=body))

    def fail_then_succeed(
        self, path: str, failures: int, body: Any = None, failure_status: int = 500
    ) -> None:
        self.program(
            path, *([Answer(failure_status, json={"error": "planned"})] * failures), Answer(200, json=body)
        )

    def hang(self, path: str, seconds: float = 120.0) -> None:
        """Answer only after ``seconds`` (or when the test ends)."""
        self.program(path, Answer(delay=seconds))

    def calls(self, path: str) -> int:
        with self._lock:
            return len(self._requests.get(path, []))

    def requests(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests.get(path, []))

    def reset(self) -> None:
        """Release hanging answers and forget programs and requests."""
        self._release.set()
        with self._lock:
            self._programs.clear()
            self._requests.clear()
            self._release = threading.Event()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _next_answer(self, request: RecordedRequest) -> tuple[Answer | None, threading.Event]:
        with self._lock:
            self._requests[request.path].append(request)
            program = self._programs.get(request.path)
            answer = None
            if program:
                answer = program.popleft() if len(program) > 1 else program[0]
            return answer, self._release

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method=self.command,
                    path=parsed.path,
                    query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                answer, release = target._next_answer(request)
                if answer is None:
                    answer = Answer(
                        json={
                            "method": request.method,
                            "path": request.path,
                            "query": request.query,
                            "body": request.body.decode("utf-8", errors="replace"),
                        }
                    )
                if answer.delay and release.wait(answer.delay):
                    return  # released at the end of the test: drop the connection
                payload = json.dumps(answer.json).encode() if answer.json is not None else answer.body
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json" if answer.json is not None else "text/plain"}
                headers.update(answer.headers)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture(scope="session")
def target_server() -> Iterator[TargetServer]:
    server = TargetServer()
    yield server
    server.close()


@pytest.fixture
def target(target_server: TargetServer) -> Iterator[TargetServer]:
    """The loopback target, with no program and no recorded request at the start of each test."""
    target_server.reset()
    yield target_server
    target_server.reset()


@pytest.fixture
def wait_for_run(api: ApiClient) -> Callable[..., dict[str, Any]]:
    """``wait_for_run(run_id, nsfilter, {"COMPLETED", "FAILED"}, timeout=30)``: polls the run until its
    ``_status`` is one of those, and returns it (extra keywords become query parameters)."""

    def wait(run_id: str, nsfilter: str, statuses: set[str] | str, **kwargs: Any) -> dict[str, Any]:
        return poll_run(api, run_id, nsfilter, statuses, **kwargs)

    return wait


@pytest.fixture
def http() -> Callable[..., HttpResult]:
    """``http("GET", url, params=..., json_body=..., headers=...)``: any request to a loopback URL."""
    return http_request


# ---------------------------------------------------------------------------------------------- wider scopes


@pytest.fixture(scope="session")
def shared_api(local_server: str) -> ApiClient:
    """The ``api`` client for fixtures shared by a whole module (data several tests read)."""
    return ApiClient(f"{local_server}{BASE_PATH}")


@pytest.fixture(scope="session")
def shared_wait_for_run(shared_api: ApiClient) -> Callable[..., dict[str, Any]]:
    """``wait_for_run`` for fixtures shared by a whole module."""

    def wait(run_id: str, nsfilter: str, statuses: set[str] | str, **kwargs: Any) -> dict[str, Any]:
        return poll_run(shared_api, run_id, nsfilter, statuses, **kwargs)

    return wait


# ---------------------------------------------------------------------------------------------- runs


@pytest.fixture
def define_workflow(api: ApiClient) -> Callable[..., dict[str, Any]]:
    """``define_workflow(nsfilter, tasks, **fields)``: ``POST /workflowdefs``, checked to be a 201; returns
    the definition. ``fields`` are more fields of the definition (``_timeoutSeconds=2``); ``_name`` defaults
    to ``e2e_workflow``."""

    def define(nsfilter: str, tasks: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        body = {"_name": "e2e_workflow", **fields, "_tasks": tasks}
        result = api.post("/workflowdefs", params={"nsfilter": nsfilter}, json=body)
        assert result.status == 201, result
        definition: dict[str, Any] = result.json()
        return definition

    return define


@pytest.fixture
def start_run(api: ApiClient) -> Callable[..., dict[str, Any]]:
    """``start_run(nsfilter, definition_id, input_params)``: ``POST /workflows``, checked to be a 201; returns
    the run as the answer shows it."""

    def start(
        nsfilter: str, definition_id: str, input_params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {"_workflowDefId": definition_id, "_inputParams": input_params or {}}
        result = api.post("/workflows", params={"nsfilter": nsfilter}, json=body)
        assert result.status == 201, result
        run: dict[str, Any] = result.json()
        return run

    return start

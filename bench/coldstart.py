"""Figure 3: cold start of each API function against the floor of any Python function using DynamoDB.

Each measurement is a fresh Python process with the environment the function gets from the template
(``PYTHONPATH=layers/shared:.``, fake credentials). It times, inside the process, importing the handler
module (which builds its Logger, Metrics and resolver) and creating the DynamoDB client its first request
creates; the floor is ``import boto3; boto3.client("dynamodb")``. Targets run in turn, round after round,
so that a busy moment of the machine falls on all of them alike; bytecode is compiled once beforehand
(into a private cache folder), as it is for a deployed package's dependencies.

The same processes then make the first request, what a caller of a new execution environment waits for:
the function's sample event from ``events/`` through its ``lambda_handler`` (the floor: one Query), with
AWS answered by a stand-in on 127.0.0.1 (``_FakeAws``) that answers every DynamoDB read with nothing and
every write with success, so each request takes the path of a request whose item is not found (or, for a
definition, is created), its validation and its DynamoDB round trips included.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from bench import LAYER_DIR, REPO_ROOT
from bench.report import Row
from bench.stack import FAKE_CREDENTIALS

ROUNDS = 7
TARGET_RATIO = 1.3
FLOOR = "floor"
IMPORT_TIME_TOP = 10

_FLOOR_CODE = 'import boto3; boto3.client("dynamodb")'
_PROBE = """
import json, sys, time
started = time.perf_counter()
if sys.argv[1] == "floor":
    import boto3
    client = boto3.client("dynamodb")
    imported = time.perf_counter()
    key = {":pk": {"S": "x"}}
    client.query(TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues=key)
else:
    import importlib
    handler = importlib.import_module(sys.argv[1])
    from workflowsvc.store import dynamo
    dynamo.dynamodb_client()
    imported = time.perf_counter()
    if len(sys.argv) > 2:
        class Context:
            function_name, memory_limit_in_mb, aws_request_id = "bench", 1024, "bench-request"
            invoked_function_arn = "arn:aws:lambda:eu-west-1:000000000000:function:bench"
            def get_remaining_time_in_millis(self): return 10_000
        with open(sys.argv[2], encoding="utf-8") as event:
            answer = handler.lambda_handler(json.load(event), Context())
        assert answer["statusCode"] < 500, answer
print(imported - started, time.perf_counter() - started)
"""


@dataclass(frozen=True)
class Target:
    label: str
    module: str  # FLOOR for the floor
    environment: dict[str, str]
    has_target: bool = True
    event: str | None = None  # the sample event of its first request, in events/


class _FakeAws(BaseHTTPRequestHandler):
    """DynamoDB's and SQS's JSON protocols, answered with nothing found and every write done."""

    _ANSWERS: ClassVar[dict[str, dict[str, object]]] = {
        "Query": {"Items": [], "Count": 0, "ScannedCount": 0},
        "BatchGetItem": {"Responses": {}, "UnprocessedKeys": {}},
        "BatchWriteItem": {"UnprocessedItems": {}},
    }

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
        operation = (self.headers.get("x-amz-target") or "").rsplit(".", 1)[-1]
        answer: dict[str, object] = dict(self._ANSWERS.get(operation, {}))
        if operation == "SendMessage":
            digest = hashlib.md5(str(request.get("MessageBody", "")).encode()).hexdigest()
            answer = {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": digest}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("content-type", "application/x-amz-json-1.0")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def _fake_aws() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeAws)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class ImportCost:
    module: str
    cumulative_ms: float
    self_ms: float
    added_ms: float  # spent on this module and those it imports, leaving out the modules the floor loads
    largest_import_ms: float = 0.0  # the largest added_ms among the modules it imports

    @property
    def passes_through(self) -> bool:
        """Nearly all its added time is one module it imports (listing both says nothing new)."""
        return self.largest_import_ms >= 0.9 * self.added_ms


def _environment(function_environment: dict[str, str], cache_dir: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{LAYER_DIR}{os.pathsep}{REPO_ROOT}",
        "PYTHONPYCACHEPREFIX": cache_dir,
        **FAKE_CREDENTIALS,
        **function_environment,
    }


def _python(
    arguments: list[str], environment: dict[str, str], cache_dir: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        env=_environment(environment, cache_dir),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def _probe(target: Target, cache_dir: str, endpoint: str) -> tuple[float, float]:
    """Seconds to import and make the client, and to that plus the first request."""
    arguments = ["-c", _PROBE, target.module]
    if target.event:
        arguments.append(str(REPO_ROOT / "events" / f"{target.event}.json"))
    environment = {**target.environment, "AWS_ENDPOINT_URL": endpoint}
    imported, answered = _python(arguments, environment, cache_dir).stdout.strip().splitlines()[-1].split()
    return float(imported), float(answered)


def _compile_everything(targets: list[Target], cache_dir: str) -> None:
    """One untimed process that imports every target, so each timed one finds its bytecode."""
    modules = [target.module for target in targets if target.module != FLOOR]
    script = "\n".join([_FLOOR_CODE, *(f"import {module}" for module in modules)])
    _python(["-c", script], targets[0].environment, cache_dir)


def import_costs(
    code: str, environment: dict[str, str], cache_dir: str, floor: frozenset[str] = frozenset()
) -> list[ImportCost]:
    """``python -X importtime -c code``: every module imported, slowest (cumulatively) first.

    importtime lists a module after those it imports, indented one step deeper.
    """
    result = _python(["-X", "importtime", "-c", code], environment, cache_dir)
    costs: list[ImportCost] = []
    pending: list[tuple[int, ImportCost]] = []  # modules whose importer is not listed yet
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, field = line.removeprefix("import time:").split("|", 2)
        depth = (len(field) - len(field.lstrip()) - 1) // 2
        module = field.strip()
        imported: list[ImportCost] = []
        while pending and pending[-1][0] > depth:
            imported.append(pending.pop()[1])
        own_ms = int(self_us) / 1000
        added = 0.0 if module in floor else own_ms + sum(cost.added_ms for cost in imported)
        largest = max((cost.added_ms for cost in imported), default=0.0)
        cost = ImportCost(module, int(cumulative_us) / 1000, own_ms, added, largest)
        pending.append((depth, cost))
        costs.append(cost)
    return sorted(costs, key=lambda cost: cost.cumulative_ms, reverse=True)


def _import_section(slowest: Target, cache_dir: str) -> str:
    floor = frozenset(cost.module for cost in import_costs(_FLOOR_CODE, slowest.environment, cache_dir))
    costs = import_costs(f"import {slowest.module}", slowest.environment, cache_dir, floor)
    root, *rest = sorted(costs, key=lambda cost: cost.added_ms, reverse=True)
    added = [root, *(cost for cost in rest if cost.added_ms > 0 and not cost.passes_through)]
    return "\n".join(
        [
            f'`python -X importtime -c "import {slowest.module}"` (the slowest API handler), top '
            f"{IMPORT_TIME_TOP} by cumulative time (a module's time includes what it imports):",
            "",
            *(
                f"- `{c.module}`: {c.cumulative_ms:.0f} ms ({c.self_ms:.1f} ms itself)"
                for c in costs[:IMPORT_TIME_TOP]
            ),
            "",
            "What the handler adds to the floor: the same import, counting only the modules that "
            f"`{_FLOOR_CODE}` does not load; the first line is the total, and a module whose time is "
            f"nearly all one module it imports gives way to that module (top {IMPORT_TIME_TOP}):",
            "",
            *(f"- `{c.module}`: {c.added_ms:.0f} ms" for c in added[:IMPORT_TIME_TOP]),
        ]
    )


def measure(targets: list[Target]) -> tuple[list[Row], str]:
    """Rows of the table, and where the slowest API handler's import time goes (markdown)."""
    floor = Target("floor", FLOOR, targets[0].environment)
    everything = [floor, *targets]
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache_dir, _fake_aws() as endpoint:
        _compile_everything(everything, cache_dir)
        cold: dict[str, list[float]] = {target.label: [] for target in everything}
        first: dict[str, list[float]] = {target.label: [] for target in everything}
        for _ in range(ROUNDS):
            for target in everything:
                imported, answered = _probe(target, cache_dir, endpoint)
                cold[target.label].append(imported)
                first[target.label].append(answered)
        medians = {label: statistics.median(values) * 1000 for label, values in cold.items()}
        first_medians = {label: statistics.median(values) * 1000 for label, values in first.items()}
        slowest = max((t for t in targets if t.has_target), key=lambda t: medians[t.label])
        section = _import_section(slowest, cache_dir)

    floor_ms, floor_first_ms = medians[floor.label], first_medians[floor.label]
    rows = [
        Row(f"cold start: floor, `{_FLOOR_CODE}` (median of {ROUNDS})", f"{floor_ms:.0f} ms"),
        Row("cold start and first request: floor, the same and one Query", f"{floor_first_ms:.0f} ms"),
    ]
    for target in targets:
        ratio = medians[target.label] / floor_ms
        rows.append(
            Row(
                f"cold start: `{target.module}` + DynamoDB client",
                f"{medians[target.label]:.0f} ms = {ratio:.2f}x floor",
                f"<= {TARGET_RATIO}x floor" if target.has_target else "-",
                ratio <= TARGET_RATIO if target.has_target else None,
            )
        )
    for target in targets:
        if target.event:
            ratio = first_medians[target.label] / floor_first_ms
            rows.append(
                Row(
                    f"cold start and first request: `{target.module}`, `events/{target.event}.json`",
                    f"{first_medians[target.label]:.0f} ms = {ratio:.2f}x floor",
                )
            )
    return rows, section

"""``python -m localrun.fuzz``: fuzz the HTTP API with schemathesis, against its own OpenAPI document.

Starts the local server (``python -m localrun``) on a free loopback port, runs ``st run`` on
``/workflowsvc/api/v1/openapi.json`` with every check (settings in ``localrun/schemathesis.toml``, hooks in
``localrun/fuzz_hooks.py``), prints the figures and stops the server. Exits 1 when schemathesis found
anything. ``--url`` fuzzes a server that is already running instead.

So that requests reach real resources, not only 400s and 404s, the run first creates, in a namespace of its
own, two workflow definitions and runs of them (one fails, on a call to a path the local server does not
have; one loops over calls to the server's own OpenAPI document: loopback only). Most generated requests
then use that namespace and those ids (schemathesis "dictionaries"); the others get generated ones
(missing, malformed, unknown). Stateful tests follow the document's links from what they create.

    python -m localrun.fuzz                           # the full run
    python -m localrun.fuzz --max-examples 10 --seed 1
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localrun import fuzz_hooks

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = Path(__file__).with_name("schemathesis.toml")
BASE_PATH = "/workflowsvc/api/v1"
OPENAPI_PATH = f"{BASE_PATH}/openapi.json"
LOOPBACK = "127.0.0.1"
DEFAULT_MAX_EXAMPLES = 100
SERVER_START_TIMEOUT_S = 60.0
# The share of requests that use the seeded namespace and ids (the others get generated ones).
SEEDED_SHARE = 0.8
# The local server's access log: "13:48:45 POST /workflowsvc/api/v1/workflowdefs 201 10.5 ms".
_ACCESS_LINE = re.compile(r"^\d{2}:\d{2}:\d{2} (\S+) (.*) (\d{3}) [\d.]+ ms$")


@dataclass
class FuzzResult:
    """What one schemathesis run found, from its JSON report."""

    exit_code: int
    generated: int = 0
    passed: int = 0
    with_failures: int = 0
    unique_failures: int = 0
    errored: int = 0
    # The 400s of rules a JSON schema cannot express (``fuzz_hooks``), by error code: not failures.
    dropped: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, str] = field(default_factory=dict)
    output: str = ""

    @property
    def clean(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors and self.generated > 0

    def figures(self) -> str:
        lines = [
            f"{self.generated} test cases generated, {self.passed} passed, "
            f"{self.with_failures} with failures ({self.unique_failures} unique), {self.errored} errored",
            "  phases: " + ", ".join(f"{name} {status}" for name, status in self.phases.items()),
            "  documented 400s of rules the schema cannot express (not failures): "
            + (", ".join(f"{code} {count}" for code, count in sorted(self.dropped.items())) or "none"),
        ]
        lines += [
            f"  failure {item.get('code')} {item.get('title')}: {item.get('count')} "
            f"({', '.join(item.get('operations') or [])})"
            for item in self.failures
        ]
        lines += [f"  error {item.get('title')}: {item.get('count')}" for item in self.errors]
        return "\n".join(lines)


def schemathesis_command(
    base_url: str,
    *,
    config_path: Path,
    max_examples: int,
    report_dir: Path,
    seed: int | None = None,
    phases: Sequence[str] = (),
) -> list[str]:
    """``st run`` on the server's document with every check, its JSON report written to ``report_dir``."""
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "run",
        f"{base_url}{OPENAPI_PATH}",
        "--url",
        base_url,
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
        "--no-color",
        "--output-truncate",
        "true",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    if phases:
        command += ["--phases", ",".join(phases)]
    return command


@dataclass(frozen=True)
class Seeds:
    """What the run creates before fuzzing: its namespace, definitions and runs."""

    namespace: str
    definition_ids: tuple[str, ...]
    run_ids: tuple[str, ...]

    def config(self) -> str:
        """schemathesis' dictionaries: most requests use these values instead of generated ones."""

        def values(items: Sequence[str]) -> str:
            return json.dumps(list(items))

        return (
            f"\n[dictionaries.namespace]\nvalues = {values([self.namespace])}\n"
            f"\n[dictionaries.definition]\nvalues = {values(self.definition_ids)}\n"
            f"\n[dictionaries.run]\nvalues = {values(self.run_ids)}\n"
            "\n[parameters]\n"
            f'"query.nsfilter" = {{ dictionary = "namespace", probability = {SEEDED_SHARE} }}\n'
            f'"path.workflowDefId" = {{ dictionary = "definition", probability = {SEEDED_SHARE} }}\n'
            f'"body._workflowDefId" = {{ dictionary = "definition", probability = {SEEDED_SHARE} }}\n'
            f'"path.workflowId" = {{ dictionary = "run", probability = {SEEDED_SHARE} }}\n'
        )


def _require_loopback(base_url: str) -> None:
    if not base_url.startswith(f"http://{LOOPBACK}:"):
        raise ValueError(f"fuzzing is for the local server on {LOOPBACK}: {base_url}")


def _call(method: str, url: str, body: Any) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL)
        url, data=json.dumps(body).encode(), method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        created: dict[str, Any] = json.loads(answer.read())
        return created


def seed_resources(base_url: str, namespace: str) -> Seeds:
    """Two definitions and two runs of each, in ``namespace``."""
    api = f"{base_url}{BASE_PATH}"
    query = f"?nsfilter={namespace}"
    failing = {
        "_name": "fuzz_failing",
        "_timeoutSeconds": 600,
        "_tasks": [
            {
                "_name": "missing",
                "_type": "REST_CONNECTOR",
                "_retryCount": 1,
                "_inputParams": {"_url": f"{api}/no-such-path"},
            }
        ],
    }
    looping = {
        "_name": "fuzz_looping",
        "_userType": "fuzz",
        "_timeoutPolicy": "ALERT_ONLY",
        "_tasks": [
            {
                "_name": "each",
                "_type": "LOOP_OVER",
                "_inputParams": {"_items": [1, 2]},
                "_tasks": [
                    {
                        "_name": "document",
                        "_type": "REST_CONNECTOR",
                        "_inputParams": {"_url": f"{api}/openapi.json"},
                    }
                ],
            }
        ],
        "_outputParams": {"count": "${length(tasks.each._output)}"},
    }
    definition_ids = tuple(
        _call("POST", f"{api}/workflowdefs{query}", body)["_id"] for body in (failing, looping)
    )
    run_ids = tuple(
        _call("POST", f"{api}/workflows{query}", {"_workflowDefId": definition_id, "_inputParams": {"n": n}})[
            "_id"
        ]
        for definition_id in definition_ids
        for n in range(2)
    )
    return Seeds(namespace=namespace, definition_ids=definition_ids, run_ids=run_ids)


def run_schemathesis(
    base_url: str,
    *,
    max_examples: int,
    seeds: Seeds | None = None,
    seed: int | None = None,
    phases: Sequence[str] = (),
    echo: bool = False,
) -> FuzzResult:
    """One schemathesis run against ``base_url`` (the loopback server), using ``seeds`` when given."""
    _require_loopback(base_url)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as directory:
        work = Path(directory)
        config_path = work / "schemathesis.toml"
        config = CONFIG_PATH.read_text(encoding="utf-8")
        if seeds is not None:
            config += seeds.config()
        config_path.write_text(config, encoding="utf-8")
        command = schemathesis_command(
            base_url,
            config_path=config_path,
            max_examples=max_examples,
            report_dir=work,
            seed=seed,
            phases=phases,
        )
        dropped_log = work / "dropped.jsonl"
        environment = {
            **os.environ,
            fuzz_hooks.DROPPED_LOG_VARIABLE: str(dropped_log),
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "layers" / "shared")]),
        }
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            command,
            cwd=REPO_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if echo:
                print(line, end="", flush=True)
        result = FuzzResult(exit_code=process.wait(), output="".join(lines))
        _read_report(result, work)
        if dropped_log.exists():
            for line in dropped_log.read_text(encoding="utf-8").splitlines():
                result.dropped[json.loads(line)["code"]] += 1
    return result


def fuzz_api(
    base_url: str,
    *,
    max_examples: int,
    seed: int | None = None,
    phases: Sequence[str] = (),
    echo: bool = False,
) -> FuzzResult:
    """Create the seeds in a fresh namespace, then fuzz."""
    _require_loopback(base_url)
    seeds = seed_resources(base_url, f"fuzz-{uuid.uuid4().hex[:12]}")
    return run_schemathesis(
        base_url, max_examples=max_examples, seeds=seeds, seed=seed, phases=phases, echo=echo
    )


def _read_report(result: FuzzResult, report_dir: Path) -> None:
    for path in report_dir.glob("json-*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        cases = report.get("test_cases") or {}
        result.generated = int(cases.get("generated") or 0)
        result.with_failures = int(cases.get("with_failures") or 0)
        result.unique_failures = int(cases.get("unique_failures") or 0)
        result.errored = int(cases.get("errored") or 0)
        result.passed = result.generated - result.with_failures - result.errored
        result.failures = list(report.get("failures") or [])
        result.errors = list(report.get("errors") or [])
        result.phases = {
            name: str(phase.get("status")) for name, phase in (report.get("phases") or {}).items()
        }


def answered(log_path: Path) -> Counter[str]:
    """The API requests in the local server's log, by status class (``2xx``, ``4xx``, ``5xx``)."""
    counts: Counter[str] = Counter()
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _ACCESS_LINE.match(line)
        if match and match.group(2).startswith(BASE_PATH) and match.group(2) != OPENAPI_PATH:
            counts[f"{match.group(3)[0]}xx"] += 1
    return counts


# ------------------------------------------------------------------------------------------ local server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_server(log_path: Path) -> Iterator[str]:
    """``python -m localrun`` on a free loopback port until the block ends; yields its root URL."""
    port = free_port()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("PORT", None)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [sys.executable, "-m", "localrun", "--port", str(port), "--host", LOOPBACK],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://{LOOPBACK}:{port}"
    try:
        _wait_for(url, process)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the local server exited with {process.returncode}")
        try:
            # The document is built on its first request (seconds): have it ready before fuzzing starts.
            with urllib.request.urlopen(f"{url}{OPENAPI_PATH}", timeout=30) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the local server did not answer in {SERVER_START_TIMEOUT_S:g} s")
        time.sleep(0.2)


# ================================================================================================== main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localrun.fuzz", description="Fuzz the local server's API with schemathesis."
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=DEFAULT_MAX_EXAMPLES,
        help="examples per operation and phase (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=None, help="schemathesis' random seed")
    parser.add_argument(
        "--phases", default="", help="comma-separated: examples, coverage, fuzzing, stateful (default: all)"
    )
    parser.add_argument("--url", default=None, help=f"a running server (http://{LOOPBACK}:PORT) to fuzz")
    parser.add_argument(
        "--server-log", type=Path, default=None, help="keep the local server's log in this file"
    )
    arguments = parser.parse_args(argv)
    phases = [phase for phase in arguments.phases.split(",") if phase]
    options: dict[str, Any] = {
        "max_examples": arguments.max_examples,
        "seed": arguments.seed,
        "phases": phases,
        "echo": True,
    }

    started = time.monotonic()
    statuses: Counter[str] = Counter()
    if arguments.url:
        result = fuzz_api(arguments.url.rstrip("/"), **options)
    else:
        with tempfile.TemporaryDirectory(prefix="localrun-") as directory:
            log_path = arguments.server_log or Path(directory) / "server.log"
            with local_server(log_path) as url:
                print(f"local server on {url} (log: {log_path})", flush=True)
                result = fuzz_api(url, **options)
            statuses = answered(log_path)

    print(f"\n======== figures\n{result.figures()}", flush=True)
    if statuses:
        print(
            f"  the server answered {sum(statuses.values())} API requests: "
            + ", ".join(f"{count} {kind}" for kind, count in sorted(statuses.items()))
        )
    print(f"  in {time.monotonic() - started:.0f} s", flush=True)
    return 0 if result.clean else 1


if __name__ == "__main__":
    sys.exit(main())

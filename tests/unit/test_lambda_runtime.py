"""Functions run as on Lambda: one process per execution environment, one invocation at a time, their own
environment, a timeout that ends the environment."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localrun.lambda_runtime import ContainerSpec, FunctionRuntime, process_context

STAND_IN_HANDLER = """
import os, time

COLD = {"count": 0}


def lambda_handler(event, context):
    COLD["count"] += 1
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {
        "echo": event,
        "invocations": COLD["count"],
        "pid": os.getpid(),
        "variable": os.environ.get("ONLY_MINE"),
        "function": context.function_name,
        "request": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
    }
"""


def spec_for(code_dir: Path, *, timeout: float = 5.0, source: str = STAND_IN_HANDLER) -> ContainerSpec:
    (code_dir / "app.py").write_text(source)
    return ContainerSpec(
        logical_id="StandInFunction",
        function_name="workflowsvc-local-StandInFunction",
        module_name="functions.stand_in.app",
        module_path=str(code_dir / "app.py"),
        handler_name="lambda_handler",
        sys_path=(str(code_dir),),
        environment={"ONLY_MINE": "yes", "PATH": "/usr/bin:/bin"},
        memory_size=256,
        timeout=timeout,
    )


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[FunctionRuntime]:
    function = FunctionRuntime(spec_for(tmp_path), process_context(), max_concurrency=2)
    yield function
    function.close()


def test_an_invocation_runs_the_handler_in_its_own_environment(runtime: FunctionRuntime) -> None:
    # When
    first = runtime.invoke({"n": 1}, request_id="req-1")
    second = runtime.invoke({"n": 2})

    # Then
    assert first.ok and second.ok
    assert first.result["echo"] == {"n": 1}
    assert first.result["variable"] == "yes"
    assert first.result["function"] == "workflowsvc-local-StandInFunction"
    assert first.result["request"] == "req-1"
    assert 0 < first.result["remaining"] <= 5000
    assert first.cold_start and not second.cold_start
    assert second.result["pid"] == first.result["pid"]  # the warm environment is reused
    assert second.result["invocations"] == 2


def test_concurrent_invocations_get_separate_environments(runtime: FunctionRuntime) -> None:
    # Given
    results = []

    def invoke() -> None:
        results.append(runtime.invoke({"sleep": 0.5}))

    # When
    threads = [threading.Thread(target=invoke) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then
    assert all(result.ok for result in results)
    assert len({result.result["pid"] for result in results}) == 2


def test_a_handler_error_is_reported_and_the_environment_kept(runtime: FunctionRuntime) -> None:
    # When
    failed = runtime.invoke({"fail": True})
    after = runtime.invoke({})

    # Then
    assert not failed.ok
    assert failed.error is not None
    assert (failed.error["errorType"], failed.error["errorMessage"]) == ("ValueError", "asked to fail")
    assert after.ok and not after.cold_start


def test_a_timeout_ends_the_environment(tmp_path: Path) -> None:
    # Given
    function = FunctionRuntime(spec_for(tmp_path, timeout=0.5), process_context(), max_concurrency=1)
    try:
        function.invoke({})  # warm it up: a cold start gets extra time for the init phase

        # When
        timed_out = function.invoke({"sleep": 5})
        after = function.invoke({})
    finally:
        function.close()

    # Then
    assert not timed_out.ok
    assert timed_out.error is not None and timed_out.error["errorType"] == "Sandbox.Timedout"
    assert after.ok and after.cold_start


def test_an_import_error_fails_the_invocation(tmp_path: Path) -> None:
    # Given
    function = FunctionRuntime(
        spec_for(tmp_path, source="raise RuntimeError('broken at import')\n"), process_context(), 1
    )
    try:
        # When
        result = function.invoke({})
    finally:
        function.close()

    # Then
    assert not result.ok
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert "broken at import" in result.error["errorMessage"]

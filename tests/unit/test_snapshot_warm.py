"""SnapStart: before the snapshot, a route's validation and the DynamoDB client are built, and nothing
reaches the service or AWS; after a restore, ``random`` is seeded afresh."""

from __future__ import annotations

import importlib
import random
import sys
import types
from typing import Any

import pytest
from workflowsvc import api
from workflowsvc.store import dynamo

ROUTES = [
    ("functions.get_workflow.app", "GET", "/workflows/x"),
    ("functions.list_workflows.app", "GET", "/workflows"),
    ("functions.get_workflowdef.app", "GET", "/workflowdefs/x"),
    ("functions.list_workflowdefs.app", "GET", "/workflowdefs"),
    ("functions.create_workflowdef.app", "POST", "/workflowdefs"),
    ("functions.start_workflow.app", "POST", "/workflows"),
    ("functions.update_workflow_status.app", "PUT", "/workflows/x/status"),
]


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, tuple[Any, ...]]]]:
    """A stand-in for the runtime's ``snapshot_restore_py``: it records what is registered."""
    registered: dict[str, list[tuple[Any, tuple[Any, ...]]]] = {"before": [], "after": []}
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = lambda func, *args: registered["before"].append((func, args))  # type: ignore[attr-defined]
    runtime.register_after_restore = lambda func, *args: registered["after"].append((func, args))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    return registered


def test_without_the_runtime_library_nothing_is_registered() -> None:
    app = importlib.import_module("functions.get_workflowdef.app").app
    assert "snapshot_restore_py" not in sys.modules
    api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflowdefs/x")  # nothing to do, no error


@pytest.mark.parametrize(("module", "method", "path"), ROUTES)
def test_the_hook_validates_one_request_of_the_route_without_reaching_the_service(
    hooks: dict[str, list[tuple[Any, tuple[Any, ...]]]],
    module: str,
    method: str,
    path: str,
    connect_attempts: list[str],
) -> None:
    app = importlib.import_module(module).app
    api.prepare_snapshot(app, method, f"{api.BASE_PATH}{path}")
    hook, args = hooks["before"][-1]

    assert hook(*args) == 400  # nsfilter is missing: the route's validation ran, its handler did not
    assert dynamo.dynamodb_client() is dynamo.dynamodb_client()  # made once, kept in the snapshot
    assert connect_attempts == []


def test_after_a_restore_random_is_seeded_afresh(hooks: dict[str, list[tuple[Any, tuple[Any, ...]]]]) -> None:
    app = importlib.import_module("functions.list_workflows.app").app
    api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflows")
    reseed, args = hooks["after"][-1]

    random.seed(7)
    in_the_snapshot = random.random()
    random.seed(7)
    reseed(*args)
    assert random.random() != in_the_snapshot

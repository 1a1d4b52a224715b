"""A deployed function with a missing setting stops at init, naming it; locally nothing is assumed either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from workflowsvc import config

REPO_ROOT = Path(__file__).resolve().parents[2]


def _import(module: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Imports a function's module in a fresh process, as Lambda's init does."""
    keep = {
        name: value for name, value in os.environ.items() if name.startswith(("AWS_", "POWERTOOLS_", "PATH"))
    }
    for name in ("TABLE_NAME", "TASK_QUEUE_URL", "PAGE_TOKEN_SECRET", "WORKFLOWSVC_ENVIRONMENT"):
        keep.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env={
            **keep,
            "PYTHONPATH": f"{REPO_ROOT / 'layers' / 'shared'}{os.pathsep}{REPO_ROOT}",
            **environment,
        },
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


DEPLOYED = {
    "TABLE_NAME": "workflowsvc-WorkflowTable-1",
    "TASK_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com.invalid/000000000000/workflowsvc-TaskQueue-1",
    "PAGE_TOKEN_SECRET": "s" * 48,
}


@pytest.mark.parametrize(
    ("module", "missing"),
    [
        ("functions.get_workflow.app", "TABLE_NAME"),
        ("functions.task_worker.app", "TASK_QUEUE_URL"),
        ("functions.list_workflows.app", "PAGE_TOKEN_SECRET"),
    ],
)
def test_a_deployed_function_missing_a_setting_fails_at_init_naming_it(module, missing):
    environment = {name: value for name, value in DEPLOYED.items() if name != missing}

    failed = _import(module, environment)

    assert failed.returncode != 0
    assert f"MissingSetting: the environment variable {missing} is not set" in failed.stderr


def test_a_deployed_function_with_every_setting_starts():
    started = _import("functions.list_workflows.app", DEPLOYED)
    assert started.returncode == 0, started.stderr


def test_locally_a_function_without_a_paging_key_signs_with_one_of_its_own(monkeypatch):
    monkeypatch.delenv("PAGE_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("WORKFLOWSVC_ENVIRONMENT", "local")
    config.reset()
    secret = config.get_settings().page_token_secret
    assert len(secret) == 32 and config.get_settings().page_token_secret == secret

"""Time in the rules of execution: retry delays, a task's time limit, the run's deadline."""

from __future__ import annotations

import random
from typing import Any

from workflowsvc.limits import MAX_TASK_TIMEOUT_SECONDS
from workflowsvc.models.run import RunRecord
from workflowsvc.runs import NS

# A task without a timeout of its own may run as long as the longest a task may declare; the call's
# own `_timeoutSeconds` input (30 s by default) usually ends it sooner.
DEFAULT_TASK_TIMEOUT_SECONDS = MAX_TASK_TIMEOUT_SECONDS
LEASE_MARGIN_NS = 30 * NS  # beyond the call's own timeout, before an attempt is presumed lost


def retry_delay_seconds(task: dict[str, Any], attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: FIXED, or EXPONENTIAL (x 2^(attempt-1)) with equal jitter.

    Equal jitter (at least half the backoff, the rest random) rather than full jitter: the definition
    asked for a delay, and full jitter could retry at once; the random half still spreads out the
    retries of runs that failed together.
    """
    configured = task.get("_retryDelaySeconds")
    delay = float(configured) if configured is not None else 1.0
    if task.get("_backoff") == "EXPONENTIAL":
        ceiling = delay * 2 ** (attempt - 1)
        jittered: float = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security
        return jittered
    return delay


def task_timeout_seconds(task: dict[str, Any]) -> float:
    return float(task.get("_timeoutSeconds") or DEFAULT_TASK_TIMEOUT_SECONDS)


def deadline_passed(record: RunRecord, now_ns: int) -> bool:
    """Whether the run is past its timeout under TIME_OUT_WF (ALERT_ONLY runs are never timed out)."""
    deadline = record.state.deadline_ns
    return deadline is not None and now_ns >= deadline and record.run.get("_timeoutPolicy") != "ALERT_ONLY"

"""The value sets of the HTTP API, as types: plain Python, no model is built on import."""

from __future__ import annotations

from typing import Literal

RunStatus = Literal["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]
TaskStatus = Literal[
    "QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED", "SKIPPED"
]
RequestedStatus = Literal["PAUSED", "RESUMED", "RETRIED", "TERMINATED"]
TimeoutPolicy = Literal["TIME_OUT_WF", "ALERT_ONLY"]
Backoff = Literal["FIXED", "EXPONENTIAL"]

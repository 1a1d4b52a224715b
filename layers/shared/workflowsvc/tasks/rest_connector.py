"""REST_CONNECTOR: one HTTP request per attempt (``workflowsvc.http_call``: inputs, output, egress rules)."""

from __future__ import annotations

from typing import Any

from workflowsvc.tasks.base import CallContext, Outcome, TaskType


class RestConnector(TaskType):
    name = "REST_CONNECTOR"

    def call(self, inputs: dict[str, Any], context: CallContext) -> Outcome:
        # Imported here: only the worker makes calls, and the HTTP client is not light.
        from workflowsvc import http_call

        try:
            output = http_call.call(inputs, context.policy, context.timeout_cap)
        except http_call.RestCallFailed as failed:
            return Outcome(
                output=failed.output,
                error=failed.error,
                timed_out=failed.timed_out,
                permanent=failed.permanent,
            )
        return Outcome(output=output)


TASK_TYPE = RestConnector()

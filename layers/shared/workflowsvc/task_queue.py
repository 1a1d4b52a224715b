"""The one module that talks to SQS: step messages for the worker."""

from __future__ import annotations

from typing import Any

from workflowsvc import aws
from workflowsvc.config import get_settings, once_per_process

MAX_DELAY_SECONDS = 900  # SQS's limit; longer waits are left to the sweeper


@once_per_process
def sqs_client() -> Any:
    return aws.client("sqs")


class TaskQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or sqs_client()

    def send_step(self, run_id: str, step: int, task_id: str | None = None, delay_seconds: int = 0) -> None:
        from workflowsvc.models.messages import StepMessage  # a model: built by the functions that send

        message = StepMessage(run_id=run_id, step=step, task_id=task_id)
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.model_dump_json(by_alias=True, exclude_none=True),
            DelaySeconds=max(0, min(int(delay_seconds), MAX_DELAY_SECONDS)),
        )


@once_per_process
def get_task_queue() -> TaskQueue:
    return TaskQueue(get_settings().task_queue_url)

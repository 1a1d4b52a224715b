"""The worker: one step of a run per SQS message (one task attempt), reported per message."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json
from workflowsvc import config
from workflowsvc.execution.worker import get_worker
from workflowsvc.models.messages import StepMessage

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()


class StepRecord(SqsRecordModel):
    body: Json[StepMessage]  # type: ignore[assignment]


processor = BatchProcessor(event_type=EventType.SQS, model=StepRecord)


def record_handler(record: StepRecord) -> None:
    logger.append_keys(run_id=record.body.run_id, step=record.body.step)
    report = get_worker().process(record.body)
    if report.attempted:
        name = "TaskAttemptsSucceeded" if report.succeeded else "TaskAttemptsFailed"
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if report.alerted:
        metrics.add_metric(name="RunTimeoutAlerts", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

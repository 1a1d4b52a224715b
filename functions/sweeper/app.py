"""The sweeper, on a schedule: runs past their timeout, attempts whose worker vanished, lost messages."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import config
from workflowsvc.execution.sweeper import get_sweeper

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = get_sweeper().sweep()
    metrics.add_metric(name="RunsSwept", unit=MetricUnit.Count, value=report.handled)
    if report.alerts:
        metrics.add_metric(name="RunTimeoutAlerts", unit=MetricUnit.Count, value=report.alerts)
    return {"runsHandled": report.handled}

"""The sweeper, on a schedule: runs past their timeout, attempts whose worker vanished, lost messages."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc.engine import get_engine

logger = Logger()
metrics = Metrics()


def record_metric(name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    engine = get_engine()
    engine.record_metric = record_metric
    handled = engine.sweep()
    metrics.add_metric(name="RunsSwept", unit=MetricUnit.Count, value=handled)
    return {"runsHandled": handled}

"""GET /workflowdefs/{workflowDefId}: one workflow definition."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config
from workflowsvc.service import definitions, get_context

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.get(
    f"{api.BASE_PATH}/workflowdefs/<workflowDefId>",
    summary="Get a workflow definition",
    operation_id="getWorkflowDef",
    responses=api.responses(200, "WorkflowDefinition", 404),
    tags=["Workflow definitions"],
)
def get_workflowdef(workflowDefId: str, nsfilter: api.NsFilter) -> Response[str]:
    return api.json_response(definitions.get_definition(get_context(), workflowDefId, api.namespaces(app)))


api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflowdefs/x")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

"""GET /workflows/{workflowId}: one run."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config
from workflowsvc.service import get_context, reading

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.get(
    f"{api.BASE_PATH}/workflows/<workflowId>",
    summary="Get a workflow run",
    operation_id="getWorkflow",
    responses=api.responses(
        200,
        "WorkflowRun",
        404,
        links={
            "UpdateWorkflowStatus": api.link("updateWorkflowStatus", path_workflowId="$response.body#/_id"),
        },
    ),
    tags=["Workflows"],
)
def get_workflow(
    workflowId: str,
    nsfilter: api.NsFilter,
    include_loop_over_tasks: Annotated[
        bool,
        Query(alias="_includeLoopOverTasks", description="Include the tasks of each LOOP_OVER iteration."),
    ] = False,
) -> Response[str]:
    run = reading.get_run(get_context(), workflowId, api.namespaces(app), include_loop_over_tasks)
    return api.json_response(run)


api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflows/x")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

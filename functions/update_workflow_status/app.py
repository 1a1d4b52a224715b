"""PUT /workflows/{workflowId}/status: pause, resume, retry or terminate a run."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config
from workflowsvc.models.api import StatusChangeRequest
from workflowsvc.service import get_context, steering

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.put(
    f"{api.BASE_PATH}/workflows/<workflowId>/status",
    summary="Change the status of a workflow run",
    description="PAUSED from QUEUED or RUNNING; RESUMED from PAUSED; RETRIED from FAILED, TIMED_OUT or "
    "TERMINATED; TERMINATED from QUEUED, RUNNING or PAUSED. Anything else is 409.",
    operation_id="updateWorkflowStatus",
    responses=api.responses(
        200,
        "WorkflowRun",
        404,
        409,
        413,
        415,
        links={
            "GetWorkflow": api.link("getWorkflow", path_workflowId="$response.body#/_id"),
            "UpdateWorkflowStatus": api.link("updateWorkflowStatus", path_workflowId="$response.body#/_id"),
        },
    ),
    tags=["Workflows"],
)
def update_workflow_status(
    workflowId: str,
    nsfilter: api.NsFilter,
    request: Annotated[StatusChangeRequest, Body(embed=False)],
) -> Response[str]:
    run = steering.steer(get_context(), workflowId, api.namespaces(app), request.status, api.caller(app))
    return api.json_response(run)


api.prepare_snapshot(app, "PUT", f"{api.BASE_PATH}/workflows/x/status")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

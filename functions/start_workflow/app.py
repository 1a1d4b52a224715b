"""POST /workflows: start a run of a workflow definition."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config
from workflowsvc.models.api import StartWorkflowRequest
from workflowsvc.service import get_context, starting

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.post(
    f"{api.BASE_PATH}/workflows",
    summary="Start a workflow run",
    operation_id="startWorkflow",
    responses=api.responses(
        201,
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
def start_workflow(
    nsfilter: api.NsFilter,
    request: Annotated[StartWorkflowRequest, Body(embed=False)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retries with the same key and body start one run (24 h).",
            min_length=1,
            max_length=starting.MAX_IDEMPOTENCY_KEY_LENGTH,
            pattern=r"\S",
        ),
    ] = None,
) -> Response[str]:
    created = starting.start_run(
        get_context(), request, api.namespaces(app), api.caller(app), api.header(app, "Idempotency-Key")
    )
    headers = {"Location": api.location(app, f"/workflows/{created.run_id}")}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    else:
        metrics.add_metric(name="RunsStarted", unit=MetricUnit.Count, value=1)
    return api.json_response(created.body, status=created.status, headers=headers)


api.prepare_snapshot(app, "POST", f"{api.BASE_PATH}/workflows")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

"""POST /workflowdefs: create a workflow definition."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config
from workflowsvc.models.api import WorkflowDefinitionRequest
from workflowsvc.service import definitions, get_context

config.check_at_init()  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.post(
    f"{api.BASE_PATH}/workflowdefs",
    summary="Create a workflow definition",
    operation_id="createWorkflowDef",
    responses=api.responses(
        201,
        "WorkflowDefinition",
        413,
        415,
        links={
            "GetWorkflowDef": api.link("getWorkflowDef", path_workflowDefId="$response.body#/_id"),
            "StartWorkflow": api.link("startWorkflow", body={"_workflowDefId": "$response.body#/_id"}),
        },
    ),
    tags=["Workflow definitions"],
)
def create_workflowdef(
    nsfilter: api.NsFilter,
    request: Annotated[WorkflowDefinitionRequest, Body(embed=False)],
) -> Response[str]:
    definition = definitions.create_definition(get_context(), request, api.namespaces(app), api.caller(app))
    headers = {"Location": api.location(app, f"/workflowdefs/{definition['_id']}")}
    return api.json_response(definition, status=201, headers=headers)


api.prepare_snapshot(app, "POST", f"{api.BASE_PATH}/workflowdefs")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

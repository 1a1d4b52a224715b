"""GET /workflowdefs: list workflow definitions, newest first."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config, queries
from workflowsvc.service import definitions, get_context

config.check_at_init(pages=True)  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.get(
    f"{api.BASE_PATH}/workflowdefs",
    summary="List workflow definitions",
    operation_id="listWorkflowDefs",
    responses=api.responses(200, "DefinitionPage"),
    tags=["Workflow definitions"],
)
def list_workflowdefs(
    nsfilter: api.NsFilter,
    page_size: api.PageSize = None,
    page_size_lower: api.PageSizeLower = None,
    offset: api.Offset = None,
    name: Annotated[
        str | None, Query(alias="_name", max_length=128, description="Substring, any case.")
    ] = None,
    next_token: api.NextToken = None,
) -> Response[str]:
    query = queries.DefinitionListQuery(
        namespaces=api.namespaces(app),
        name=name.lower() if name else None,
        offset=offset or 0,
        page_size=page_size or page_size_lower or queries.DEFAULT_PAGE_SIZE,
        next_token=next_token or None,
    )
    return api.json_response(definitions.list_definitions(get_context(), query))


api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflowdefs")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

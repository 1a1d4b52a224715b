"""GET /workflows: list runs with filters, sorting and paging."""

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from workflowsvc import api, config, queries
from workflowsvc.service import get_context, listing

config.check_at_init(pages=True)  # a missing setting stops the function here, named
logger = Logger()
metrics = Metrics()
app = api.make_resolver()


@app.get(
    f"{api.BASE_PATH}/workflows",
    summary="List workflow runs",
    operation_id="listWorkflows",
    responses=api.responses(200, "RunPage"),
    tags=["Workflows"],
)
def list_workflows(
    nsfilter: api.NsFilter,
    page_size: api.PageSize = None,
    page_size_lower: api.PageSizeLower = None,
    offset: api.Offset = None,
    name: Annotated[
        str | None, Query(alias="_name", max_length=128, description="Substring, any case.")
    ] = None,
    def_id: Annotated[str | None, Query(alias="_defId", max_length=64)] = None,
    status: Annotated[
        str | None,
        Query(
            alias="_status",
            max_length=200,
            description="One or several, comma-separated.",
            json_schema_extra={"pattern": api.RUN_STATUS_LIST_PATTERN},
        ),
    ] = None,
    start_date: Annotated[
        str | None,
        Query(
            alias="startDate",
            max_length=40,
            description="A date (the start of that day) or an RFC 3339 timestamp; inclusive.",
            json_schema_extra=api.DATE_FILTER,
        ),
    ] = None,
    start_date_lower: Annotated[
        str | None,
        Query(
            alias="startdate",
            max_length=40,
            description="Same as startDate.",
            json_schema_extra=api.DATE_FILTER,
        ),
    ] = None,
    end_date: Annotated[
        str | None,
        Query(
            alias="endDate",
            max_length=40,
            description="A date (that whole day) or an RFC 3339 timestamp; inclusive.",
            json_schema_extra=api.DATE_FILTER,
        ),
    ] = None,
    end_date_lower: Annotated[
        str | None,
        Query(
            alias="enddate", max_length=40, description="Same as endDate.", json_schema_extra=api.DATE_FILTER
        ),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=300,
            description="A JSON object of fields to 1 (ascending) or -1 (descending), applied in order, "
            'e.g. {"_updatedAt":-1,"_name":1}.',
            json_schema_extra=api.json_query(
                {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"enum": list(queries.SORTABLE_FIELDS)},
                    "additionalProperties": {"enum": [1, -1]},
                }
            ),
        ),
    ] = None,
    next_token: api.NextToken = None,
) -> Response[str]:
    query = queries.build_list_query(
        api.namespaces(app),
        name=name,
        def_id=def_id,
        status=status,
        start_date=start_date or start_date_lower,
        end_date=end_date or end_date_lower,
        sort=sort,
        offset=offset,
        page_size=page_size or page_size_lower,
        next_token=next_token,
    )
    return api.json_response(listing.list_runs(get_context(), query))


api.prepare_snapshot(app, "GET", f"{api.BASE_PATH}/workflows")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return api.handle(app, event, context)

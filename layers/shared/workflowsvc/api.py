"""The HTTP edge shared by the API functions: resolver, pre-checks, error bodies.

Checks run in the contract's order: 401 (no identity) -> 400 (nsfilter) -> 403 (namespace not granted)
-> 413 (body too large) -> 400 (parameters and body, by Powertools' validation; 415 for a body that is
not JSON) -> 404 -> 409. Powertools validates a request before any middleware runs, so the first four
happen here, before ``app.resolve``.

The OpenAPI document (``openapi_document``) says what the checks accept as precisely as a JSON schema can,
so that a client, or a fuzzer, can tell a valid request from an invalid one.
"""

from __future__ import annotations

import json
import random
import re
from http import HTTPStatus
from typing import Annotated, Any, get_args
from urllib.parse import quote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseContentSchema
from aws_lambda_powertools.utilities.typing import LambdaContext

from workflowsvc.config import get_settings
from workflowsvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    WorkflowError,
)
from workflowsvc.identity import MAX_NAMESPACES_PER_REQUEST, Caller, caller_from_claims, parse_nsfilter
from workflowsvc.limits import MAX_BODY_BYTES
from workflowsvc.models.values import RunStatus
from workflowsvc.queries import MAX_PAGE_SIZE

BASE_PATH = "/workflowsvc/api/v1"

logger = Logger(child=True)

_STATUS_OF: dict[type[WorkflowError], HTTPStatus] = {
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    BadRequest: HTTPStatus.BAD_REQUEST,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    UnsupportedMediaType: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
}

_ERROR_DESCRIPTIONS = {
    400: "Bad input: malformed JSON, missing or malformed nsfilter, a field of a wrong type or out of range",
    401: "No authenticated identity",
    403: "The caller may not use a namespace named in nsfilter",
    404: "No such resource in the namespaces of nsfilter",
    409: "The current status does not allow the change, or an Idempotency-Key was reused with another body",
    413: f"The request body is over {MAX_BODY_BYTES // 1024} KiB",
    415: "The request body is not sent as application/json",
}

# What ``identity.parse_nsfilter`` accepts, for the OpenAPI document only (the pre-checks validate it, with
# their own error): names of letters, digits, '_', '.', '-' (at most 128), around which blanks are ignored.
_NAMESPACE_PATTERN = r"\s*[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}\s*"
NSFILTER_PATTERN = f"^{_NAMESPACE_PATTERN}(,{_NAMESPACE_PATTERN}){{0,{MAX_NAMESPACES_PER_REQUEST - 1}}}$"

NsFilter = Annotated[
    str,
    Query(
        description=f"One namespace, or several (at most {MAX_NAMESPACES_PER_REQUEST}) separated by commas. "
        "Required on every call.",
        min_length=1,
        max_length=1400,
        examples=["demo"],
        json_schema_extra={"pattern": NSFILTER_PATTERN},
    ),
]

# The paging parameters every list call takes (both spellings of the page size, as the seed writes them).
PageSize = Annotated[
    int | None, Query(alias="_pageSize", ge=1, le=MAX_PAGE_SIZE, description="1 to 100; default 10.")
]
PageSizeLower = Annotated[
    int | None, Query(alias="_pagesize", ge=1, le=MAX_PAGE_SIZE, description="Same as _pageSize.")
]
Offset = Annotated[int | None, Query(alias="_offset", ge=0, le=1_000_000)]
NextToken = Annotated[
    str | None,
    Query(
        alias="_nextToken",
        max_length=2048,
        description="The _nextToken of the previous page of this same query (opaque).",
    ),
]


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# Query parameters of the list of runs, documented as the service reads them (in the OpenAPI document only:
# the handler validates them, with its own errors).
_RUN_STATUS = r"\s*(" + "|".join(_any_case(status) for status in get_args(RunStatus)) + r")\s*"
# Nothing (no filter), or one or more run statuses separated by commas, in any case.
RUN_STATUS_LIST_PATTERN = rf"^\s*$|^{_RUN_STATUS}(,{_RUN_STATUS})*$"
# A date, or an RFC 3339 timestamp (nanoseconds at most); empty is no filter.
DATE_FILTER: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$",
        },
        {"const": ""},
    ]
}


def json_query(schema: dict[str, Any]) -> dict[str, Any]:
    """``json_schema_extra`` of a query parameter that carries JSON: documented as ``content``."""
    return {"contentMediaType": "application/json", "contentSchema": schema}


def link(operation_id: str, *, body: dict[str, Any] | None = None, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to ``operation_id``; parameters as ``path_workflowId="$response.body#/_id"``
    (``<location>_<name>``), and the request's ``nsfilter`` carried over."""
    values = {"query.nsfilter": "$request.query.nsfilter"}
    values.update({name.replace("_", ".", 1): value for name, value in parameters.items()})
    found: dict[str, Any] = {"operationId": operation_id, "parameters": values}
    if body is not None:
        found["requestBody"] = body
    return found


_COMPONENT = "#/components/schemas/{model}"


def _schema_of(model: str) -> OpenAPIResponseContentSchema:
    # A reference by name, not the model: Powertools would build a TypeAdapter for each model a route's
    # responses name, on its first request, though only the OpenAPI document reads it. The document gets
    # the schemas of ``models.responses`` from ``openapi_document``.
    return {"schema": {"$ref": _COMPONENT.format(model=model)}}


def responses(
    success: int,
    model: str,
    *errors: int,
    links: dict[str, dict[str, Any]] | None = None,
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: the success body, a model of ``models.responses`` named by its class
    name (with ``Location`` on a 201, and the links to what can follow), and each error status with the
    error body."""
    answer: OpenAPIResponse = {
        "description": HTTPStatus(success).phrase,
        "content": {"application/json": _schema_of(model)},
    }
    if success == HTTPStatus.CREATED:
        answer["headers"] = {
            "Location": {"description": "The path of the resource created.", "schema": {"type": "string"}}
        }
    if links:
        answer["links"] = links
    documented: dict[int, OpenAPIResponse] = {success: answer}
    for status in sorted({400, 401, 403, *errors}):
        documented[status] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": _schema_of("ErrorBody")},
        }
    return documented


def error_response(error: WorkflowError) -> Response[str]:
    status = next(
        (mapped for cls, mapped in _STATUS_OF.items() if isinstance(error, cls)), HTTPStatus.BAD_REQUEST
    )
    return _error_body(status, error.code, error.message)


def _error_body(status: int, code: str, message: str) -> Response[str]:
    body = {"_error": {"_code": code, "_message": message}}
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else []
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def _shorten(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def validation_message(error: RequestValidationError) -> str:
    details = []
    for problem in list(error.errors())[:5]:
        loc = tuple(problem.get("loc") or ())
        kind = problem.get("type", "")
        if kind == "json_invalid":
            details.append(f"body: malformed JSON ({problem.get('ctx', {}).get('error', 'cannot parse')})")
            continue
        field = _field(loc)
        if kind == "missing":
            details.append(f"{field}: required")
        elif kind == "extra_forbidden":
            details.append(f"{field}: unknown field")
        else:
            details.append(f"{field}: {problem.get('msg', 'invalid')} (got {_shorten(problem.get('input'))})")
    return "; ".join(details) or "the request is not valid"


class _HttpResolver(APIGatewayHttpResolver):
    """A path parameter takes a whole path segment, whatever its characters, as API Gateway's ``{name}``
    does: a run id such as ``%C3%B7`` reaches the handler (and is a 404 there, after the body is checked)
    instead of missing every route."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}$") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", rule)))


def make_resolver() -> APIGatewayHttpResolver:
    app = _HttpResolver(enable_validation=True)

    @app.not_found
    def _no_route(error: NotFoundError) -> Response[str]:
        event = app.current_event
        return error_response(NotFound(f"no route for {event.http_method} {event.path}", code="NOT_FOUND"))

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[str]:
        return error_response(BadRequest(validation_message(error), code="INVALID_PARAMETER"))

    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def _not_utf8(error: UnicodeDecodeError) -> Response[str]:
        # Powertools decodes the body before parsing it as JSON: bytes that are not UTF-8 end here.
        return error_response(
            BadRequest(
                f"body: malformed JSON (not UTF-8: byte {error.object[error.start : error.start + 1]!r} "
                f"at position {error.start})",
                code="INVALID_PARAMETER",
            )
        )

    @app.exception_handler(WorkflowError)  # type: ignore[untyped-decorator]
    def _domain(error: WorkflowError) -> Response[str]:
        return error_response(error)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        # The log line carries the request id (the correlation id) and the traceback; the answer no internals.
        logger.exception("unexpected error", exc_info=error)
        return _error_body(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "an internal error occurred; it has been logged",
        )

    return app


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode()) if isinstance(body, str) else len(body)


def _claims(event: dict[str, Any]) -> dict[str, Any] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    jwt = authorizer.get("jwt") or {}
    claims = jwt.get("claims")
    return claims if isinstance(claims, dict) else None


_METHODS_WITH_A_BODY = frozenset({"POST", "PUT", "PATCH"})


def _json_body(event: dict[str, Any]) -> None:
    """A request body is JSON: said so, or unsaid (then read as JSON); any other media type is a 415,
    with a body or without one, before Powertools tries to read it as a form."""
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method", "")).upper()
    if method not in _METHODS_WITH_A_BODY:
        return
    headers = event.setdefault("headers", {})
    name = next((key for key in headers if key.lower() == "content-type"), None)
    if name is None:
        headers["content-type"] = "application/json"
        return
    media_type = headers[name].split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type: {_shorten(headers[name])} is not accepted; send the body as application/json"
        )


def precheck(event: dict[str, Any]) -> tuple[Caller, tuple[str, ...]]:
    settings = get_settings()
    caller = caller_from_claims(_claims(event), settings.namespaces_claim)
    query = event.get("queryStringParameters") or {}
    namespaces = parse_nsfilter(query.get("nsfilter"))
    caller.authorize(namespaces)
    if _body_size(event) > MAX_BODY_BYTES:
        raise PayloadTooLarge(
            f"body: {_body_size(event)} bytes is over the limit of {MAX_BODY_BYTES} bytes (256 KiB)",
            code="PAYLOAD_TOO_LARGE",
        )
    _json_body(event)
    return caller, namespaces


def handle(app: APIGatewayHttpResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point of every API function: the pre-checks, then the route."""
    try:
        caller, namespaces = precheck(event)
    except WorkflowError as error:
        response = error_response(error)
        return {
            "statusCode": int(response.status_code),
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": response.body,
            "isBase64Encoded": False,
        }
    app.append_context(caller=caller, namespaces=namespaces)  # type: ignore[no-untyped-call]
    return app.resolve(event, context)


def prepare_snapshot(app: APIGatewayHttpResolver, method: str, path: str) -> None:
    """Under Lambda SnapStart, do before the snapshot what a cold start would do on the first request.

    Powertools builds a route's validation on the route's first request, and the DynamoDB client is made
    on first use. With SnapStart, init runs once per published version, off every caller's path, and its
    memory is restored for each new execution environment: both are done there. ``random``'s state is
    restored too, the same in every environment, so it is seeded afresh after each restore (jitter and
    the choice of a counter item must differ between environments). ``snapshot_restore_py`` ships with
    Lambda's Python runtimes; elsewhere (tests, the local run, a function without SnapStart) nothing is
    registered.
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return
    register_before_snapshot(warm, app, method, path)
    register_after_restore(random.seed)


def warm(app: APIGatewayHttpResolver, method: str, path: str) -> int:
    """One request without ``nsfilter`` through the resolver: the route's validation is built and run, the
    request fails it (400), nothing reaches the service or AWS. Answers the status."""
    from workflowsvc.store.dynamo import dynamodb_client

    dynamodb_client()
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "body": "{}" if method in _METHODS_WITH_A_BODY else None,
        "isBase64Encoded": False,
    }
    answer = app.resolve(event, None)  # type: ignore[arg-type]
    return int(answer["statusCode"])


def caller(app: APIGatewayHttpResolver) -> Caller:
    found: Caller = app.context["caller"]
    return found


def namespaces(app: APIGatewayHttpResolver) -> tuple[str, ...]:
    found: tuple[str, ...] = app.context["namespaces"]
    return found


def location(app: APIGatewayHttpResolver, path: str) -> str:
    """A ``Location`` header value: the checked namespaces, never the raw query text (no CR/LF can pass)."""
    return f"{BASE_PATH}{path}?nsfilter={quote(','.join(namespaces(app)), safe=',')}"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=text, headers=headers
    )


def header(app: APIGatewayHttpResolver, name: str) -> str | None:
    value: str | None = app.current_event.headers.get(name)  # case-insensitive in Powertools
    return value


def openapi_document(resolvers: list[APIGatewayHttpResolver], title: str, version: str) -> dict[str, Any]:
    """One OpenAPI document for every function's resolver.

    Powertools documents a 422 for validation errors on every route; this service answers 400 with
    the error body instead (see ``make_resolver``), so the 422s and their schemas are dropped.
    """
    merged: dict[str, Any] = {}
    response_schemas = _response_schemas()
    for resolver in resolvers:
        schema = json.loads(resolver.get_openapi_json_schema(title=title, version=version))
        if not merged:
            merged = schema
            merged.setdefault("paths", {})
            merged.setdefault("components", {}).setdefault("schemas", {})
            continue
        for path, operations in schema.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        merged["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
    for name, found in response_schemas.items():
        merged["components"]["schemas"].setdefault(name, found)
    for operations in merged.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
                for parameter in operation.get("parameters", []):
                    _json_parameter(parameter)
    _drop_unreferenced_schemas(merged)
    return merged


def _response_schemas() -> dict[str, Any]:
    """The schemas of every response model, as Powertools writes a route's response models: their
    serialization schema, nested models as components of their own."""
    from pydantic import BaseModel, TypeAdapter
    from pydantic.json_schema import GenerateJsonSchema

    from workflowsvc.models import responses as models

    shapes: list[type[BaseModel]] = [
        models.Task,
        models.WorkflowRun,
        models.RunPage,
        models.WorkflowDefinition,
        models.DefinitionPage,
        models.ErrorDetail,
        models.ErrorBody,
    ]
    generator = GenerateJsonSchema(ref_template=_COMPONENT)
    _, definitions = generator.generate_definitions(
        inputs=[(shape.__name__, "serialization", TypeAdapter(shape).core_schema) for shape in shapes]
    )
    # Powertools writes the document without nulls: no ``"default": null``.
    return {name: _without_nulls(found) for name, found in definitions.items()}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _json_parameter(parameter: dict[str, Any]) -> None:
    """A parameter declared with ``json_query``: its value is JSON, so it is documented with ``content``."""
    schema = parameter.get("schema") or {}
    branches = [schema, *schema.get("anyOf", [])]
    found = next((branch for branch in branches if "contentSchema" in branch), None)
    if found is None or found.get("contentMediaType") != "application/json":
        return
    del parameter["schema"]
    parameter["content"] = {"application/json": {"schema": found["contentSchema"]}}


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Component schemas that nothing refers to any more (Powertools' validation-error models)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})

    def references(value: Any) -> set[str]:
        return set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(value)))

    reachable = references({key: value for key, value in document.items() if key != "components"})
    pending = list(reachable)
    while pending:
        for name in references(schemas.get(pending.pop(), {})) - reachable:
            reachable.add(name)
            pending.append(name)
    for name in [name for name in schemas if name not in reachable]:
        del schemas[name]

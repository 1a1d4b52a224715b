"""The HTTP edge shared by the API functions: resolver, pre-checks, error bodies.

Checks run in the contract's order: 401 (no identity) -> 400 (nsfilter) -> 403 (namespace not granted)
-> 413 (body too large) -> 400 (parameters and body, by Powertools' validation) -> 404 -> 409.
Powertools validates a request before any middleware runs, so the first four happen here, before
``app.resolve``.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from workflowsvc.config import get_settings
from workflowsvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    WorkflowError,
)
from workflowsvc.identity import Caller, caller_from_claims, parse_nsfilter
from workflowsvc.models.api import MAX_BODY_BYTES, ErrorBody

BASE_PATH = "/workflowsvc/api/v1"

logger = Logger(child=True)

_STATUS_OF: dict[type[WorkflowError], HTTPStatus] = {
    Unauthorized: HTTPStatus.UNAUTHORIZED,
    BadRequest: HTTPStatus.BAD_REQUEST,
    Forbidden: HTTPStatus.FORBIDDEN,
    NotFound: HTTPStatus.NOT_FOUND,
    Conflict: HTTPStatus.CONFLICT,
    PayloadTooLarge: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
}

_ERROR_DESCRIPTIONS = {
    400: "Bad input: malformed JSON, missing or malformed nsfilter, a field of a wrong type or out of range",
    401: "No authenticated identity",
    403: "The caller may not use a namespace named in nsfilter",
    404: "No such resource in the namespaces of nsfilter",
    409: "The current status does not allow the change, or an Idempotency-Key was reused with another body",
    413: f"The request body is over {MAX_BODY_BYTES // 1024} KiB",
}

NsFilter = Annotated[
    str,
    Query(
        description="One namespace, or several separated by commas. Required on every call.",
        min_length=1,
        max_length=1400,
    ),
]


def responses(success: int, model: Any, *errors: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: the success body and each error status with the error body."""
    documented: dict[int, OpenAPIResponse] = {
        success: {
            "description": HTTPStatus(success).phrase,
            "content": {"application/json": {"model": model}},
        }
    }
    for status in sorted({400, 401, 403, *errors}):
        documented[status] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return documented


def error_response(error: WorkflowError) -> Response[str]:
    status = next(
        (mapped for cls, mapped in _STATUS_OF.items() if isinstance(error, cls)), HTTPStatus.BAD_REQUEST
    )
    body = {"_error": {"_code": error.code, "_message": error.message}}
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


def make_resolver() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[str]:
        return error_response(BadRequest(validation_message(error), code="INVALID_PARAMETER"))

    @app.exception_handler(WorkflowError)  # type: ignore[untyped-decorator]
    def _domain(error: WorkflowError) -> Response[str]:
        return error_response(error)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        # The log line carries the request id (the correlation id); the answer carries no internals.
        logger.exception("unexpected error")
        body = {
            "_error": {
                "_code": "INTERNAL_ERROR",
                "_message": "an internal error occurred; it has been logged",
            }
        }
        return Response(status_code=500, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))

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


def caller(app: APIGatewayHttpResolver) -> Caller:
    found: Caller = app.context["caller"]
    return found


def namespaces(app: APIGatewayHttpResolver) -> tuple[str, ...]:
    found: tuple[str, ...] = app.context["namespaces"]
    return found


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=text, headers=headers
    )


def header(app: APIGatewayHttpResolver, name: str) -> str | None:
    value: str | None = app.current_event.get_header_value(name, case_sensitive=False)
    return value


def openapi_document(resolvers: list[APIGatewayHttpResolver], title: str, version: str) -> dict[str, Any]:
    """One OpenAPI document for every function's resolver.

    Powertools documents a 422 for validation errors on every route; this service answers 400 with
    the error body instead (see ``make_resolver``), so the 422s and their schemas are dropped.
    """
    merged: dict[str, Any] = {}
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
    for operations in merged.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    for unused in ("HTTPValidationError", "ValidationError"):
        merged.get("components", {}).get("schemas", {}).pop(unused, None)
    return merged

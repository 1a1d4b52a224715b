"""The API's own description, served by the local server: the OpenAPI document and the docs page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

BASE_PATH = "/workflowsvc/api/v1"
# Every route, its success status, and the error statuses it must document (where each applies).
ROUTES = {
    ("post", f"{BASE_PATH}/workflowdefs"): ("201", {"400", "401", "403", "413"}),
    ("get", f"{BASE_PATH}/workflowdefs"): ("200", {"400", "401", "403"}),
    ("get", f"{BASE_PATH}/workflowdefs/{{workflowDefId}}"): ("200", {"400", "401", "403", "404"}),
    ("post", f"{BASE_PATH}/workflows"): ("201", {"400", "401", "403", "404", "409", "413"}),
    ("get", f"{BASE_PATH}/workflows"): ("200", {"400", "401", "403"}),
    ("get", f"{BASE_PATH}/workflows/{{workflowId}}"): ("200", {"400", "401", "403", "404"}),
    ("put", f"{BASE_PATH}/workflows/{{workflowId}}/status"): (
        "200",
        {"400", "401", "403", "404", "409", "413"},
    ),
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document(local_server: str, http: Callable[..., Any]) -> dict[str, Any]:
    result = http("GET", f"{local_server}{BASE_PATH}/openapi.json")
    assert result.status == 200, result
    assert result.header("Content-Type") == "application/json"
    found: dict[str, Any] = result.json()
    return found


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = document["components"]["schemas"][name]
    return schema


def test_the_openapi_document_lists_every_route_and_only_those(document: dict[str, Any]) -> None:
    # Then
    assert document["openapi"].startswith("3.")
    assert set(operations(document)) == set(ROUTES)


@pytest.mark.parametrize(("method", "path"), sorted(ROUTES), ids=[f"{m} {p}" for m, p in sorted(ROUTES)])
def test_each_route_documents_its_success_and_its_error_answers(
    document: dict[str, Any], method: str, path: str
) -> None:
    # Given
    success, errors = ROUTES[(method, path)]
    responses = operations(document)[(method, path)]["responses"]

    # Then
    assert success in responses
    documented_errors = set(responses) - {success}
    assert documented_errors >= errors
    assert all(status.startswith("4") for status in documented_errors), documented_errors
    for status in documented_errors:
        schema = resolve(document, responses[status]["content"]["application/json"]["schema"])
        assert "_error" in schema["properties"], (status, schema)
        detail = resolve(document, schema["properties"]["_error"])
        assert {"_code", "_message"} <= set(detail["properties"])
        assert responses[status]["description"]


def test_the_openapi_document_mentions_no_422(document: dict[str, Any]) -> None:
    # Then
    for key, operation in operations(document).items():
        assert "422" not in operation["responses"], key
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])
    assert '"422"' not in json.dumps(document)


def test_the_openapi_document_describes_the_query_parameters_of_the_list(document: dict[str, Any]) -> None:
    # Given
    parameters = operations(document)[("get", f"{BASE_PATH}/workflows")]["parameters"]

    # Then
    names = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
    assert names >= {"nsfilter", "_pageSize", "_offset", "_name", "_defId", "_status", "startDate", "endDate"}
    assert names >= {"sort", "_nextToken"}
    [nsfilter] = [parameter for parameter in parameters if parameter["name"] == "nsfilter"]
    assert nsfilter["required"] is True


def test_the_docs_page_answers_html(local_server: str, http: Callable[..., Any]) -> None:
    # When
    page = http("GET", f"{local_server}{BASE_PATH}/docs")

    # Then
    assert page.status == 200, page
    assert (page.header("Content-Type") or "").startswith("text/html")
    assert "<html" in page.text.lower()
    assert "openapi.json" in page.text or '"paths"' in page.text

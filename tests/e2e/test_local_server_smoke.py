"""The local server answers as API Gateway would in front of the functions, and its worker runs tasks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

BASE_PATH = "/workflowsvc/api/v1"
WORKFLOW_PATHS = {
    f"{BASE_PATH}/workflows",
    f"{BASE_PATH}/workflows/{{workflowId}}",
    f"{BASE_PATH}/workflows/{{workflowId}}/status",
    f"{BASE_PATH}/workflowdefs",
    f"{BASE_PATH}/workflowdefs/{{workflowDefId}}",
}


def test_an_unknown_path_is_a_404_error_body(local_server: str, http: Callable[..., Any]) -> None:
    # When
    result = http("GET", f"{local_server}{BASE_PATH}/no-such-thing")

    # Then
    assert result.status == 404
    assert result.header("Content-Type") == "application/json"
    assert result.json()["_error"]["_code"] == "NOT_FOUND"
    assert "/no-such-thing" in result.json()["_error"]["_message"]


def test_a_known_path_with_another_method_is_a_405_with_allow(api: Any) -> None:
    # When
    result = api.delete("/workflows")

    # Then
    assert result.status == 405
    assert result.header("Allow") == "GET, POST"
    assert result.json()["_error"]["_code"] == "METHOD_NOT_ALLOWED"


def test_a_malformed_bearer_token_is_a_401(api: Any, namespace: str) -> None:
    # When
    result = api.get(
        "/workflows", params={"nsfilter": namespace}, headers={"Authorization": "Bearer not-a-jwt"}
    )

    # Then
    assert result.status == 401
    assert result.json()["_error"]["_code"] == "UNAUTHORIZED"


def test_the_openapi_document_has_every_workflow_path(local_server: str, http: Callable[..., Any]) -> None:
    # When
    result = http("GET", f"{local_server}{BASE_PATH}/openapi.json")

    # Then
    assert result.status == 200
    document = result.json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= WORKFLOW_PATHS
    assert set(document["paths"][f"{BASE_PATH}/workflows"]) >= {"get", "post"}


def test_the_docs_page_is_swagger_ui(local_server: str, http: Callable[..., Any]) -> None:
    # When
    page = http("GET", f"{local_server}{BASE_PATH}/docs")
    script = http("GET", f"{local_server}{BASE_PATH}/docs/swagger-ui-bundle.min.js")

    # Then
    assert page.status == 200
    assert "text/html" in (page.header("Content-Type") or "")
    assert "SwaggerUIBundle" in page.text
    assert script.status == 200


def test_a_caller_sees_only_the_namespaces_of_its_token(api: Any, namespace: str) -> None:
    # Given
    caller = api.as_caller(sub="alice", namespaces=["other-ns"])

    # When
    refused = caller.get("/workflows", params={"nsfilter": namespace})
    allowed = caller.get("/workflows", params={"nsfilter": "other-ns"})

    # Then
    assert refused.status == 403
    assert allowed.status == 200


def test_the_worker_runs_a_workflow_to_completion(
    api: Any, target: Any, namespace: str, wait_for_run: Callable[..., dict[str, Any]]
) -> None:
    # Given
    target.program("/device", (503, {"busy": True}), (200, {"temperature": 21}))
    definition = api.post(
        "/workflowdefs",
        params={"nsfilter": namespace},
        json={
            "_name": "smoke",
            "_tasks": [
                {"_name": "read", "_type": "REST_CONNECTOR", "_retryCount": 1, "_retryDelaySeconds": 1},
            ],
        },
    )
    assert definition.status == 201, definition

    # When
    started = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        json={
            "_workflowDefId": definition.json()["_id"],
            "_inputParams": {"_url": target.url_for("/device")},
        },
    )

    # Then
    assert started.status == 201, started
    run = wait_for_run(started.json()["_id"], namespace, {"COMPLETED", "FAILED"})
    assert run["_status"] == "COMPLETED", run
    assert run["_output"]["_body"] == {"temperature": 21}
    assert target.calls("/device") == 2

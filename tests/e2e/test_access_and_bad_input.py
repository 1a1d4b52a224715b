"""What a caller sees when a request may not or cannot be served: 401, 403, 404, 400 naming the field, 413."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

MAX_BODY_BYTES = 256 * 1024
REST_TASKS = [{"_name": "call", "_type": "REST_CONNECTOR"}]


def error_of(result: Any) -> dict[str, str]:
    assert result.header("Content-Type") == "application/json", result
    error: dict[str, str] = result.json()["_error"]
    assert error["_code"] and error["_message"], error
    return error


@pytest.fixture
def existing_run(
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """A run started in ``namespace``."""
    definition = define_workflow(namespace, REST_TASKS)
    return start_run(namespace, definition["_id"], {"_url": target.url_for("/ok")})


# ------------------------------------------------------------------ 401


@pytest.mark.parametrize("authorization", ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer "])
def test_a_malformed_bearer_token_is_a_401_on_every_route(
    api: Any, namespace: str, existing_run: dict[str, Any], authorization: str
) -> None:
    # Given
    caller = api.with_headers(Authorization=authorization)
    run_path = f"/workflows/{existing_run['_id']}"
    params = {"nsfilter": namespace}

    # When
    answers = {
        "list": caller.get("/workflows", params=params),
        "get": caller.get(run_path, params=params),
        "start": caller.post(
            "/workflows", params=params, json={"_workflowDefId": existing_run["_workflowDefId"]}
        ),
        "status": caller.put(f"{run_path}/status", params=params, json={"_status": "TERMINATED"}),
    }

    # Then
    assert {name: answer.status for name, answer in answers.items()} == dict.fromkeys(answers, 401)
    for answer in answers.values():
        assert error_of(answer)["_code"] == "UNAUTHORIZED"
        assert "Bearer" in (answer.header("WWW-Authenticate") or "")
    assert api.get(run_path, params=params).json()["_status"] != "TERMINATED"


def test_a_token_without_a_subject_is_a_401(api: Any, namespace: str) -> None:
    # Given
    caller = api.as_caller(sub="", namespaces="*")

    # When
    result = caller.get("/workflows", params={"nsfilter": namespace})

    # Then
    assert result.status == 401, result
    assert error_of(result)["_code"] == "UNAUTHORIZED"


# ------------------------------------------------------------------ 403 and 404


def test_a_namespace_missing_from_the_callers_token_is_a_403(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # Given
    bob = api.as_caller(sub="bob", namespaces=["bobs-team"])

    # When
    answers = [
        bob.get("/workflows", params={"nsfilter": namespace}),
        bob.get("/workflows", params={"nsfilter": f"bobs-team,{namespace}"}),
        bob.get(f"/workflows/{existing_run['_id']}", params={"nsfilter": namespace}),
        bob.post(
            "/workflows",
            params={"nsfilter": namespace},
            json={"_workflowDefId": existing_run["_workflowDefId"]},
        ),
        bob.put(
            f"/workflows/{existing_run['_id']}/status",
            params={"nsfilter": namespace},
            json={"_status": "TERMINATED"},
        ),
    ]

    # Then
    assert [answer.status for answer in answers] == [403] * len(answers), answers
    for answer in answers:
        message = error_of(answer)["_message"]
        assert "nsfilter" in message
        assert namespace in message
    assert bob.get("/workflows", params={"nsfilter": "bobs-team"}).status == 200
    assert api.get("/workflows", params={"nsfilter": namespace}).json()["_total"] == 1


def test_a_namespaces_claim_as_a_comma_separated_string_grants_each_namespace(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # Given
    carol = api.as_caller(sub="carol", namespaces=f"elsewhere,{namespace}")

    # When
    result = carol.get(f"/workflows/{existing_run['_id']}", params={"nsfilter": namespace})

    # Then
    assert result.status == 200, result
    assert result.json()["_id"] == existing_run["_id"]


def test_another_namespaces_run_is_a_404_not_a_403(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # Given
    other_namespace = f"{namespace}-other"
    dave = api.as_caller(sub="dave", namespaces=[other_namespace])
    run_path = f"/workflows/{existing_run['_id']}"

    # When
    read = dave.get(run_path, params={"nsfilter": other_namespace})
    changed = dave.put(f"{run_path}/status", params={"nsfilter": other_namespace}, json={"_status": "PAUSED"})
    read_by_developer = api.get(run_path, params={"nsfilter": other_namespace})

    # Then
    for answer in (read, changed, read_by_developer):
        assert answer.status == 404, answer
        assert error_of(answer)["_code"].endswith("NOT_FOUND")
    assert api.get(run_path, params={"nsfilter": namespace}).status == 200


def test_an_unknown_run_id_is_a_404(api: Any, namespace: str) -> None:
    # When
    unknown = api.get(f"/workflows/{uuid.uuid4()}", params={"nsfilter": namespace})
    not_a_uuid = api.get("/workflows/not-a-run", params={"nsfilter": namespace})

    # Then
    assert unknown.status == 404, unknown
    assert not_a_uuid.status == 404, not_a_uuid
    assert error_of(unknown)["_code"].endswith("NOT_FOUND")
    assert error_of(not_a_uuid)["_code"].endswith("NOT_FOUND")


def test_starting_a_run_of_another_namespaces_definition_is_a_404(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # When
    result = api.post(
        "/workflows",
        params={"nsfilter": f"{namespace}-other"},
        json={"_workflowDefId": existing_run["_workflowDefId"]},
    )

    # Then
    assert result.status == 404, result
    assert existing_run["_workflowDefId"] in error_of(result)["_message"]


# ------------------------------------------------------------------ 400: each names the field


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, ["nsfilter"]),
        ({"_pageSize": "0"}, ["_pageSize", "0"]),
        ({"_pageSize": "101"}, ["_pageSize", "101"]),
        ({"_pagesize": "0"}, ["_pagesize", "0"]),
        ({"_offset": "-1"}, ["_offset", "-1"]),
        ({"sort": '{"_name": 1'}, ["sort", '{"_name": 1']),
        ({"sort": '{"_colour": 1}'}, ["sort", "_colour"]),
        ({"sort": '{"_name": 2}'}, ["sort", "_name", "2"]),
        ({"endDate": "2026-02-29"}, ["endDate", "2026-02-29"]),
        ({"enddate": "2026-13-01"}, ["2026-13-01"]),
        ({"startDate": "yesterday"}, ["startDate", "yesterday"]),
        ({"_status": "DONE"}, ["_status", "DONE"]),
        ({"_status": "FAILED,DONE"}, ["_status", "DONE"]),
        ({"_nextToken": "not-a-token"}, ["_nextToken"]),
    ],
    ids=[
        "missing-nsfilter",
        "page-size-0",
        "page-size-101",
        "lower-case-page-size-0",
        "negative-offset",
        "sort-not-json",
        "sort-unknown-field",
        "sort-bad-direction",
        "end-date-29-february-2026",
        "lower-case-end-date-not-a-date",
        "start-date-not-a-date",
        "unknown-status",
        "one-unknown-status-of-two",
        "foreign-next-token",
    ],
)
def test_a_bad_list_parameter_is_a_400_naming_it(
    api: Any, namespace: str, params: dict[str, str], named: list[str]
) -> None:
    # Given
    query = {"nsfilter": namespace, **params} if params else {}

    # When
    result = api.get("/workflows", params=query)

    # Then
    assert result.status == 400, result
    message = error_of(result)["_message"]
    for word in named:
        assert word in message


def test_an_unknown_status_in_the_body_is_a_400_naming_it(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # When
    result = api.put(
        f"/workflows/{existing_run['_id']}/status", params={"nsfilter": namespace}, json={"_status": "DONE"}
    )

    # Then
    assert result.status == 400, result
    message = error_of(result)["_message"]
    assert "_status" in message
    assert "DONE" in message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"_workflowDefId": ', ("body", "JSON")),
        (b'{"_workflowDefId": "x", "_inputParms": {}}', ("_inputParms", "unknown")),
        (b'{"_inputParams": {}}', ("_workflowDefId", "required")),
        (b'{"_workflowDefId": 7}', ("_workflowDefId",)),
        (b'{"_workflowDefId": "x", "_inputParams": [1]}', ("_inputParams",)),
    ],
    ids=["malformed-json", "unknown-field", "missing-field", "wrong-type", "inputs-not-an-object"],
)
def test_a_bad_start_body_is_a_400_naming_the_field(
    api: Any, namespace: str, body: bytes, words: tuple[str, ...]
) -> None:
    # When
    result = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        body=body,
        headers={"Content-Type": "application/json"},
    )

    # Then
    assert result.status == 400, result
    message = error_of(result)["_message"]
    for word in words:
        assert word in message
    assert api.get("/workflows", params={"nsfilter": namespace}).json()["_total"] == 0


def test_an_unknown_field_in_a_status_change_is_a_400_naming_it(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # When
    result = api.put(
        f"/workflows/{existing_run['_id']}/status",
        params={"nsfilter": namespace},
        json={"_status": "PAUSED", "_reason": "lunch"},
    )

    # Then
    assert result.status == 400, result
    assert "_reason" in error_of(result)["_message"]


# ------------------------------------------------------------------ 413


def padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON, padded with spaces before its closing brace to exactly ``size`` bytes."""
    text = json.dumps(body)
    return (text[:-1] + " " * (size - len(text)) + "}").encode()


def test_a_body_over_256_kib_is_a_413(api: Any, namespace: str, existing_run: dict[str, Any]) -> None:
    # Given
    body = {"_workflowDefId": existing_run["_workflowDefId"], "_inputParams": {}}

    as_json = {"Content-Type": "application/json"}

    # When
    too_large = api.post(
        "/workflows", params={"nsfilter": namespace}, body=padded(body, MAX_BODY_BYTES + 1), headers=as_json
    )
    at_the_limit = api.post(
        "/workflows", params={"nsfilter": namespace}, body=padded(body, MAX_BODY_BYTES), headers=as_json
    )

    # Then
    assert too_large.status == 413, too_large
    assert error_of(too_large)["_code"] == "PAYLOAD_TOO_LARGE"
    assert at_the_limit.status == 201, at_the_limit


def test_a_body_over_256_kib_is_a_413_whatever_else_is_wrong_with_it(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # Given
    malformed = b'{"_status": "' + b"x" * (MAX_BODY_BYTES + 10)

    as_json = {"Content-Type": "application/json"}

    # When
    start = api.post("/workflows", params={"nsfilter": namespace}, body=malformed, headers=as_json)
    change = api.put(
        f"/workflows/{existing_run['_id']}/status",
        params={"nsfilter": namespace},
        body=malformed,
        headers=as_json,
    )

    # Then
    assert start.status == 413, start
    assert change.status == 413, change
    assert error_of(change)["_code"] == "PAYLOAD_TOO_LARGE"


# ------------------------------------------------------------------ content type


def test_a_json_body_sent_as_text_plain_is_a_client_error_not_a_500(
    api: Any, namespace: str, existing_run: dict[str, Any]
) -> None:
    # When
    result = api.post(
        "/workflows",
        params={"nsfilter": namespace},
        body=json.dumps({"_workflowDefId": existing_run["_workflowDefId"]}).encode(),
        headers={"Content-Type": "text/plain"},
    )

    # Then
    assert result.status in (400, 415), result
    assert "Content-Type" in error_of(result)["_message"]

"""What every endpoint answers when something is wrong: 401, 400 (nsfilter), 403, 413, and which comes first.

The contract's order: 401 (no identity) -> 400 (nsfilter missing or malformed) -> 403 (namespace not granted)
-> 400 / 413 (parameters and body) -> 404 (unknown run or definition) -> 409. Every error body is
{"_error": {"_code", "_message"}} (checked by the ``api`` fixture on every answer, with "never a 500").
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from workflowsvc import config

from tests.support.events import SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE, load_event
from tests.support.runs import SEED_INPUT

MAX_BODY_BYTES = 256 * 1024

# One sample event per function: requests that succeed (or 404) when identity and nsfilter are right.
EVENT_OF = {
    "create_workflowdef": "create_workflowdef",
    "list_workflowdefs": "list_workflowdefs",
    "get_workflowdef": "get_workflowdef",
    "start_workflow": "start_workflow",
    "get_workflow": "get_workflow",
    "list_workflows": "list_workflows",
    "update_workflow_status": "update_workflow_status_paused",
}
WITH_BODY = ["create_workflowdef", "start_workflow", "update_workflow_status"]


def huge_body(function: str, size: int = MAX_BODY_BYTES + 1) -> str:
    """A body of exactly ``size`` bytes that is otherwise what the function expects (padded with spaces)."""
    body = json.loads(load_event(EVENT_OF[function])["body"])
    text = json.dumps(body)
    assert len(text) < size
    return text[:-1] + " " * (size - len(text)) + "}"


# ------------------------------------------------------------------ 401


def test_the_sample_event_without_claims_is_401(api):
    reply = api.invoke("start_workflow", load_event("start_workflow_no_identity"))
    assert reply.status == 401
    assert reply.error["_code"]


@pytest.mark.parametrize(
    "claims",
    [
        None,
        {"sub": None},
        {"sub": ""},
        {"sub": "   "},
    ],
    ids=["no-authorizer", "no-sub", "empty-sub", "blank-sub"],
)
def test_no_identity_is_401_on_every_function(api, subtests, claims):
    for function, name in EVENT_OF.items():
        with subtests.test(function=function):
            reply = api.invoke(function, load_event(name, claims=claims))
            assert reply.status == 401, reply.text


def test_an_authorizer_without_claims_is_401(api):
    event = load_event("get_workflow")
    event["requestContext"]["authorizer"] = {"jwt": {"claims": None, "scopes": None}}
    assert api.invoke("get_workflow", event).status == 401


# ------------------------------------------------------------------ 400: nsfilter


def test_the_sample_event_without_nsfilter_is_400(api):
    reply = api.invoke("list_workflows", load_event("list_workflows_missing_nsfilter"))
    assert reply.status == 400
    assert "nsfilter" in reply.message


def test_a_missing_nsfilter_is_400_on_every_function(api, subtests):
    for function, name in EVENT_OF.items():
        with subtests.test(function=function):
            reply = api.invoke(function, load_event(name, query={"nsfilter": None}))
            assert reply.status == 400, reply.text
            assert "nsfilter" in reply.message


@pytest.mark.parametrize(
    "nsfilter",
    [
        "",
        " ",
        "first ns",
        "first_tchgt1VU,,second_ns",
        "first_tchgt1VU;second_ns",
        "ns!",
        "x" * 129,
        ",".join(f"ns{index}" for index in range(11)),
    ],
    ids=["empty", "blank", "space", "empty-item", "semicolon", "punctuation", "too-long", "eleven"],
)
def test_a_malformed_nsfilter_is_400_naming_it(api, nsfilter):
    reply = api.list(nsfilter=nsfilter)
    assert reply.status == 400, reply.text
    assert "nsfilter" in reply.message


# ------------------------------------------------------------------ 403


def test_the_sample_event_with_a_namespace_not_granted_is_403_naming_it(api):
    reply = api.invoke("list_workflows", load_event("list_workflows_forbidden_namespace"))
    assert reply.status == 403
    assert "third_ns" in reply.message


def test_a_namespace_not_granted_is_403_on_every_function(api, subtests):
    for function, name in EVENT_OF.items():
        with subtests.test(function=function):
            reply = api.invoke(function, load_event(name, query={"nsfilter": "third_ns"}))
            assert reply.status == 403, reply.text
            assert "third_ns" in reply.message


def _list_event(nsfilter: str, claim: Any) -> dict[str, Any]:
    """The sample list request with only ``nsfilter``, from a caller whose namespaces claim is ``claim``."""
    filters = {
        name: None
        for name in ("_pageSize", "_offset", "_name", "_defId", "_status", "startDate", "endDate", "sort")
    }
    return load_event("list_workflows", query={**filters, "nsfilter": nsfilter}, claims={"namespaces": claim})


CLAIM_FORMS = [
    pytest.param('["first_tchgt1VU","second_ns"]', id="json-array-string"),
    pytest.param('[ "first_tchgt1VU" , "second_ns" ]', id="json-array-string-spaced"),
    pytest.param("first_tchgt1VU,second_ns", id="comma-string"),
    pytest.param("first_tchgt1VU, second_ns", id="comma-space-string"),
    pytest.param("first_tchgt1VU second_ns", id="space-string"),
    pytest.param("[first_tchgt1VU second_ns]", id="api-gateway-array"),
    pytest.param(["first_tchgt1VU", "second_ns"], id="list"),
]


@pytest.mark.parametrize("claim", CLAIM_FORMS)
def test_every_form_of_the_namespaces_claim_grants_exactly_its_namespaces(api, subtests, claim):
    expectations = {
        SAMPLE_NAMESPACE: 200,
        SAMPLE_OTHER_NAMESPACE: 200,
        f"{SAMPLE_NAMESPACE},{SAMPLE_OTHER_NAMESPACE}": 200,
        "third_ns": 403,
        f"{SAMPLE_NAMESPACE},third_ns": 403,
        "first": 403,  # a prefix of a granted namespace is another namespace
        "tchgt1VU": 403,
    }
    for nsfilter, status in expectations.items():
        with subtests.test(nsfilter=nsfilter):
            reply = api.invoke("list_workflows", _list_event(nsfilter, claim))
            assert reply.status == status, reply.text


@pytest.mark.parametrize(
    "claim", ["*", '["*"]', "[*]", ["*"]], ids=["star", "json-star", "gateway-star", "list-star"]
)
def test_a_star_claim_grants_every_namespace(api, claim):
    for nsfilter in ("first_tchgt1VU", "third_ns", "any.namespace-at_all,another"):
        reply = api.invoke("list_workflows", _list_event(nsfilter, claim))
        assert reply.status == 200, (nsfilter, reply.text)


@pytest.mark.parametrize("claim", [None, "", "[]", "[ ]", '""', "first"], ids=repr)
def test_no_granted_namespace_is_403(api, claim):
    event = load_event("get_workflow", claims={"namespaces": claim})
    reply = api.invoke("get_workflow", event)
    assert reply.status == 403, reply.text
    assert SAMPLE_NAMESPACE in reply.message


def test_the_namespaces_claim_name_is_configurable(api, monkeypatch):
    # Given the deployment names another claim
    monkeypatch.setenv("NAMESPACES_CLAIM", "custom:namespaces")
    config.reset()

    # When
    granted = api.invoke(
        "get_workflow",
        load_event("get_workflow", claims={"custom:namespaces": "[first_tchgt1VU]", "namespaces": None}),
    )
    default_claim_only = api.invoke("get_workflow", load_event("get_workflow"))

    # Then
    assert granted.status == 404  # allowed in; the sample run does not exist
    assert default_claim_only.status == 403


# ------------------------------------------------------------------ 413


@pytest.mark.parametrize("function", WITH_BODY)
def test_a_body_over_256_kib_is_413(api, function):
    event = load_event(EVENT_OF[function], body=huge_body(function))
    reply = api.invoke(function, event)
    assert reply.status == 413, reply.text
    assert str(MAX_BODY_BYTES + 1) in reply.message


def test_a_body_of_exactly_256_kib_is_accepted(api):
    # Given
    definition = api.create_definition()
    body = json.dumps({"_workflowDefId": definition["_id"], "_inputParams": SEED_INPUT})
    body = body[:-1] + " " * (MAX_BODY_BYTES - len(body)) + "}"
    assert len(body.encode()) == MAX_BODY_BYTES

    # When
    reply = api.invoke("start_workflow", load_event("start_workflow", body=body))

    # Then
    assert reply.status == 201, reply.text


def test_a_base64_body_over_256_kib_once_decoded_is_413(api):
    event = load_event("start_workflow")
    event["body"] = base64.b64encode(huge_body("start_workflow").encode()).decode()
    event["isBase64Encoded"] = True
    reply = api.invoke("start_workflow", event)
    assert reply.status == 413, reply.text


def test_multibyte_characters_count_as_bytes(api):
    # 90 000 three-byte characters are 270 000 bytes: over the limit although under 262 144 characters
    event = load_event(
        "start_workflow",
        body={
            "_workflowDefId": "824beec4-4a58-4bf8-b9df-b86172a2d5d5",
            "_inputParams": {"note": "€" * 90_000},
        },
    )
    event["body"] = event["body"].replace("\\u20ac", "€")
    assert len(event["body"]) < MAX_BODY_BYTES < len(event["body"].encode())
    reply = api.invoke("start_workflow", event)
    assert reply.status == 413, reply.text


# ------------------------------------------------------------------ the order of the checks


ORDER_CASES = [
    pytest.param(
        "get_workflow",
        lambda: load_event("get_workflow", claims=None, query={"nsfilter": None}),
        401,
        id="no-identity+missing-nsfilter->401",
    ),
    pytest.param(
        "start_workflow",
        lambda: load_event("start_workflow", claims=None, query={"nsfilter": "third_ns"}, body="{bad"),
        401,
        id="no-identity+forbidden+malformed->401",
    ),
    pytest.param(
        "start_workflow",
        lambda: load_event("start_workflow", query={"nsfilter": None}, body=huge_body("start_workflow")),
        400,
        id="missing-nsfilter+huge-body->400",
    ),
    pytest.param(
        "list_workflows",
        lambda: load_event(
            "list_workflows", query={"nsfilter": "bad ns", "sort": "{"}, claims={"namespaces": "*"}
        ),
        400,
        id="malformed-nsfilter+bad-sort->400-nsfilter",
    ),
    pytest.param(
        "start_workflow",
        lambda: load_event("start_workflow", query={"nsfilter": "third_ns"}, body='{"_workflowDefId": 5'),
        403,
        id="forbidden+malformed-body->403",
    ),
    pytest.param(
        "create_workflowdef",
        lambda: load_event(
            "create_workflowdef", query={"nsfilter": "third_ns"}, body=huge_body("create_workflowdef")
        ),
        403,
        id="forbidden+huge-body->403",
    ),
    pytest.param(
        "list_workflows",
        lambda: load_event("list_workflows", query={"nsfilter": "third_ns", "sort": "{", "_pageSize": "0"}),
        403,
        id="forbidden+bad-parameters->403",
    ),
    pytest.param(
        "start_workflow",
        lambda: load_event("start_workflow", body="{" + " " * MAX_BODY_BYTES),
        413,
        id="huge-body+malformed-json->413",
    ),
    pytest.param(
        "update_workflow_status",
        lambda: load_event(
            "update_workflow_status_paused", body='{"_status": "SLEEPING"' + " " * MAX_BODY_BYTES
        ),
        413,
        id="huge-body+unknown-status->413",
    ),
    pytest.param(
        "start_workflow",
        lambda: load_event(
            "start_workflow",
            body={"_workflowDefId": "0f6b3c9e-1d2a-4e5f-8a7b-9c0d1e2f3a4b", "_inputParams": 7},
        ),
        400,
        id="bad-body+unknown-definition->400",
    ),
    pytest.param(
        "update_workflow_status",
        lambda: load_event("update_workflow_status_illegal", body={"_status": "SLEEPING"}),
        400,
        id="unknown-status+unknown-run->400",
    ),
    pytest.param(
        "get_workflow",
        lambda: load_event("get_workflow_unknown_id", query={"_includeLoopOverTasks": "maybe"}),
        400,
        id="bad-boolean+unknown-run->400",
    ),
    pytest.param(
        "update_workflow_status",
        lambda: load_event("update_workflow_status_illegal"),
        404,
        id="unknown-run+illegal-transition->404",
    ),
]


@pytest.mark.parametrize(("function", "make_event", "status"), ORDER_CASES)
def test_a_request_with_several_faults_gets_the_first_in_the_contracts_order(
    api, function, make_event, status
):
    reply = api.invoke(function, make_event())
    assert reply.status == status, reply.text


def test_an_unknown_run_in_a_namespace_not_granted_is_403_not_404(api):
    event = load_event("get_workflow_unknown_id", query={"nsfilter": "third_ns"})
    assert api.invoke("get_workflow", event).status == 403

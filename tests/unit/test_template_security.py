"""The deployed template is safe by default: least privilege, every route behind the JWT authorizer."""

from __future__ import annotations

from typing import Any

import pytest

from localrun.aws_resources import Intrinsic, load_template

TEMPLATE = load_template()
FUNCTIONS = TEMPLATE.logical_ids("AWS::Serverless::Function")

# SAM policy templates each function may use, and the resources they must be scoped to.
ALLOWED_POLICY_TEMPLATES = {
    "DynamoDBReadPolicy": "TableName",
    "DynamoDBCrudPolicy": "TableName",
    "SQSSendMessagePolicy": "QueueName",
}


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def wildcard_actions(policies: list[Any]) -> list[str]:
    """Every action of an inline statement that is ``*`` or ``service:*``."""
    found = []
    for policy in policies:
        if isinstance(policy, dict):
            for statement in policy.get("Statement", []):
                found += [action for action in _actions(statement) if action == "*" or action.endswith(":*")]
    return found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_policy_has_a_wildcard_action(function: str) -> None:
    policies = TEMPLATE.properties(function).get("Policies", [])
    assert wildcard_actions(policies) == []


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_policy_is_a_known_template_scoped_to_our_own_resources(function: str) -> None:
    policies = TEMPLATE.properties(function).get("Policies", [])
    assert policies, f"{function} has no policy: it would get none of the access it needs"
    for policy in policies:
        assert isinstance(policy, dict) and len(policy) == 1, f"{function}: unexpected policy {policy!r}"
        [(name, arguments)] = policy.items()
        assert name in ALLOWED_POLICY_TEMPLATES, f"{function}: policy {name} is not one we grant"
        scope = arguments[ALLOWED_POLICY_TEMPLATES[name]]
        assert isinstance(scope, Intrinsic), f"{function}: {name} is not scoped to a resource of this stack"


def test_the_wildcard_check_catches_a_wildcard() -> None:
    policies = [
        {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "sqs:*"], "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    ]
    assert wildcard_actions(policies) == ["sqs:*", "*"]


def test_read_only_routes_cannot_write() -> None:
    for function in (
        "ListWorkflowsFunction",
        "GetWorkflowFunction",
        "ListWorkflowDefsFunction",
        "GetWorkflowDefFunction",
    ):
        names = [next(iter(policy)) for policy in TEMPLATE.properties(function)["Policies"]]
        assert names == ["DynamoDBReadPolicy"], function


def test_every_route_is_behind_the_jwt_authorizer() -> None:
    api = TEMPLATE.properties("WorkflowApi")
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
    jwt = api["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]
    assert isinstance(jwt["issuer"], Intrinsic) and isinstance(jwt["audience"], Intrinsic)
    routes = TEMPLATE.http_routes()
    assert len(routes) == 7
    for function in FUNCTIONS:
        for event in TEMPLATE.properties(function).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert "Auth" not in event["Properties"], f"{function} overrides the default authorizer"

"""The deployed template is safe by default: least privilege, every API route behind the JWT authorizer, and
the one route open to anyone (the console's static files) reading nothing."""

from __future__ import annotations

from typing import Any

import pytest

from localrun.aws_resources import Intrinsic, load_template

TEMPLATE = load_template()
FUNCTIONS = TEMPLATE.logical_ids("AWS::Serverless::Function")

# The only function whose routes skip the JWT authorizer: the web console's files, which must load before
# sign-in. It has no policy (nothing but its logs) and imports no domain code.
CONSOLE_FUNCTION = "ConsoleFunction"
CONSOLE_ROUTES = {("GET", "/console"), ("GET", "/console/{proxy+}")}
API_BASE_PATH = "/workflowsvc/api/v1/"

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


@pytest.mark.parametrize("function", [name for name in FUNCTIONS if name != CONSOLE_FUNCTION])
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


def test_every_api_route_is_behind_the_jwt_authorizer() -> None:
    api = TEMPLATE.properties("WorkflowApi")
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
    jwt = api["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]
    assert isinstance(jwt["issuer"], Intrinsic) and isinstance(jwt["audience"], Intrinsic)
    api_routes = [route for route in TEMPLATE.http_routes() if route.function.logical_id != CONSOLE_FUNCTION]
    assert len(api_routes) == 7
    for route in api_routes:
        assert route.path.startswith(API_BASE_PATH), route.route_key
        assert not route.public, route.route_key
    for function in FUNCTIONS:
        if function == CONSOLE_FUNCTION:
            continue
        for event in TEMPLATE.properties(function).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                assert "Auth" not in event["Properties"], f"{function} overrides the default authorizer"


def test_only_the_consoles_files_are_open_and_they_read_nothing() -> None:
    # Given
    public = {(route.method, route.path) for route in TEMPLATE.http_routes() if route.public}
    console = TEMPLATE.properties(CONSOLE_FUNCTION)

    # Then: exactly its two GET routes skip the authorizer, outside the API's path
    assert public == CONSOLE_ROUTES
    for event in console["Events"].values():
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["Auth"] == {"Authorizer": "NONE"}
        assert (event["Properties"]["Method"], event["Properties"]["Path"]) in CONSOLE_ROUTES
    # and the function gets no permission beyond its logs (SAM's basic execution role)
    assert "Policies" not in console and "Role" not in console
    # and its own settings are the console's (Globals add the table's and queue's names, never read)
    assert set(console["Environment"]["Variables"]) == {
        "CONSOLE_API_BASE_PATH",
        "CONSOLE_OIDC_ISSUER",
        "CONSOLE_CLIENT_ID",
        "CONSOLE_SIGN_IN_ORIGINS",
        "CONSOLE_BEARER_TOKEN",
    }


def test_the_console_signs_in_at_the_issuer_the_authorizer_trusts() -> None:
    # Given
    variables = TEMPLATE.properties(CONSOLE_FUNCTION)["Environment"]["Variables"]
    jwt = TEMPLATE.properties("WorkflowApi")["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]

    # Then
    assert variables["CONSOLE_OIDC_ISSUER"] == jwt["issuer"] == Intrinsic("Ref", "JwtIssuer")
    assert variables["CONSOLE_API_BASE_PATH"] + "/" == API_BASE_PATH

from __future__ import annotations

from typing import Any

import pytest
from workflowsvc import expressions
from workflowsvc.expressions import ExpressionError, resolve, validate


@pytest.fixture
def scope() -> dict[str, Any]:
    return {
        "workflow": {
            "_id": "run-1",
            "_inputParams": {"base": "https://api.example", "limit": 5, "verbose": True},
        },
        "tasks": {
            "login": {"_output": {"_statusCode": 200, "_body": {"token": "t0k", "roles": ["a", "b"]}}},
            "get-token": {"_output": {"_body": {"token": "dashed"}}},
            "a}b": {"_output": "odd name"},
        },
        "loop": {"item": "dev-7", "index": 2},
    }


def test_a_whole_expression_takes_the_value_with_its_json_type(scope: dict[str, Any]) -> None:
    inputs = {
        "token": "${tasks.login._output._body.token}",
        "status": "${tasks.login._output._statusCode}",
        "roles": "${tasks.login._output._body.roles}",
        "body": "${tasks.login._output._body}",
        "verbose": "${workflow._inputParams.verbose}",
    }

    resolved = resolve(inputs, scope)

    assert resolved == {
        "token": "t0k",
        "status": 200,
        "roles": ["a", "b"],
        "body": {"token": "t0k", "roles": ["a", "b"]},
        "verbose": True,
    }


def test_an_expression_that_matches_nothing_is_null(scope: dict[str, Any]) -> None:
    assert resolve("${tasks.nosuch._output}", scope) is None


def test_expressions_inside_a_longer_string_are_replaced_by_their_text(scope: dict[str, Any]) -> None:
    url = (
        "${workflow._inputParams.base}/devices/${loop.item}"
        "?page=${loop.index}&limit=${workflow._inputParams.limit}"
    )

    assert resolve(url, scope) == "https://api.example/devices/dev-7?page=2&limit=5"


def test_inside_a_string_null_is_empty_and_other_values_are_compact_json(scope: dict[str, Any]) -> None:
    text = "[${tasks.nosuch}] ${workflow._inputParams.verbose} ${tasks.login._output._body.roles} ${loop}"

    assert resolve(text, scope) == '[] true ["a","b"] {"item":"dev-7","index":2}'


def test_dicts_and_lists_are_walked_and_other_values_pass_through(scope: dict[str, Any]) -> None:
    value = {"${loop.item}": ["${loop.index}", 3, 1.5, None, False, {"deep": ["${loop.item}"]}]}

    # Keys are not expressions; only values are resolved.
    assert resolve(value, scope) == {"${loop.item}": [2, 3, 1.5, None, False, {"deep": ["dev-7"]}]}


def test_a_task_name_that_is_not_an_identifier_is_quoted(scope: dict[str, Any]) -> None:
    assert resolve('${tasks."get-token"._output._body.token}', scope) == "dashed"


def test_identifiers_starting_with_an_underscore_need_no_quotes() -> None:
    run_scope = {"workflow": {"_inputParams": {"_url": "http://x"}}, "tasks": {}, "loop": {}}

    assert resolve("${workflow._inputParams._url}", run_scope) == "http://x"


def test_a_closing_brace_inside_quotes_does_not_end_the_expression(scope: dict[str, Any]) -> None:
    assert resolve('<${tasks."a}b"._output}>', scope) == "<odd name>"


def test_a_multi_select_hash_keeps_its_braces(scope: dict[str, Any]) -> None:
    value = "${tasks.login._output._body.{t: token, n: length(roles)}}"

    assert resolve(value, scope) == {"t": "t0k", "n": 2}


def test_the_resolved_value_is_a_copy_of_the_run_data(scope: dict[str, Any]) -> None:
    resolved = resolve("${tasks.login._output._body}", scope)

    resolved["roles"].append("changed")

    assert scope["tasks"]["login"]["_output"]["_body"]["roles"] == ["a", "b"]


def test_a_string_without_expressions_is_unchanged(scope: dict[str, Any]) -> None:
    assert resolve("costs $5 {not an expression}", scope) == "costs $5 {not an expression}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "${tasks.login..x}",
            'cannot read the expression "${tasks.login..x}": unexpected "." at character 13',
        ),
        ("${tasks.}", 'cannot read the expression "${tasks.}": it ends too early'),
        ("${}", 'the expression "${}" is empty'),
        ("abc ${tasks.login", 'the expression "${tasks.login" has no closing "}"'),
        ('${tasks."unclosed}', "has no closing"),
    ],
)
def test_an_expression_that_does_not_parse_says_which_and_why(
    scope: dict[str, Any], value: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as raised:
        resolve({"_url": value}, scope)

    assert message in str(raised.value)


def test_an_expression_that_fails_when_evaluated_is_an_expression_error(scope: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError, match=r"cannot evaluate \"\$\{length\(loop.index\)\}\""):
        resolve("${length(loop.index)}", scope)


def test_validate_finds_a_broken_expression_without_a_scope() -> None:
    validate({"ok": ["${workflow._inputParams.x}", 1, None]})

    with pytest.raises(ExpressionError, match=r"tasks\.a\.\.b"):
        validate({"list": ["fine", {"bad": "x ${tasks.a..b} y"}]})


def test_parsed_expressions_are_cached(scope: dict[str, Any]) -> None:
    expressions._compiled.cache_clear()

    for _ in range(3):
        resolve("${loop.item}-${loop.index}", scope)

    info = expressions._compiled.cache_info()
    assert (info.misses, info.hits) == (2, 4)

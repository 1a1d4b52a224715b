"""``${...}`` expressions in task inputs, evaluated with JMESPath.

The scope an expression reads is ``{"workflow": <run>, "tasks": {<task name>: <task>},
"loop": {"item": ..., "index": ...}}``, e.g. ``${workflow._inputParams._url}`` or
``${tasks."get-token"._output._body.token}``.

Rules:
- A string that is exactly one ``${expr}`` takes the expression's value, of any JSON type
  (null when nothing matches).
- An expression inside a longer string is replaced by its text: a string as it is, null as the
  empty string, anything else (number, true/false, object, array) as compact JSON.
- Dicts and lists are walked recursively (values only; keys are left as they are); other values
  pass through unchanged.
- An expression ends at the first ``}`` that is outside quotes (``"..."``, ``'...'``, `````...`````)
  and not closing a ``{`` of the expression itself, so ``${tasks."a}b"._output}`` and
  multi-select hashes such as ``${tasks.x._output.{id: id}}`` work.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_errors

_OPEN = "${"
_QUOTES = "\"'`"


class ExpressionError(Exception):
    """An expression that cannot be read or evaluated; the message names it and says why."""


@dataclass(frozen=True)
class _Expression:
    source: str  # the text between "${" and "}"


def resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """``value`` with every ``${...}`` expression replaced, following the rules of this module."""
    if isinstance(value, str):
        return _resolve_string(value, scope)
    if isinstance(value, dict):
        return {key: resolve(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    return value


def validate(value: Any) -> None:
    """Raise ``ExpressionError`` for the first expression in ``value`` that does not parse.

    Lets a definition be refused when it is created rather than when its run gets there.
    """
    if isinstance(value, str):
        for part in _split(value):
            if isinstance(part, _Expression):
                _compiled(part.source)
    elif isinstance(value, dict):
        for item in value.values():
            validate(item)
    elif isinstance(value, list):
        for item in value:
            validate(item)


def _resolve_string(text: str, scope: Mapping[str, Any]) -> Any:
    if _OPEN not in text:
        return text
    parts = _split(text)
    if len(parts) == 1 and isinstance(parts[0], _Expression):
        # A copy, so that the inputs of one task never share objects with the run they came from.
        return copy.deepcopy(_evaluate(parts[0], scope))
    return "".join(
        _as_text(_evaluate(part, scope)) if isinstance(part, _Expression) else part for part in parts
    )


def _split(text: str) -> list[str | _Expression]:
    """``text`` cut into literal pieces and expressions, in order."""
    parts: list[str | _Expression] = []
    position = 0
    while (start := text.find(_OPEN, position)) != -1:
        end = _closing_brace(text, start)
        if start > position:
            parts.append(text[position:start])
        parts.append(_Expression(text[start + len(_OPEN) : end]))
        position = end + 1
    if position < len(text):
        parts.append(text[position:])
    return parts


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` that ends the expression opened at ``start``."""
    depth = 0
    quote: str | None = None
    index = start + len(_OPEN)
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == "\\":
                index += 1  # an escaped character never ends the quoted part
            elif char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    excerpt = text[start : start + 60]
    raise ExpressionError(f'the expression "{excerpt}" has no closing "}}" (or leaves a quote open)')


def _evaluate(expression: _Expression, scope: Mapping[str, Any]) -> Any:
    compiled = _compiled(expression.source)
    try:
        return compiled.search(scope)
    except jmespath_errors.JMESPathError as error:
        raise ExpressionError(f'cannot evaluate "${{{expression.source}}}": {error}') from error


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    """The parsed expression; cached because parsing costs far more than evaluating."""
    if not source.strip():
        raise ExpressionError('the expression "${}" is empty')
    try:
        return jmespath.compile(source)
    except jmespath_errors.JMESPathError as error:
        raise ExpressionError(f'cannot read the expression "${{{source}}}": {_why(error)}') from error


def _why(error: Exception) -> str:
    """JMESPath's parse error in one line, without its ASCII-art pointer."""
    if (
        isinstance(error, jmespath_errors.IncompleteExpressionError)
        or getattr(error, "token_type", None) == "EOF"
    ):
        return "it ends too early"
    if isinstance(error, jmespath_errors.ParseError):
        return f'unexpected "{error.token_value}" at character {error.lex_position + 1}'
    if isinstance(error, jmespath_errors.LexerError):
        return f'unexpected "{error.lexer_value}" at character {error.lexer_position + 1}'
    return str(error).splitlines()[0]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

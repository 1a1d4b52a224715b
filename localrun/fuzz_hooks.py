"""schemathesis hooks for ``python -m localrun.fuzz`` (loaded through ``localrun/schemathesis.toml``).

The OpenAPI document describes every rule of the API that a JSON schema can express. A few rules it cannot:
a request that breaks only one of them is a documented 400 of the contract, not a fault, even though the
request matches the schema. ``filter_failure`` drops exactly those "schema-valid request rejected" findings,
recognised by the error code the service answers with (and, for the dates, by checking that the request
really breaks the rule), and nothing else. Every other check still runs on those responses (status
documented, body matching ``ErrorBody``...).
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import schemathesis
from schemathesis.openapi.checks import RejectedPositiveData

# When set, each dropped finding is written there as a JSON line (``python -m localrun.fuzz`` counts them).
DROPPED_LOG_VARIABLE = "LOCALRUN_FUZZ_DROPPED"

_NS = 1_000_000_000
_EPOCH = datetime.date(1970, 1, 1).toordinal()
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$"
)


def epoch_ns(value: str, *, end: bool) -> int | None:
    """A ``startDate`` / ``endDate`` value as the contract reads it, in epoch nanoseconds (a date alone is
    the start of that day, or for an end bound its last nanosecond); None when it is neither."""
    text = value.strip()
    try:
        if match := _DATE.match(text):
            day = datetime.date(*(int(part) for part in match.groups())).toordinal() - _EPOCH + int(end)
            return day * 86_400 * _NS - int(end)
        if match := _TIMESTAMP.match(text):
            year, month, day_, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
            day = datetime.date(int(year), int(month), int(day_)).toordinal() - _EPOCH
            datetime.time(int(hour), int(minute), int(second))  # in range
            offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1) if sign else 0
            seconds = day * 86_400 + int(hour) * 3600 + int(minute) * 60 + int(second) - offset
            return seconds * _NS + int((fraction or "0").ljust(9, "0"))
    except ValueError:
        return None
    return None


def _first(query: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = query.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _start_after_end(message: str, query: Mapping[str, Any]) -> bool:
    """startDate is after endDate: a rule between two parameters. Dropped only when it is true."""
    start = _first(query, "startDate", "startdate")
    end = _first(query, "endDate", "enddate")
    if "is after endDate" not in message or start is None or end is None:
        return False
    start_ns, end_ns = epoch_ns(start, end=False), epoch_ns(end, end=True)
    return start_ns is not None and end_ns is not None and start_ns > end_ns


# Error code -> whether the 400 is the rule a JSON schema cannot say, given its message and the query.
RULES_BEYOND_THE_SCHEMA: dict[str, Callable[[str, Mapping[str, Any]], bool]] = {
    # Task names are unique within their list (JSON Schema's uniqueItems compares whole items only).
    "INVALID_DEFINITION": lambda message, query: "is used twice" in message,
    # A ${...} expression in _inputParams / _outputParams must parse (JMESPath), checked when the
    # definition is created; the values are otherwise free JSON.
    "INVALID_EXPRESSION": lambda message, query: True,
    # _nextToken is opaque: only the token the service issued for this same query is valid, and the
    # service signs it, so no generated string is.
    "INVALID_TOKEN": lambda message, query: True,
    # startDate must not be after endDate.
    "INVALID_DATE": _start_after_end,
}


def error_code(content: bytes) -> tuple[str, str]:
    """``(_code, _message)`` of an error body, or empty strings when the body is not one."""
    try:
        body: Any = json.loads(content)
        error = body["_error"]
        return str(error["_code"]), str(error["_message"])
    except (ValueError, TypeError, KeyError):
        return "", ""


def is_rule_beyond_the_schema(
    failure: object, status_code: int, content: bytes, query: Mapping[str, Any] | None
) -> bool:
    if not isinstance(failure, RejectedPositiveData) or status_code != 400:
        return False
    code, message = error_code(content)
    rule = RULES_BEYOND_THE_SCHEMA.get(code)
    return rule is not None and rule(message, query or {})


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but the 400s of the rules above."""
    if not is_rule_beyond_the_schema(failure, response.status_code, response.content, case.query):
        return True
    path = os.environ.get(DROPPED_LOG_VARIABLE)
    if path:
        code, message = error_code(response.content)
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"operation": failure.operation, "code": code, "message": message}) + "\n")
    return False

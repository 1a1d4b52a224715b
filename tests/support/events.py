"""The sample API Gateway events of ``events/``, loaded and adapted to what a test created.

Every file in ``events/`` is an HTTP API payload v2.0 as API Gateway delivers it, with placeholder ids from
the vendor's examples. A test loads one and substitutes its own ids, query parameters, body, headers or
claims; the route key stays the template's:

    event = load_event("get_workflow", path_parameters={"workflowId": run_id})
    event = load_event("list_workflows", query={"_status": "QUEUED", "_name": None})  # None removes
    event = load_event("start_workflow", body={"_workflowDefId": def_id}, claims={"sub": "someone"})
    event = load_event("start_workflow", claims=None)  # no authenticated identity
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"

# The ids and names the sample events use (those of the vendor's examples).
SAMPLE_RUN_ID = "94bcf41e-8d05-4011-a64b-d5a5164b0155"
SAMPLE_DEFINITION_ID = "824beec4-4a58-4bf8-b9df-b86172a2d5d5"
SAMPLE_SUBJECT = "c9daff7e-b55b-41ec-aa46-d0150f3199dc"
SAMPLE_NAMESPACE = "first_tchgt1VU"
SAMPLE_OTHER_NAMESPACE = "second_ns"

_KEEP: Any = object()


def api_event_names() -> list[str]:
    """The HTTP API events of ``events/`` (the folder holds the worker's queue and schedule events too)."""
    names = []
    for path in sorted(EVENTS_DIR.glob("*.json")):
        with path.open(encoding="utf-8") as handle:
            event = json.load(handle)
        if isinstance(event, dict) and event.get("version") == "2.0" and "routeKey" in event:
            names.append(path.stem)
    return names


def _read(name: str) -> dict[str, Any]:
    with (EVENTS_DIR / f"{name}.json").open(encoding="utf-8") as handle:
        event: dict[str, Any] = json.load(handle)
    return event


def _replace_segment(path: str, old: str, new: str) -> str:
    segments = path.split("/")
    if old not in segments:
        raise ValueError(f"{path!r} has no segment {old!r}")
    return "/".join(new if segment == old else segment for segment in segments)


def load_event(
    name: str,
    *,
    path_parameters: Mapping[str, str] | None = None,
    query: Mapping[str, str | None] | None = None,
    body: Any = _KEEP,
    headers: Mapping[str, str | None] | None = None,
    claims: Mapping[str, Any] | None = _KEEP,
) -> dict[str, Any]:
    """``events/<name>.json`` with the given changes.

    ``path_parameters`` replaces the named parameters in ``pathParameters``, ``rawPath`` and
    ``requestContext.http.path``; ``query`` sets (or, with None, removes) query parameters and rebuilds
    ``rawQueryString``; ``body`` is a JSON value, a raw string, or None for no body; ``headers`` sets
    (None removes) headers, lower-cased as API Gateway passes them; ``claims`` changes the JWT claims
    (None values remove a claim), and ``claims=None`` removes the authorizer and the Authorization header.
    """
    event = copy.deepcopy(_read(name))

    for parameter, value in (path_parameters or {}).items():
        parameters = event.get("pathParameters") or {}
        if parameter not in parameters:
            raise KeyError(f"{name}: no path parameter {parameter!r}")
        old = parameters[parameter]
        parameters[parameter] = value
        event["rawPath"] = _replace_segment(event["rawPath"], old, value)
        event["requestContext"]["http"]["path"] = _replace_segment(
            event["requestContext"]["http"]["path"], old, value
        )

    if query is not None:
        parameters = dict(event.get("queryStringParameters") or {})
        for key, value in query.items():
            if value is None:
                parameters.pop(key, None)
            else:
                parameters[key] = value
        if parameters:
            event["queryStringParameters"] = parameters
        else:
            event.pop("queryStringParameters", None)
        event["rawQueryString"] = urlencode(list(parameters.items()), quote_via=quote, safe=",")

    if body is not _KEEP:
        event_headers = event["headers"]
        if body is None:
            event.pop("body", None)
            event_headers.pop("content-length", None)
            event_headers.pop("content-type", None)
        else:
            text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
            event["body"] = text
            event["isBase64Encoded"] = False
            event_headers["content-length"] = str(len(text.encode()))
            event_headers.setdefault("content-type", "application/json")

    for header, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(header.lower(), None)
        else:
            event["headers"][header.lower()] = value

    if claims is None:
        event["requestContext"].pop("authorizer", None)
        event["headers"].pop("authorization", None)
    elif claims is not _KEEP:
        authorizer = event["requestContext"].setdefault("authorizer", {"jwt": {"claims": {}, "scopes": None}})
        current = authorizer["jwt"].setdefault("claims", {})
        for claim, value in claims.items():
            if value is None:
                current.pop(claim, None)
            else:
                current[claim] = value
    return event


@dataclass(frozen=True)
class Reply:
    """What a handler answered, with the JSON body parsed and header names lower-cased."""

    status: int
    headers: dict[str, str]
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text)

    @property
    def error(self) -> dict[str, str]:
        """The ``_error`` object of an error body, checked to have exactly the contract's shape."""
        body = self.body
        assert set(body) == {"_error"}, body
        assert set(body["_error"]) == {"_code", "_message"}, body
        assert isinstance(body["_error"]["_code"], str) and body["_error"]["_code"], body
        assert isinstance(body["_error"]["_message"], str) and body["_error"]["_message"], body
        return dict(body["_error"])

    @property
    def message(self) -> str:
        return self.error["_message"]


def reply_of(response: Mapping[str, Any]) -> Reply:
    headers = {str(key).lower(): str(value) for key, value in (response.get("headers") or {}).items()}
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(str(key).lower(), ",".join(str(value) for value in values))
    text = response.get("body") or ""
    assert not response.get("isBase64Encoded"), "a JSON API answers text bodies"
    return Reply(status=int(response["statusCode"]), headers=headers, text=text)

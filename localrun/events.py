"""The payloads AWS hands a function, built locally: API Gateway HTTP API (2.0) events with the JWT
authorizer's claims, what API Gateway answers for a handler's result, SQS batches and scheduled events.

Pure functions, no I/O: the local server and the tests use them alike.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import jwt

from localrun import aws_resources

LOCAL_SUBJECT = "local-developer"
LOCAL_API_ID = "localapi01"
STAGE = "$default"

_TEXT_CONTENT_TYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv", "graphql")
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# =============================================================================================== identity


class InvalidToken(Exception):
    """The Authorization header holds something that is not a JWT."""


def local_developer_claims(namespaces_claim: str = "namespaces") -> dict[str, Any]:
    """Who a request without an Authorization header is, locally: every namespace."""
    return {"sub": LOCAL_SUBJECT, namespaces_claim: "*"}


def claims_from_authorization(header: str | None, namespaces_claim: str = "namespaces") -> dict[str, Any]:
    """The claims of ``Authorization: Bearer <JWT>``, decoded WITHOUT checking the signature (local only).

    No header: the local developer. Like API Gateway's JWT authorizer, the token may come with or without
    the ``Bearer`` prefix.
    """
    if header is None or not header.strip():
        return local_developer_claims(namespaces_claim)
    scheme, _, rest = header.strip().partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else header.strip()
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise InvalidToken(f"the bearer token is not a JWT: {error}") from None
    if not isinstance(claims, dict):
        raise InvalidToken("the bearer token's payload is not a JSON object")
    return claims


def render_claim(value: Any) -> str:
    """A claim value as API Gateway's JWT authorizer passes it: always a string, an array as ``[a b]``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "[" + " ".join(render_claim(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    return {name: render_claim(value) for name, value in claims.items()}


def _scopes(claims: Mapping[str, Any]) -> list[str] | None:
    raw = claims.get("scope", claims.get("scp"))
    if raw is None:
        return None
    if isinstance(raw, list):
        return [str(item) for item in raw]
    return str(raw).split()


# =============================================================================================== events


def is_text_content_type(content_type: str | None) -> bool:
    """Bodies of these types reach the handler as text; any other body is base64-encoded."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or any(kind in media for kind in _TEXT_CONTENT_TYPES)


def _request_time(now: datetime) -> str:
    return f"{now.day:02d}/{_MONTHS[now.month - 1]}/{now.year}:{now:%H:%M:%S} +0000"


def new_api_request_id() -> str:
    """An id shaped like API Gateway's (``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()


def build_http_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    domain_name: str = "127.0.0.1",
    api_id: str = LOCAL_API_ID,
    account_id: str = aws_resources.LOCAL_ACCOUNT_ID,
    stage: str = STAGE,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload 2.0 event for one request.

    Headers are lower-cased, repeated headers and repeated query keys joined with commas, the Cookie header
    moved to ``cookies``, claims rendered as the JWT authorizer renders them, a non-text body base64-encoded.
    """
    now = now or datetime.now(UTC)
    request_id = request_id or new_api_request_id()
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    cookie_header = merged.pop("cookie", None)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{secrets.token_hex(12)}")

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    if cookie_header:
        event["cookies"] = [part.strip() for part in cookie_header.split(";") if part.strip()]
    event["headers"] = merged
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": render_claims(claims), "scopes": _scopes(claims)}}
    request_context.update(
        {
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": stage,
            "time": _request_time(now),
            "timeEpoch": int(now.timestamp() * 1000),
        }
    )
    event["requestContext"] = request_context
    if body:
        if is_text_content_type(merged.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_answer_from_result(result: Any) -> HttpAnswer:
    """What API Gateway answers for a handler's result (payload 2.0 rules).

    A dict with ``statusCode`` gives its status, ``headers`` (and ``multiValueHeaders``), ``cookies`` as
    ``Set-Cookie`` and ``body`` (base64-decoded when ``isBase64Encoded``); any other JSON value is a 200 whose
    body is that JSON.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpAnswer(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    multi = result.get("multiValueHeaders") or {}
    multi_names = {name.lower() for name in multi}
    headers: list[tuple[str, str]] = [
        (name, str(value))
        for name, value in (result.get("headers") or {}).items()
        if name.lower() not in multi_names and name.lower() not in _HOP_BY_HOP
    ]
    for name, values in multi.items():
        if name.lower() not in _HOP_BY_HOP:
            headers.extend((name, str(value)) for value in values)
    headers.extend(("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        payload = b""
    elif result.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
    return HttpAnswer(int(result["statusCode"]), headers, payload)


def sqs_event(messages: Iterable[Mapping[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS poller passes for messages as ``ReceiveMessage`` returned them."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes") or {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": {
                name: _lambda_message_attribute(value)
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute


def scheduled_event(
    rule_arn: str, *, region: str, account_id: str, now: datetime | None = None
) -> dict[str, Any]:
    """The event EventBridge sends a function on a schedule."""
    now = now or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"_error": {"_code": code, "_message": message}}).encode()

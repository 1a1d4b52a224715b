"""Who is calling, and which namespaces they may use.

Deployed, API Gateway's JWT authorizer has checked the token and passes its claims as strings
(an array claim arrives as ``[a b]``); locally the same claims come from the local server.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflowsvc.errors import BadRequest, Forbidden, Unauthorized

MAX_NAMESPACES_PER_REQUEST = 10
_NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_EVERY_NAMESPACE = "*"


@dataclass(frozen=True)
class Caller:
    subject: str
    granted: frozenset[str]

    @property
    def all_namespaces(self) -> bool:
        return _EVERY_NAMESPACE in self.granted

    def authorize(self, namespaces: tuple[str, ...]) -> None:
        if self.all_namespaces:
            return
        refused = [ns for ns in namespaces if ns not in self.granted]
        if refused:
            raise Forbidden(f"nsfilter: the caller may not use namespace {refused[0]!r}")


def _split_claim(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(item).strip() for item in value if str(item).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            text = text[1:-1]  # API Gateway's rendering of an array claim: [a b]
        else:
            if isinstance(parsed, list):
                return _split_claim(parsed)
    return [part for part in re.split(r"[,\s]+", text) if part]


def caller_from_claims(claims: Mapping[str, Any] | None, namespaces_claim: str) -> Caller:
    if not claims or not str(claims.get("sub") or "").strip():
        raise Unauthorized("no authenticated identity: a bearer token with a 'sub' claim is required")
    granted = frozenset(_split_claim(claims.get(namespaces_claim, "")))
    return Caller(subject=str(claims["sub"]).strip(), granted=granted)


def parse_nsfilter(value: str | None) -> tuple[str, ...]:
    """The namespaces of ``nsfilter``: one name, or several separated by commas, in order, once each."""
    if value is None or not value.strip():
        raise BadRequest(
            "nsfilter: the query parameter is required (one namespace, or several comma-separated)",
            code="MISSING_NSFILTER",
        )
    names: list[str] = []
    for raw in value.split(","):
        name = raw.strip()
        if not _NAMESPACE.match(name):
            raise BadRequest(
                f"nsfilter: {raw!r} is not a namespace name (letters, digits, '_', '.', '-'; at most 128)",
                code="INVALID_NSFILTER",
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_NAMESPACES_PER_REQUEST:
        raise BadRequest(
            f"nsfilter: {len(names)} namespaces given; at most {MAX_NAMESPACES_PER_REQUEST} per request",
            code="INVALID_NSFILTER",
        )
    return tuple(names)

"""``_nextToken``: a signed cursor bound to the query that issued it.

The token carries the sort position of the last item of a page. It is signed with HMAC-SHA256 over
the position and the query's fingerprint (namespaces, filters, sort, page size), so a token that was
altered, forged, or issued for another query is refused rather than read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from workflowsvc.errors import BadRequest

_INVALID = "_nextToken: the token is not one this service issued for this same query"


def _sign(secret: bytes, payload: bytes, fingerprint: str) -> bytes:
    return hmac.new(secret, payload + b"\x00" + fingerprint.encode(), hashlib.sha256).digest()[:16]


def encode(position: Any, fingerprint: str, secret: bytes) -> str:
    payload = json.dumps(position, separators=(",", ":")).encode()
    signature = _sign(secret, payload, fingerprint)
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def decode(token: str, fingerprint: str, secret: bytes) -> Any:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        raise BadRequest(_INVALID, code="INVALID_TOKEN") from None
    signature, payload = raw[:16], raw[16:]
    if len(signature) < 16 or not hmac.compare_digest(signature, _sign(secret, payload, fingerprint)):
        raise BadRequest(_INVALID, code="INVALID_TOKEN")
    return json.loads(payload)

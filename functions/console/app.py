"""GET /console and GET /console/{proxy+}: the web console's files, and the config.json they start from.

These routes have no JWT authorizer, since the page has to load before its user signs in. Nothing here
reads data: the page calls the API with the signed-in user's own token. No domain import, so that a
cold start costs little.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from base64 import b64encode
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATIC_DIR = Path(__file__).resolve().parent / "static"
INDEX = "index.html"
CONFIG = "config.json"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Smaller files are not worth the CPU and the base64 overhead of compressing them.
GZIP_MIN_BYTES = 1024

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The sign-in redirect puts a code in the URL: never send it on.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Strict-Transport-Security": "max-age=31536000",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    name = (event.get("pathParameters") or {}).get("proxy") or INDEX
    headers = {header.lower(): value for header, value in (event.get("headers") or {}).items()}
    if name == CONFIG:
        body = json.dumps(console_config(os.environ)).encode()
        return answer(200, body, "application/json", "no-store", headers)
    path = static_files().get(name)
    if path is None:
        error = {"_error": {"_code": "NOT_FOUND", "_message": f"no console file {name!r}"}}
        return answer(404, json.dumps(error).encode(), "application/json", "no-store", headers)
    return answer(200, path.read_bytes(), CONTENT_TYPES[path.suffix], "no-cache", headers)


@cache
def static_files() -> dict[str, Path]:
    """Every file the console may serve, by its path under ``static/``: a request names one of these or
    gets a 404, so no path it sends can reach another file."""
    return {
        path.relative_to(STATIC_DIR).as_posix(): path
        for path in sorted(STATIC_DIR.rglob("*"))
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def console_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """What the page needs before its first API call. Locally there is no sign-in: the local server takes a
    request without ``Authorization`` as the local developer."""
    sign_in = None
    if environ.get("WORKFLOWSVC_ENVIRONMENT") != "local":
        sign_in = {
            "issuer": environ.get("CONSOLE_OIDC_ISSUER", ""),
            "clientId": environ.get("CONSOLE_CLIENT_ID", ""),
            "scope": "openid",
            "bearerToken": environ.get("CONSOLE_BEARER_TOKEN") or "access_token",
        }
    return {"apiBasePath": environ.get("CONSOLE_API_BASE_PATH", "/workflowsvc/api/v1"), "signIn": sign_in}


def content_security_policy(environ: Mapping[str, str]) -> str:
    """Scripts, styles and images from the console itself only; API calls to the same origin; sign-in calls
    to the issuer (its discovery document) and to the origins named for its token endpoint."""
    connect = ["'self'"]
    if environ.get("WORKFLOWSVC_ENVIRONMENT") != "local":
        named = [
            environ.get("CONSOLE_OIDC_ISSUER", ""),
            *environ.get("CONSOLE_SIGN_IN_ORIGINS", "").split(","),
        ]
        connect += dict.fromkeys(origin for origin in map(web_origin, named) if origin)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            # The page builds its DOM from text only; a string turned into markup or script is refused.
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        )
    )


def web_origin(url: str) -> str | None:
    """``https://host[:port]`` of an http(s) URL; anything else (a CSP keyword, a typo) is no origin."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c in url for c in " ;,'\""):
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def answer(
    status: int, body: bytes, content_type: str, cache_control: str, request_headers: Mapping[str, str]
) -> dict[str, Any]:
    """The response, with the security headers; a file the browser has is a 304, a large one is gzipped
    for a browser that takes it."""
    headers = {
        "Content-Type": content_type,
        "Cache-Control": cache_control,
        "Content-Security-Policy": content_security_policy(os.environ),
        "Vary": "Accept-Encoding",
        **SECURITY_HEADERS,
    }
    if status == 200 and cache_control == "no-cache":
        headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if headers["ETag"] in request_headers.get("if-none-match", ""):
            return {"statusCode": 304, "headers": headers, "body": "", "isBase64Encoded": False}
    if len(body) >= GZIP_MIN_BYTES and "gzip" in request_headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        compressed = b64encode(gzip.compress(body, compresslevel=6, mtime=0)).decode()
        return {"statusCode": status, "headers": headers, "body": compressed, "isBase64Encoded": True}
    return {"statusCode": status, "headers": headers, "body": body.decode(), "isBase64Encoded": False}

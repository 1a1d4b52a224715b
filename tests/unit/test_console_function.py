"""The console function: the page's files with strict security headers, its config.json, nothing else."""

from __future__ import annotations

import ast
import base64
import gzip
import json
import posixpath
import re
from pathlib import Path
from typing import Any

import pytest

from functions.console import app as console

CONSOLE_DIR = Path(console.__file__).parent
DEPLOYED = {
    "WORKFLOWSVC_ENVIRONMENT": "deployed",
    "CONSOLE_API_BASE_PATH": "/workflowsvc/api/v1",
    "CONSOLE_OIDC_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool",
    "CONSOLE_CLIENT_ID": "console-client",
    "CONSOLE_SIGN_IN_ORIGINS": "https://login.auth.eu-west-1.amazoncognito.com, https://other.example",
    "CONSOLE_BEARER_TOKEN": "id_token",
}


def get(proxy: str | None = None, **headers: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "GET /console/{proxy+}" if proxy is not None else "GET /console",
        "rawPath": f"/console/{proxy}" if proxy is not None else "/console",
        "headers": {name.replace("_", "-"): value for name, value in headers.items()},
    }
    if proxy is not None:
        event["pathParameters"] = {"proxy": proxy}
    answer: dict[str, Any] = console.lambda_handler(event, None)
    return answer


def body_of(answer: dict[str, Any]) -> bytes:
    body = answer["body"]
    return base64.b64decode(body) if answer["isBase64Encoded"] else body.encode()


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKFLOWSVC_ENVIRONMENT", "local")
    monkeypatch.setenv("CONSOLE_OIDC_ISSUER", DEPLOYED["CONSOLE_OIDC_ISSUER"])


def test_the_page_is_served_at_the_folder_and_without_the_slash(local: None) -> None:
    # When
    answers = [get(), get(""), get("index.html")]

    # Then
    for answer in answers:
        assert answer["statusCode"] == 200
        assert answer["headers"]["Content-Type"] == "text/html; charset=utf-8"
        assert b"/console/js/main.js" in body_of(answer)


def test_every_answer_carries_the_security_headers(local: None) -> None:
    # When
    for answer in (get(), get("js/main.js"), get("config.json"), get("no-such-file.js")):
        headers = answer["headers"]

        # Then
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_the_content_security_policy_allows_only_the_console_itself_locally(local: None) -> None:
    # When
    policy = dict(
        directive.split(" ", 1) for directive in get()["headers"]["Content-Security-Policy"].split("; ")
    )

    # Then: no inline script or style, no other origin, no markup from strings
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert "unsafe" not in get()["headers"]["Content-Security-Policy"]


def test_deployed_the_policy_lets_the_page_reach_the_issuer_and_the_named_sign_in_origins(
    deployed: None,
) -> None:
    # When
    policy = get()["headers"]["Content-Security-Policy"]

    # Then
    connect = re.search(r"connect-src ([^;]+)", policy)
    assert connect is not None
    assert connect.group(1).split() == [
        "'self'",
        "https://cognito-idp.eu-west-1.amazonaws.com",
        "https://login.auth.eu-west-1.amazoncognito.com",
        "https://other.example",
    ]
    assert "script-src 'self';" in policy


@pytest.mark.parametrize(
    "named",
    ["'unsafe-inline'", "*", "https://x.example; script-src *", "javascript:alert(1)", "data:", "not a url"],
)
def test_a_sign_in_origin_that_is_not_an_origin_never_reaches_the_policy(
    deployed: None, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    # Given
    monkeypatch.setenv("CONSOLE_SIGN_IN_ORIGINS", named)

    # When
    policy = get()["headers"]["Content-Security-Policy"]

    # Then
    assert "connect-src 'self' https://cognito-idp.eu-west-1.amazonaws.com;" in policy
    assert policy.count("script-src") == 1


def test_locally_the_config_asks_for_no_sign_in(local: None) -> None:
    # When
    answer = get("config.json")

    # Then
    assert answer["headers"]["Cache-Control"] == "no-store"
    assert json.loads(body_of(answer)) == {"apiBasePath": "/workflowsvc/api/v1", "signIn": None}


def test_deployed_the_config_names_the_issuer_and_the_client(deployed: None) -> None:
    # When
    config = json.loads(body_of(get("config.json")))

    # Then
    assert config == {
        "apiBasePath": "/workflowsvc/api/v1",
        "signIn": {
            "issuer": DEPLOYED["CONSOLE_OIDC_ISSUER"],
            "clientId": "console-client",
            "scope": "openid",
            "bearerToken": "id_token",
        },
    }


@pytest.mark.parametrize(
    "name", ["../app.py", "js/../../app.py", "static/index.html", "js/", "%2e%2e/app.py"]
)
def test_only_the_consoles_own_files_are_served(local: None, name: str) -> None:
    # When
    answer = get(name)

    # Then
    assert answer["statusCode"] == 404
    assert json.loads(body_of(answer))["_error"]["_code"] == "NOT_FOUND"


def test_each_file_has_its_media_type(local: None) -> None:
    # Then
    for name, path in console.static_files().items():
        answer = get(name)
        assert answer["statusCode"] == 200, name
        assert answer["headers"]["Content-Type"] == console.CONTENT_TYPES[path.suffix]
        assert body_of(answer) == path.read_bytes()


def test_a_file_the_browser_has_is_a_304_and_a_large_one_is_gzipped(local: None) -> None:
    # Given
    first = get("js/main.js")
    etag = first["headers"]["ETag"]

    # When
    again = get("js/main.js", if_none_match=etag)
    compressed = get("console.css", accept_encoding="gzip, deflate, br")

    # Then
    assert again["statusCode"] == 304 and again["body"] == ""
    assert compressed["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(body_of(compressed)) == (CONSOLE_DIR / "static" / "console.css").read_bytes()


def test_the_function_imports_no_domain_code() -> None:
    # Given
    tree = ast.parse((CONSOLE_DIR / "app.py").read_text(encoding="utf-8"))

    # When
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }

    # Then: the standard library only
    assert not {
        name for name in imported if name.split(".")[0] in ("workflowsvc", "aws_lambda_powertools", "boto3")
    }


def test_every_module_the_page_imports_is_served() -> None:
    # Given
    files = console.static_files()
    index = files["index.html"].read_text(encoding="utf-8")
    referenced = {
        match.removeprefix("/console/") for match in re.findall(r'(?:src|href)="(/console/[^"]+)"', index)
    }

    # When: follow every static import from the entry module
    pending, seen = ["js/main.js"], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in files, f"{name} is imported but not served"
        source = files[name].read_text(encoding="utf-8")
        for target in re.findall(r"^\s*(?:import|export)\b[^'\"]*?from\s+'([^']+)'", source, re.MULTILINE):
            pending.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), target)))

    # Then
    assert referenced <= set(files)
    assert {name for name in files if name.endswith(".js")} == seen, "a module nothing imports"


def test_the_page_builds_no_markup_from_strings() -> None:
    # Given: the policy requires Trusted Types for scripts and allows no policy, so these would throw
    forbidden = re.compile(
        r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\("
    )
    index = (CONSOLE_DIR / "static" / "index.html").read_text(encoding="utf-8")

    # Then
    for name, path in console.static_files().items():
        if name.endswith(".js"):
            assert not forbidden.search(path.read_text(encoding="utf-8")), name
    assert not re.search(r"<script(?![^>]*\bsrc=)", index), "an inline script"
    assert not re.search(r"\sstyle=|<style", index), "an inline style"

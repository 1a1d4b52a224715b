"""Signing in as deployed: the console function with a deployed stack's settings, an OIDC issuer that
checks PKCE, and the API behind the same origin. Everything runs on loopback in this test: the issuer, and
a front that serves the console function in this process and passes API calls to the local server (which
decodes the bearer token's claims as API Gateway's JWT authorizer passes them)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from playwright.sync_api import expect

from functions.console import app as console_function

CLIENT_ID = "console-test-client"
USER = {"sub": "alice", "email": "alice@example.test"}


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _token(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, "issuer-test-signing-key-of-32-bytes", algorithm="HS256")


@dataclass
class Issuer:
    """An OIDC provider: discovery, an authorize endpoint that signs alice in at once, and a token
    endpoint that refuses a code_verifier that does not match the code_challenge."""

    namespaces: list[str]
    url: str = ""
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in {"Access-Control-Allow-Origin": "*", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    self._answer(
                        200,
                        {
                            "issuer": issuer.url,
                            "authorization_endpoint": f"{issuer.url}/authorize",
                            "token_endpoint": f"{issuer.url}/token",
                        },
                    )
                elif path == "/authorize":
                    asked = dict(urllib.parse.parse_qsl(query))
                    issuer.authorize_requests.append(asked)
                    code = secrets.token_urlsafe(16)
                    issuer._codes[code] = asked
                    back = urllib.parse.urlencode({"code": code, "state": asked["state"]})
                    self._answer(302, headers={"Location": f"{asked['redirect_uri']}?{back}"})
                else:
                    self._answer(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                asked = issuer._codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "").encode()
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
                if (
                    asked is None
                    or form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != CLIENT_ID
                    or form.get("redirect_uri") != asked["redirect_uri"]
                    or challenge != asked["code_challenge"]
                ):
                    self._answer(400, {"error": "invalid_grant"})
                    return
                access = _token(
                    {**USER, "client_id": CLIENT_ID, "namespaces": issuer.namespaces, "exp": 4102444800}
                )
                issuer.issued.append(access)
                identity = _token({**USER, "aud": CLIENT_ID, "nonce": asked["nonce"], "exp": 4102444800})
                self._answer(
                    200,
                    {
                        "access_token": access,
                        "id_token": identity,
                        "token_type": "Bearer",
                        "expires_in": 3600,
                    },
                )

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@dataclass
class Deployment:
    """One origin, as API Gateway gives a deployed stack: /console/ is the console function, called here,
    and the API's paths go on to the local server. ``refuse_tokens`` answers the API's calls 401."""

    api_url: str
    url: str = ""
    authorizations: list[str] = field(default_factory=list)
    refuse_tokens: bool = False

    def handler(self) -> type[BaseHTTPRequestHandler]:
        deployment = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _console(self, path: str) -> None:
                proxy = path.removeprefix("/console").removeprefix("/")
                event = {"headers": {name.lower(): value for name, value in self.headers.items()}}
                if proxy:
                    event["pathParameters"] = {"proxy": proxy}
                answer = console_function.lambda_handler(event, None)
                body = answer["body"]
                payload = base64.b64decode(body) if answer["isBase64Encoded"] else body.encode()
                self._send(answer["statusCode"], answer["headers"], payload)

            def _api(self) -> None:
                authorization = self.headers.get("Authorization", "")
                deployment.authorizations.append(authorization)
                if deployment.refuse_tokens or not authorization:
                    self._send(401, {"Content-Type": "application/json"}, b'{"message":"Unauthorized"}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                request = urllib.request.Request(
                    f"{deployment.api_url}{self.path}",
                    data=self.rfile.read(length) if length else None,
                    method=self.command,
                    headers={
                        name: value
                        for name, value in self.headers.items()
                        if name.lower() in ("authorization", "content-type")
                    },
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        self._send(answer.status, dict(answer.headers), answer.read())
                except urllib.error.HTTPError as error:
                    with error:
                        self._send(error.code, dict(error.headers), error.read())

            def do_GET(self) -> None:
                path = self.path.partition("?")[0]
                if path == "/console" or path.startswith("/console/"):
                    self._console(path)
                else:
                    self._api()

            do_POST = do_PUT = _api

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@pytest.fixture
def deployed_console(
    local_server: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Issuer, Deployment]]:
    issuer = Issuer(namespaces=[namespace])
    issuer_server, issuer.url = _serve(issuer.handler())
    deployment = Deployment(api_url=local_server)
    deployment_server, deployment.url = _serve(deployment.handler())
    for name, value in {
        "WORKFLOWSVC_ENVIRONMENT": "deployed",
        "CONSOLE_API_BASE_PATH": "/workflowsvc/api/v1",
        "CONSOLE_OIDC_ISSUER": issuer.url,
        "CONSOLE_CLIENT_ID": CLIENT_ID,
        "CONSOLE_SIGN_IN_ORIGINS": "",
        "CONSOLE_BEARER_TOKEN": "access_token",
    }.items():
        monkeypatch.setenv(name, value)
    yield issuer, deployment
    for server in (issuer_server, deployment_server):
        server.shutdown()
        server.server_close()


def test_sign_in_with_pkce_and_call_the_api_with_the_token(
    open_console: Callable[..., Any], deployed_console: tuple[Issuer, Deployment], namespace: str
) -> None:
    # Given
    issuer, deployment = deployed_console
    console = open_console(deployment.url)
    page = console.open(f"#/runs?nsfilter={namespace}")

    # Then: nothing is shown before sign-in, and nothing is asked of the API
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert deployment.authorizations == []

    # When
    page.get_by_role("button", name="Sign in").click()

    # Then: back from the issuer on the view asked for, the code gone from the address
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs")
    expect(page.locator("#runs-summary")).to_contain_text("No runs match these filters.")
    expect(page.locator("#session")).to_contain_text("Signed in as alice@example.test")
    assert "code=" not in page.url and page.url.endswith(f"/console/#/runs?nsfilter={namespace}")
    [asked] = issuer.authorize_requests
    assert asked["client_id"] == CLIENT_ID
    assert asked["redirect_uri"] == f"{deployment.url}/console/"
    assert asked["code_challenge_method"] == "S256" and asked["scope"] == "openid"
    [token] = issuer.issued
    assert deployment.authorizations and set(deployment.authorizations) == {f"Bearer {token}"}

    # When: a namespace the token does not grant
    page.get_by_label("Namespaces").fill("someone-elses")
    page.get_by_role("button", name="Show runs").click()

    # Then: the API's refusal, beside the field
    expect(page.get_by_label("Namespaces")).to_have_attribute("aria-invalid", "true")

    # When: the API stops taking the token
    deployment.refuse_tokens = True
    page.get_by_label("Namespaces").fill(namespace)
    page.get_by_role("button", name="Show runs").click()

    # Then: asked to sign in again
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("alert")).to_contain_text("sign in again")

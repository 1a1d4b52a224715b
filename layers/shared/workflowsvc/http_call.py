"""The HTTP call a REST_CONNECTOR task makes.

Inputs (already expression-resolved): ``_url`` (required), ``_method`` (default GET), ``_headers``,
``_body`` (a string is sent as it is; any other JSON value as JSON with ``Content-Type:
application/json``), ``_timeoutSeconds`` (default 30, for the whole call, redirects included).
Output: ``{"_statusCode", "_headers", "_body"}``; header names are lower case, and the body is parsed
when the answer says it is JSON (else it is text; an empty body is null). ``Host``,
``Content-Length`` and ``Transfer-Encoding`` in ``_headers`` are ignored: each hop sets its own.

Every hop (the first request and each redirect, at most 5) passes the egress guard, and the
connection goes to the very address the guard checked: the host name travels only in the Host
header and, for https, in SNI and the certificate check.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import urllib3
import urllib3.connection
from urllib3 import exceptions as http_errors

from workflowsvc.egress import EgressPolicy, EgressRefused, ParsedTarget, check_url, resolve_and_check

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_REDIRECTS = 5
MAX_BODY_BYTES = 1024 * 1024
SNIPPET_CHARS = 200
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_READ_CHUNK_BYTES = 64 * 1024
_USER_AGENT = "workflowsvc-rest-connector"
# Computed per hop by us; a caller's value would be wrong or, for Host, defeat the address pinning.
_HEADERS_WE_SET = ("host", "content-length", "transfer-encoding")
# Credentials meant for one origin are not handed to another one a redirect points to.
_CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)


class RestCallFailed(Exception):
    """The call failed: ``error`` says why in plain words.

    ``output`` is the task output when an answer came back (a non-2xx status), None when there was
    no answer (refused, unreachable, timed out, too large); ``timed_out`` is True when the call ran
    out of time; ``permanent`` when the inputs themselves are wrong, so the same call would fail again.
    """

    def __init__(
        self,
        error: str,
        output: dict[str, Any] | None = None,
        timed_out: bool = False,
        permanent: bool = False,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.output = output
        self.timed_out = timed_out
        self.permanent = permanent


class InvalidInput(RestCallFailed):
    """An input the call cannot be made with: the same inputs would fail the same way every time."""

    def __init__(self, error: str) -> None:
        super().__init__(error, permanent=True)


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    headers: urllib3.HTTPHeaderDict
    body: bytes | None
    timeout: float


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    target: ParsedTarget


def call(inputs: Mapping[str, Any], policy: EgressPolicy, timeout_cap: float | None = None) -> dict[str, Any]:
    """Make the call ``inputs`` describe and return its output; raise ``RestCallFailed`` if it fails.

    ``timeout_cap`` shortens the timeout, e.g. to the time the run has left.
    """
    request = _request_from(inputs, timeout_cap)
    if request.timeout <= 0:
        raise RestCallFailed("no time left to make the call", timed_out=True)
    answer = _exchange(request, policy, deadline=time.monotonic() + request.timeout)
    text = answer.body.decode(_charset(answer.headers), errors="replace")
    output = {"_statusCode": answer.status, "_headers": answer.headers, "_body": _parsed_body(answer, text)}
    if not 200 <= answer.status < 300:
        snippet = " ".join(text.split())[:SNIPPET_CHARS]
        raise RestCallFailed(
            f"HTTP {answer.status} {answer.reason}".rstrip()
            + f" from {request.method} {answer.target.display_url}"
            + (f": {snippet}" if snippet else ""),
            output=output,
        )
    return output


def _request_from(inputs: Mapping[str, Any], timeout_cap: float | None) -> _Request:
    url = inputs.get("_url")
    if url is None or url == "":
        raise InvalidInput("the input _url is missing: REST_CONNECTOR needs the URL to call")
    if not isinstance(url, str):
        raise InvalidInput(f"the input _url must be a string, not {_json_type(url)}")

    method = inputs.get("_method")
    if method is None or method == "":
        method = "GET"
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise InvalidInput(f"the input _method must be one of {', '.join(METHODS)}, not {method!r}")

    headers = urllib3.HTTPHeaderDict()
    given_headers = inputs.get("_headers")
    if given_headers is None:
        given_headers = {}
    if not isinstance(given_headers, Mapping):
        raise InvalidInput(f"the input _headers must be an object, not {_json_type(given_headers)}")
    for name, value in given_headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidInput(f"the header name {name!r} in _headers is not a valid HTTP header name")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise InvalidInput(f"the header {name!r} in _headers must be a string or a number")
        if not _HEADER_VALUE.fullmatch(str(value)):
            raise InvalidInput(
                f"the header {name!r} in _headers holds a line break, a control character or a character "
                "outside Latin-1"
            )
        if name.lower() not in _HEADERS_WE_SET:
            headers[name] = str(value)
    headers.setdefault("User-Agent", _USER_AGENT)

    body = inputs.get("_body")
    encoded_body: bytes | None
    if body is None:
        encoded_body = None
    elif isinstance(body, str):
        encoded_body = body.encode()
    else:
        encoded_body = json.dumps(body, separators=(",", ":")).encode()
        headers.setdefault("Content-Type", "application/json")

    timeout = inputs.get("_timeoutSeconds")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT_SECONDS
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise InvalidInput(f"the input _timeoutSeconds must be a positive number, not {timeout!r}")
    if timeout_cap is not None:
        timeout = min(timeout, timeout_cap)
    return _Request(method.upper(), url, headers, encoded_body, float(timeout))


def _exchange(request: _Request, policy: EgressPolicy, deadline: float) -> _Answer:
    """Send the request, following redirects, and return the final answer with its body."""
    method, url, headers, body = request.method, request.url, request.headers.copy(), request.body
    redirects = 0
    while True:
        target, addresses = _checked(url, policy)
        pool, response = _open(target, addresses, method, headers, body, deadline, request.timeout)
        with pool, response:
            location = response.headers.get("Location")
            if response.status not in _REDIRECT_STATUSES or not location:
                return _Answer(
                    status=response.status,
                    reason=response.reason or "",
                    headers={name.lower(): value for name, value in response.headers.itermerged()},
                    body=_read_body(response, target, deadline, request.timeout),
                    target=target,
                )
        if redirects == MAX_REDIRECTS:
            raise RestCallFailed(
                f"too many redirects: {target.display_url} redirects again after {MAX_REDIRECTS} redirects"
            )
        redirects += 1
        url = urljoin(url, location)
        if (response.status == 303 and method != "HEAD") or (
            response.status in (301, 302) and method == "POST"
        ):
            # What browsers do: the next request is a GET without the body.
            method, body = "GET", None
            for name in ("Content-Type", "Content-Encoding"):
                headers.discard(name)
        if _origin(url) != target.origin:
            for name in _CREDENTIAL_HEADERS:
                headers.discard(name)


def _checked(url: str, policy: EgressPolicy) -> tuple[ParsedTarget, list[str]]:
    """The parsed URL and the addresses it may be called at; refusals become ``RestCallFailed``."""
    try:
        target = check_url(url)
    except EgressRefused as refused:
        raise RestCallFailed(str(refused)) from refused
    try:
        return target, resolve_and_check(target.host, target.port, policy)
    except EgressRefused as refused:
        raise RestCallFailed(str(refused)) from refused
    except OSError as error:  # the name did not resolve
        raise RestCallFailed(f"could not find the host {target.host}: {_root_cause(error)}") from error


def _open(
    target: ParsedTarget,
    addresses: list[str],
    method: str,
    headers: urllib3.HTTPHeaderDict,
    body: bytes | None,
    deadline: float,
    timeout: float,
) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:
    """Send the request to the first of ``addresses`` that accepts a connection."""
    hop_headers = headers.copy()
    hop_headers["Host"] = target.host_header
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(target, timeout)
        pool = _pool(target, address)
        try:
            response = pool.urlopen(
                method,
                target.request_target,
                body=body,
                headers=hop_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                release_conn=False,
                timeout=urllib3.Timeout(connect=remaining, read=remaining),
            )
        except http_errors.NewConnectionError as error:
            pool.close()
            if address == addresses[-1]:
                raise _failure(error, target, timeout) from error
            continue  # e.g. an IPv6 address without an IPv6 route: try the next address
        except (http_errors.HTTPError, OSError) as error:
            pool.close()
            raise _failure(error, target, timeout) from error
        return pool, response
    raise AssertionError("resolve_and_check returns at least one address")


class _HTTPConnection(urllib3.connection.HTTPConnection):
    """Keeps hold of its socket, which http.client lets go of once an answer says the connection
    will close, so that the deadline can still shut it."""

    kept_socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.kept_socket = self.sock


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    kept_socket: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.kept_socket = self.sock


def _pool(target: ParsedTarget, address: str) -> urllib3.HTTPConnectionPool:
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,  # SNI, for the name in the URL and not the address
            assert_hostname=target.host,  # the certificate must be for that name too
        )
        pool.ConnectionCls = _HTTPSConnection
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, maxsize=1)
        pool.ConnectionCls = _HTTPConnection
    return pool


def _read_body(
    response: urllib3.BaseHTTPResponse, target: ParsedTarget, deadline: float, timeout: float
) -> bytes:
    """The body, read in chunks so that neither its size nor a slow sender can go past the limits."""
    # A socket timeout bounds each read, not the sum of them: a sender trickling bytes would never
    # trip it. At the deadline a timer shuts the socket, which ends whatever read is in progress.
    sock = getattr(response.connection, "kept_socket", None)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
    watchdog.start()
    body = bytearray()
    try:
        while chunk := response.read(_READ_CHUNK_BYTES):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise RestCallFailed(
                    f"the answer from {target.display_url} (HTTP {response.status}) is larger than the "
                    f"{MAX_BODY_BYTES // 1024 // 1024} MiB limit"
                )
    except (http_errors.HTTPError, OSError) as error:
        raise (
            _timed_out(target, timeout) if expired.is_set() else _failure(error, target, timeout)
        ) from error
    finally:
        watchdog.cancel()
    if expired.is_set():  # the shut socket looked like the end of the body
        raise _timed_out(target, timeout)
    return bytes(body)


def _failure(error: Exception, target: ParsedTarget, timeout: float) -> RestCallFailed:
    """A network error in plain words."""
    where = target.display_url
    if isinstance(error, http_errors.NewConnectionError):
        return RestCallFailed(f"could not connect to {where}: {_root_cause(error)}")
    if isinstance(error, http_errors.TimeoutError | TimeoutError):
        return _timed_out(target, timeout)
    if isinstance(error, http_errors.SSLError):
        return RestCallFailed(f"secure connection to {where} failed: {_root_cause(error)}")
    return RestCallFailed(f"the call to {where} failed: {_root_cause(error)}")


def _timed_out(target: ParsedTarget, timeout: float) -> RestCallFailed:
    unit = "second" if timeout == 1 else "seconds"
    return RestCallFailed(f"timed out after {timeout:g} {unit} calling {target.display_url}", timed_out=True)


def _root_cause(error: BaseException) -> str:
    """The innermost reason, e.g. "Connection refused" rather than urllib3's wrapping of it."""
    while True:
        inner = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        if inner is None:
            break
        error = inner
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        return check_url(url).origin
    except EgressRefused:
        return None  # the next hop refuses it with a proper message


def _charset(headers: Mapping[str, str]) -> str:
    found = _CHARSET.search(headers.get("content-type", ""))
    if found:
        try:
            return codecs.lookup(found.group(1)).name
        except LookupError:
            pass  # an unknown charset: UTF-8 is the best guess
    return "utf-8"


def _parsed_body(answer: _Answer, text: str) -> Any:
    if not answer.body:
        return None
    media_type = answer.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # not JSON after all: the text is still worth having
    return text


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__

"""REST_CONNECTOR calls against a local HTTP server on 127.0.0.1.

Other hosts exist only in the fake DNS (``tests/unit/conftest.py``), and the connect guard records
every connection attempt, so a test can show that a forbidden address was never contacted.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from workflowsvc.config import Settings
from workflowsvc.egress import EgressPolicy
from workflowsvc.http_call import MAX_BODY_BYTES, RestCallFailed, call

if TYPE_CHECKING:
    from tests.unit.conftest import FakeDns

LOCAL = EgressPolicy(allow_loopback=True)
DEPLOYED = EgressPolicy(allow_loopback=False)
LONG_ERROR_TEXT = "no such device: dev-7. " + "details " * 200


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()  # lets the hanging and dripping endpoints finish

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout test) is expected, not worth a traceback


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_GET

    def _handle(self) -> None:
        url = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = {
            "method": self.command,
            "path": url.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body": body.decode(),
        }
        self.server.requests.append(seen)
        if url.path == "/json":
            self._send(200, b'{"ok": true, "items": [1, 2]}', "application/json")
        elif url.path == "/text":
            self._send(200, "plain text, ü".encode(), "text/plain; charset=utf-8")
        elif url.path == "/echo":
            self._send(200, json.dumps(seen).encode(), "application/json")
        elif url.path.startswith("/status/"):
            self._send(int(url.path.rsplit("/", 1)[1]), LONG_ERROR_TEXT.encode(), "text/plain")
        elif url.path == "/redirect":
            self.send_response(int(query.get("status", "302")))
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif url.path == "/hang":
            self.server.release.wait(10)
        elif url.path == "/slow":  # the headers at once, a byte after 0.6 s, then nothing
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.flush()
            if not self.server.release.wait(0.6):
                self.wfile.write(b"x")
                self.wfile.flush()
                self.server.release.wait(10)
        elif url.path == "/big":
            self._send(200, b"x" * (MAX_BODY_BYTES + 1), "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(server: _Server) -> Iterator[_Server]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve(_Server())


@pytest.fixture
def base(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _failure(inputs: dict[str, Any], policy: EgressPolicy = LOCAL, **kwargs: Any) -> RestCallFailed:
    with pytest.raises(RestCallFailed) as raised:
        call(inputs, policy, **kwargs)
    return raised.value


# --- answers -------------------------------------------------------------------------------------


def test_a_json_answer_is_parsed(base: str) -> None:
    output = call({"_url": f"{base}/json"}, LOCAL)

    assert output["_statusCode"] == 200
    assert output["_headers"]["content-type"] == "application/json"
    assert output["_body"] == {"ok": True, "items": [1, 2]}


def test_a_text_answer_stays_text(base: str) -> None:
    output = call({"_url": f"{base}/text"}, LOCAL)

    assert output["_body"] == "plain text, ü"


def test_method_headers_and_a_json_body_are_sent(base: str, server: _Server) -> None:
    inputs = {
        "_url": f"{base}/echo",
        "_method": "post",
        "_headers": {"X-Api-Key": "k-1", "X-Count": 3, "Host": "elsewhere.test"},
        "_body": {"device": "dev-7", "on": True},
    }

    seen = call(inputs, LOCAL)["_body"]

    assert seen["method"] == "POST"
    assert seen["headers"]["x-api-key"] == "k-1"
    assert seen["headers"]["x-count"] == "3"
    assert seen["headers"]["host"] == base.removeprefix("http://")  # the caller cannot choose Host
    assert seen["headers"]["content-type"] == "application/json"
    assert json.loads(seen["body"]) == {"device": "dev-7", "on": True}


def test_a_string_body_is_sent_as_it_is(base: str) -> None:
    inputs = {
        "_url": f"{base}/echo",
        "_method": "PUT",
        "_body": "a=1&b=2",
        "_headers": {"Content-Type": "text/x"},
    }

    seen = call(inputs, LOCAL)["_body"]

    assert (seen["body"], seen["headers"]["content-type"]) == ("a=1&b=2", "text/x")


def test_a_non_2xx_answer_fails_with_the_status_and_a_snippet(base: str) -> None:
    failure = _failure({"_url": f"{base}/status/404?api_key=secret"})

    assert failure.error.startswith(f"HTTP 404 Not Found from GET {base}/status/404: no such device: dev-7.")
    assert len(failure.error) < 300  # a snippet, not the whole answer
    assert "secret" not in failure.error  # the query string may hold credentials
    assert failure.output is not None
    assert failure.output["_statusCode"] == 404
    assert failure.output["_body"] == LONG_ERROR_TEXT
    assert not failure.timed_out


def test_an_answer_over_the_size_limit_fails(base: str) -> None:
    failure = _failure({"_url": f"{base}/big"})

    assert failure.error == f"the answer from {base}/big (HTTP 200) is larger than the 1 MiB limit"
    assert failure.output is None


# --- redirects -----------------------------------------------------------------------------------


def test_a_redirect_is_followed(base: str, server: _Server) -> None:
    output = call({"_url": f"{base}/redirect?to=/json"}, LOCAL)

    assert output["_body"] == {"ok": True, "items": [1, 2]}
    assert [request["path"] for request in server.requests] == ["/redirect", "/json"]


@pytest.mark.parametrize(
    ("status", "method", "body"), [(303, "GET", ""), (302, "GET", ""), (307, "POST", '{"a":1}')]
)
def test_a_redirect_keeps_or_drops_the_method_and_body_as_browsers_do(
    base: str, status: int, method: str, body: str
) -> None:
    inputs = {"_url": f"{base}/redirect?status={status}&to=/echo", "_method": "POST", "_body": {"a": 1}}

    seen = call(inputs, LOCAL)["_body"]

    assert (seen["method"], seen["body"]) == (method, body)


def test_credentials_do_not_follow_a_redirect_to_another_host(
    base: str, server: _Server, fake_dns: FakeDns
) -> None:
    fake_dns.add("other.test", ["127.0.0.1"])
    port = server.server_address[1]
    inputs = {"_headers": {"Authorization": "Bearer t0k", "X-Trace": "1"}}

    same_host = call({**inputs, "_url": f"{base}/redirect?to=/echo"}, LOCAL)["_body"]
    other_host = call({**inputs, "_url": f"{base}/redirect?to=http://other.test:{port}/echo"}, LOCAL)["_body"]

    assert same_host["headers"]["authorization"] == "Bearer t0k"
    assert "authorization" not in other_host["headers"]
    assert other_host["headers"]["x-trace"] == "1"
    assert other_host["headers"]["host"] == f"other.test:{port}"


@pytest.mark.parametrize(
    "location",
    [
        "http://metadata.test/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
    ],
)
def test_a_redirect_to_the_metadata_service_is_refused_without_connecting(
    base: str, location: str, fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    fake_dns.add("metadata.test", ["169.254.169.254"])

    failure = _failure({"_url": f"{base}/redirect?to={location}"})

    assert "link-local addresses (the cloud metadata service) are never allowed" in failure.error
    assert failure.output is None
    assert connect_attempts == ["127.0.0.1"]  # only the redirecting server


def test_a_redirect_to_a_private_address_is_refused_deployed_even_when_loopback_is_allowed(
    base: str, fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    fake_dns.add("rebind.test", ["10.0.0.5"])
    policy = EgressPolicy(allow_loopback=False, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))

    failure = _failure({"_url": f"{base}/redirect?to=http://rebind.test/"}, policy)

    assert failure.error == (
        "refused to call rebind.test (10.0.0.5): private addresses are not allowed "
        "unless RestConnectorAllowedNetworks includes them"
    )
    assert connect_attempts == ["127.0.0.1"]


def test_more_than_five_redirects_fail(base: str, server: _Server) -> None:
    failure = _failure({"_url": f"{base}/loop"})

    assert failure.error == f"too many redirects: {base}/loop redirects again after 5 redirects"
    assert len(server.requests) == 6


# --- timeouts ------------------------------------------------------------------------------------


def test_a_hanging_endpoint_times_out_within_the_timeout(base: str) -> None:
    started = time.monotonic()

    failure = _failure({"_url": f"{base}/hang", "_timeoutSeconds": 0.5})

    assert failure.timed_out
    assert failure.output is None
    assert failure.error == f"timed out after 0.5 seconds calling {base}/hang"
    assert 0.4 < time.monotonic() - started < 2


def test_the_timeout_cap_shortens_the_timeout(base: str) -> None:
    started = time.monotonic()

    failure = _failure({"_url": f"{base}/hang", "_timeoutSeconds": 30}, timeout_cap=0.5)

    assert failure.timed_out
    assert time.monotonic() - started < 2


def test_a_slow_sender_cannot_stretch_the_timeout(base: str) -> None:
    # Every read is given only the time left, not a fresh timeout of its own.
    started = time.monotonic()

    failure = _failure({"_url": f"{base}/slow", "_timeoutSeconds": 1})

    assert failure.timed_out
    assert failure.error == f"timed out after 1 second calling {base}/slow"
    assert time.monotonic() - started < 1.4


def test_no_time_left_fails_without_calling(base: str, connect_attempts: list[str]) -> None:
    failure = _failure({"_url": f"{base}/json"}, timeout_cap=0)

    assert failure.timed_out
    assert connect_attempts == []


# --- where calls may go --------------------------------------------------------------------------


def test_loopback_is_refused_when_deployed_without_connecting(base: str, connect_attempts: list[str]) -> None:
    failure = _failure({"_url": f"{base}/json"}, DEPLOYED)

    assert failure.error == (
        "refused to call 127.0.0.1: loopback addresses are not allowed "
        "unless RestConnectorAllowedNetworks includes them"
    )
    assert failure.output is None
    assert connect_attempts == []


def test_loopback_is_allowed_locally_and_when_the_allow_list_names_it(base: str) -> None:
    local = EgressPolicy.from_settings(Settings(table_name="t", task_queue_url="q", environment="local"))
    deployed_allowing_loopback = EgressPolicy.from_settings(
        Settings(
            table_name="t",
            task_queue_url="q",
            rest_connector_allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),),
        )
    )

    assert call({"_url": f"{base}/json"}, local)["_statusCode"] == 200
    assert call({"_url": f"{base}/json"}, deployed_allowing_loopback)["_statusCode"] == 200


def test_a_name_resolving_to_the_metadata_service_is_refused_without_connecting(
    fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    fake_dns.add("metadata.test", ["169.254.169.254"])

    failure = _failure({"_url": "http://metadata.test/latest/meta-data/iam/"})

    assert failure.error.startswith("refused to call metadata.test (169.254.169.254): link-local addresses")
    assert connect_attempts == []


def test_the_connection_goes_to_the_checked_address_even_if_dns_changes(
    server: _Server, fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    port = server.server_address[1]
    fake_dns.add("flip.test", ["127.0.0.1"], ["169.254.169.254"])  # the second answer would be fatal

    seen = call({"_url": f"http://flip.test:{port}/echo"}, LOCAL)["_body"]

    assert seen["headers"]["host"] == f"flip.test:{port}"
    assert fake_dns.lookups == ["flip.test"]
    assert connect_attempts == ["127.0.0.1"]


def test_the_next_address_is_tried_when_the_first_refuses_the_connection(
    server: _Server, fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    port = server.server_address[1]
    fake_dns.add("two.test", ["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2

    assert call({"_url": f"http://two.test:{port}/json"}, LOCAL)["_statusCode"] == 200
    assert connect_attempts == ["127.0.0.2", "127.0.0.1"]


def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as placeholder:  # a port that was just free
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]

    failure = _failure({"_url": f"http://127.0.0.1:{port}/x"})

    assert failure.error == f"could not connect to http://127.0.0.1:{port}/x: Connection refused"
    assert failure.output is None
    assert not failure.timed_out


def test_an_unknown_host_is_a_network_error(fake_dns: FakeDns) -> None:
    failure = _failure({"_url": "https://nowhere.test/api"})

    assert failure.error == "could not find the host nowhere.test: Name or service not known"


# --- inputs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        ({}, "the input _url is missing: REST_CONNECTOR needs the URL to call"),
        ({"_url": None}, "the input _url is missing: REST_CONNECTOR needs the URL to call"),
        ({"_url": 42}, "the input _url must be a string, not a number"),
        ({"_url": ["http://a.test"]}, "the input _url must be a string, not an array"),
        ({"_url": "ftp://a.test/"}, "refused to call 'ftp://a.test/': only http and https URLs are allowed"),
        (
            {"_url": "http://a.test", "_method": "FETCH"},
            "the input _method must be one of GET, POST, PUT, PATCH",
        ),
        ({"_url": "http://a.test", "_method": 1}, "the input _method must be one of"),
        (
            {"_url": "http://a.test", "_headers": ["X: 1"]},
            "the input _headers must be an object, not an array",
        ),
        (
            {"_url": "http://a.test", "_headers": {"X": {"a": 1}}},
            "the header 'X' in _headers must be a string",
        ),
        (
            {"_url": "http://a.test", "_headers": {"X": "a\r\nY: b"}},
            "the header 'X' in _headers holds a line break",
        ),
        (
            {"_url": "http://a.test", "_headers": {"Bad Name": "1"}},
            "'Bad Name' in _headers is not a valid HTTP",
        ),
        ({"_url": "http://a.test", "_timeoutSeconds": 0}, "_timeoutSeconds must be a positive number, not 0"),
        (
            {"_url": "http://a.test", "_timeoutSeconds": "5"},
            "_timeoutSeconds must be a positive number, not '5'",
        ),
    ],
)
def test_bad_inputs_fail_with_a_clear_message_and_no_call(
    inputs: dict[str, Any], error: str, connect_attempts: list[str], fake_dns: FakeDns
) -> None:
    failure = _failure(inputs)

    assert error in failure.error
    assert failure.output is None
    assert connect_attempts == []
    assert fake_dns.lookups == []


# --- https ---------------------------------------------------------------------------------------


def _write_certificates(directory: Path, name: str) -> tuple[Path, Path]:
    """A test CA (``ca.pem``) and a server certificate for ``name`` with its key (``server.pem``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, server_path = directory / "ca.pem", directory / "server.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + server_cert.public_bytes(serialization.Encoding.PEM)
    )
    return ca_path, server_path


@pytest.fixture
def https_server(
    tmp_path: Path, fake_dns: FakeDns, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[_Server, list[str]]]:
    """An https server on 127.0.0.1 with a certificate for ``api.test`` (which resolves there), its
    CA trusted through ``SSL_CERT_FILE``; yields the server and the SNI names it was sent."""
    ca_path, server_path = _write_certificates(tmp_path, "api.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_path))
    fake_dns.add("api.test", ["127.0.0.1"])
    fake_dns.add("other.test", ["127.0.0.1"])
    server_names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_path)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    server = _Server()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for running in _serve(server):
        yield running, server_names


def test_https_sends_the_url_host_name_and_checks_the_certificate_against_it(
    https_server: tuple[_Server, list[str]], connect_attempts: list[str]
) -> None:
    server, server_names = https_server
    port = server.server_address[1]

    output = call({"_url": f"https://api.test:{port}/echo"}, LOCAL)

    assert output["_body"]["headers"]["host"] == f"api.test:{port}"
    assert server_names == ["api.test"]  # SNI carries the name, though the connection is to the address
    assert connect_attempts == ["127.0.0.1"]


def test_https_fails_when_the_certificate_is_for_another_name(
    https_server: tuple[_Server, list[str]],
) -> None:
    server, _ = https_server
    port = server.server_address[1]

    failure = _failure({"_url": f"https://other.test:{port}/echo"})

    assert failure.error.startswith(f"secure connection to https://other.test:{port}/echo failed:")
    assert "other.test" in failure.error.split("failed:", 1)[1]
    assert failure.output is None


def test_https_fails_when_the_certificate_is_not_trusted(
    https_server: tuple[_Server, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = https_server
    monkeypatch.delenv("SSL_CERT_FILE")

    failure = _failure({"_url": f"https://api.test:{server.server_address[1]}/echo"})

    assert "certificate verify failed" in failure.error

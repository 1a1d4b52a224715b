"""REST_CONNECTOR never reaches the cloud metadata service: not by number, name or redirect.

Every test here runs with the autouse ``connect_attempts`` guard: a connection to anything but
loopback stops the test before it leaves the machine. The assertions then show that the service's own
egress rule refused first, so the guard never had to.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.network_guard import NonLoopbackConnect, is_loopback
from tests.support.harness import Api, Target, Worker, task_named

METADATA_HOST = "metadata.internal.example"  # resolved by this test only, to the metadata address


@pytest.fixture
def metadata_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``METADATA_HOST`` resolves to 169.254.169.254 (no DNS query leaves the test); lookups are recorded."""
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        if host == METADATA_HOST:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("169.254.169.254", port or 80))
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def probe_definition() -> dict[str, Any]:
    return {
        "_name": "metadata_probe",
        "_tasks": [
            {
                "_name": "probe",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.url}"},
            },
            {
                "_name": "notify",
                "_type": "REST_CONNECTOR",
                "_inputParams": {"_url": "${workflow._inputParams.notify}", "_method": "POST"},
            },
        ],
    }


METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one decimal number
    "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",  # the same, in hexadecimal
    "http://[fd00:ec2::254]/latest/meta-data/",  # the IPv6 metadata address
    "http://[::ffff:169.254.169.254]/latest/meta-data/",  # IPv4-mapped IPv6
    f"http://{METADATA_HOST}/latest/meta-data/",  # a name that resolves to it
]


def test_a_metadata_address_fails_the_task_without_any_connection_attempt(
    api: Api, worker: Worker, target: Target, connect_attempts: list[str], metadata_dns: list[str]
) -> None:
    # Given runs whose task calls the metadata service, each spelling its address another way
    target.reply("/notify", {"ok": True})
    started = {
        url: api.start_run(probe_definition(), {"url": url, "notify": target.url("/notify")})
        for url in METADATA_URLS
    }

    # When the worker runs them
    worker.drain()

    # Then each task failed, saying the egress rule refused link-local addresses, with no status code
    for url, run in started.items():
        finished = api.get(run["_id"])
        assert finished["_status"] == "FAILED", url
        task = task_named(finished, "probe")
        assert task["_status"] == "FAILED", url
        assert "refused" in task["_error"], (url, task["_error"])
        assert "link-local" in task["_error"] and "metadata" in task["_error"], (url, task["_error"])
        assert task.get("_output") is None, url
        assert task_named(finished, "notify")["_status"] == "SKIPPED", url
    # And the name was looked up and refused for what it resolved to
    assert METADATA_HOST in metadata_dns
    # And no connection was attempted at all: not to the metadata service, not even to loopback
    assert connect_attempts == []
    assert target.calls() == 0


def test_a_redirect_to_the_metadata_service_is_refused_before_connecting_to_it(
    api: Api, worker: Worker, target: Target, connect_attempts: list[str]
) -> None:
    # Given a task whose (loopback) target redirects to the metadata service
    target.redirect("/harmless", "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    target.reply("/notify", {"ok": True})
    run = api.start_run(probe_definition(), {"url": target.url("/harmless"), "notify": target.url("/notify")})

    # When the worker runs it
    worker.drain()

    # Then the task failed on the redirect's hop, saying why
    task = task_named(api.get(run["_id"]), "probe")
    assert task["_status"] == "FAILED"
    assert "169.254.169.254" in task["_error"] and "link-local" in task["_error"]
    assert target.calls("/harmless") == 1
    # And the only connections ever attempted went to loopback
    assert connect_attempts and all(is_loopback(host) for host in connect_attempts)
    assert "169.254.169.254" not in connect_attempts


def test_a_loopback_target_is_allowed_locally(
    api: Api, worker: Worker, target: Target, connect_attempts: list[str]
) -> None:
    # Given a run calling a service on this machine (the local environment allows loopback)
    target.reply("/devices", {"devices": []})
    target.reply("/notify", {"ok": True})
    run = api.start_run(probe_definition(), {"url": target.url("/devices"), "notify": target.url("/notify")})

    # When the worker runs it
    worker.drain()

    # Then it completed, and each connection went to 127.0.0.1
    assert api.get(run["_id"])["_status"] == "COMPLETED"
    assert connect_attempts == ["127.0.0.1", "127.0.0.1"]


def test_the_guard_of_these_tests_stops_a_connection_beyond_loopback(connect_attempts: list[str]) -> None:
    # Given the guard every worker test runs under
    # When something connects to an address beyond loopback (a documentation address, never routed)
    with pytest.raises(NonLoopbackConnect):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NonLoopbackConnect):
        sock.connect_ex(("192.0.2.1", 80))

    # Then it was stopped before connecting, and recorded
    assert connect_attempts == ["192.0.2.1", "192.0.2.1"]

"""Fixtures of the unit tests: no traffic leaves the machine, and DNS answers what a test says; moto's
HTTP server on loopback for the tests of ``localrun.moto_dynamodb``.

Every test runs with a guard on its connects (``tests/network_guard.py``, installed by the root
conftest): ``connect_attempts`` lists each address tried, and any beyond loopback is stopped.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit import moto_endpoints


class FakeDns:
    """Answers ``socket.getaddrinfo`` for the names a test adds; numeric hosts resolve as usual and
    any other name is unknown, so no test ever asks a real DNS server."""

    def __init__(self) -> None:
        self.lookups: list[str] = []
        self._answers: dict[str, list[list[str]]] = {}

    def add(self, name: str, *answers: list[str]) -> None:
        """``name`` resolves to the first list of addresses, the next lookup to the next list, and so
        on; the last list stays."""
        self._answers[name] = list(answers)

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in self._answers:
            self.lookups.append(name)
            answers = self._answers[name]
            addresses = answers.pop(0) if len(answers) > 1 else answers[0]
            return [_address_info(address, int(port or 0)) for address in addresses]
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        return _real_getaddrinfo(host, port, *args, **kwargs)


_real_getaddrinfo = socket.getaddrinfo


def _address_info(address: str, port: int) -> tuple[Any, ...]:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    """DNS as the test says: ``fake_dns.add("metadata.test", ["169.254.169.254"])``."""
    dns = FakeDns()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's HTTP server on 127.0.0.1 for the whole session (stopping one takes half a second); its URL.
    Each test makes a table of its own there."""
    with moto_endpoints.moto_server() as url:
        yield url

"""Fixtures of the unit tests: no traffic leaves the machine, and DNS answers what a test says.

Every unit test runs with a guard on ``socket.socket.connect`` / ``connect_ex``: it records each
address a connection is attempted to (``connect_attempts``) and stops any that is not loopback,
with an exception that code under test cannot mistake for a network error.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest


class NonLoopbackConnect(BaseException):
    """A test tried to connect beyond loopback. A BaseException, so no ``except Exception`` hides it."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name: connect() would resolve it itself, out of the test's control
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Hosts of every connect attempted during the test, in order; only loopback ones go through."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: Any) -> None:
        if isinstance(address, tuple):  # AF_INET / AF_INET6; AF_UNIX paths are local anyway
            host = str(address[0])
            attempts.append(host)
            if not _is_loopback(host):
                raise NonLoopbackConnect(f"a unit test tried to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield attempts


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

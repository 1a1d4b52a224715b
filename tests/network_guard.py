"""No test sends a packet beyond loopback, even when the code under test is broken.

The root conftest puts this guard on ``socket.socket.connect`` / ``connect_ex`` and
``socket.create_connection`` for every test: each address a connection is attempted to is recorded
(the ``connect_attempts`` fixture) and any that is not loopback is stopped before it leaves the machine.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest


class NonLoopbackConnect(BaseException):
    """A test tried to connect beyond loopback. A BaseException, so no ``except Exception`` hides it."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name: connect() would resolve it itself, out of the test's control
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def install(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Guards this process's connects for the rest of the test; answers the list of hosts tried."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def guard(address: Any) -> None:
        if isinstance(address, tuple):  # AF_INET / AF_INET6; AF_UNIX paths stay on the machine
            host = str(address[0])
            attempts.append(host)
            if not is_loopback(host):
                raise NonLoopbackConnect(f"a test tried to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts

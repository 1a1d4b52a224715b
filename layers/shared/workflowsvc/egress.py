"""The egress guard of REST_CONNECTOR: which URLs and addresses a task may call.

- Only ``http`` and ``https`` URLs.
- Never link-local addresses (169.254.0.0/16, fe80::/10, and the IPv6 metadata address
  fd00:ec2::254): that is where the cloud metadata service answers. No allow-list opens them.
- Deployed, also never private, loopback, unique-local, shared (carrier-grade NAT), unspecified,
  multicast, documentation or reserved addresses, unless one of the allowed networks
  (``RestConnectorAllowedNetworks``) contains the address. Locally, loopback is allowed too.
- IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible, IPv4-translated,
  NAT64 64:ff9b::/96, 6to4) are judged by the IPv4 address as well.
- Numeric hosts are read the way ``inet_aton`` reads them (``2852039166``, ``0xa9fea9fe``,
  ``0251.0376.0251.0376``, ``169.254.43518``), so another spelling of an address is the same address.
- A host name is resolved once and every address it resolves to is checked; the caller then
  connects to one of those addresses, so DNS cannot answer differently between check and connect.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from workflowsvc.config import IpNetwork, Settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SCHEMES = {"http": 80, "https": 443}
_NETWORK_SETTING = "RestConnectorAllowedNetworks"
_LINK_LOCAL_REASON = "link-local addresses (the cloud metadata service) are never allowed"


def _networks(*cidrs: str) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


_LINK_LOCAL = _networks("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128")
_LOOPBACK = _networks("127.0.0.0/8", "::1/128")
# Refused unless allowed; the name says what kind of address it is, in the refusal message.
# Our own table rather than ipaddress's is_private & co., whose meaning changes between Python versions.
_RESTRICTED: tuple[tuple[IpNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), kind)
    for cidr, kind in (
        ("0.0.0.0/8", "unspecified ('this network')"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
        ("192.0.2.0/24", "documentation"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes the broadcast address 255.255.255.255
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "reserved (local-use NAT64)"),
        ("100::/64", "reserved (discard-only)"),
        ("2001::/23", "reserved (IETF protocol assignments)"),
        ("2001:db8::/32", "documentation"),
        ("fc00::/7", "unique-local (private)"),
        ("fec0::/10", "site-local (private)"),
        ("ff00::/8", "multicast"),
    )
)
# IPv6 prefixes whose last 32 bits are an IPv4 address that the packet effectively goes to.
_IPV4_IN_LAST_32_BITS = _networks("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
_NOT_IPV4_COMPATIBLE = _networks("::/127")  # :: and ::1 are themselves, not 0.0.0.0 and 0.0.0.1

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_NUMERIC_LABEL = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class EgressRefused(Exception):
    """A URL or address that REST_CONNECTOR may not call; the message says which and why."""


@dataclass(frozen=True)
class EgressPolicy:
    allow_loopback: bool
    allowed_networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return cls(
            allow_loopback=settings.is_local, allowed_networks=settings.rest_connector_allowed_networks
        )


@dataclass(frozen=True)
class ParsedTarget:
    """Where a URL points, ready to connect to: scheme, host, port and what to ask for."""

    scheme: str  # "http" or "https"
    host: str  # lower case and IDNA-encoded; a numeric host in its usual form ("169.254.169.254")
    port: int
    request_target: str  # path and query, percent-encoded, as sent in the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _SCHEMES[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def display_url(self) -> str:
        """The URL without its query, which may hold secrets: safe to put in an error message."""
        path = self.request_target.split("?", 1)[0]
        return f"{self.scheme}://{self.host_header}{path}"


def check_url(url: str) -> ParsedTarget:
    """Parse ``url`` and refuse what is not an http(s) URL with a usable host.

    Addresses are not checked here: see ``resolve_and_check``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise EgressRefused(f"refused to call {_shown(url)}: it is not a valid URL ({error})") from error
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise EgressRefused(f"refused to call {_shown(url)}: only http and https URLs are allowed")
    if not parts.hostname:
        raise EgressRefused(f"refused to call {_shown(url)}: the URL has no host")
    if parts.username is not None or parts.password is not None:
        # Also rules out look-alikes such as http://169.254.169.254@example.com/ being misread.
        raise EgressRefused(
            f"refused to call {parts.hostname}: a user name or password in the URL is not supported; "
            "send an Authorization header instead"
        )
    host = _normal_host(parts.hostname)
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    query = quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return ParsedTarget(
        scheme=scheme,
        host=host,
        port=port if port is not None else _SCHEMES[scheme],
        request_target=f"{path}?{query}" if query else path,
    )


def resolve_and_check(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """The addresses ``host`` resolves to, once every one of them is allowed by ``policy``.

    A numeric host is checked without a lookup. Raises ``EgressRefused`` when any address is
    forbidden (one bad answer is enough: the connection could go to any of them), and
    ``socket.gaierror`` when the name does not resolve.
    """
    literal = parse_ip_host(host)
    if literal is not None:
        _check_address(host, literal, policy)
        return [str(literal)]
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses = list(dict.fromkeys(ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in answers))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    for address in addresses:
        _check_address(host, address, policy)
    return [str(address) for address in addresses]


def refusal_reason(address: IpAddress, policy: EgressPolicy) -> str | None:
    """Why ``address`` may not be called under ``policy``, or None when it may."""
    judged = [address, *_embedded_ipv4(address)]
    for candidate in judged:
        if _within(candidate, _LINK_LOCAL):
            return _stands_for(address, candidate) + _LINK_LOCAL_REASON
    for candidate in judged:
        if _within(candidate, policy.allowed_networks):
            continue
        if policy.allow_loopback and _within(candidate, _LOOPBACK):
            continue
        for network, kind in _RESTRICTED:
            if candidate in network:
                return (
                    f"{_stands_for(address, candidate)}{kind} addresses are not allowed "
                    f"unless {_NETWORK_SETTING} includes them"
                )
    return None


def parse_ip_host(host: str) -> IpAddress | None:
    """The address a numeric host stands for, or None for a host name.

    Raises ``EgressRefused`` for a host that ends in a number but is no valid address
    (``999.1.1.1``): it is not a name either.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    if not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    address = _inet_aton(labels)
    if address is None:
        raise EgressRefused(f"refused to call {host}: it is not a valid IP address")
    return address


def _inet_aton(labels: list[str]) -> ipaddress.IPv4Address | None:
    """The IPv4 address of 1 to 4 numeric labels (hex, octal or decimal), the last filling the rest."""
    if len(labels) > 4:
        return None
    numbers: list[int] = []
    for label in labels:
        number = _label_value(label)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _label_value(label: str) -> int | None:
    if label[:2].lower() == "0x":
        return int(label[2:] or "0", 16) if _NUMERIC_LABEL.fullmatch(label) else None
    if not label.isdigit() or not label.isascii():
        return None
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8) if set(label) <= set("01234567") else None
    return int(label)


def _normal_host(hostname: str) -> str:
    literal = parse_ip_host(hostname)
    if literal is not None:
        return str(literal)
    try:
        ascii_host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise EgressRefused(f"refused to call {hostname}: it is not a valid host name") from error
    if not _HOST_NAME.fullmatch(ascii_host):
        raise EgressRefused(f"refused to call {hostname!r}: it is not a valid host name")
    return ascii_host


def _check_address(host: str, address: IpAddress, policy: EgressPolicy) -> None:
    reason = refusal_reason(address, policy)
    if reason is not None:
        shown = f"[{address}]" if address.version == 6 else str(address)
        target = shown if host == str(address) else f"{host} ({shown})"
        raise EgressRefused(f"refused to call {target}: {reason}")


def _shown(url: str) -> str:
    """``url`` for an error message: without its query, which may hold secrets, and not too long."""
    without_query = url.split("?", 1)[0].split("#", 1)[0]
    return repr(without_query if len(without_query) <= 100 else without_query[:100] + "...")


def _stands_for(address: IpAddress, candidate: IpAddress) -> str:
    return "" if candidate == address else f"it stands for {candidate}, and "


def _embedded_ipv4(address: IpAddress) -> list[ipaddress.IPv4Address]:
    if isinstance(address, ipaddress.IPv4Address):
        return []
    embedded = [] if address.sixtofour is None else [address.sixtofour]
    if _within(address, _IPV4_IN_LAST_32_BITS) and not _within(address, _NOT_IPV4_COMPATIBLE):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def _within(address: IpAddress, networks: tuple[IpNetwork, ...]) -> bool:
    return any(address in network for network in networks)

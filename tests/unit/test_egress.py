"""The egress guard decides from the URL and from DNS answers alone: these tests connect nowhere."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import pytest
from workflowsvc.config import Settings
from workflowsvc.egress import EgressPolicy, EgressRefused, check_url, resolve_and_check

DEPLOYED = EgressPolicy(allow_loopback=False)
LOCAL = EgressPolicy(allow_loopback=True)
if TYPE_CHECKING:
    from tests.unit.conftest import FakeDns

LINK_LOCAL = "link-local addresses (the cloud metadata service) are never allowed"


def refusal(url: str, policy: EgressPolicy) -> str:
    """The message of the refusal of ``url``; fails the test when the URL is allowed."""
    with pytest.raises(EgressRefused) as raised:
        target = check_url(url)
        resolve_and_check(target.host, target.port, policy)
    return str(raised.value)


def allowed_addresses(url: str, policy: EgressPolicy) -> list[str]:
    target = check_url(url)
    return resolve_and_check(target.host, target.port, policy)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",  # decimal
        "http://0xa9fea9fe/",  # hexadecimal
        "http://0xA9.0xFE.0xA9.0xFE/",
        "http://0251.0376.0251.0376/",  # octal
        "http://169.254.43518/",  # the last number fills the remaining bytes
        "http://169.16689662/",
        "http://169.254.169.254./",  # trailing dot
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[::ffff:a9fe:a9fe]/",
        "http://[::169.254.169.254]/",  # IPv4-compatible
        "http://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]:8080/",
        "http://[fd00:ec2::254]/",  # the IPv6 address of the metadata service
        "https://169.254.170.2/v2/credentials",  # the container credentials endpoint
    ],
)
@pytest.mark.parametrize("policy", [DEPLOYED, LOCAL], ids=["deployed", "local"])
def test_link_local_is_refused_however_it_is_written(url: str, policy: EgressPolicy) -> None:
    assert LINK_LOCAL in refusal(url, policy)


def test_the_refusal_names_the_address() -> None:
    assert refusal("http://2852039166/x", LOCAL) == f"refused to call 169.254.169.254: {LINK_LOCAL}"
    mapped = ipaddress.ip_address("::ffff:169.254.169.254")  # Python versions spell it differently
    assert refusal("http://[::ffff:169.254.169.254]/", LOCAL) == (
        f"refused to call [{mapped}]: it stands for 169.254.169.254, and {LINK_LOCAL}"
    )


def test_no_allow_list_opens_link_local() -> None:
    everything = EgressPolicy(
        allow_loopback=True,
        allowed_networks=(
            ipaddress.ip_network("0.0.0.0/0"),
            ipaddress.ip_network("::/0"),
            ipaddress.ip_network("169.254.0.0/16"),
        ),
    )

    assert LINK_LOCAL in refusal("http://169.254.169.254/", everything)
    assert LINK_LOCAL in refusal("http://[fd00:ec2::254]/", everything)
    assert allowed_addresses("http://10.1.2.3/", everything) == ["10.1.2.3"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.0.0.5/", "private"),
        ("http://172.16.3.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://10.1/", "private"),
        ("http://[::ffff:10.0.0.5]/", "private"),
        ("http://[fd12:3456::1]/", "unique-local"),
        ("http://100.64.0.1/", "shared (carrier-grade NAT)"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.251/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://255.255.255.255/", "reserved"),
        ("http://198.18.0.1/", "reserved"),
        ("http://192.0.2.10/", "documentation"),
    ],
)
@pytest.mark.parametrize("policy", [DEPLOYED, LOCAL], ids=["deployed", "local"])
def test_private_and_special_addresses_are_refused_deployed_and_locally(
    url: str, kind: str, policy: EgressPolicy
) -> None:
    message = refusal(url, policy)

    assert f": {kind}" in message or f"and {kind}" in message
    assert "unless RestConnectorAllowedNetworks includes them" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://127.1/",
        "http://0x7f000001/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_loopback_is_refused_deployed_and_allowed_locally(url: str) -> None:
    assert "loopback addresses are not allowed" in refusal(url, DEPLOYED)
    [address] = allowed_addresses(url, LOCAL)
    assert ipaddress.ip_address(address) in (
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        ipaddress.ip_address("::ffff:127.0.0.1"),
    )


def test_an_allowed_network_opens_its_addresses_and_no_others() -> None:
    policy = EgressPolicy(allow_loopback=False, allowed_networks=(ipaddress.ip_network("10.1.0.0/16"),))

    assert allowed_addresses("http://10.1.2.3/", policy) == ["10.1.2.3"]
    assert allowed_addresses("http://[::ffff:10.1.2.3]/", policy) == [
        str(ipaddress.ip_address("::ffff:10.1.2.3"))
    ]
    assert "private" in refusal("http://10.2.0.1/", policy)
    assert "loopback" in refusal("http://127.0.0.1/", policy)


def test_the_policy_follows_the_settings() -> None:
    networks = (ipaddress.ip_network("10.0.0.0/8"),)

    deployed = EgressPolicy.from_settings(Settings(table_name="t", task_queue_url="q"))
    local = EgressPolicy.from_settings(
        Settings(
            table_name="t", task_queue_url="q", environment="local", rest_connector_allowed_networks=networks
        )
    )

    assert deployed == EgressPolicy(allow_loopback=False, allowed_networks=())
    assert local == EgressPolicy(allow_loopback=True, allowed_networks=networks)


def test_a_public_address_is_allowed_without_any_lookup(fake_dns: FakeDns) -> None:
    assert allowed_addresses("https://8.8.8.8/dns-query", DEPLOYED) == ["8.8.8.8"]
    assert fake_dns.lookups == []


def test_a_name_that_resolves_to_the_metadata_service_is_refused(
    fake_dns: FakeDns, connect_attempts: list[str]
) -> None:
    fake_dns.add("metadata.test", ["169.254.169.254"])

    message = refusal("http://metadata.test/latest/meta-data/", LOCAL)

    assert message == f"refused to call metadata.test (169.254.169.254): {LINK_LOCAL}"
    assert connect_attempts == []


def test_a_name_is_refused_when_any_of_its_addresses_is_forbidden(fake_dns: FakeDns) -> None:
    fake_dns.add("rebind.test", ["127.0.0.1", "10.0.0.5"])

    assert "rebind.test (10.0.0.5): private addresses" in refusal("http://rebind.test/", LOCAL)


def test_a_name_whose_addresses_are_all_allowed_gives_them_all(fake_dns: FakeDns) -> None:
    fake_dns.add("api.test", ["127.0.0.1", "::1", "127.0.0.1"])

    assert allowed_addresses("http://api.test:8080/", LOCAL) == ["127.0.0.1", "::1"]
    assert fake_dns.lookups == ["api.test"]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("gopher://127.0.0.1:70/", "only http and https URLs are allowed"),
        ("ftp://example.test/", "only http and https URLs are allowed"),
        ("127.0.0.1:8080/path", "only http and https URLs are allowed"),
        ("http:///nohost", "the URL has no host"),
        ("http://example.test:99999/", "not a valid URL"),
        ("http://[::1/", "not a valid URL"),
        ("http://user:secret@example.test/", "a user name or password in the URL is not supported"),
        ("http://169.254.169.254@example.test/", "a user name or password in the URL is not supported"),
        ("http://999.1.1.1/", "it is not a valid IP address"),
        ("http://08.0.0.1/", "it is not a valid IP address"),
        ("http://4294967296/", "it is not a valid IP address"),
        ("http://exa mple.test/", "it is not a valid host name"),
        ("http://a..b.test/", "it is not a valid host name"),
    ],
)
def test_urls_that_are_not_http_or_have_no_usable_host_are_refused(url: str, why: str) -> None:
    with pytest.raises(EgressRefused, match=why):
        check_url(url)


def test_check_url_gives_what_a_request_needs() -> None:
    target = check_url(" HTTPS://Bücher.Example.:8443/a b/c?q=ü&x=1#fragment ")

    assert target.scheme == "https"
    assert target.host == "xn--bcher-kva.example."
    assert target.port == 8443
    assert target.request_target == "/a%20b/c?q=%C3%BC&x=1"
    assert target.host_header == "xn--bcher-kva.example.:8443"
    assert target.display_url == "https://xn--bcher-kva.example.:8443/a%20b/c"


def test_default_ports_are_left_out_of_the_host_header() -> None:
    assert check_url("http://example.test/").host_header == "example.test"
    assert check_url("https://[::1]/").host_header == "[::1]"
    assert check_url("https://[::1]:8443").host_header == "[::1]:8443"
    assert check_url("http://2130706433/").host == "127.0.0.1"


def test_a_refused_url_is_shown_without_its_query() -> None:
    with pytest.raises(EgressRefused) as raised:
        check_url("ftp://files.test/export?token=s3cret")

    assert (
        str(raised.value) == "refused to call 'ftp://files.test/export': only http and https URLs are allowed"
    )

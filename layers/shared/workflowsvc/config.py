"""Settings read once from the environment (the template sets them; the local server and tests too)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    table_name: str
    task_queue_url: str
    namespaces_claim: str = "namespaces"
    # "deployed" (the default, and the safe one) or "local" (make run, tests).
    environment: str = "deployed"
    page_token_secret: bytes = b""
    rest_connector_allowed_networks: tuple[IpNetwork, ...] = field(default_factory=tuple)

    @property
    def is_local(self) -> bool:
        return self.environment == "local"


def _networks(value: str) -> tuple[IpNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    secret = os.environ.get("PAGE_TOKEN_SECRET", "")
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "workflowsvc"),
        task_queue_url=os.environ.get("TASK_QUEUE_URL", ""),
        namespaces_claim=os.environ.get("NAMESPACES_CLAIM", "namespaces") or "namespaces",
        environment=os.environ.get("WORKFLOWSVC_ENVIRONMENT", "deployed"),
        # Without a configured key, tokens are signed with a per-process key: they stay valid only
        # within this process (fine locally; the template always sets one).
        page_token_secret=secret.encode() if secret else secrets.token_bytes(32),
        rest_connector_allowed_networks=_networks(os.environ.get("REST_CONNECTOR_ALLOWED_NETWORKS", "")),
    )

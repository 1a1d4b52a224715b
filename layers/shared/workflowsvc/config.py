"""Settings read once from the environment, and the parts built from them once per process.

A deployed function gets every setting from the template. One that is missing is a broken deployment,
so it stops the function at init with a message naming the variable, rather than let it write to a
table of some default name. The local run and the tests set the same variables (the local run from
the template); no default stands in for them here.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The claim that lists a caller's namespaces when the template names no other (the contract's default).
DEFAULT_NAMESPACES_CLAIM = "namespaces"


class MissingSetting(RuntimeError):
    """A setting the function cannot run without is not in its environment."""

    def __init__(self, variable: str, purpose: str) -> None:
        super().__init__(
            f"the environment variable {variable} is not set: it names {purpose}; the template sets it "
            "for every deployed function"
        )
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    table_name: str
    task_queue_url: str
    namespaces_claim: str = DEFAULT_NAMESPACES_CLAIM
    # "deployed" (the default, and the safe one) or "local" (make run, tests).
    environment: str = "deployed"
    configured_page_token_secret: bytes = b""
    rest_connector_allowed_networks: tuple[IpNetwork, ...] = field(default_factory=tuple)

    @property
    def is_local(self) -> bool:
        return self.environment == "local"

    @property
    def page_token_secret(self) -> bytes:
        """The key that signs ``_nextToken``. Deployed, the functions that page are given one; locally,
        without one, a key of this process's own signs tokens valid in this process only."""
        if self.configured_page_token_secret:
            return self.configured_page_token_secret
        if not self.is_local:
            raise MissingSetting("PAGE_TOKEN_SECRET", "the key that signs paging tokens")
        return _process_secret()


@lru_cache(maxsize=1)
def _process_secret() -> bytes:
    return secrets.token_bytes(32)


def _networks(value: str) -> tuple[IpNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
    )


def _required(variable: str, purpose: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise MissingSetting(variable, purpose)
    return value


# ------------------------------------------------------------------ one of each part per process

_T = TypeVar("_T")
_caches: list[Any] = []


def once_per_process(factory: Callable[[], _T]) -> Callable[[], _T]:
    """``factory``'s answer, made on first use and kept, as a Lambda container keeps what it made at init.
    ``reset`` forgets every such answer (tests and the local run point the parts elsewhere)."""
    cached = lru_cache(maxsize=1)(factory)
    _caches.append(cached)
    return cached


def reset() -> None:
    for cached in _caches:
        cached.cache_clear()


@once_per_process
def get_settings() -> Settings:
    secret = os.environ.get("PAGE_TOKEN_SECRET", "")
    return Settings(
        table_name=_required("TABLE_NAME", "the DynamoDB table of runs and definitions"),
        task_queue_url=_required("TASK_QUEUE_URL", "the SQS queue of the worker's step messages"),
        namespaces_claim=os.environ.get("NAMESPACES_CLAIM", "").strip() or DEFAULT_NAMESPACES_CLAIM,
        environment=os.environ.get("WORKFLOWSVC_ENVIRONMENT", "deployed"),
        configured_page_token_secret=secret.encode(),
        rest_connector_allowed_networks=_networks(os.environ.get("REST_CONNECTOR_ALLOWED_NETWORKS", "")),
    )


def check_at_init(*, pages: bool = False) -> None:
    """Called by every function at init (module import): a setting it needs that is missing stops the
    function there, naming the variable. ``pages``: the function issues ``_nextToken``s."""
    settings = get_settings()
    if pages:
        _ = settings.page_token_secret

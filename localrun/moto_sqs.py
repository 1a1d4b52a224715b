"""moto's SQS, one request at a time, as SQS applies each request atomically.

moto serves SQS requests from several threads without a lock: two receivers can take the same message.
In-process moto (``mock_aws``) runs each request inside ``BotocoreStubber.process_request``; ``atomic()``
puts a lock around the SQS ones, so that concurrent workers race the way they would against SQS.
DynamoDB requests are left to ``localrun.moto_dynamodb``'s lock: one around them here would also hold the
concurrency double's transactions in flight one at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from moto.core.botocore_stubber import BotocoreStubber

_lock = threading.RLock()


@contextmanager
def atomic() -> Iterator[None]:
    """Within: in-process moto applies one SQS request at a time."""
    real_process_request = BotocoreStubber.__dict__["process_request"]

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        if (urlsplit(request.url).hostname or "").startswith("sqs."):
            with _lock:
                return real_process_request(self, request)
        return real_process_request(self, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = real_process_request  # type: ignore[method-assign]

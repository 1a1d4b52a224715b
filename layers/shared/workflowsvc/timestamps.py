"""RFC 3339 UTC timestamps with nanoseconds (``2026-02-24T02:32:22.148605220Z``).

They sort correctly as strings, which is what the namespace index relies on.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from workflowsvc.errors import BadRequest

_NS_PER_S = 1_000_000_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


def now_ns() -> int:
    return time.time_ns()


def format_ns(epoch_ns: int) -> str:
    seconds, nanos = divmod(epoch_ns, _NS_PER_S)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def now() -> str:
    return format_ns(now_ns())


def parse_ns(value: str) -> int:
    """Epoch nanoseconds of a timestamp this service wrote (or any RFC 3339 one)."""
    match = _TIMESTAMP.match(value)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    day, hour, minute, second, fraction, zone = match.groups()
    moment = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second}")
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    whole = int(moment.replace(tzinfo=UTC).timestamp())
    return whole * _NS_PER_S + int((fraction or "0").ljust(9, "0"))


def filter_bound(field: str, value: str, *, end: bool) -> str:
    """A ``startDate`` / ``endDate`` filter value as the timestamp string it compares against.

    A date alone means the start of that day, or for an end bound the whole day (inclusive).
    """
    text = value.strip()
    try:
        if _DATE.match(text):
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            if end:
                return format_ns(int((day + timedelta(days=1)).timestamp()) * _NS_PER_S - 1)
            return format_ns(int(day.timestamp()) * _NS_PER_S)
        return format_ns(parse_ns(text))
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp",
            code="INVALID_DATE",
        ) from None

"""RFC 3339 UTC timestamps with nanoseconds (``2026-02-24T02:32:22.148605220Z``), and the clock.

Timestamps sort correctly as strings, which is what the namespace index relies on. The rules of runs
never read the time themselves: the drivers read a ``Clock`` and pass the time in, so a test can hand
them a clock of its own.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime
from typing import Protocol

from workflowsvc.errors import BadRequest

_NS_PER_S = 1_000_000_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$"
)


_EARLIEST_NS = calendar.timegm((1, 1, 1, 0, 0, 0)) * _NS_PER_S
_LATEST_NS = (calendar.timegm((9999, 12, 31, 23, 59, 59)) + 1) * _NS_PER_S - 1


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the epoch."""
        ...


class SystemClock:
    def now_ns(self) -> int:
        return time.time_ns()


SYSTEM_CLOCK = SystemClock()
_clock: Clock = SYSTEM_CLOCK


def clock() -> Clock:
    """The clock the service's parts are built with: the system's, unless ``use_clock`` installed another."""
    return _clock


def use_clock(replacement: Clock) -> Clock:
    """Install ``replacement`` for the parts built from now on; answers the clock it replaces."""
    global _clock
    previous, _clock = _clock, replacement
    return previous


def now_ns() -> int:
    return _clock.now_ns()


def format_ns(epoch_ns: int) -> str:
    seconds, nanos = divmod(epoch_ns, _NS_PER_S)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        f".{nanos:09d}Z"
    )


def now() -> str:
    return format_ns(now_ns())


def parse_ns(value: str) -> int:
    """Epoch nanoseconds of a timestamp this service wrote (or any RFC 3339 one)."""
    match = _TIMESTAMP.match(value)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    day, hour, minute, second, fraction, zone = match.groups()
    moment = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second}")
    offset = 0
    if zone not in ("Z", "z"):
        offset = (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    whole = calendar.timegm(moment.timetuple()) - offset
    return whole * _NS_PER_S + int((fraction or "0").ljust(9, "0"))


def filter_bound(field: str, value: str, *, end: bool) -> str:
    """A ``startDate`` / ``endDate`` filter value as the timestamp string it compares against.

    A date alone means the start of that day, or for an end bound the whole day (inclusive).
    """
    text = value.strip()
    try:
        if _DATE.match(text):
            day = calendar.timegm(datetime.strptime(text, "%Y-%m-%d").timetuple()) * _NS_PER_S
            bound = day + 86_400 * _NS_PER_S - 1 if end else day
        else:
            bound = parse_ns(text)
        return format_ns(min(max(bound, _EARLIEST_NS), _LATEST_NS))
    except ValueError:
        raise BadRequest(
            f"{field}: {value!r} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp",
            code="INVALID_DATE",
        ) from None

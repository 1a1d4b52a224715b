"""RFC 3339 UTC timestamps with nanoseconds, and the date bounds of list filters."""

from __future__ import annotations

import re

import pytest
from workflowsvc import timestamps
from workflowsvc.errors import BadRequest

SEED_CREATED_AT = "2026-02-24T02:32:22.148605220Z"
SEED_CREATED_NS = 1_771_900_342_148_605_220
FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")


def test_format_is_the_seeds():
    assert timestamps.format_ns(SEED_CREATED_NS) == SEED_CREATED_AT
    assert timestamps.format_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert FORMAT.match(timestamps.now())


def test_parse_reads_back_what_format_writes():
    assert timestamps.parse_ns(SEED_CREATED_AT) == SEED_CREATED_NS
    for value in (0, 1, 999_999_999, SEED_CREATED_NS, 4_102_444_800_000_000_000 - 1):
        assert timestamps.parse_ns(timestamps.format_ns(value)) == value


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-02-24T03:32:22.148605220+01:00", SEED_CREATED_AT),
        ("2026-02-23T21:32:22.148605220-05:00", SEED_CREATED_AT),
        ("2026-02-24T02:32:22.14860522Z", SEED_CREATED_AT),
        ("2026-02-24t02:32:22.148605220z", SEED_CREATED_AT),
        ("2026-02-24 02:32:22.148605220Z", SEED_CREATED_AT),
        ("2026-02-24T02:32:22.5Z", "2026-02-24T02:32:22.500000000Z"),
        ("2026-02-24T02:32:22Z", "2026-02-24T02:32:22.000000000Z"),
        ("2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00.000000000Z"),
    ],
)
def test_offsets_and_precisions_are_normalised_to_utc_nanoseconds(text, utc):
    assert timestamps.format_ns(timestamps.parse_ns(text)) == utc


def test_timestamps_sort_as_strings_as_they_sort_in_time():
    moments = [0, 5, 999_999_999, 1_000_000_000, SEED_CREATED_NS, SEED_CREATED_NS + 1, 4_102_444_800 * 10**9]
    texts = [timestamps.format_ns(moment) for moment in moments]
    assert texts == sorted(texts)


# ------------------------------------------------------------------ filter bounds


def test_a_date_as_start_is_the_first_instant_of_that_day():
    assert timestamps.filter_bound("startDate", "2026-02-01", end=False) == "2026-02-01T00:00:00.000000000Z"


def test_a_date_as_end_is_the_last_instant_of_that_day():
    assert timestamps.filter_bound("endDate", "2026-02-28", end=True) == "2026-02-28T23:59:59.999999999Z"
    assert timestamps.filter_bound("endDate", "2026-12-31", end=True) == "2026-12-31T23:59:59.999999999Z"
    assert timestamps.filter_bound("endDate", "2028-02-29", end=True) == "2028-02-29T23:59:59.999999999Z"


@pytest.mark.parametrize("end", [False, True])
def test_a_timestamp_bound_is_that_instant_in_utc(end):
    assert (
        timestamps.filter_bound("d", "2026-02-14T11:00:00+01:00", end=end) == "2026-02-14T10:00:00.000000000Z"
    )
    assert timestamps.filter_bound("d", " 2026-02-14T10:00:00Z ", end=end) == "2026-02-14T10:00:00.000000000Z"


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-29",
        "2026-02-30",
        "2025-02-29",
        "2026-13-01",
        "2026-00-10",
        "2026-04-31",
        "2026-2-1",
        "20260201",
        "yesterday",
        "",
        "2026-02-14T25:00:00Z",
        "2026-02-14T10:60:00Z",
        "2026-02-14T10:00:00",
        "2026-02-14T10:00:00+1",
        "2026-02-14T10:00:00.1234567890Z",
        "2026-02-29T10:00:00Z",
    ],
)
@pytest.mark.parametrize("field", ["startDate", "endDate"])
def test_an_impossible_or_unparsable_bound_is_refused_naming_field_and_value(field, value):
    with pytest.raises(BadRequest) as refused:
        timestamps.filter_bound(field, value, end=field == "endDate")
    assert refused.value.message.startswith(f"{field}:")
    assert repr(value) in refused.value.message


def test_bounds_far_in_the_past_or_future_are_clamped_and_zero_padded() -> None:
    assert timestamps.filter_bound("endDate", "9999-12-31", end=True) == "9999-12-31T23:59:59.999999999Z"
    assert timestamps.filter_bound("startDate", "0001-01-01T00:00:00+01:00", end=False) == (
        "0001-01-01T00:00:00.000000000Z"
    )
    assert timestamps.filter_bound("endDate", "9999-12-31T23:59:59-01:00", end=True) == (
        "9999-12-31T23:59:59.999999999Z"
    )
    # years before 1000 keep four digits, so they still sort before every run as strings
    assert timestamps.filter_bound("endDate", "0999-12-31", end=True) == "0999-12-31T23:59:59.999999999Z"
    assert timestamps.filter_bound("endDate", "0999-12-31", end=True) < timestamps.now()

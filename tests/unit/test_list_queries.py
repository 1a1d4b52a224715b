"""What a list query means: sort, status filter, dates, paging tokens. No I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest
from workflowsvc import queries
from workflowsvc.errors import BadRequest

RUN_STATUSES = ["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]


# ------------------------------------------------------------------ sort


def test_sort_defaults_to_created_at_descending():
    assert queries.parse_sort(None) == (("_createdAt", -1),)
    assert queries.parse_sort("") == (("_createdAt", -1),)
    assert queries.parse_sort("  ") == (("_createdAt", -1),)


def test_sort_keys_keep_their_order():
    assert queries.parse_sort('{"_updatedAt": -1, "_name": 1}') == (("_updatedAt", -1), ("_name", 1))
    assert queries.parse_sort('{"_name": 1, "_updatedAt": -1}') == (("_name", 1), ("_updatedAt", -1))
    every = {field: -1 for field in queries.SORTABLE_FIELDS}
    assert queries.parse_sort(json.dumps(every)) == tuple((field, -1) for field in queries.SORTABLE_FIELDS)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("{", "{"),
        ("not json", "not json"),
        ("[]", "[]"),
        ('["_name"]', "_name"),
        ("{}", "{}"),
        ("1", "1"),
        ('{"_id": 1}', "_id"),
        ('{"_priority": -1}', "_priority"),
        ('{"_name": 2}', "2"),
        ('{"_name": 0}', "0"),
        ('{"_name": "1"}', "'1'"),
        ('{"_name": true}', "True"),
        ('{"_name": null}', "None"),
    ],
)
def test_a_bad_sort_is_refused_naming_it(value, named):
    with pytest.raises(BadRequest) as refused:
        queries.parse_sort(value)
    assert refused.value.message.startswith("sort:")
    assert named in refused.value.message


def _run_doc(run_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "_id": run_id,
        "_name": "ingest",
        "_status": "QUEUED",
        "_workflowDefId": "d",
        "_createdAt": "2026-02-10T08:00:00.000000000Z",
        "_updatedAt": "2026-02-10T08:00:00.000000000Z",
        **fields,
    }


def test_sort_key_applies_keys_in_order_then_id():
    docs = [
        _run_doc("c", _status="FAILED", _updatedAt="2026-02-10T09:00:00.000000000Z"),
        _run_doc("a", _status="FAILED", _updatedAt="2026-02-10T10:00:00.000000000Z"),
        _run_doc("b", _status="COMPLETED", _updatedAt="2026-02-10T09:00:00.000000000Z"),
        _run_doc("d", _status="FAILED", _updatedAt="2026-02-10T09:00:00.000000000Z"),
    ]
    query = queries.RunListQuery(namespaces=("ns",), sort=(("_status", 1), ("_updatedAt", -1)))
    ordered = [doc["_id"] for doc in sorted(docs, key=queries.sort_key(query))]
    assert ordered[:2] == ["b", "a"]
    assert ordered[2:] in (["c", "d"], ["d", "c"])  # tied on both keys: by _id, one way or the other
    assert ordered == [doc["_id"] for doc in sorted(reversed(docs), key=queries.sort_key(query))]


# ------------------------------------------------------------------ status filter


def test_status_filter_parsing():
    assert queries.parse_statuses(None) == ()
    assert queries.parse_statuses("") == ()
    assert queries.parse_statuses("FAILED") == ("FAILED",)
    assert queries.parse_statuses("FAILED,TIMED_OUT") == ("FAILED", "TIMED_OUT")
    assert queries.parse_statuses("FAILED, TIMED_OUT") == ("FAILED", "TIMED_OUT")
    assert queries.parse_statuses("FAILED,FAILED") == ("FAILED",)
    assert set(queries.parse_statuses(",".join(RUN_STATUSES))) == set(RUN_STATUSES)


@pytest.mark.parametrize(
    ("value", "named"),
    [("DONE", "DONE"), ("FAILED,DONE", "DONE"), ("RESUMED", "RESUMED"), ("SKIPPED", "SKIPPED")],
)
def test_an_unknown_status_is_refused_naming_it(value, named):
    with pytest.raises(BadRequest) as refused:
        queries.parse_statuses(value)
    assert "_status" in refused.value.message
    assert named in refused.value.message


# ------------------------------------------------------------------ list queries


def _query(**overrides: Any) -> queries.RunListQuery:
    arguments: dict[str, Any] = {
        "name": None,
        "def_id": None,
        "status": None,
        "start_date": None,
        "end_date": None,
        "sort": None,
        "offset": None,
        "page_size": None,
        "next_token": None,
    }
    arguments.update(overrides)
    return queries.build_list_query(("first_tchgt1VU",), **arguments)


def test_list_query_defaults():
    query = _query()
    assert (query.offset, query.page_size, query.sort) == (0, 10, (("_createdAt", -1),))
    assert query.statuses == ()


def test_list_query_date_bounds_are_inclusive_and_whole_days():
    query = _query(start_date="2026-02-01", end_date="2026-02-28")
    assert query.start == "2026-02-01T00:00:00.000000000Z"
    assert query.end == "2026-02-28T23:59:59.999999999Z"


def test_a_start_after_the_end_is_refused():
    with pytest.raises(BadRequest) as refused:
        _query(start_date="2026-03-01", end_date="2026-02-01")
    assert "startDate" in refused.value.message


def test_the_same_day_as_start_and_end_is_that_whole_day():
    query = _query(start_date="2026-02-14", end_date="2026-02-14")
    assert query.start < "2026-02-14T23:00:00.000000000Z" < query.end


def test_a_token_is_bound_to_everything_but_the_position():
    base = _query(status="FAILED", sort='{"_name": 1}')
    assert base.fingerprint() == _query(status="FAILED", sort='{"_name": 1}', offset=30).fingerprint()
    assert base.fingerprint() == _query(status="FAILED", sort='{"_name": 1}', next_token="x").fingerprint()
    for other in (
        _query(status="FAILED", sort='{"_name": -1}'),
        _query(status="QUEUED", sort='{"_name": 1}'),
        _query(status="FAILED", sort='{"_name": 1}', name="mq"),
        _query(status="FAILED", sort='{"_name": 1}', def_id="824b"),
        _query(status="FAILED", sort='{"_name": 1}', start_date="2026-02-01"),
        _query(status="FAILED", sort='{"_name": 1}', end_date="2026-02-01"),
        queries.build_list_query(
            ("first_tchgt1VU", "second_ns"),
            name=None,
            def_id=None,
            status="FAILED",
            start_date=None,
            end_date=None,
            sort='{"_name": 1}',
            offset=None,
            page_size=None,
            next_token=None,
        ),
    ):
        assert other.fingerprint() != base.fingerprint()


def test_a_sort_direction_must_be_the_integer_1_or_minus_1() -> None:
    for direction in ("1.0", "true", '"1"'):
        with pytest.raises(BadRequest, match="use 1 or -1"):
            queries.parse_sort('{"_name": ' + direction + "}")
    assert queries.parse_sort('{"_name": -1}') == (("_name", -1),)

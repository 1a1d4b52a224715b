"""Listing runs: GET /workflows with paging, filters, sorting and _nextToken.

Runs with chosen creation times, update times and statuses are written through the store in the
Given steps; every assertion goes through the list handler. Every test runs twice: with the namespaces'
runs on one partition of the index, as a quiet namespace has them, and spread over four, as a namespace
written hard has them.
"""

from __future__ import annotations

import copy
import json
from functools import cmp_to_key
from typing import Any

import pytest
from workflowsvc import timestamps
from workflowsvc.store import shards

from tests.support import runs as data
from tests.support.checks import ids
from tests.support.events import SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE, load_event
from tests.support.runs import SEED_DEFINITION

SECOND = 1_000_000_000
MINUTE = 60 * SECOND
BOTH_NAMESPACES = f"{SAMPLE_NAMESPACE},{SAMPLE_OTHER_NAMESPACE}"


@pytest.fixture(autouse=True, params=[1, 4], ids=["one-partition", "four-partitions"])
def partitions(request: Any, clock: Any, store: Any) -> int:
    """How many index partitions the sample namespaces' runs are spread over."""
    if request.param > 1:
        for namespace in (SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE):
            store.shards.raise_to(namespace, request.param)
        clock.advance(shards.CACHE_SECONDS * 2)  # writers use the new partitions only from then on
    return int(request.param)


def at(text: str) -> int:
    return timestamps.parse_ns(text)


def named(name: str) -> dict[str, Any]:
    body = copy.deepcopy(SEED_DEFINITION)
    body["_name"] = name
    return body


def walk(api: Any, token: str | None = None, **query: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page of a list, following _nextToken from ``token``; the ids in order and the page bodies."""
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    for _ in range(50):
        reply = api.list(**query, _nextToken=token)
        assert reply.status == 200, reply.text
        pages.append(reply.body)
        seen.extend(ids(reply.body["_list"]))
        token = reply.body.get("_nextToken")
        if token is None:
            return seen, pages
    raise AssertionError("the pages never ended")


def expected_order(runs: list[dict[str, Any]], sort: list[tuple[str, int]]) -> list[str]:
    """The order the contract asks for, for runs with no ties on the sort keys."""

    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for field, direction in sort:
            if left[field] != right[field]:
                return direction if left[field] > right[field] else -direction
        raise AssertionError(
            f"tie between {left['_id']} and {right['_id']}: expected_order needs distinct keys"
        )

    return ids(sorted(runs, key=cmp_to_key(compare)))


# ------------------------------------------------------------------ the vendor's example


def test_the_seed_example_query_finds_februarys_failed_activemq_runs_of_the_definition(api, given):
    # Given runs of an "ActiveMQ" definition, and others that miss one filter each
    mq = given.definition(named("ActiveMQ_bridge"))
    mq_twin = given.definition(named("ActiveMQ_bridge"))
    rest = given.definition(named("rest_connector_workflow"))
    first_day = given.run(
        mq, "FAILED", created_ns=at("2026-02-01T00:00:00Z"), updated_ns=at("2026-02-01T01:00:00Z")
    )
    last_instant = given.run(
        mq,
        "FAILED",
        created_ns=at("2026-02-28T23:59:59.999999999Z"),
        updated_ns=at("2026-03-01T00:10:00Z"),
    )
    mid_month = given.run(
        mq, "FAILED", created_ns=at("2026-02-14T12:00:00Z"), updated_ns=at("2026-02-14T12:05:00Z")
    )
    given.run(mq, "COMPLETED", created_ns=at("2026-02-15T08:00:00Z"))
    given.run(mq, "FAILED", created_ns=at("2026-01-31T23:59:59.999999999Z"))
    given.run(mq, "FAILED", created_ns=at("2026-03-01T00:00:00Z"))
    given.run(mq_twin, "FAILED", created_ns=at("2026-02-10T08:00:00Z"))
    given.run(rest, "FAILED", created_ns=at("2026-02-10T08:00:00Z"))
    given.run(mq, "FAILED", created_ns=at("2026-02-12T08:00:00Z"), namespaces=(SAMPLE_OTHER_NAMESPACE,))

    # When the sample request is sent for that definition
    event = load_event("list_workflows", query={"_defId": mq["_id"]})
    reply = api.invoke("list_workflows", event)

    # Then: sorted by _updatedAt descending, as the example's sort asks
    assert reply.status == 200, reply.text
    body = reply.body
    assert ids(body["_list"]) == [last_instant["_id"], mid_month["_id"], first_day["_id"]]
    assert body["_total"] == 3
    assert body["_offset"] == 0
    assert body["_pageSize"] == 10
    assert "_nextToken" not in body
    assert body["_list"][0] == api.get(last_instant["_id"]).body


def test_the_seed_example_query_as_written_is_400_because_february_29_2026_is_not_a_date(api):
    reply = api.invoke("list_workflows", load_event("list_workflows_seed_example"))
    assert reply.status == 400
    assert "endDate" in reply.message
    assert "2026-02-29" in reply.message


def test_list_items_are_whole_runs_as_get_shows_them(api):
    definition = api.create_definition()
    run = api.start(definition["_id"])
    reply = api.list()
    assert reply.body["_list"] == [api.get(run["_id"]).body] == [run]


# ------------------------------------------------------------------ paging


@pytest.fixture
def twelve_runs(given) -> list[dict[str, Any]]:
    """Twelve runs created a minute apart, oldest first."""
    definition = given.definition()
    start = at("2026-02-10T08:00:00Z")
    return [given.run(definition, "QUEUED", created_ns=start + index * MINUTE) for index in range(12)]


def test_page_size_defaults_to_10_and_the_newest_come_first(api, twelve_runs):
    reply = api.list()
    assert reply.status == 200
    assert reply.body["_pageSize"] == 10
    assert reply.body["_offset"] == 0
    assert reply.body["_total"] == 12
    assert ids(reply.body["_list"]) == ids(twelve_runs[::-1][:10])


@pytest.mark.parametrize("spelling", ["_pageSize", "_pagesize"])
def test_page_size_is_honoured_in_both_spellings(api, twelve_runs, spelling):
    for size in (1, 5, 12, 100):
        reply = api.list(**{spelling: str(size)})
        assert reply.status == 200, reply.text
        assert reply.body["_pageSize"] == size
        assert ids(reply.body["_list"]) == ids(twelve_runs[::-1][:size]), size
        assert reply.body["_total"] == 12


BAD_PAGING = [
    ("_pageSize", "0"),
    ("_pageSize", "101"),
    ("_pageSize", "abc"),
    ("_pageSize", "-3"),
    ("_pagesize", "0"),
    ("_pagesize", "101"),
    ("_pagesize", "abc"),
    ("_offset", "-1"),
    ("_offset", "first"),
]


def test_bad_paging_values_are_400_naming_the_field_and_value(api, subtests):
    for name, value in BAD_PAGING:
        with subtests.test(name=name, value=value):
            reply = api.list(**{name: value})
            assert reply.status == 400
            assert name in reply.message
            assert value in reply.message


def test_offset_skips_that_many_matches(api, twelve_runs):
    newest_first = ids(twelve_runs[::-1])
    page = api.list(_pageSize="5", _offset="5").body
    tail = api.list(_offset="10").body
    beyond = api.list(_offset="12").body
    far_beyond = api.list(_offset="500").body

    assert ids(page["_list"]) == newest_first[5:10]
    assert page["_offset"] == 5
    assert ids(tail["_list"]) == newest_first[10:]
    assert "_nextToken" not in tail
    assert beyond["_list"] == [] and beyond["_total"] == 12
    assert far_beyond["_list"] == [] and far_beyond["_total"] == 12


# ------------------------------------------------------------------ _total and filters


@pytest.fixture
def mixed_runs(given) -> dict[str, Any]:
    """Runs of several definitions, statuses and namespaces, one run in both namespaces."""
    definitions = {
        name: given.definition(named(name), nsfilter=BOTH_NAMESPACES)
        for name in ("ActiveMQ_bridge", "activemq_ingest", "rest_connector_workflow", "MQTT_listener")
    }
    start = at("2026-02-10T08:00:00Z")
    plan = [
        ("ActiveMQ_bridge", "QUEUED", (SAMPLE_NAMESPACE,)),
        ("ActiveMQ_bridge", "FAILED", (SAMPLE_NAMESPACE,)),
        ("activemq_ingest", "FAILED", (SAMPLE_NAMESPACE,)),
        ("activemq_ingest", "COMPLETED", (SAMPLE_NAMESPACE,)),
        ("rest_connector_workflow", "RUNNING", (SAMPLE_NAMESPACE,)),
        ("rest_connector_workflow", "FAILED", (SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE)),
        ("MQTT_listener", "TIMED_OUT", (SAMPLE_NAMESPACE,)),
        ("MQTT_listener", "FAILED", (SAMPLE_OTHER_NAMESPACE,)),
        ("ActiveMQ_bridge", "PAUSED", (SAMPLE_OTHER_NAMESPACE,)),
    ]
    runs = [
        given.run(definitions[name], status, namespaces=namespaces, created_ns=start + index * MINUTE)
        for index, (name, status, namespaces) in enumerate(plan)
    ]
    return {"definitions": definitions, "runs": runs}


def _matching(runs: list[dict[str, Any]], namespaces: tuple[str, ...], **rules: Any) -> list[str]:
    found = [run for run in runs if set(run["_namespaces"]) & set(namespaces)]
    if "statuses" in rules:
        found = [run for run in found if run["_status"] in rules["statuses"]]
    if "name" in rules:
        found = [run for run in found if rules["name"].lower() in run["_name"].lower()]
    if "def_id" in rules:
        found = [run for run in found if rules["def_id"] in run["_workflowDefId"]]
    return sorted(ids(found))


FILTER_CASES = [
    ({}, {}),
    ({"_status": "FAILED"}, {"statuses": {"FAILED"}}),
    ({"_status": "FAILED,TIMED_OUT"}, {"statuses": {"FAILED", "TIMED_OUT"}}),
    ({"_status": "QUEUED,RUNNING,PAUSED"}, {"statuses": {"QUEUED", "RUNNING", "PAUSED"}}),
    ({"_name": "ACTIVEmq"}, {"name": "activemq"}),
    ({"_name": "mq"}, {"name": "mq"}),
    ({"_name": "Connector_W"}, {"name": "connector_w"}),
    ({"_name": "mq", "_status": "FAILED"}, {"name": "mq", "statuses": {"FAILED"}}),
    ({"_name": "no-such-workflow"}, {"name": "no-such-workflow"}),
]


def test_filters_select_the_matching_runs_and_total_counts_them_once(api, mixed_runs, subtests):
    for query, rules in FILTER_CASES:
        for nsfilter in (SAMPLE_NAMESPACE, SAMPLE_OTHER_NAMESPACE, BOTH_NAMESPACES):
            with subtests.test(nsfilter=nsfilter, **query):
                # When
                reply = api.list(nsfilter=nsfilter, _pageSize="3", **query)

                # Then: the total counts every match, once even when a run is in both namespaces
                expected = _matching(mixed_runs["runs"], tuple(nsfilter.split(",")), **rules)
                assert reply.status == 200, reply.text
                assert reply.body["_total"] == len(expected)
                assert len(reply.body["_list"]) == min(3, len(expected))
                everything = api.list(nsfilter=nsfilter, _pageSize="100", **query).body
                assert sorted(ids(everything["_list"])) == expected


def test_def_id_filter_is_a_substring_of_the_definition_id(api, mixed_runs):
    definition = mixed_runs["definitions"]["activemq_ingest"]
    for part in (definition["_id"], definition["_id"][:8], definition["_id"][9:23]):
        reply = api.list(_defId=part, _pageSize="100")
        expected = _matching(mixed_runs["runs"], (SAMPLE_NAMESPACE,), def_id=part)
        assert sorted(ids(reply.body["_list"])) == expected
        assert reply.body["_total"] == len(expected) == 2


def test_each_status_filters_on_itself(api, given, subtests):
    definition = given.definition()
    statuses = ("QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
    by_status = {status: given.run(definition, status) for status in statuses}
    for status in statuses:
        with subtests.test(status=status):
            reply = api.list(_status=status)
            assert ids(reply.body["_list"]) == [by_status[status]["_id"]]
            assert reply.body["_total"] == 1


@pytest.mark.parametrize(
    ("value", "named_value"), [("DONE", "DONE"), ("FAILED,DONE", "DONE"), ("RESUMED", "RESUMED")]
)
def test_an_unknown_status_is_400_naming_it(api, value, named_value):
    reply = api.list(_status=value)
    assert reply.status == 400
    assert "_status" in reply.message
    assert named_value in reply.message


# ------------------------------------------------------------------ dates


@pytest.fixture
def dated_runs(given) -> dict[str, dict[str, Any]]:
    definition = given.definition()
    moments = {
        "jan31_last": "2026-01-31T23:59:59.999999999Z",
        "feb01_first": "2026-02-01T00:00:00.000000000Z",
        "feb14_ten": "2026-02-14T10:00:00.000000000Z",
        "feb28_last": "2026-02-28T23:59:59.999999999Z",
        "mar01_first": "2026-03-01T00:00:00.000000000Z",
    }
    return {key: given.run(definition, "COMPLETED", created_ns=at(moment)) for key, moment in moments.items()}


DATE_CASES = [
    ({"startDate": "2026-02-01", "endDate": "2026-02-28"}, {"feb01_first", "feb14_ten", "feb28_last"}),
    ({"startdate": "2026-02-01", "enddate": "2026-02-28"}, {"feb01_first", "feb14_ten", "feb28_last"}),
    ({"endDate": "2026-02-28"}, {"jan31_last", "feb01_first", "feb14_ten", "feb28_last"}),
    ({"startDate": "2026-02-28"}, {"feb28_last", "mar01_first"}),
    ({"startDate": "2026-02-14", "endDate": "2026-02-14"}, {"feb14_ten"}),
    ({"startDate": "2026-02-14T10:00:00Z", "endDate": "2026-02-14T10:00:00.000000000Z"}, {"feb14_ten"}),
    ({"startDate": "2026-02-14T11:00:00+01:00"}, {"feb14_ten", "feb28_last", "mar01_first"}),
    ({"startDate": "2026-02-14T10:00:00.000000001Z"}, {"feb28_last", "mar01_first"}),
    ({"endDate": "2026-02-14T10:59:59.999+01:00"}, {"jan31_last", "feb01_first"}),
    ({"endDate": "2026-02-14T05:00:00-05:00"}, {"jan31_last", "feb01_first", "feb14_ten"}),
    ({"startDate": "2026-01-31T23:59:59.999999999Z", "endDate": "2026-01-31"}, {"jan31_last"}),
    ({"startDate": "2028-02-29"}, set()),
]


def test_date_filters_are_inclusive_on_created_at(api, dated_runs, subtests):
    for query, expected in DATE_CASES:
        with subtests.test(**query):
            reply = api.list(_pageSize="100", **query)
            assert reply.status == 200, reply.text
            assert sorted(ids(reply.body["_list"])) == sorted(dated_runs[key]["_id"] for key in expected)
            assert reply.body["_total"] == len(expected)


BAD_DATES = [
    ("endDate", "2026-02-29"),
    ("startDate", "2026-02-29"),
    ("enddate", "2026-02-29"),
    ("startdate", "2026-02-30"),
    ("startDate", "2026-13-01"),
    ("startDate", "yesterday"),
    ("endDate", "2026-02-14T25:00:00Z"),
    ("endDate", "14/02/2026"),
    ("startDate", "2026-02-14T10:00:00"),
]


def test_an_impossible_or_unparsable_date_is_400_naming_the_field(api, subtests):
    for name, value in BAD_DATES:
        with subtests.test(name=name, value=value):
            reply = api.list(**{name: value})
            assert reply.status == 400, reply.text
            assert name.lower() in reply.message.lower()
            assert value in reply.message


def test_a_start_after_the_end_is_400(api):
    reply = api.list(startDate="2026-03-01", endDate="2026-02-01")
    assert reply.status == 400
    assert "startDate" in reply.message


# ------------------------------------------------------------------ sorting


@pytest.fixture
def distinct_runs(given) -> list[dict[str, Any]]:
    """Five runs that differ on every sortable field, in orders that disagree with each other."""
    plan = [
        # name, status, created, updated
        ("delta_sync", "FAILED", "2026-02-10T08:00:00Z", "2026-02-12T08:00:00Z"),
        ("alpha_import", "RUNNING", "2026-02-11T08:00:00Z", "2026-02-11T08:30:00Z"),
        ("echo_report", "COMPLETED", "2026-02-09T08:00:00Z", "2026-02-13T09:00:00Z"),
        ("charlie_export", "QUEUED", "2026-02-13T08:00:00Z", "2026-02-13T08:00:00Z"),
        ("bravo_backup", "PAUSED", "2026-02-12T08:00:00Z", "2026-02-12T09:00:00Z"),
    ]
    runs = []
    for name, status, created, updated in plan:
        definition = given.definition(named(name))
        runs.append(given.run(definition, status, created_ns=at(created), updated_ns=at(updated)))
    return runs


SORTABLE = ["_createdAt", "_updatedAt", "_name", "_status", "_workflowDefId"]


def test_sort_on_each_field_and_direction(api, distinct_runs, subtests):
    for field in SORTABLE:
        for direction in (1, -1):
            with subtests.test(field=field, direction=direction):
                reply = api.list(sort=json.dumps({field: direction}))
                assert reply.status == 200, reply.text
                assert ids(reply.body["_list"]) == expected_order(distinct_runs, [(field, direction)])


def test_the_default_sort_is_created_at_descending(api, distinct_runs):
    default = api.list().body
    explicit = api.list(sort='{"_createdAt": -1}').body
    assert (
        ids(default["_list"]) == ids(explicit["_list"]) == expected_order(distinct_runs, [("_createdAt", -1)])
    )


@pytest.fixture
def grouped_runs(given) -> list[dict[str, Any]]:
    """Runs that share names and statuses, so that a second sort key decides."""
    plan = [
        ("ingest", "FAILED", "2026-02-10T08:00:00Z", "2026-02-10T09:00:00Z"),
        ("ingest", "COMPLETED", "2026-02-11T08:00:00Z", "2026-02-11T08:10:00Z"),
        ("export", "FAILED", "2026-02-12T08:00:00Z", "2026-02-12T08:20:00Z"),
        ("export", "COMPLETED", "2026-02-09T08:00:00Z", "2026-02-14T08:00:00Z"),
        ("ingest", "FAILED", "2026-02-13T08:00:00Z", "2026-02-13T08:05:00Z"),
        ("export", "FAILED", "2026-02-08T08:00:00Z", "2026-02-15T08:00:00Z"),
    ]
    definitions = {name: given.definition(named(name)) for name in ("ingest", "export")}
    return [
        given.run(definitions[name], status, created_ns=at(created), updated_ns=at(updated))
        for name, status, created, updated in plan
    ]


MULTI_KEY_SORTS = [
    [("_status", 1), ("_updatedAt", -1)],
    [("_status", -1), ("_createdAt", 1)],
    [("_name", 1), ("_createdAt", -1)],
    [("_name", -1), ("_status", 1), ("_updatedAt", 1)],
    [("_updatedAt", -1), ("_name", 1)],
    [("_workflowDefId", 1), ("_status", 1), ("_createdAt", 1)],
]


def test_several_sort_keys_apply_in_order(api, grouped_runs, subtests):
    for sort in MULTI_KEY_SORTS:
        with subtests.test(sort=sort):
            reply = api.list(sort=json.dumps(dict(sort)))
            assert reply.status == 200, reply.text
            assert ids(reply.body["_list"]) == expected_order(grouped_runs, sort)


def test_a_second_key_breaks_ties_of_created_at(api, given):
    # Given two runs created at the same instant, the one named first having the smaller id, so that
    # ordering by _id alone (in either direction) cannot pass for ordering by name in both directions
    moment = at("2026-02-10T08:00:00Z")
    alpha_definition, bravo_definition = (
        given.definition(named("alpha_import")),
        given.definition(named("bravo_import")),
    )
    alpha_record = data.run_in_status(alpha_definition, "QUEUED", created_ns=moment)
    bravo_record = data.run_in_status(bravo_definition, "QUEUED", created_ns=moment)
    alpha, bravo = alpha_record.run, bravo_record.run
    if alpha["_id"] > bravo["_id"]:
        alpha["_id"], bravo["_id"] = bravo["_id"], alpha["_id"]
    given.store.runs.create(alpha_record)
    given.store.runs.create(bravo_record)

    # When
    name_ascending = api.list(sort='{"_createdAt": -1, "_name": 1}').body
    name_descending = api.list(sort='{"_createdAt": 1, "_name": -1}').body

    # Then
    assert ids(name_ascending["_list"]) == [alpha["_id"], bravo["_id"]]
    assert ids(name_descending["_list"]) == [bravo["_id"], alpha["_id"]]


def test_ties_break_on_id_so_the_order_is_stable(api, given, subtests):
    # Given four runs equal on every sort key
    definition = given.definition(named("ingest"))
    moment = at("2026-02-10T08:00:00Z")
    runs = [given.run(definition, "FAILED", created_ns=moment, updated_ns=moment + MINUTE) for _ in range(4)]

    for sort in (None, '{"_name": 1}', '{"_status": -1}', '{"_createdAt": 1}', '{"_updatedAt": -1}'):
        with subtests.test(sort=sort):
            query = {"sort": sort} if sort else {}
            # When
            whole = ids(api.list(**query).body["_list"])
            again = ids(api.list(**query).body["_list"])
            one_by_one = [
                ids(api.list(_pageSize="1", _offset=str(index), **query).body["_list"])[0]
                for index in range(4)
            ]
            # Then
            assert sorted(whole) == sorted(ids(runs))
            assert whole in (sorted(whole), sorted(whole, reverse=True))
            assert again == whole == one_by_one


BAD_SORTS = [
    ("{", "{"),
    ("_createdAt", "_createdAt"),
    ('{"_priority": 1}', "_priority"),
    ('{"_id": 1}', "_id"),
    ('{"_name": 2}', "2"),
    ('{"_name": 0}', "0"),
    ('{"_name": "asc"}', "asc"),
    ('{"_name": true}', "True"),
    ('[["_name", 1]]', "_name"),
    ("{}", "{}"),
]


def test_a_bad_sort_is_400_naming_it(api, subtests):
    for sort, named_value in BAD_SORTS:
        with subtests.test(sort=sort):
            reply = api.list(sort=sort)
            assert reply.status == 400, reply.text
            assert "sort" in reply.message
            assert named_value in reply.message


def test_the_sample_bad_sort_event_is_400(api):
    reply = api.invoke("list_workflows", load_event("list_workflows_bad_sort"))
    assert reply.status == 400
    assert "_priority" in reply.message


# ------------------------------------------------------------------ _nextToken


@pytest.fixture
def two_namespace_runs(given) -> list[dict[str, Any]]:
    """Eight runs: three in each namespace alone, two in both."""
    definitions = [given.definition(named(name), nsfilter=BOTH_NAMESPACES) for name in ("ingest", "export")]
    start = at("2026-02-10T08:00:00Z")
    statuses = ["FAILED", "COMPLETED", "QUEUED", "RUNNING"]
    placement = (
        [(SAMPLE_NAMESPACE,)] * 3 + [(SAMPLE_OTHER_NAMESPACE,)] * 3 + [tuple(BOTH_NAMESPACES.split(","))] * 2
    )
    runs = []
    for index, namespaces in enumerate([placement[i] for i in (0, 3, 6, 1, 4, 7, 2, 5)]):
        runs.append(
            given.run(
                definitions[index % 2],
                statuses[index % 4],
                namespaces=namespaces,
                created_ns=start + index * MINUTE,
                updated_ns=start + (20 - index) * MINUTE,
            )
        )
    return runs


@pytest.mark.parametrize("nsfilter", [SAMPLE_NAMESPACE, BOTH_NAMESPACES])
def test_next_token_walks_every_page_without_gaps_or_repeats(api, two_namespace_runs, nsfilter, subtests):
    wanted = {run["_id"] for run in two_namespace_runs if set(run["_namespaces"]) & set(nsfilter.split(","))}
    for sort in (None, '{"_updatedAt": 1}', '{"_name": 1, "_createdAt": -1}', '{"_createdAt": 1}'):
        with subtests.test(sort=sort):
            # Given
            query = {"nsfilter": nsfilter, **({"sort": sort} if sort else {})}
            in_one_page = ids(api.list(_pageSize="100", **query).body["_list"])

            # When
            walked, pages = walk(api, _pageSize="3", **query)

            # Then
            assert set(in_one_page) == wanted
            assert walked == in_one_page
            assert len(pages) == -(-len(wanted) // 3)
            assert [page["_offset"] for page in pages] == [3 * index for index in range(len(pages))]
            assert all(page["_total"] == len(wanted) for page in pages)
            assert all("_nextToken" in page for page in pages[:-1])


def test_next_token_with_filters_walks_only_the_matches(api, two_namespace_runs):
    failed_or_queued = [run for run in two_namespace_runs if run["_status"] in ("FAILED", "QUEUED")]
    walked, pages = walk(
        api, nsfilter=BOTH_NAMESPACES, _pageSize="2", _status="FAILED,QUEUED", _name="INGEST"
    )
    expected = [run for run in failed_or_queued if run["_name"] == "ingest"]
    assert sorted(walked) == sorted(ids(expected))
    assert len(walked) == len(set(walked))
    assert pages[0]["_total"] == len(expected)


def test_a_run_started_while_paging_does_not_shift_the_pages(api, given, twelve_runs):
    # Given a first page read
    first = api.list(_pageSize="5").body

    # When a new run starts before the next page is asked for
    given.run(given.definition(), "QUEUED")
    rest, _pages = walk(api, first["_nextToken"], _pageSize="5")

    # Then the walk still covers the twelve runs once each
    assert ids(first["_list"]) + rest == ids(twelve_runs[::-1])


def test_a_token_overrides_offset(api, twelve_runs):
    first = api.list(_pageSize="4").body
    with_token = api.list(_pageSize="4", _nextToken=first["_nextToken"]).body
    with_token_and_offset = api.list(_pageSize="4", _offset="9", _nextToken=first["_nextToken"]).body
    assert ids(with_token_and_offset["_list"]) == ids(with_token["_list"]) == ids(twelve_runs[::-1][4:8])
    assert with_token_and_offset["_offset"] == 4


OTHER_QUERIES = [
    {"_status": "QUEUED"},
    {"_name": "rest"},
    {"_defId": "824beec4"},
    {"startDate": "2026-02-01"},
    {"endDate": "2026-02-28"},
    {"sort": '{"_createdAt": 1}'},
    {"sort": '{"_name": 1}'},
    {"nsfilter": BOTH_NAMESPACES},
    {"nsfilter": SAMPLE_OTHER_NAMESPACE},
]


def test_a_token_used_for_another_query_is_400(api, twelve_runs, subtests):
    token = api.list(_pageSize="4").body["_nextToken"]
    for changed in OTHER_QUERIES:
        with subtests.test(**changed):
            reply = api.list(_pageSize="4", _nextToken=token, **changed)
            assert reply.status == 400, reply.text
            assert "_nextToken" in reply.message


def test_a_token_from_a_non_default_sort_is_refused_for_the_default_one(api, twelve_runs):
    token = api.list(_pageSize="4", sort='{"_updatedAt": -1}').body["_nextToken"]
    reply = api.list(_pageSize="4", _nextToken=token)
    assert reply.status == 400


def _flip(text: str, position: int) -> str:
    replacement = "A" if text[position] != "A" else "B"
    return text[:position] + replacement + text[position + 1 :]


def test_an_altered_or_forged_token_is_400(api, twelve_runs, subtests):
    token = api.list(_pageSize="4").body["_nextToken"]
    altered = {
        "start": _flip(token, 0),
        "middle": _flip(token, len(token) // 2),
        "end": _flip(token, len(token) - 2),
        "garbage": "not-a-token",
        "truncated": token[: len(token) // 2],
        "padded": token + "AAAA",
        "empty-json": "e30",
    }
    for where, value in altered.items():
        with subtests.test(where=where):
            reply = api.list(_pageSize="4", _nextToken=value)
            assert reply.status == 400, reply.text
            assert "_nextToken" in reply.message

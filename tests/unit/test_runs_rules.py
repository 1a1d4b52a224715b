"""Rules of runs, without I/O: the status-change table, list queries (sort, status, dates), ordering."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from workflowsvc import runs, timestamps
from workflowsvc.errors import BadRequest, Conflict

NS = 1_000_000_000
SUBJECT = "c9daff7e-b55b-41ec-aa46-d0150f3199dc"
OPERATOR = "operator-42"
RUN_STATUSES = ["QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED"]
ALLOWED = {
    "PAUSED": {"QUEUED", "RUNNING"},
    "RESUMED": {"PAUSED"},
    "RETRIED": {"FAILED", "TIMED_OUT", "TERMINATED"},
    "TERMINATED": {"QUEUED", "RUNNING", "PAUSED"},
}

DEFINITION: dict[str, Any] = {
    "_id": "824beec4-4a58-4bf8-b9df-b86172a2d5d5",
    "_name": "device_sync",
    "_userType": "iaq_realtime_setup",
    "_namespaces": ["first_tchgt1VU"],
    "_timeoutSeconds": 900,
    "_timeoutPolicy": "TIME_OUT_WF",
    "_tasks": [
        {
            "_name": "login",
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "https://auth.example.com/token"},
        },
        {"_name": "fetch_devices", "_type": "REST_CONNECTOR", "_retryCount": 2},
        {"_name": "notify", "_type": "REST_CONNECTOR"},
    ],
    "_createdAt": "2026-02-01T08:00:00.000000000Z",
    "_createdBy": SUBJECT,
}

# Task statuses a run is left with in each status, as the worker leaves it.
TASKS_IN = {
    "QUEUED": ("QUEUED", "QUEUED", "QUEUED"),
    "RUNNING": ("COMPLETED", "QUEUED", "QUEUED"),
    "PAUSED": ("COMPLETED", "PAUSED", "PAUSED"),
    "COMPLETED": ("COMPLETED", "COMPLETED", "COMPLETED"),
    "FAILED": ("COMPLETED", "FAILED", "SKIPPED"),
    "TIMED_OUT": ("COMPLETED", "TIMED_OUT", "SKIPPED"),
    "TERMINATED": ("COMPLETED", "TERMINATED", "TERMINATED"),
}


def run_in(status: str, **meta_changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    run, meta = runs.new_run(copy.deepcopy(DEFINITION), {"site": "berlin-hq"}, ("first_tchgt1VU",), SUBJECT)
    for task, task_status in zip(run["_tasks"], TASKS_IN[status], strict=True):
        task["_status"] = task_status
        if task_status == "COMPLETED":
            task.update(_attempts=1, _output={"_statusCode": 200, "_headers": {}, "_body": {"ok": True}})
        if task_status in ("FAILED", "TIMED_OUT"):
            task.update(_attempts=3, _error="HTTP 503 from https://api.example.com: Service Unavailable")
    run["_status"] = status
    if status == "PAUSED":
        meta["pausedFrom"] = "RUNNING"
    meta.update(meta_changes)
    return run, meta


# ------------------------------------------------------------------ new runs


def test_a_new_run_has_the_seeds_shape():
    before = timestamps.now_ns()
    run, meta = runs.new_run(
        copy.deepcopy(DEFINITION), {"site": "x"}, ("first_tchgt1VU", "second_ns"), SUBJECT
    )

    assert uuid.UUID(run["_id"]).version == 4
    assert run["_workflowDefId"] == DEFINITION["_id"]
    assert run["_namespaces"] == ["first_tchgt1VU", "second_ns"]
    assert run["_status"] == "QUEUED"
    assert run["_output"] is None
    assert run["_createdAt"] == run["_updatedAt"]
    assert timestamps.parse_ns(run["_createdAt"]) >= before
    assert run["_createdBy"] == run["_updatedBy"] == SUBJECT
    assert [task["_sequenceno"] for task in run["_tasks"]] == [1, 2, 3]
    assert {task["_status"] for task in run["_tasks"]} == {"QUEUED"}
    assert len({task["_id"] for task in run["_tasks"]}) == 3
    assert run["_tasks"][1]["_retryCount"] == 2  # the definition's task settings are copied
    assert meta["step"] == 1
    assert meta["deadlineNs"] == timestamps.parse_ns(run["_createdAt"]) + 900 * NS


@pytest.mark.parametrize("timeout", [None, 0])
def test_no_timeout_means_no_deadline(timeout):
    definition = dict(copy.deepcopy(DEFINITION), _timeoutSeconds=timeout)
    _run, meta = runs.new_run(definition, {}, ("first_tchgt1VU",), SUBJECT)
    assert meta["deadlineNs"] is None


# ------------------------------------------------------------------ the transition table


@pytest.mark.parametrize("current", RUN_STATUSES)
@pytest.mark.parametrize("requested", sorted(ALLOWED))
def test_the_transition_table(requested, current):
    run, meta = run_in(current)
    original = copy.deepcopy((run, meta))
    if current in ALLOWED[requested]:
        change = runs.change_status(run, meta, requested, OPERATOR)
        assert change.run["_updatedBy"] == OPERATOR
        assert change.run["_updatedAt"] >= run["_updatedAt"]
    else:
        with pytest.raises(Conflict) as refused:
            runs.change_status(run, meta, requested, OPERATOR)
        assert current in refused.value.message
        assert requested in refused.value.message
        assert "_status" in refused.value.message
    assert (run, meta) == original  # the inputs are never changed in place


def test_pause_pauses_what_has_not_started():
    run, meta = run_in("RUNNING")
    change = runs.change_status(run, meta, "PAUSED", OPERATOR)
    assert change.run["_status"] == "PAUSED"
    assert [task["_status"] for task in change.run["_tasks"]] == ["COMPLETED", "PAUSED", "PAUSED"]
    assert change.meta["pausedFrom"] == "RUNNING"
    assert change.send_step is False


def test_pause_lets_the_task_in_flight_finish():
    run, meta = run_in("RUNNING")
    run["_tasks"][1]["_status"] = "RUNNING"
    meta.update(claimed=True, inFlightTaskId=run["_tasks"][1]["_id"], leaseNs=timestamps.now_ns() + 60 * NS)
    change = runs.change_status(run, meta, "PAUSED", OPERATOR)
    assert [task["_status"] for task in change.run["_tasks"]] == ["COMPLETED", "RUNNING", "PAUSED"]
    # the worker may still record its attempt: its claim is kept
    assert change.meta["step"] == meta["step"]
    assert change.meta["claimed"] is True


def test_resume_while_the_paused_task_is_still_in_flight_keeps_its_claim_and_sends_nothing():
    run, meta = run_in("RUNNING")
    run["_tasks"][1]["_status"] = "RUNNING"
    meta.update(claimed=True, inFlightTaskId=run["_tasks"][1]["_id"], leaseNs=timestamps.now_ns() + 60 * NS)
    paused = runs.change_status(run, meta, "PAUSED", OPERATOR)

    resumed = runs.change_status(paused.run, paused.meta, "RESUMED", OPERATOR)

    assert resumed.run["_status"] == "RUNNING"
    assert [task["_status"] for task in resumed.run["_tasks"]] == ["COMPLETED", "RUNNING", "QUEUED"]
    # the attempt in flight records its result and moves the run on; a message now would be a second one
    assert resumed.meta["step"] == meta["step"]
    assert resumed.meta["claimed"] is True
    assert resumed.send_step is False


@pytest.mark.parametrize("paused_from", ["QUEUED", "RUNNING"])
def test_resume_returns_to_the_status_before_the_pause(paused_from):
    run, meta = run_in("PAUSED", pausedFrom=paused_from)
    change = runs.change_status(run, meta, "RESUMED", OPERATOR)
    assert change.run["_status"] == paused_from
    assert [task["_status"] for task in change.run["_tasks"]] == ["COMPLETED", "QUEUED", "QUEUED"]
    assert change.send_step is True
    assert change.meta["step"] == meta["step"] + 1
    assert "pausedFrom" not in change.meta


@pytest.mark.parametrize("source", ["FAILED", "TIMED_OUT", "TERMINATED"])
def test_retry_requeues_unfinished_tasks_and_keeps_completed_ones(source):
    run, meta = run_in(source)
    run["_error"] = "task 'fetch_devices' failed"
    run["_timeoutAlertedAt"] = run["_updatedAt"]
    change = runs.change_status(run, meta, "RETRIED", OPERATOR)
    assert change.run["_status"] == "QUEUED"
    assert change.run["_output"] is None
    assert "_error" not in change.run and "_timeoutAlertedAt" not in change.run
    login, fetch, notify = change.run["_tasks"]
    assert login == run["_tasks"][0]
    for task in (fetch, notify):
        assert task["_status"] == "QUEUED"
        assert not {"_error", "_output", "_attempts"} & set(task)
    assert change.send_step is True
    assert runs.next_task(change.run)["_id"] == fetch["_id"]


@pytest.mark.parametrize("source", ["QUEUED", "RUNNING", "PAUSED"])
def test_terminate_terminates_what_did_not_finish(source):
    run, meta = run_in(source)
    change = runs.change_status(run, meta, "TERMINATED", OPERATOR)
    assert change.run["_status"] == "TERMINATED"
    expected = ["TERMINATED" if status != "COMPLETED" else "COMPLETED" for status in TASKS_IN[source]]
    assert [task["_status"] for task in change.run["_tasks"]] == expected
    assert all("_endedAt" in task for task in change.run["_tasks"] if task["_status"] == "TERMINATED")
    assert change.send_step is False
    assert change.meta["deadlineNs"] is None
    assert runs.due_ns(change.run, change.meta) is None  # nothing left for the sweeper


def test_the_timeout_clock_stops_while_paused_and_starts_afresh_on_retry():
    # Given a run with 100 s left on its clock
    run, meta = run_in("RUNNING")
    meta["deadlineNs"] = timestamps.now_ns() + 100 * NS

    # When paused, the remaining time is kept and there is no deadline
    paused = runs.change_status(run, meta, "PAUSED", OPERATOR)
    assert paused.meta["deadlineNs"] is None
    assert 99 * NS <= paused.meta["remainingNs"] <= 100 * NS

    # When resumed, the deadline is the remaining time from now
    before = timestamps.now_ns()
    resumed = runs.change_status(paused.run, paused.meta, "RESUMED", OPERATOR)
    assert before + 99 * NS <= resumed.meta["deadlineNs"] <= timestamps.now_ns() + 100 * NS
    assert "remainingNs" not in resumed.meta

    # and a retry gives the whole timeout again
    failed, failed_meta = run_in("FAILED", deadlineNs=None)
    before = timestamps.now_ns()
    retried = runs.change_status(failed, failed_meta, "RETRIED", OPERATOR)
    assert before + 900 * NS <= retried.meta["deadlineNs"] <= timestamps.now_ns() + 900 * NS


def test_every_change_but_a_pause_in_flight_makes_older_messages_stale():
    for requested, source in [
        ("PAUSED", "QUEUED"),
        ("RESUMED", "PAUSED"),
        ("RETRIED", "FAILED"),
        ("TERMINATED", "RUNNING"),
    ]:
        run, meta = run_in(source, step=4)
        change = runs.change_status(run, meta, requested, OPERATOR)
        assert change.meta["step"] == 5, requested


# ------------------------------------------------------------------ sort


def test_sort_defaults_to_created_at_descending():
    assert runs.parse_sort(None) == (("_createdAt", -1),)
    assert runs.parse_sort("") == (("_createdAt", -1),)
    assert runs.parse_sort("  ") == (("_createdAt", -1),)


def test_sort_keys_keep_their_order():
    assert runs.parse_sort('{"_updatedAt": -1, "_name": 1}') == (("_updatedAt", -1), ("_name", 1))
    assert runs.parse_sort('{"_name": 1, "_updatedAt": -1}') == (("_name", 1), ("_updatedAt", -1))
    every = {field: -1 for field in runs.SORTABLE_FIELDS}
    assert runs.parse_sort(json.dumps(every)) == tuple((field, -1) for field in runs.SORTABLE_FIELDS)


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
        runs.parse_sort(value)
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
    query = runs.RunListQuery(namespaces=("ns",), sort=(("_status", 1), ("_updatedAt", -1)))
    ordered = [doc["_id"] for doc in sorted(docs, key=runs.sort_key(query))]
    assert ordered[:2] == ["b", "a"]
    assert ordered[2:] in (["c", "d"], ["d", "c"])  # tied on both keys: by _id, one way or the other
    assert ordered == [doc["_id"] for doc in sorted(reversed(docs), key=runs.sort_key(query))]


# ------------------------------------------------------------------ status filter


def test_status_filter_parsing():
    assert runs.parse_statuses(None) == ()
    assert runs.parse_statuses("") == ()
    assert runs.parse_statuses("FAILED") == ("FAILED",)
    assert runs.parse_statuses("FAILED,TIMED_OUT") == ("FAILED", "TIMED_OUT")
    assert runs.parse_statuses("FAILED, TIMED_OUT") == ("FAILED", "TIMED_OUT")
    assert runs.parse_statuses("FAILED,FAILED") == ("FAILED",)
    assert set(runs.parse_statuses(",".join(RUN_STATUSES))) == set(RUN_STATUSES)


@pytest.mark.parametrize(
    ("value", "named"),
    [("DONE", "DONE"), ("FAILED,DONE", "DONE"), ("RESUMED", "RESUMED"), ("SKIPPED", "SKIPPED")],
)
def test_an_unknown_status_is_refused_naming_it(value, named):
    with pytest.raises(BadRequest) as refused:
        runs.parse_statuses(value)
    assert "_status" in refused.value.message
    assert named in refused.value.message


# ------------------------------------------------------------------ list queries


def _query(**overrides: Any) -> runs.RunListQuery:
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
    return runs.build_list_query(("first_tchgt1VU",), **arguments)


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
        runs.build_list_query(
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


# ------------------------------------------------------------------ reading


def test_loop_output_lists_the_last_output_of_each_completed_iteration():
    iterations = [
        {"_loopIndex": 0, "_sequenceno": 3, "_status": "COMPLETED", "_output": "a0"},
        {"_loopIndex": 0, "_sequenceno": 4, "_status": "COMPLETED", "_output": "a1"},
        {"_loopIndex": 1, "_sequenceno": 5, "_status": "COMPLETED", "_output": "b0"},
        {"_loopIndex": 1, "_sequenceno": 6, "_status": "COMPLETED", "_output": "b1"},
        {"_loopIndex": 2, "_sequenceno": 7, "_status": "FAILED"},
    ]
    assert runs.loop_output(iterations) == ["a1", "b1"]


def test_a_sort_direction_must_be_the_integer_1_or_minus_1() -> None:
    for direction in ("1.0", "true", '"1"'):
        with pytest.raises(BadRequest, match="use 1 or -1"):
            runs.parse_sort('{"_name": ' + direction + "}")
    assert runs.parse_sort('{"_name": -1}') == (("_name", -1),)

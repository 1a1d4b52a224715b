"""Listing runs over HTTP: filters, sorting, and paging with ``_nextToken`` to the end."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

REST_TASKS = [{"_name": "call", "_type": "REST_CONNECTOR"}]


@dataclass(frozen=True)
class Population:
    """A namespace of its own with four finished runs, in the order they were started."""

    namespace: str
    runs: list[dict[str, Any]]  # as read back once finished
    definitions: dict[str, dict[str, Any]]

    def ids(self, *indexes: int) -> set[str]:
        return {self.runs[index]["_id"] for index in indexes}

    def id(self, index: int) -> str:
        run_id: str = self.runs[index]["_id"]
        return run_id


# The runs of the population, in the order they start: the definition's name and how the run ends.
POPULATION = [
    ("Gamma", "TERMINATED"),
    ("Alpha-Report", "COMPLETED"),
    ("beta-report", "FAILED"),
    ("Alpha-Report", "COMPLETED"),
]


@pytest.fixture(scope="module")
def population(
    shared_api: Any, target_server: Any, shared_wait_for_run: Callable[..., dict[str, Any]]
) -> Population:
    """The runs of ``POPULATION``: a call that answers 200 completes a run, a 500 fails it, and a run whose
    call is slow is terminated."""
    namespace = f"e2e-list-{uuid.uuid4().hex[:12]}"
    params = {"nsfilter": namespace}
    path_of = {"COMPLETED": "/ok", "FAILED": "/fail", "TERMINATED": "/slow"}
    prefix = f"/population-{namespace}"
    target_server.program(f"{prefix}/ok", (200, {"ok": True}))
    target_server.program(f"{prefix}/fail", (500, {"ok": False}))
    target_server.program(f"{prefix}/slow", target_server.Answer(delay=3.0))
    definitions = {}
    for name in dict.fromkeys(name for name, _ in POPULATION):
        created = shared_api.post("/workflowdefs", params=params, json={"_name": name, "_tasks": REST_TASKS})
        assert created.status == 201, created
        definitions[name] = created.json()
    runs = []
    for name, status in POPULATION:
        url = f"{target_server.url}{prefix}{path_of[status]}"
        started = shared_api.post(
            "/workflows",
            params=params,
            json={"_workflowDefId": definitions[name]["_id"], "_inputParams": {"_url": url}},
        )
        assert started.status == 201, started
        if status == "TERMINATED":
            stopped = shared_api.put(
                f"/workflows/{started.json()['_id']}/status", params=params, json={"_status": "TERMINATED"}
            )
            assert stopped.status == 200, stopped
        runs.append(started.json())
    finished = [
        shared_wait_for_run(run["_id"], namespace, status)
        for run, (_, status) in zip(runs, POPULATION, strict=True)
    ]
    return Population(namespace=namespace, runs=finished, definitions=definitions)


def listed(api: Any, namespace: str, **params: str) -> dict[str, Any]:
    result = api.get("/workflows", params={"nsfilter": namespace, **params})
    assert result.status == 200, result
    page: dict[str, Any] = result.json()
    return page


def ids_of(page: dict[str, Any]) -> list[str]:
    return [run["_id"] for run in page["_list"]]


# ------------------------------------------------------------------ filters


def test_without_filters_every_run_is_listed_newest_first(api: Any, population: Population) -> None:
    # When
    page = listed(api, population.namespace)

    # Then
    assert page["_total"] == 4
    assert page["_offset"] == 0
    assert page["_pageSize"] == 10
    assert ids_of(page) == [population.id(3), population.id(2), population.id(1), population.id(0)]
    assert page.get("_nextToken") is None


def test_the_name_filter_is_a_substring_in_any_case(api: Any, population: Population) -> None:
    # When
    report = listed(api, population.namespace, _name="REPORT")
    alpha = listed(api, population.namespace, _name="alpha")
    none = listed(api, population.namespace, _name="delta")

    # Then
    assert set(ids_of(report)) == population.ids(1, 2, 3)
    assert report["_total"] == 3
    assert set(ids_of(alpha)) == population.ids(1, 3)
    assert alpha["_total"] == 2
    assert none["_list"] == []
    assert none["_total"] == 0


def test_the_status_filter_takes_one_status_or_several(api: Any, population: Population) -> None:
    # When
    completed = listed(api, population.namespace, _status="COMPLETED")
    failed_or_terminated = listed(api, population.namespace, _status="FAILED,TERMINATED")
    with_a_space = listed(api, population.namespace, _status="TIMED_OUT, TERMINATED")
    paused = listed(api, population.namespace, _status="PAUSED")

    # Then
    assert set(ids_of(completed)) == population.ids(1, 3)
    assert completed["_total"] == 2
    assert set(ids_of(failed_or_terminated)) == population.ids(0, 2)
    assert failed_or_terminated["_total"] == 2
    assert {run["_status"] for run in failed_or_terminated["_list"]} == {"FAILED", "TERMINATED"}
    assert ids_of(with_a_space) == [population.id(0)]
    assert paused["_total"] == 0
    assert paused["_list"] == []


def test_the_definition_filter_is_a_substring_of_the_definition_id(api: Any, population: Population) -> None:
    # Given
    alpha_id = population.definitions["Alpha-Report"]["_id"]
    gamma_id = population.definitions["Gamma"]["_id"]

    # When
    by_part = listed(api, population.namespace, _defId=alpha_id[9:23])
    by_whole = listed(api, population.namespace, _defId=gamma_id)

    # Then
    assert set(ids_of(by_part)) == population.ids(1, 3)
    assert by_part["_total"] == 2
    assert ids_of(by_whole) == [population.id(0)]


def test_filters_combine(api: Any, population: Population) -> None:
    # When
    page = listed(api, population.namespace, _name="report", _status="FAILED,COMPLETED", _pageSize="2")

    # Then
    assert page["_total"] == 3
    assert ids_of(page) == [population.id(3), population.id(2)]
    assert page["_nextToken"]


def test_date_filters_include_the_whole_day_at_both_ends(api: Any, population: Population) -> None:
    # Given
    day = date.fromisoformat(population.runs[0]["_createdAt"][:10])
    today = day.isoformat()
    yesterday = (day - timedelta(1)).isoformat()
    tomorrow = (day + timedelta(1)).isoformat()

    # When
    same_day = listed(api, population.namespace, startDate=today, endDate=today)
    lower_case = listed(api, population.namespace, startdate=today, enddate=today)
    before = listed(api, population.namespace, endDate=yesterday)
    after = listed(api, population.namespace, startDate=tomorrow)

    # Then
    assert same_day["_total"] == 4
    assert set(ids_of(same_day)) == population.ids(0, 1, 2, 3)
    assert ids_of(lower_case) == ids_of(same_day)
    assert before["_total"] == 0
    assert after["_total"] == 0


def test_timestamp_bounds_are_inclusive(api: Any, population: Population) -> None:
    # Given
    second = population.runs[1]["_createdAt"]
    third = population.runs[2]["_createdAt"]

    # When
    from_second = listed(api, population.namespace, startDate=second)
    to_second = listed(api, population.namespace, endDate=second)
    second_to_third = listed(api, population.namespace, startDate=second, endDate=third)

    # Then
    assert set(ids_of(from_second)) == population.ids(1, 2, 3)
    assert set(ids_of(to_second)) == population.ids(0, 1)
    assert ids_of(second_to_third) == [population.id(2), population.id(1)]


# ------------------------------------------------------------------ sorting


def test_sorting_by_name_ignores_case_and_breaks_ties_on_the_id(api: Any, population: Population) -> None:
    # Given
    alphas = sorted(population.ids(1, 3))

    # When
    ascending = listed(api, population.namespace, sort=json.dumps({"_name": 1}))
    descending = listed(api, population.namespace, sort=json.dumps({"_name": -1}))

    # Then
    assert [run["_name"] for run in ascending["_list"]] == [
        "Alpha-Report",
        "Alpha-Report",
        "beta-report",
        "Gamma",
    ]
    assert ids_of(ascending) == [*alphas, population.id(2), population.id(0)]
    assert ids_of(descending) == [population.id(0), population.id(2), *reversed(alphas)]
    assert ascending["_total"] == descending["_total"] == 4


def test_sorting_by_creation_and_by_several_keys(api: Any, population: Population) -> None:
    # When
    oldest_first = listed(api, population.namespace, sort=json.dumps({"_createdAt": 1}))
    by_status_then_newest = listed(
        api, population.namespace, sort=json.dumps({"_status": 1, "_createdAt": -1})
    )

    # Then
    assert ids_of(oldest_first) == [population.id(0), population.id(1), population.id(2), population.id(3)]
    assert ids_of(by_status_then_newest) == [
        population.id(3),
        population.id(1),
        population.id(2),
        population.id(0),
    ]


def test_a_next_token_is_refused_for_another_query(api: Any, population: Population) -> None:
    # Given
    first = listed(api, population.namespace, _pageSize="2")
    token = first["_nextToken"]
    assert token
    middle = len(token) // 2
    altered_token = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]

    # When
    other_sort = api.get(
        "/workflows",
        params={
            "nsfilter": population.namespace,
            "_pageSize": "2",
            "_nextToken": token,
            "sort": '{"_name": 1}',
        },
    )
    other_filter = api.get(
        "/workflows",
        params={"nsfilter": population.namespace, "_pageSize": "2", "_nextToken": token, "_status": "FAILED"},
    )
    altered = api.get(
        "/workflows",
        params={"nsfilter": population.namespace, "_pageSize": "2", "_nextToken": altered_token},
    )
    same = api.get(
        "/workflows", params={"nsfilter": population.namespace, "_pageSize": "2", "_nextToken": token}
    )

    # Then
    for refused in (other_sort, other_filter, altered):
        assert refused.status == 400, refused
        assert "_nextToken" in refused.json()["_error"]["_message"]
    assert same.status == 200, same
    assert ids_of(same.json()) == [population.id(1), population.id(0)]


# ------------------------------------------------------------------ paging


def all_pages(api: Any, namespace: str, **params: str) -> list[dict[str, Any]]:
    """Every page of a query, following ``_nextToken`` until a page comes without one."""
    pages = [listed(api, namespace, **params)]
    while pages[-1].get("_nextToken"):
        assert len(pages) <= 10, "paging does not end"
        pages.append(listed(api, namespace, **params, _nextToken=pages[-1]["_nextToken"]))
    return pages


def test_paging_with_next_token_reaches_every_run_once(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    definition = define_workflow(namespace, REST_TASKS)
    started = [
        start_run(namespace, definition["_id"], {"_url": target.url_for("/paged")})["_id"] for _ in range(5)
    ]

    # When
    pages = all_pages(api, namespace, _pageSize="2")

    # Then
    assert [len(page["_list"]) for page in pages] == [2, 2, 1]
    assert [page["_offset"] for page in pages] == [0, 2, 4]
    assert {page["_total"] for page in pages} == {5}
    assert {page["_pageSize"] for page in pages} == {2}
    assert [run_id for page in pages for run_id in ids_of(page)] == list(reversed(started))


def test_paging_a_sorted_and_filtered_list_with_next_token(
    api: Any,
    target: Any,
    namespace: str,
    define_workflow: Callable[..., dict[str, Any]],
    start_run: Callable[..., dict[str, Any]],
) -> None:
    # Given
    names = ["Charlie", "alpha", "bravo"]
    for name in names:
        definition = define_workflow(namespace, REST_TASKS, _name=f"{name}-job")
        start_run(namespace, definition["_id"], {"_url": target.url_for("/paged")})
    other = define_workflow(namespace, REST_TASKS, _name="unrelated")
    start_run(namespace, other["_id"], {"_url": target.url_for("/paged")})

    # When
    pages = all_pages(api, namespace, _name="-JOB", sort=json.dumps({"_name": 1}), _pagesize="2")

    # Then
    assert [len(page["_list"]) for page in pages] == [2, 1]
    assert {page["_total"] for page in pages} == {3}
    assert [run["_name"] for page in pages for run in page["_list"]] == [
        "alpha-job",
        "bravo-job",
        "Charlie-job",
    ]

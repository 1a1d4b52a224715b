"""Figure 1: DynamoDB items read by one ``GET /workflows`` call in a table of 60,000 runs.

Namespace A holds 10,000 of them, on one partition of the index as a quiet namespace has them; namespace B
another 10,000, spread over 8 partitions as a namespace written hard has them; four other namespaces hold
the rest. Every call goes through the real ``ListWorkflowsFunction`` handler; every answer is checked
against what was written. Reads are told apart: index entries (the namespace index's slim entries), the
page's documents (one BatchGetItem), the namespace's counter items (one BatchGetItem, for ``_total``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench import datasets
from bench.api import Api, expect
from bench.counting import COUNTERS, DOCUMENTS, INDEX_ENTRIES, RequestCounter, Tally, count_service_requests
from bench.report import Progress, Row
from bench.stack import Stack

NAMESPACES = ("tenant-a", "tenant-b", "tenant-c", "tenant-d", "tenant-e", "tenant-f")
NAMESPACE = NAMESPACES[0]
SPREAD_NAMESPACE, SPREAD_PARTITIONS = NAMESPACES[1], 8
RUN_COUNT = 60_000
PAGE = 10
FUNCTION = "ListWorkflowsFunction"


def _n(value: int) -> str:
    return f"{value:,}"


class ListCalls:
    def __init__(self, stack: Stack, data: datasets.DataSet, namespace: str = NAMESPACE) -> None:
        self.api = Api(stack)
        self.counter: RequestCounter = count_service_requests()
        self.data = data
        self.namespace = namespace
        self.newest = data.newest_first(namespace)

    def call(self, **query: str) -> tuple[dict[str, Any], Tally]:
        with self.counter.measure() as tally:
            answer = self.api.call(FUNCTION, query={"nsfilter": self.namespace, **query})
        body: dict[str, Any] = expect(answer, 200)
        return body, tally

    def ids(self, body: dict[str, Any]) -> list[str]:
        return [run["_id"] for run in body["_list"]]

    def expected_ids(self, start: int) -> list[str]:
        return [run.run_id for run in self.newest[start : start + PAGE]]


def _reads(tally: Tally) -> str:
    kinds = tally.kinds
    return (
        f"{_n(kinds[INDEX_ENTRIES])} index entries, {_n(kinds[DOCUMENTS])} documents, "
        f"{_n(kinds[COUNTERS])} counter items; {tally.request_count} requests ({tally.describe()})"
    )


def _page_row(
    calls: ListCalls,
    label: str,
    answer: tuple[dict[str, Any], Tally],
    start: int,
    entry_bound: int | None,
    show_total: bool = False,
) -> Row:
    """A page of the default order, checked for its runs and ``_total``, against the bound on index entries
    (and the page's documents, read once each)."""
    body, tally = answer
    right_page = calls.ids(body) == calls.expected_ids(start)
    right_total = body["_total"] == len(calls.newest)
    measured = _reads(tally)
    if show_total:
        measured += f"; `_total` {_n(body['_total'])} (written {_n(len(calls.newest))})"
    if not right_page:
        measured += "; WRONG runs on the page"
    if not right_total:
        measured += "; WRONG `_total`"
    if entry_bound is None:
        return Row(label, measured)
    target = f"<= {_n(entry_bound)} index entries, <= {PAGE} documents, `_total` exact"
    met = (
        right_page
        and right_total
        and tally.kinds[INDEX_ENTRIES] <= entry_bound
        and tally.kinds[DOCUMENTS] <= PAGE
    )
    return Row(label, measured, target, met)


def _info_row(label: str, answer: tuple[dict[str, Any], Tally], expected: list[datasets.WrittenRun]) -> Row:
    """A first page with no target: what it read, checked against the runs it should show."""
    body, tally = answer
    right = [run["_id"] for run in body["_list"]] == [run.run_id for run in expected[:PAGE]]
    right = right and body["_total"] == len(expected)
    return Row(label, _reads(tally) + ("" if right else "; WRONG page or `_total`"))


def _status_total_row(
    calls: ListCalls, statuses: tuple[str, ...], answer: tuple[dict[str, Any], Tally]
) -> Row:
    body, tally = answer
    written = sum(calls.data.statuses[NAMESPACE][status] for status in statuses)
    counter_items = tally.kinds[COUNTERS]
    read_matches = tally.count("Query(Select=COUNT)") > 0
    return Row(
        f"list: `_total` with `_status={','.join(statuses)}`",
        f"`_total` {_n(body['_total'])} (written {_n(written)}); counted from {counter_items} counter "
        f"item(s), {'by reading the matches' if read_matches else 'no run read'}",
        "exact, without reading the matches",
        body["_total"] == written and not read_matches,
    )


def measure(stack: Stack, progress: Progress) -> list[Row]:
    started = time.perf_counter()
    data = datasets.write_runs(
        stack.dynamodb,
        stack.table_name,
        datasets.generate_runs(RUN_COUNT, NAMESPACES),
        partitions={SPREAD_NAMESPACE: SPREAD_PARTITIONS},
    )
    progress(f"wrote {_n(data.run_count)} runs in {time.perf_counter() - started:.0f} s")
    calls = ListCalls(stack, data)
    newest = calls.newest
    rows = [_page_row(calls, "list: first page of 10, default sort", calls.call(), 0, 12, show_total=True)]
    spread = ListCalls(stack, data, SPREAD_NAMESPACE)
    rows.append(
        _page_row(
            spread,
            f"list: first page of 10, a namespace on {SPREAD_PARTITIONS} partitions",
            spread.call(),
            0,
            None,
            show_total=True,
        )
    )

    one, two = ("FAILED",), ("FAILED", "TIMED_OUT")
    rows.append(_status_total_row(calls, one, calls.call(_status=",".join(one))))
    answer = calls.call(_status=",".join(two))
    rows.append(_status_total_row(calls, two, answer))
    rows.append(
        _info_row(
            f"list: first page, `_status={','.join(two)}`",
            answer,
            [run for run in newest if run.status in two],
        )
    )

    by_offset = {offset: calls.call(_offset=str(offset)) for offset in (100, 1_000, 5_000)}
    for offset, answer in by_offset.items():
        rows.append(_page_row(calls, f"list: `_offset={_n(offset)}`", answer, offset, offset + PAGE + 2))
    token = by_offset[5_000][0]["_nextToken"]
    label = "list: `_nextToken` of the page at offset 5,000"
    rows.append(_page_row(calls, label, calls.call(_nextToken=token), 5_000 + PAGE, 12))

    rows.append(
        _info_row(
            'list: first page, `sort={"_updatedAt":-1}`',
            calls.call(sort=json.dumps({"_updatedAt": -1})),
            sorted(newest, key=lambda run: (run.updated_at, run.run_id), reverse=True),
        )
    )
    named = [run for run in newest if "sync" in run.name.lower()]
    rows.append(
        _info_row(
            f"list: first page, `_name=sync` ({_n(len(named))} matches)", calls.call(_name="sync"), named
        )
    )
    progress(f"list calls measured in {time.perf_counter() - started:.0f} s")
    return rows

"""The write-rate model: what one namespace's runs cost in DynamoDB write units, and where the units land.

DynamoDB gives each partition key at most 1,000 write units a second, and a global secondary index that
cannot keep up throttles the table's writes. So the figure that says whether a design scales is the write
rate of its hottest key, table or index, at a given start rate in one namespace.

The replay drives the service's own code in-process against moto (table and queue from ``template.yaml``):
one definition of three REST_CONNECTOR tasks, then ``RUNS`` runs in one namespace, each started through
``StartWorkflowFunction``'s handler and taken to COMPLETED by the worker (``Worker.process``, one message
at a time), its calls answered by an HTTP server on 127.0.0.1. Every write the store sends is priced by a
``capacity.WriteMeter`` on the service's DynamoDB client. A key's rate at S starts a second is its share of
the replay scaled: units on that key x S / ``RUNS``.

A namespace written that hard is spread over more partitions (``store.shards``): the store raises its count
while its writes are throttled. At each rate the replay runs with the count the namespace would settle on,
the smallest (a power of two) at which neither its index partitions nor its counter items take more than
DynamoDB gives a key, worked out from a first replay on one partition. Each run is served by an execution
environment of its own (a thread of its own): a function keeps to one counter item, and the many functions
serving a busy namespace spread over all of them.

    python -m bench.write_model [--runs N]     # the rows of make bench, and the ten hottest keys
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workflowsvc.store import keys
from workflowsvc.store.dynamo import dynamodb_client, run_document

from bench import peers, report
from bench.api import Api, expect
from bench.capacity import PricedRequest, TableSchema, WriteMeter, moto_reader
from bench.stack import REGION, Stack, moto_stack
from bench.worker import ALLOWED_NETWORKS, local_target

NAMESPACE = "tenant-hot"
RUNS = 400
START_RATES = (100, 1_000, 10_000)  # runs started a second, in one namespace
PARTITION_WRITE_LIMIT = 1_000  # write units a second DynamoDB gives one partition key
TARGET_UNITS_PER_RUN = 20
TOP_KEYS = 10
TABLE = "WorkflowTable"  # the template's logical id
NAMESPACE_INDEX = "NamespaceIndex"
DEFINITION: dict[str, Any] = {
    "_name": "device_sync",
    "_tasks": [
        {
            "_name": name,
            "_type": "REST_CONNECTOR",
            "_inputParams": {"_url": "${workflow._inputParams.base}/ok"},
        }
        for name in ("login", "fetch_devices", "notify")
    ],
}


@dataclass
class RunWrites:
    """What the runs' writes cost, request by request: by run, and by whether they changed its status."""

    schema: TableSchema
    count: int = 0  # runs started
    by_run: Counter[str] = field(default_factory=Counter)  # units of each run's requests
    status_changes: int = 0  # write requests that changed a run's status
    on_status_change: Counter[str] = field(default_factory=Counter)  # their units, by table or index
    other_run_writes: int = 0
    on_other_run_write: Counter[str] = field(default_factory=Counter)
    unattributed: int = 0  # units of requests that wrote no run

    def observe(self, request: PricedRequest) -> None:
        """Which run a request wrote (by its key: ``store.keys``), and whether it changed its status."""
        run_ids, created, changed = set(), False, False
        for write in request.writes:
            pk = write.key[self.schema.partition_key]["S"]
            if keys.run_pk(keys.run_id_of(pk)) != pk:
                continue
            run_ids.add(keys.run_id_of(pk))
            sk = write.key[self.schema.sort_key]["S"] if self.schema.sort_key else ""
            if not sk.startswith(keys.COPY_SK_PREFIX) or write.after is None:
                continue  # an iteration task, or a run deleted
            if write.before is None:
                created = True
            else:
                changed |= run_document(write.before)["_status"] != run_document(write.after)["_status"]
        units: Counter[str] = Counter()
        for write in request.writes:
            for charge in write.charges:
                units[charge.target] += charge.units
        if len(run_ids) != 1:
            self.unattributed += units.total()
            return
        self.by_run[run_ids.pop()] += units.total()
        if changed:
            self.status_changes += 1
            self.on_status_change.update(units)
        elif not created:  # a claim or a record that keeps the status
            self.other_run_writes += 1
            self.on_other_run_write.update(units)


@dataclass(frozen=True)
class Result:
    runs: RunWrites
    meter: WriteMeter
    completed: int
    seconds: float
    partitions: int = 1  # the namespace's index partitions during the replay

    def per_run(self, target: str | None = None) -> float:
        """Mean units of a run on the table or one index (``target``), or on all of them."""
        units = self.meter.total if target is None else self.meter.units[target]
        return units / self.runs.count

    def rate(self, units: float, starts_per_s: int) -> float:
        """Write units a second, for ``units`` in the replay, if its runs started at ``starts_per_s``."""
        return units * starts_per_s / self.runs.count

    def families(self) -> list[tuple[str, float, int]]:
        """The keys the runs share, by family (the keys one thing is spread over alike, e.g. a namespace's
        index partitions ``NS#<ns>#RUN#<n>``): (family, units a key of it takes in the replay on average,
        keys), the most loaded first. A run's own items (``RUN#<id>``) are left out: each takes that run's
        writes only, about twenty units over its life, whatever the start rate.

        A key's load at a start rate is its family's mean, not the most a key took in the replay: writes
        land on a family's keys uniformly (a run's partition comes from its id, a counter item is picked at
        random), so at thousands of starts a second every key takes its share; a few hundred runs replayed
        only sample that share."""
        totals: Counter[str] = Counter()
        members: dict[str, set[str]] = {}
        for (target, partition), units in self.meter.partitions.items():
            family = _name(target, partition)
            if family.endswith(keys.run_pk("<id>")):
                continue
            totals[family] += units
            members.setdefault(family, set()).add(partition)
        return sorted(
            (
                (family, total / len(members[family]), len(members[family]))
                for family, total in totals.items()
            ),
            key=lambda found: found[1],
            reverse=True,
        )

    def hottest(self) -> tuple[str, float]:
        family, mean, _ = self.families()[0]
        return family, mean

    def counter_units_per_run(self) -> float:
        prefix = _counter_family()
        units = sum(n for (_, partition), n in self.meter.partitions.items() if partition.startswith(prefix))
        return units / self.runs.count


def _name(target: str, partition: str) -> str:
    """The key's family, named generically: ``NamespaceIndex NS#<ns>#RUN#<n>``; a run's own key is
    ``RUN#<id>``."""
    if keys.run_pk(keys.run_id_of(partition)) == partition:
        partition = keys.run_pk("<id>")
    head, _, tail = partition.rpartition("#")
    if head and tail.isdigit():
        partition = f"{head}#<n>"
    return f"{target} {partition.replace(NAMESPACE, '<ns>')}"


def _counter_family() -> str:
    """What the namespace's counter items' keys start with."""
    return keys.counter_key(NAMESPACE, 0)["pk"]["S"].rpartition("#")[0]


def partitions_for(base: Result, starts_per_s: int) -> int:
    """The partition count the namespace settles on at ``starts_per_s``: the smallest (a power of two) at
    which neither an index partition nor a counter item takes more than a key is given."""
    from workflowsvc.store import shards

    index = base.rate(base.per_run(NAMESPACE_INDEX) * base.runs.count, starts_per_s)
    counters = base.rate(base.counter_units_per_run() * base.runs.count, starts_per_s)
    count = 1
    while count < shards.MAX_SHARDS and (
        index / count > PARTITION_WRITE_LIMIT
        or counters / shards.counter_items(count) > PARTITION_WRITE_LIMIT
    ):
        count *= 2
    return count


class _Later:
    """The system's clock, moved on: past the moment a raised partition count reaches writers."""

    def __init__(self, shift_ns: int) -> None:
        self.shift_ns = shift_ns

    def now_ns(self) -> int:
        return time.time_ns() + self.shift_ns


def replay(
    stack: Stack, runs: int = RUNS, progress: report.Progress | None = None, partitions: int = 1
) -> Result:
    """Starts ``runs`` runs of a three-task definition in one namespace (on ``partitions`` partitions of the
    index) and takes each to its end."""
    from workflowsvc import config, timestamps
    from workflowsvc.store import Store, shards

    previous_clock = timestamps.clock()
    if partitions > 1:
        Store.for_table(stack.table_name, stack.dynamodb).shards.raise_to(NAMESPACE, partitions)
        timestamps.use_clock(_Later(2 * shards.CACHE_SECONDS * 1_000_000_000))
    config.reset()
    try:
        result = _replay(stack, runs, progress)
        return Result(result.runs, result.meter, result.completed, result.seconds, partitions)
    finally:
        timestamps.use_clock(previous_clock)
        config.reset()


def _replay(stack: Stack, runs: int, progress: report.Progress | None) -> Result:
    from workflowsvc.execution.worker import get_worker
    from workflowsvc.models.messages import StepMessage

    api = Api(stack)
    query = {"nsfilter": NAMESPACE}
    schema = TableSchema.from_template(stack.template, TABLE)
    observed = RunWrites(schema)
    meter = WriteMeter(schema, stack.table_name, moto_reader(stack.table_name, REGION), observed.observe)

    def next_messages() -> list[dict[str, Any]]:
        answer = stack.sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10)
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def completed() -> int:
        listed = expect(api.call("ListWorkflowsFunction", query={**query, "_status": "COMPLETED"}), 200)
        return int(listed["_total"])

    completed_before = completed()
    with local_target() as target_url:
        created = expect(api.call("CreateWorkflowDefFunction", query=query, body=DEFINITION), 201)
        start_body = {"_workflowDefId": created["_id"], "_inputParams": {"base": target_url}}
        worker = get_worker()
        meter.attach(dynamodb_client())
        began = time.perf_counter()

        def one_run() -> None:
            expect(api.call("StartWorkflowFunction", query=query, body=start_body), 201)
            while messages := next_messages():
                for message in messages:
                    worker.process(StepMessage.model_validate_json(message["Body"]))
                    stack.sqs.delete_message(QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"])

        try:
            for number in range(1, runs + 1):
                # Each run in a thread of its own, as an execution environment of its own would serve it.
                failed: list[BaseException] = []
                serving = threading.Thread(target=_catching, args=(one_run, failed))
                serving.start()
                serving.join()
                if failed:
                    raise failed[0]
                if progress is not None and number % 100 == 0:
                    progress(f"write model: {number}/{runs} runs")
        finally:
            meter.detach()
        seconds = time.perf_counter() - began
    observed.count = runs
    return Result(observed, meter, completed=completed() - completed_before, seconds=seconds)


def _catching(work: Callable[[], None], failed: list[BaseException]) -> None:
    try:
        work()
    except BaseException as error:  # raised again in the replay's own thread
        failed.append(error)


def rows(base: Result, at_rate: dict[int, Result]) -> list[report.Row]:
    """``base``: the replay on one partition; ``at_rate``: the replay each start rate settles on."""
    runs, meter = base.runs, base.meter
    targets = [TABLE, *(index.name for index in runs.schema.indexes)]
    per_run = base.per_run()
    spread = sorted(runs.by_run.values())
    health = f"{runs.count} runs, {base.completed} COMPLETED"
    if meter.failed:
        health += f", {meter.failed} failed write requests"
    if runs.unattributed:
        health += f", {runs.unattributed} units of no run"
    apart = ", ".join(f"{target} {base.per_run(target):.1f}" for target in targets)
    out = [
        report.Row(
            "write model: write units per three-task run, table and indexes",
            f"{per_run:.1f} WCU ({apart}); min {spread[0]}, max {spread[-1]}; {health}",
            f"<= {TARGET_UNITS_PER_RUN}",
            per_run <= TARGET_UNITS_PER_RUN and base.completed == runs.count,
        )
    ]
    out += [
        report.Row(
            f"write model: write units per three-task run on {target}", f"{base.per_run(target):.1f} WCU"
        )
        for target in targets
    ]
    for rate, result in at_rate.items():
        family, mean = result.hottest()
        most = max(
            result.rate(units, rate)
            for (target, partition), units in result.meter.partitions.items()
            if _name(target, partition) == family
        )
        hottest = result.rate(mean, rate)
        out.append(
            report.Row(
                f"write model: hottest key at {rate:,} starts/s in one namespace",
                f"`{family}` ({result.partitions} index partitions): {hottest:,.0f} WCU/s a key "
                f"(the busiest of the replay's sample {most:,.0f})",
                f"<= {PARTITION_WRITE_LIMIT:,} WCU/s",
                hottest <= PARTITION_WRITE_LIMIT and result.completed == result.runs.count,
                peers.STEP_FUNCTIONS_STARTS,
            )
        )
    for index in runs.schema.indexes:
        changed = runs.on_status_change[index.name] / max(runs.status_changes, 1)
        other = runs.on_other_run_write[index.name] / max(runs.other_run_writes, 1)
        out.append(
            report.Row(
                f"write model: write units a run's status change adds on {index.name}",
                f"{changed:.2f} WCU (mean of {runs.status_changes:,} status changes; "
                f"{other:.2f} for a claim or record that keeps the status)",
            )
        )
    return out


def top_keys(at_rate: dict[int, Result], count: int = TOP_KEYS) -> str:
    lines = []
    for rate, result in at_rate.items():
        lines += [
            "",
            f"At {rate:,} starts/s in one namespace ({result.partitions} index partitions), the busiest keys "
            "by family (write units a second a key, and how many keys):",
            "",
        ]
        for family, mean, members in result.families()[:count]:
            lines.append(f"- {result.rate(mean, rate):,.0f}: `{family}` ({members} keys)")
    return "\n".join(lines).strip()


def measure(
    stack: Stack, progress: report.Progress | None = None, runs: int = RUNS
) -> tuple[list[report.Row], str]:
    """For ``make bench``: the rows, and the busiest keys at each start rate. ``stack`` allows the local
    target's address (``bench.worker.ALLOWED_NETWORKS``)."""
    base, at_rate = model(stack, runs, progress)
    return rows(base, at_rate), top_keys(at_rate)


def model(
    stack: Stack, runs: int = RUNS, progress: report.Progress | None = None
) -> tuple[Result, dict[int, Result]]:
    """The replay on one partition, and at each start rate the replay on the partitions it settles on."""
    base = replay(stack, runs, progress)
    replays = {1: base}
    at_rate = {}
    for rate in START_RATES:
        partitions = partitions_for(base, rate)
        if partitions not in replays:
            if progress is not None:
                progress(f"write model: {partitions} partitions, for {rate:,} starts/s")
            replays[partitions] = replay(stack, runs, progress, partitions)
        at_rate[rate] = replays[partitions]
    return base, at_rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs to replay (default {RUNS})")
    arguments = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from bench.moto_speedups import faster_moto

    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), faster_moto(), moto_stack(**ALLOWED_NETWORKS) as stack:
        base, at_rate = model(stack, arguments.runs, _say(began))
    print(report.table(rows(base, at_rate)))
    print()
    print(top_keys(at_rate))
    print(f"\ntook {time.perf_counter() - began:.0f} s")
    return 0


def _say(began: float) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:4.0f} s] {text}", file=sys.stderr, flush=True)

    return say


if __name__ == "__main__":
    sys.exit(main())

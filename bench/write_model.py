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

    python -m bench.write_model [--runs N]     # the rows of make bench, and the ten hottest keys
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workflowsvc.store import keys
from workflowsvc.store.dynamo import document, dynamodb_client

from bench import report
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
                changed |= document(write.before)["_status"] != document(write.after)["_status"]
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

    def per_run(self, target: str | None = None) -> float:
        """Mean units of a run on the table or one index (``target``), or on all of them."""
        units = self.meter.total if target is None else self.meter.units[target]
        return units / self.runs.count

    def rate(self, units: int, starts_per_s: int) -> float:
        """A key's write units a second, if the replay's runs started at ``starts_per_s``."""
        return units * starts_per_s / self.runs.count

    def hottest(self, count: int = 1) -> list[tuple[str, int]]:
        """(key named generically, units) of the ``count`` keys that took the most units."""
        return [
            (_name(target, partition), units)
            for (target, partition), units in self.meter.partitions.most_common(count)
        ]


def _name(target: str, partition: str) -> str:
    """E.g. ``NamespaceIndex NS#<ns>#RUN``; a run's own key as ``RUN#<id>``."""
    if keys.run_pk(keys.run_id_of(partition)) == partition:
        partition = keys.run_pk("<id>")
    return f"{target} {partition.replace(NAMESPACE, '<ns>')}"


def replay(stack: Stack, runs: int = RUNS, progress: report.Progress | None = None) -> Result:
    """Starts ``runs`` runs of a three-task definition in one namespace and takes each to its end."""
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

    with local_target() as target_url:
        created = expect(api.call("CreateWorkflowDefFunction", query=query, body=DEFINITION), 201)
        start_body = {"_workflowDefId": created["_id"], "_inputParams": {"base": target_url}}
        worker = get_worker()
        meter.attach(dynamodb_client())
        began = time.perf_counter()
        try:
            for number in range(1, runs + 1):
                expect(api.call("StartWorkflowFunction", query=query, body=start_body), 201)
                while messages := next_messages():
                    for message in messages:
                        worker.process(StepMessage.model_validate_json(message["Body"]))
                        stack.sqs.delete_message(
                            QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"]
                        )
                if progress is not None and number % 100 == 0:
                    progress(f"write model: {number}/{runs} runs")
        finally:
            meter.detach()
        seconds = time.perf_counter() - began
    observed.count = runs
    listed = expect(api.call("ListWorkflowsFunction", query={**query, "_status": "COMPLETED"}), 200)
    return Result(observed, meter, completed=int(listed["_total"]), seconds=seconds)


def rows(result: Result) -> list[report.Row]:
    runs, meter = result.runs, result.meter
    targets = [TABLE, *(index.name for index in runs.schema.indexes)]
    per_run = result.per_run()
    spread = sorted(runs.by_run.values())
    health = f"{runs.count} runs, {result.completed} COMPLETED"
    if meter.failed:
        health += f", {meter.failed} failed write requests"
    if runs.unattributed:
        health += f", {runs.unattributed} units of no run"
    apart = ", ".join(f"{target} {result.per_run(target):.1f}" for target in targets)
    out = [
        report.Row(
            "write model: write units per three-task run, table and indexes",
            f"{per_run:.1f} WCU ({apart}); min {spread[0]}, max {spread[-1]}; {health}",
            f"<= {TARGET_UNITS_PER_RUN}",
            per_run <= TARGET_UNITS_PER_RUN and result.completed == runs.count,
        )
    ]
    out += [
        report.Row(
            f"write model: write units per three-task run on {target}", f"{result.per_run(target):.1f} WCU"
        )
        for target in targets
    ]
    ((key, units),) = result.hottest()
    for rate in START_RATES:
        hottest = result.rate(units, rate)
        out.append(
            report.Row(
                f"write model: hottest key at {rate:,} starts/s in one namespace",
                f"`{key}`: {hottest:,.0f} WCU/s",
                f"<= {PARTITION_WRITE_LIMIT:,} WCU/s",
                hottest <= PARTITION_WRITE_LIMIT,
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


def top_keys(result: Result, starts_per_s: int = 1_000, count: int = TOP_KEYS) -> str:
    lines = [
        f"The {count} hottest keys at {starts_per_s:,} starts/s in one namespace (write units a second):",
        "",
    ]
    for key, units in result.hottest(count):
        lines.append(f"- {result.rate(units, starts_per_s):,.0f}: `{key}`")
    return "\n".join(lines)


def measure(
    stack: Stack, progress: report.Progress | None = None, runs: int = RUNS
) -> tuple[list[report.Row], str]:
    """For ``make bench``: the rows, and the hottest keys at 1,000 starts/s. ``stack`` allows the local
    target's address (``bench.worker.ALLOWED_NETWORKS``)."""
    result = replay(stack, runs, progress)
    return rows(result), top_keys(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs to replay (default {RUNS})")
    arguments = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from bench.moto_speedups import faster_moto

    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), faster_moto(), moto_stack(**ALLOWED_NETWORKS) as stack:
        result = replay(stack, arguments.runs, _say(began))
    print(report.table(rows(result)))
    print()
    print(top_keys(result))
    print(f"\nreplayed in {result.seconds:.0f} s; took {time.perf_counter() - began:.0f} s")
    return 0


def _say(began: float) -> Callable[[str], None]:
    def say(text: str) -> None:
        print(f"[{time.perf_counter() - began:4.0f} s] {text}", file=sys.stderr, flush=True)

    return say


if __name__ == "__main__":
    sys.exit(main())

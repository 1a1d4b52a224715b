"""The bench's write model (``bench/write_model.py``) on a few runs: the real handlers and worker, every
write priced and laid at a run's door."""

from __future__ import annotations

from typing import Any

from bench import write_model
from bench.stack import Stack
from localrun import aws_resources


def test_the_replay_prices_every_write_of_runs_taken_to_their_end(
    template: aws_resources.Template,
    aws_stack: aws_resources.Resources,
    dynamodb_client: Any,
    sqs_client: Any,
) -> None:
    # Given the template's table and queue in moto
    stack = Stack(template=template, resources=aws_stack, dynamodb=dynamodb_client, sqs=sqs_client)

    # When three runs of three tasks are started and worked to their end
    result = write_model.replay(stack, runs=3)

    # Then each completed, and every unit priced belongs to one of them
    runs, meter = result.runs, result.meter
    assert result.completed == runs.count == 3
    assert meter.failed == 0
    assert len(runs.by_run) == 3
    assert runs.unattributed == 0
    assert runs.by_run.total() == meter.total == sum(meter.partitions.values())
    # Each run moved QUEUED -> RUNNING -> COMPLETED: two status changes, and 3 x 2 - 2 other writes
    assert runs.status_changes == 6
    assert runs.other_run_writes == 12
    rows = write_model.rows(result, dict.fromkeys(write_model.START_RATES, result))
    assert rows[0].figure.startswith("write model: write units per three-task run")
    assert len(rows) == 1 + 1 + len(runs.schema.indexes) + len(write_model.START_RATES) + len(
        runs.schema.indexes
    )

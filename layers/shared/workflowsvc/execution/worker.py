"""The worker: one step of a run per queue message, i.e. one attempt of one task.

A step is claimed with a conditional write before the call and recorded with another after it, so a
message delivered twice makes its attempt once, and nothing the worker writes can undo a user's pause
or terminate (those change the version, and the worker reads again and decides again). The rules are
``steps``; this module reads, calls, writes and sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflowsvc import expressions
from workflowsvc.config import get_settings, once_per_process
from workflowsvc.egress import EgressPolicy
from workflowsvc.execution import steps, timing
from workflowsvc.execution.scope import build_scope
from workflowsvc.execution.updates import update_run
from workflowsvc.models.messages import StepMessage
from workflowsvc.models.run import RunRecord
from workflowsvc.runs import NS
from workflowsvc.store import get_store
from workflowsvc.store.runs import RunStore
from workflowsvc.task_queue import MAX_DELAY_SECONDS, TaskQueue, get_task_queue
from workflowsvc.tasks import type_of
from workflowsvc.tasks.base import Attempt, CallContext, Outcome
from workflowsvc.timestamps import SYSTEM_CLOCK, Clock, clock


@dataclass(frozen=True)
class StepReport:
    """What a step did, for the function's metrics: an attempt made (and whether it succeeded), and
    whether an ALERT_ONLY run was flagged as past its deadline."""

    attempted: bool = False
    succeeded: bool = False
    alerted: bool = False


def send_next_step(queue: TaskQueue, record: RunRecord, now_ns: int) -> None:
    """After ``record`` was written: the message of its next step, if execution goes on."""
    following = steps.next_step(record, now_ns)
    if following is not None:
        delay = min(round(following.delay_seconds), MAX_DELAY_SECONDS)
        queue.send_step(record.id, following.step, following.task_id, delay_seconds=delay)


class Worker:
    def __init__(
        self, runs: RunStore, queue: TaskQueue, policy: EgressPolicy, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.runs = runs
        self.queue = queue
        self.policy = policy
        self.clock = clock

    def process(self, message: StepMessage) -> StepReport:
        claimed = self._claim(message)
        if isinstance(claimed, StepReport):
            return claimed
        record, attempt = claimed
        outcome = self._attempt(record, attempt)
        return self._record(message, attempt, outcome)

    def _claim(self, message: StepMessage) -> tuple[RunRecord, Attempt] | StepReport:
        def decide(read: RunRecord) -> tuple[steps.Change | None, steps.Claim]:
            decided = steps.claim(read, message.step, self.clock.now_ns(), self.runs)
            return decided.change, decided

        updated = update_run(self.runs, message.run_id, decide)
        if updated is None:
            return StepReport()
        decided = updated.result
        if decided.postpone_s is not None:
            self.queue.send_step(
                message.run_id, message.step, message.task_id, delay_seconds=round(decided.postpone_s)
            )
            return StepReport()
        if updated.saved is None:
            return StepReport()
        if decided.attempt is None:
            send_next_step(self.queue, updated.saved, self.clock.now_ns())
            return StepReport(alerted=decided.change is not None and decided.change.alerted)
        return updated.saved, decided.attempt

    def _attempt(self, record: RunRecord, attempt: Attempt) -> Outcome:
        """Make the claimed attempt: evaluate the task's inputs, then call."""
        task = attempt.runnable if attempt.runnable is not None else record.task(attempt.task_id)
        declared = task.get("_inputParams")
        try:
            # The run's own inputs are data: only a definition's declared inputs hold expressions.
            inputs: Any = (
                record.run["_inputParams"]
                if declared is None
                else expressions.resolve(declared, build_scope(record, declared, self.runs, attempt))
            )
        except expressions.ExpressionError as error:
            return Outcome(error=str(error), permanent=True)
        if not isinstance(inputs, dict):
            return Outcome(
                error=f"_inputParams of task {task['_name']!r} must be an object, got {inputs!r}",
                permanent=True,
            )
        # The task's own timeout bounds the call (its lease counts on that), and under TIME_OUT_WF
        # so does the time the run has left.
        cap = timing.task_timeout_seconds(task)
        deadline = record.state.deadline_ns
        if deadline is not None and record.run.get("_timeoutPolicy") != "ALERT_ONLY":
            cap = min(cap, max((deadline - self.clock.now_ns()) / NS, 0.001))
        return type_of(task).call(inputs, CallContext(policy=self.policy, timeout_cap=cap))

    def _record(self, message: StepMessage, attempt: Attempt, outcome: Outcome) -> StepReport:
        def decide(read: RunRecord) -> tuple[steps.Change | None, steps.Change | None]:
            change = steps.finish(read, message.step, attempt, outcome, self.clock.now_ns(), self.runs)
            return change, change

        updated = update_run(self.runs, message.run_id, decide)
        if updated is None or updated.saved is None or updated.result is None:
            return StepReport()  # the result no longer counts
        send_next_step(self.queue, updated.saved, self.clock.now_ns())
        return StepReport(attempted=True, succeeded=outcome.succeeded, alerted=updated.result.alerted)


@once_per_process
def get_worker() -> Worker:
    return Worker(get_store().runs, get_task_queue(), EgressPolicy.from_settings(get_settings()), clock())

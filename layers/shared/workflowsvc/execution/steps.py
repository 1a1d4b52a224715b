"""The rules of a step: what a step message, an attempt's end or the sweeper's look does to a run.

Each rule takes the run as read and the time, and answers the change to write (or none); it never reads
the clock, writes, or sends. Reads of tasks kept apart (a loop's iterations) go through the port it is
given. The drivers (``worker``, ``sweeper``) read, call these, write conditionally and send.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from workflowsvc import expressions, runs, timestamps
from workflowsvc.execution import timing
from workflowsvc.execution.scope import RunContext, build_scope
from workflowsvc.models.run import (
    MAX_ITERATION_TASK_BYTES,
    MAX_RUN_DOCUMENT_BYTES,
    ExecutionState,
    RunRecord,
    TaskDocument,
)
from workflowsvc.runs import NS
from workflowsvc.tasks import type_of
from workflowsvc.tasks.base import Attempt, Ended, Outcome, TasksApart

SYSTEM_ACTOR = "workflowsvc"  # the _updatedBy of changes made by the worker and the sweeper


@dataclass
class Change:
    """A run to write, conditionally on the version it was read at.

    ``iteration_tasks`` are written in the same transaction; ``later_tasks`` after it (iterations that
    will never start, shown SKIPPED: there may be many). ``continues``: the run's next step must be sent
    if it has one. ``alerted``: an ALERT_ONLY run was flagged as past its deadline.
    """

    record: RunRecord
    iteration_tasks: list[TaskDocument] = field(default_factory=list)
    later_tasks: list[TaskDocument] = field(default_factory=list)
    continues: bool = True
    alerted: bool = False


@dataclass(frozen=True)
class Claim:
    """What a step message leads to: nothing (``change`` None), a later look (``postpone_s``), a change
    with no call to make, or a claimed ``attempt`` to make."""

    change: Change | None = None
    attempt: Attempt | None = None
    postpone_s: float | None = None


# ------------------------------------------------------------------ a step message


def claim(record: RunRecord, step: int, now_ns: int, tasks_apart: TasksApart) -> Claim:
    state = record.state
    if state.step != step or state.claimed or record.status not in runs.ACTIVE_STATUSES:
        return Claim()  # a duplicate, or overtaken by pause, terminate, retry or timeout
    early_s = (state.scheduled_ns - now_ns) / NS
    if early_s > 1:
        # A retry delay beyond what SQS can hold: wait out the rest with another delayed message.
        return Claim(postpone_s=early_s)
    record = record.clone()
    state = record.state
    now = timestamps.format_ns(now_ns)
    if timing.deadline_passed(record, now_ns):
        return Claim(change=_stamped(time_out(record, now, None), now))
    if state.fail_on_resume:
        record.run.update(_status="FAILED", _error=state.fail_on_resume)
        state.fail_on_resume = None
        return Claim(change=_stamped(end_run(record, now), now))
    task = runs.next_task(record.run)
    if task is None:
        return Claim(change=_stamped(complete_run(record, now_ns, tasks_apart), now))
    begun = type_of(task).begin(record, task, RunContext(record, now_ns, tasks_apart))
    if isinstance(begun, Ended):
        return Claim(change=_stamped(_ended(record, task, begun, now_ns, tasks_apart), now))

    runnable = begun.runnable if begun.apart else task
    assert runnable is not None
    if runnable["_status"] in runs.RETRIABLE_TASK_STATUSES:
        runs.reset_task(runnable)
    runnable["_status"] = "RUNNING"
    runnable["_attempts"] = runnable.get("_attempts", 0) + 1
    runnable.setdefault("_startedAt", now)
    if begun.apart:
        type_of(task).attempt_started(record, begun, now)
    record.run["_status"] = "RUNNING"
    state.claimed = True
    state.in_flight_task_id = task["_id"]
    state.lease_ns = now_ns + int(timing.task_timeout_seconds(runnable) * NS) + timing.LEASE_MARGIN_NS
    change = Change(record, iteration_tasks=[runnable] if begun.apart else [], continues=False)
    return Claim(change=_stamped(change, now), attempt=begun)


def _ended(
    record: RunRecord, task: TaskDocument, ended: Ended, now_ns: int, tasks_apart: TasksApart
) -> Change:
    """A task that ended as soon as the run reached it."""
    if ended.error is not None:
        outcome = Outcome(error=ended.error, permanent=True)
        return finish_attempt(record, Attempt(task_id=task["_id"]), outcome, now_ns, tasks_apart)
    now = timestamps.format_ns(now_ns)
    task.update(_status="COMPLETED", _output=ended.output, _startedAt=now, _endedAt=now)
    if runs.next_task(record.run) is None:
        return complete_run(record, now_ns, tasks_apart)
    _next_step(record.state, now_ns)
    return Change(record)


# ------------------------------------------------------------------ an attempt's end


def finish(
    record: RunRecord, step: int, attempt: Attempt, outcome: Outcome, now_ns: int, tasks_apart: TasksApart
) -> Change | None:
    """The result of the attempt claimed for ``step``; None when it no longer counts (the run was
    terminated, timed out or re-driven meanwhile)."""
    if record.state.step != step or not record.state.claimed:
        return None
    return _stamped(
        finish_attempt(record.clone(), attempt, outcome, now_ns, tasks_apart), timestamps.format_ns(now_ns)
    )


def finish_attempt(
    record: RunRecord, attempt: Attempt, outcome: Outcome, now_ns: int, tasks_apart: TasksApart
) -> Change:
    """Record how an attempt ended on ``record`` (a copy, changed in place): the task completes and the
    run goes on, or the task is retried, or it fails and the run with it."""
    record.state.release_claim()
    top = record.task(attempt.task_id)
    runnable = (type_of(top).current(record, attempt) if attempt.apart else None) or top
    if outcome.succeeded:
        too_large = _too_large(record, runnable, outcome.output, apart=attempt.apart)
        if too_large:
            outcome = Outcome(error=too_large)
    change = (
        _succeeded(record, attempt, runnable, outcome, now_ns, tasks_apart)
        if outcome.succeeded
        else _failed(record, attempt, runnable, outcome, now_ns)
    )
    if runnable is not top:  # the task kept apart is written with the run
        change.iteration_tasks.insert(0, runnable)
    return change


def _succeeded(
    record: RunRecord,
    attempt: Attempt,
    runnable: TaskDocument,
    outcome: Outcome,
    now_ns: int,
    tasks_apart: TasksApart,
) -> Change:
    now = timestamps.format_ns(now_ns)
    runnable.update(_status="COMPLETED", _output=outcome.output, _endedAt=now)
    runnable.pop("_error", None)
    if attempt.apart:
        type_of(record.task(attempt.task_id)).child_completed(record, attempt, now)
    if record.status == "PAUSED":
        return Change(record)  # recorded; nothing new starts until resumed
    if runs.next_task(record.run) is None:
        # A task kept apart that just finished is not stored yet: the run's output must still see it.
        return complete_run(record, now_ns, tasks_apart, pending=[runnable] if attempt.apart else [])
    _next_step(record.state, now_ns)
    return Change(record)


def _failed(
    record: RunRecord, attempt: Attempt, runnable: TaskDocument, outcome: Outcome, now_ns: int
) -> Change:
    now = timestamps.format_ns(now_ns)
    top = record.task(attempt.task_id)
    paused = record.status == "PAUSED"
    error = str(outcome.error)
    runnable["_error"] = error
    if outcome.output is not None:
        runnable["_output"] = outcome.output
    run_timed_out = timing.deadline_passed(record, now_ns)
    attempts = int(runnable.get("_attempts", 1))
    if not outcome.permanent and attempts <= int(runnable.get("_retryCount") or 0) and not run_timed_out:
        runnable["_status"] = "PAUSED" if paused else "QUEUED"
        if attempt.apart:
            type_of(top).child_retrying(record, attempt, paused)
        if not paused:
            _next_step(record.state, now_ns, timing.retry_delay_seconds(runnable, attempts))
        return Change(record)

    runnable["_endedAt"] = now
    runnable["_status"] = "TIMED_OUT" if outcome.timed_out else "FAILED"
    if run_timed_out:
        return time_out(record, now, runnable)
    if paused:
        # The user's pause stands; the run fails when it is resumed.
        record.state.fail_on_resume = f"task {top['_name']!r} failed while the run was paused: {error}"
        return Change(record)
    if attempt.apart:
        type_of(top).child_failed(record, attempt, runnable, error, now)
    record.run["_status"] = "FAILED"
    record.run["_error"] = f"task {top['_name']!r} failed: {top.get('_error') or error}"
    return end_run(record, now)


def _too_large(record: RunRecord, runnable: TaskDocument, output: object, *, apart: bool) -> str | None:
    """Why an output cannot be stored, if it cannot: DynamoDB items stop at 400 KB."""
    size = len(json.dumps(output, separators=(",", ":")))
    if apart:
        stored, limit = size, MAX_ITERATION_TASK_BYTES
    else:
        stored, limit = size + len(json.dumps(record.run, separators=(",", ":"))), MAX_RUN_DOCUMENT_BYTES
    if stored <= limit:
        return None
    return f"the task's output ({size} bytes) is too large to store: a run keeps at most {limit // 1024} KiB"


# ------------------------------------------------------------------ how a run ends


def complete_run(
    record: RunRecord, now_ns: int, tasks_apart: TasksApart, pending: Sequence[TaskDocument] = ()
) -> Change:
    """Every task completed: the run's output, then COMPLETED (or FAILED when the output cannot be had)."""
    now = timestamps.format_ns(now_ns)
    run = record.run
    output_params = record.state.output_params
    try:
        if output_params:
            scope = build_scope(record, output_params, tasks_apart, pending=pending)
            run["_output"] = expressions.resolve(output_params, scope)
        else:
            last = run["_tasks"][-1]
            run["_output"] = type_of(last).output(record, last, tasks_apart, pending)
    except expressions.ExpressionError as error:
        run.update(_status="FAILED", _error=f"_outputParams: {error}")
        return end_run(record, now)
    if len(json.dumps(run["_output"], separators=(",", ":"))) > MAX_RUN_DOCUMENT_BYTES // 2:
        run.update(_status="FAILED", _output=None, _error="the run's output is too large to store")
        return end_run(record, now)
    run["_status"] = "COMPLETED"
    return end_run(record, now)


def time_out(record: RunRecord, now: str, in_flight: TaskDocument | None) -> Change:
    """The run passed its deadline under TIME_OUT_WF: it, its running tasks and the task in flight
    (a top-level task, or one kept apart) become TIMED_OUT."""
    message = f"the run passed its timeout of {record.run.get('_timeoutSeconds')} s"
    in_flight_id = in_flight["_id"] if in_flight is not None else None
    top_level = False
    for task in record.run["_tasks"]:
        if task["_status"] == "RUNNING" or task["_id"] == in_flight_id:
            task.update(_status="TIMED_OUT", _endedAt=now, _error=message)
            top_level = top_level or task["_id"] == in_flight_id
    if in_flight is not None and not top_level:
        in_flight.update(_status="TIMED_OUT", _endedAt=now, _error=message)
    record.run.update(_status="TIMED_OUT", _error=message)
    return end_run(record, now)


def end_run(record: RunRecord, now: str) -> Change:
    """A run that ends: tasks that never started are SKIPPED, the clock stops, ALERT_ONLY alerts."""
    run, state = record.run, record.state
    failed = run["_status"] in ("FAILED", "TIMED_OUT")
    if failed:
        for task in run["_tasks"]:
            if task["_status"] in ("QUEUED", "PAUSED"):
                task["_status"] = "SKIPPED"
    now_ns = timestamps.parse_ns(now)
    alerted = (
        run.get("_timeoutPolicy") == "ALERT_ONLY"
        and state.deadline_ns is not None
        and now_ns >= state.deadline_ns
        and not state.alerted
    )
    if alerted:
        _alert(record, now)
    state.release_claim()
    state.step += 1
    state.deadline_ns = None
    state.remaining_ns = None
    state.paused_from = None
    run["_updatedAt"] = now
    never_started = []
    if failed:
        for task_id in list(state.progress):
            never_started += type_of(record.task(task_id)).never_started(record, record.task(task_id))
    return Change(record, later_tasks=never_started, alerted=alerted)


def _alert(record: RunRecord, now: str) -> None:
    record.run["_timeoutAlertedAt"] = now
    record.state.alerted = True


def _next_step(state: ExecutionState, now_ns: int, delay_seconds: float = 0.0) -> None:
    state.step += 1
    state.claimed = False
    state.scheduled_ns = now_ns + int(delay_seconds * NS)


def _stamped(change: Change, now: str) -> Change:
    """Every change stamps the run; changes the service makes on its own are signed by it."""
    change.record.run["_updatedAt"] = now
    change.record.run["_updatedBy"] = SYSTEM_ACTOR
    return change


# ------------------------------------------------------------------ the sweeper's look


@dataclass(frozen=True)
class Sweep:
    """What the sweeper did to a due run: ``handled`` when it timed it out, alerted, recovered a lost
    attempt or re-sent a lost message."""

    change: Change | None = None
    handled: bool = False


def sweep(record: RunRecord, now_ns: int, tasks_apart: TasksApart) -> Sweep:
    if record.status not in runs.ACTIVE_STATUSES:
        # Rewriting drops it from the active index (it is due no more).
        return Sweep(change=Change(record.clone(), continues=False))
    record = record.clone()
    state = record.state
    now = timestamps.format_ns(now_ns)
    if state.deadline_ns is not None and now_ns >= state.deadline_ns:
        if record.run.get("_timeoutPolicy") == "ALERT_ONLY":
            if not state.alerted:
                _alert(record, now)
                return Sweep(
                    change=_stamped(Change(record, continues=False, alerted=True), now), handled=True
                )
        else:
            in_flight = current = None
            if state.claimed and state.in_flight_task_id is not None:
                in_flight = record.task(state.in_flight_task_id)
                current = type_of(in_flight).current(record, Attempt(task_id=in_flight["_id"]))
            change = time_out(record, now, current or in_flight)
            if current is not None:
                change.iteration_tasks.insert(0, current)
            return Sweep(change=_stamped(change, now), handled=True)
    if state.claimed and state.lease_ns is not None and now_ns >= state.lease_ns:
        assert state.in_flight_task_id is not None
        in_flight = record.task(state.in_flight_task_id)
        attempt = type_of(in_flight).in_flight(record, in_flight, RunContext(record, now_ns, tasks_apart))
        outcome = Outcome(
            error="no result came back from the worker within the task's timeout; "
            "the attempt is presumed lost"
        )
        return Sweep(
            change=_stamped(finish_attempt(record, attempt, outcome, now_ns, tasks_apart), now), handled=True
        )
    if not state.claimed and now_ns >= state.scheduled_ns + runs.REDRIVE_AFTER_NS:
        # The step's message was lost (or the worker died before sending it): send it again.
        state.scheduled_ns = now_ns
        return Sweep(change=_stamped(Change(record), now), handled=True)
    return Sweep()


# ------------------------------------------------------------------ the next message


@dataclass(frozen=True)
class NextStep:
    step: int
    task_id: str
    delay_seconds: float


def next_step(record: RunRecord, now_ns: int) -> NextStep | None:
    """The step message to send after ``record`` was written, if execution goes on."""
    task = runs.next_task(record.run)
    if record.status not in runs.ACTIVE_STATUSES or record.state.claimed or task is None:
        return None
    # A retry's delay is what is left until the step was scheduled for.
    delay = max(0.0, (record.state.scheduled_ns - now_ns) / NS)
    return NextStep(step=record.state.step, task_id=task["_id"], delay_seconds=delay)

"""Execution: what the worker does with a step message, and what the sweeper does with a due run.

One message is one step: one attempt of one task (or of one task of a LOOP_OVER iteration). A step
is claimed with a conditional write before the call and recorded with another after it, so a message
delivered twice runs its attempt once, and nothing the worker writes can undo a user's pause or
terminate (those change the version, and the worker re-reads and decides again). See docs/design.md.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from workflowsvc import expressions, rest_connector, runs, timestamps
from workflowsvc.config import Settings, get_settings
from workflowsvc.egress import EgressPolicy
from workflowsvc.errors import VersionConflict
from workflowsvc.models.api import MAX_TASK_TIMEOUT_SECONDS
from workflowsvc.models.messages import StepMessage
from workflowsvc.repository import Repository, StoredRun
from workflowsvc.task_queue import MAX_DELAY_SECONDS, TaskQueue

NS = runs.NS
# A task without a timeout of its own may run as long as the longest a task may declare; the call's
# own `_timeoutSeconds` input (30 s by default) usually ends it sooner.
DEFAULT_TASK_TIMEOUT_SECONDS = MAX_TASK_TIMEOUT_SECONDS
LEASE_MARGIN_NS = 30 * NS  # beyond the call's own timeout, before an attempt is presumed lost
MAX_LOOP_ITEMS = 1000
MAX_RUN_DOCUMENT_BYTES = 300 * 1024  # DynamoDB items stop at 400 KB; the rest is keys and meta
MAX_ITERATION_TASK_BYTES = 300 * 1024  # a loop-over task is an item of its own
_WRITE_ATTEMPTS = 5

SYSTEM_ACTOR = "workflowsvc"  # the _updatedBy of changes made by the worker and the sweeper

RestCall = Callable[..., dict[str, Any]]
MetricSink = Callable[[str, float], None]


@dataclass(frozen=True)
class Target:
    """What the current step works on: a top-level task, or one task of a loop iteration."""

    task: dict[str, Any]  # the top-level task (the LOOP_OVER itself for an iteration)
    iteration_task: dict[str, Any] | None = None
    items: list[Any] | None = None

    @property
    def runnable(self) -> dict[str, Any]:
        return self.iteration_task if self.iteration_task is not None else self.task


@dataclass(frozen=True)
class Outcome:
    output: Any = None
    error: str | None = None
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None


def _now() -> tuple[int, str]:
    now_ns = timestamps.now_ns()
    return now_ns, timestamps.format_ns(now_ns)


def _task_by_id(run: dict[str, Any], task_id: str) -> dict[str, Any]:
    return next(task for task in run["_tasks"] if task["_id"] == task_id)


def retry_delay_seconds(task: dict[str, Any], attempt: int) -> float:
    """Delay before attempt ``attempt + 1``: FIXED, or EXPONENTIAL (x 2^(attempt-1)) with full jitter."""
    configured = task.get("_retryDelaySeconds")
    delay = float(configured) if configured is not None else 1.0
    if task.get("_backoff") == "EXPONENTIAL":
        ceiling = delay * 2 ** (attempt - 1)
        # "Equal jitter": at least half the backoff, so retries spread out without collapsing to zero.
        jittered: float = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security
        return jittered
    return delay


class Engine:
    def __init__(
        self,
        repository: Repository,
        queue: TaskQueue,
        settings: Settings,
        call_rest: RestCall = rest_connector.call,
        record_metric: MetricSink | None = None,
    ) -> None:
        self.repository = repository
        self.queue = queue
        self.policy = EgressPolicy.from_settings(settings)
        self.call_rest = call_rest
        self.record_metric: MetricSink = record_metric or (lambda name, value: None)

    # ------------------------------------------------------------ worker

    def process(self, message: StepMessage) -> None:
        claimed = self._claim(message)
        if claimed is None:
            return
        stored, target = claimed
        outcome = self._execute(stored, target)
        self._record(message.run_id, message.step, target, outcome)

    def _claim(self, message: StepMessage) -> tuple[StoredRun, Target] | None:
        for _ in range(_WRITE_ATTEMPTS):
            stored = self.repository.get_run(message.run_id, consistent=True)
            if stored is None:
                return None
            run, meta = copy.deepcopy(stored.run), copy.deepcopy(stored.meta)
            if (
                meta["step"] != message.step
                or meta.get("claimed")
                or run["_status"] not in runs.ACTIVE_STATUSES
            ):
                return None  # a duplicate, or overtaken by pause, terminate, retry or timeout
            now_ns, now = _now()
            early_s = (meta.get("scheduledNs", 0) - now_ns) / NS
            if early_s > 1:
                # A retry delay beyond what SQS can hold: wait out the rest with another delayed message.
                self.queue.send_step(run["_id"], message.step, message.task_id, delay_seconds=round(early_s))
                return None
            if self._deadline_passed(run, meta, now_ns):
                self._save_and_continue(stored, *self._time_out(run, meta, now, None), [])
                return None
            if meta.get("failOnResume"):
                run.update(_status="FAILED", _error=meta.pop("failOnResume"))
                self._save_and_continue(stored, *self._end_run(run, meta, now), [])
                return None
            target = self._target(run, meta)
            if isinstance(target, str):  # the current task cannot even start (e.g. loop items not a list)
                run, meta = self._finish_attempt(
                    run, meta, self._bare_target(run), Outcome(error=target), now_ns
                )
                self._save_and_continue(stored, run, meta, [])
                return None
            if target is None:
                self._save_and_continue(stored, *self._complete_run(run, meta, now_ns), [])
                return None
            if target.items is not None and target.iteration_task is None:
                # An empty loop completes at once: no call to make.
                loop_task = _task_by_id(run, target.task["_id"])
                loop_task.update(_status="COMPLETED", _output=[], _startedAt=now, _endedAt=now)
                meta.pop("loop", None)
                if runs.next_task(run) is None:
                    run, meta = self._complete_run(run, meta, now_ns)
                else:
                    meta = self._next_step(meta, now_ns)
                self._save_and_continue(stored, run, meta, [])
                return None

            runnable = target.runnable
            if runnable["_status"] in runs.RETRIABLE_TASK_STATUSES:
                runs.reset_task(runnable)
            runnable["_status"] = "RUNNING"
            runnable["_attempts"] = runnable.get("_attempts", 0) + 1
            runnable.setdefault("_startedAt", now)
            top = _task_by_id(run, target.task["_id"])
            if target.iteration_task is not None:
                top["_status"] = "RUNNING"
                top.setdefault("_startedAt", now)
                meta["loop"]["current"] = runnable
            else:
                top.update(runnable)
            run["_status"] = "RUNNING"
            meta.update(
                claimed=True,
                inFlightTaskId=top["_id"],
                leaseNs=now_ns + int(_task_timeout(runnable) * NS) + LEASE_MARGIN_NS,
            )
            loop_tasks = [runnable] if target.iteration_task is not None else []
            _stamp(run)
            try:
                saved = self.repository.save_run(stored, run, meta, loop_tasks)
            except VersionConflict:
                continue
            return saved, Target(
                task=top, iteration_task=target.iteration_task and runnable, items=target.items
            )
        return None

    def _execute(self, stored: StoredRun, target: Target) -> Outcome:
        run, meta = stored.run, stored.meta
        task = target.runnable
        try:
            declared = task.get("_inputParams")
            # The run's own inputs are data: only a definition's declared inputs hold expressions.
            if declared is None:
                inputs = run["_inputParams"]
            else:
                inputs = expressions.resolve(declared, self._scope(run, meta, target, declared))
            if not isinstance(inputs, dict):
                return Outcome(
                    error=f"_inputParams of task {task['_name']!r} must be an object, got {inputs!r}"
                )
            # The task's own timeout bounds the call (its lease counts on that), and under TIME_OUT_WF
            # so does the time the run has left.
            cap = _task_timeout(task)
            if meta.get("deadlineNs") is not None and run.get("_timeoutPolicy") != "ALERT_ONLY":
                cap = min(cap, max((meta["deadlineNs"] - timestamps.now_ns()) / NS, 0.001))
            output = self.call_rest(inputs, self.policy, cap)
        except expressions.ExpressionError as error:
            return Outcome(error=str(error))
        except rest_connector.RestCallFailed as error:
            return Outcome(output=error.output, error=error.error, timed_out=error.timed_out)
        return Outcome(output=output)

    def _record(self, run_id: str, step: int, target: Target, outcome: Outcome) -> None:
        for _ in range(_WRITE_ATTEMPTS):
            stored = self.repository.get_run(run_id, consistent=True)
            if stored is None:
                return
            run, meta = copy.deepcopy(stored.run), copy.deepcopy(stored.meta)
            if meta["step"] != step or not meta.get("claimed"):
                return  # terminated, timed out or re-driven meanwhile: this result no longer counts
            now_ns, _ = _now()
            iteration = _current_iteration(meta, target)
            run, meta = self._finish_attempt(run, meta, target, outcome, now_ns)
            try:
                self._save_and_continue(stored, run, meta, [iteration] if iteration else [])
            except VersionConflict:
                continue
            self.record_metric("TaskAttemptsSucceeded" if outcome.succeeded else "TaskAttemptsFailed", 1)
            return

    # ------------------------------------------------------------ rules of an attempt's end

    def _finish_attempt(
        self, run: dict[str, Any], meta: dict[str, Any], target: Target, outcome: Outcome, now_ns: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        now = timestamps.format_ns(now_ns)
        meta.update(claimed=False)
        meta.pop("inFlightTaskId", None)
        meta.pop("leaseNs", None)
        top = _task_by_id(run, target.task["_id"])
        runnable = meta["loop"]["current"] if target.iteration_task is not None and meta.get("loop") else top
        paused = run["_status"] == "PAUSED"

        if outcome.succeeded:
            too_large = self._too_large(run, runnable, outcome.output)
            if too_large:
                outcome = Outcome(error=too_large)
        if outcome.succeeded:
            runnable.update(_status="COMPLETED", _output=outcome.output, _endedAt=now)
            runnable.pop("_error", None)
            if target.iteration_task is not None:
                self._advance_loop(run, meta, top, target, now)
            if paused:
                return run, meta  # recorded; nothing new starts until resumed
            if runs.next_task(run) is None:
                # The iteration just finished is not stored yet: the run's output must still see it.
                pending = (runnable,) if target.iteration_task is not None else ()
                return self._complete_run(run, meta, now_ns, pending)
            return run, self._next_step(meta, now_ns)

        runnable["_error"] = outcome.error
        if outcome.output is not None:
            runnable["_output"] = outcome.output
        run_timed_out = self._deadline_passed(run, meta, now_ns)
        attempts = int(runnable.get("_attempts", 1))
        if attempts <= int(runnable.get("_retryCount") or 0) and not run_timed_out:
            runnable["_status"] = "PAUSED" if paused else "QUEUED"
            if target.iteration_task is not None:
                top["_status"] = "PAUSED" if paused else "RUNNING"
            if paused:
                return run, meta
            delay = retry_delay_seconds(runnable, attempts)
            return run, self._next_step(meta, now_ns, delay)

        runnable["_endedAt"] = now
        runnable["_status"] = "TIMED_OUT" if outcome.timed_out else "FAILED"
        if run_timed_out:
            return self._time_out(run, meta, now, runnable)
        if paused:
            # The user's pause stands; the run fails when it is resumed.
            meta["failOnResume"] = f"task {top['_name']!r} failed while the run was paused: {outcome.error}"
            return run, meta
        if target.iteration_task is not None:
            index = meta["loop"]["index"]
            item = _brief(target.items[index] if target.items else None)
            top.update(
                _status="FAILED",
                _endedAt=now,
                _error=f"iteration {index} (item {item}) failed: task {runnable['_name']!r}: {outcome.error}",
            )
        run["_status"] = "FAILED"
        run["_error"] = f"task {top['_name']!r} failed: {top.get('_error') or outcome.error}"
        return self._end_run(run, meta, now)

    def _too_large(self, run: dict[str, Any], runnable: dict[str, Any], output: Any) -> str | None:
        """Why an output cannot be stored, if it cannot: DynamoDB items stop at 400 KB."""
        size = len(json.dumps(output, separators=(",", ":")))
        if "_loopTaskId" in runnable:
            stored, limit = size, MAX_ITERATION_TASK_BYTES
        else:
            stored, limit = size + len(json.dumps(run, separators=(",", ":"))), MAX_RUN_DOCUMENT_BYTES
        if stored <= limit:
            return None
        return (
            f"the task's output ({size} bytes) is too large to store: a run keeps at most {limit // 1024} KiB"
        )

    def _advance_loop(
        self, run: dict[str, Any], meta: dict[str, Any], top: dict[str, Any], target: Target, now: str
    ) -> None:
        loop = meta["loop"]
        nested = top["_tasks"]
        if loop["position"] + 1 < len(nested):
            loop["position"] += 1
        else:
            loop["index"] += 1
            loop["position"] = 0
        loop.pop("current", None)
        if loop["index"] >= len(target.items or []):
            top.update(_status="COMPLETED", _endedAt=now)
            meta.pop("loop", None)

    def _complete_run(
        self, run: dict[str, Any], meta: dict[str, Any], now_ns: int, pending: tuple[dict[str, Any], ...] = ()
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        now = timestamps.format_ns(now_ns)
        output_params = meta.get("outputParams")
        try:
            if output_params:
                run["_output"] = expressions.resolve(
                    output_params, self._scope(run, meta, None, output_params, pending)
                )
            else:
                last = run["_tasks"][-1]
                run["_output"] = self._task_output(run, last, pending)
        except expressions.ExpressionError as error:
            run.update(_status="FAILED", _error=f"_outputParams: {error}")
            return self._end_run(run, meta, now)
        if len(json.dumps(run["_output"], separators=(",", ":"))) > MAX_RUN_DOCUMENT_BYTES // 2:
            run.update(_status="FAILED", _output=None, _error="the run's output is too large to store")
            return self._end_run(run, meta, now)
        run["_status"] = "COMPLETED"
        return self._end_run(run, meta, now)

    def _time_out(
        self, run: dict[str, Any], meta: dict[str, Any], now: str, in_flight: dict[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        message = f"the run passed its timeout of {run.get('_timeoutSeconds')} s"
        for task in run["_tasks"]:
            if task["_status"] == "RUNNING" or (in_flight is not None and task["_id"] == in_flight["_id"]):
                task.update(_status="TIMED_OUT", _endedAt=now, _error=message)
        if in_flight is not None and "_loopTaskId" in in_flight:
            in_flight.update(_status="TIMED_OUT", _endedAt=now, _error=message)
        run.update(_status="TIMED_OUT", _error=message)
        return self._end_run(run, meta, now)

    def _end_run(
        self, run: dict[str, Any], meta: dict[str, Any], now: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A run that ends: tasks that never started are SKIPPED, the clock stops, ALERT_ONLY alerts."""
        if run["_status"] in ("FAILED", "TIMED_OUT"):
            for task in run["_tasks"]:
                if task["_status"] in ("QUEUED", "PAUSED"):
                    task["_status"] = "SKIPPED"
        now_ns = timestamps.parse_ns(now)
        if (
            run.get("_timeoutPolicy") == "ALERT_ONLY"
            and meta.get("deadlineNs") is not None
            and now_ns >= meta["deadlineNs"]
            and not meta.get("alerted")
        ):
            self._alert(run, meta, now)
        meta.update(claimed=False, step=meta["step"] + 1, deadlineNs=None)
        for key in ("inFlightTaskId", "leaseNs", "remainingNs", "pausedFrom"):
            meta.pop(key, None)
        run["_updatedAt"] = now
        return run, meta

    def _alert(self, run: dict[str, Any], meta: dict[str, Any], now: str) -> None:
        run["_timeoutAlertedAt"] = now
        meta["alerted"] = True
        self.record_metric("RunTimeoutAlerts", 1)

    def _next_step(self, meta: dict[str, Any], now_ns: int, delay_seconds: float = 0.0) -> dict[str, Any]:
        meta.update(step=meta["step"] + 1, claimed=False, scheduledNs=now_ns + int(delay_seconds * NS))
        return meta

    def _deadline_passed(self, run: dict[str, Any], meta: dict[str, Any], now_ns: int) -> bool:
        deadline = meta.get("deadlineNs")
        return deadline is not None and now_ns >= deadline and run.get("_timeoutPolicy") != "ALERT_ONLY"

    # ------------------------------------------------------------ saving and sending

    def _save(self, stored: StoredRun, run: dict[str, Any], meta: dict[str, Any]) -> StoredRun:
        _stamp(run)
        return self.repository.save_run(stored, run, meta)

    def _save_and_continue(
        self, stored: StoredRun, run: dict[str, Any], meta: dict[str, Any], loop_tasks: list[dict[str, Any]]
    ) -> None:
        """Writes the step's result, then sends the next step's message if execution goes on."""
        _stamp(run)
        skipped = self._skipped_iterations(run, meta)
        if len(json.dumps(run, separators=(",", ":"))) > MAX_RUN_DOCUMENT_BYTES:
            raise ValueError(f"run {run['_id']} would exceed the item size limit")
        self.repository.save_run(stored, run, meta, loop_tasks)
        if skipped:
            self.repository.put_loop_tasks(run["_id"], skipped)
        task = runs.next_task(run)
        if run["_status"] in runs.ACTIVE_STATUSES and not meta.get("claimed") and task is not None:
            # A retry's delay is what is left until the step was scheduled for.
            delay = max(0.0, (meta.get("scheduledNs", 0) - timestamps.now_ns()) / NS)
            self.queue.send_step(
                run["_id"], meta["step"], task["_id"], delay_seconds=min(round(delay), MAX_DELAY_SECONDS)
            )

    def _skipped_iterations(self, run: dict[str, Any], meta: dict[str, Any]) -> list[dict[str, Any]]:
        """Iterations of a failed or timed-out loop that never started, shown as SKIPPED."""
        loop = meta.get("loop")
        if loop is None or run["_status"] not in ("FAILED", "TIMED_OUT"):
            return []
        top = _task_by_id(run, loop["taskId"])
        skipped = []
        current = loop.get("current")
        started = current is not None and current.get("_attempts")
        for index in range(loop["index"], loop.get("count", 0)):
            first_position = loop["position"] + (1 if started else 0) if index == loop["index"] else 0
            for position in range(first_position, len(top["_tasks"])):
                nested = top["_tasks"][position]
                skipped.append(self._iteration_task(top, nested, index, meta, status="SKIPPED"))
        return skipped

    # ------------------------------------------------------------ where the run is

    def _bare_target(self, run: dict[str, Any]) -> Target:
        task = runs.next_task(run)
        assert task is not None
        return Target(task=task)

    def _target(self, run: dict[str, Any], meta: dict[str, Any]) -> Target | str | None:
        task = runs.next_task(run)
        if task is None:
            return None
        if task["_type"] != "LOOP_OVER":
            return Target(task=task)
        items = self._loop_items(run, meta, task)
        if isinstance(items, str):
            return items
        if not items:
            return Target(task=task, items=[])
        loop = meta.get("loop")
        if loop is None or loop.get("taskId") != task["_id"]:
            loop = meta["loop"] = {"taskId": task["_id"], "index": 0, "position": 0, "count": len(items)}
        current = loop.get("current")
        if current is None or current.get("_loopIndex") != loop["index"]:
            nested = task["_tasks"][loop["position"]]
            current = self._iteration_task(task, nested, loop["index"], meta, status="QUEUED")
            loop["current"] = current
        return Target(task=task, iteration_task=current, items=items)

    def _iteration_task(
        self,
        loop_task: dict[str, Any],
        nested: dict[str, Any],
        index: int,
        meta: dict[str, Any],
        *,
        status: str,
    ) -> dict[str, Any]:
        sequenceno = meta["nextSeq"]
        meta["nextSeq"] = sequenceno + 1
        task = {
            "_id": str(uuid.uuid4()),
            "_name": nested["_name"],
            "_sequenceno": sequenceno,
            "_type": nested["_type"],
            "_status": status,
            "_loopTaskId": loop_task["_id"],
            "_loopIndex": index,
        }
        task.update({key: value for key, value in nested.items() if key not in task})
        return task

    def _loop_items(self, run: dict[str, Any], meta: dict[str, Any], task: dict[str, Any]) -> list[Any] | str:
        declared = (task.get("_inputParams") or {}).get("_items")
        try:
            items = expressions.resolve(declared, self._scope(run, meta, None, declared))
        except expressions.ExpressionError as error:
            return f"_inputParams._items: {error}"
        if not isinstance(items, list):
            return (
                f"_inputParams._items of LOOP_OVER task {task['_name']!r} must be a list, got {_brief(items)}"
            )
        if len(items) > MAX_LOOP_ITEMS:
            return f"_inputParams._items has {len(items)} items; a LOOP_OVER takes at most {MAX_LOOP_ITEMS}"
        return items

    def _scope(
        self,
        run: dict[str, Any],
        meta: dict[str, Any],
        target: Target | None,
        uses: Any,
        pending: tuple[dict[str, Any], ...] = (),
    ) -> dict[str, Any]:
        """What ``uses`` (the inputs about to be evaluated) may name. A completed LOOP_OVER's output is
        read from its iteration items, so it is assembled only for the loops ``uses`` mentions."""
        text = "\n".join(_strings(uses))
        tasks = {
            task["_name"]: self._scope_task(run, task, pending) if _may_name(text, task["_name"]) else task
            for task in run["_tasks"]
        }
        scope: dict[str, Any] = {"workflow": run, "tasks": tasks, "loop": {}}
        loop = meta.get("loop")
        if target is not None and target.iteration_task is not None and loop is not None:
            index = loop["index"]
            if loop["position"] > 0:  # earlier tasks of this iteration, by name
                for done in self.repository.get_loop_tasks(
                    run["_id"], consistent=True, loop_task_id=loop["taskId"], index=index
                ):
                    tasks[done["_name"]] = done
            scope["loop"] = {
                "item": (target.items or [None])[index] if target.items else None,
                "index": index,
            }
        return scope

    def _scope_task(
        self, run: dict[str, Any], task: dict[str, Any], pending: tuple[dict[str, Any], ...] = ()
    ) -> dict[str, Any]:
        if task["_type"] == "LOOP_OVER" and task["_status"] == "COMPLETED":
            return dict(task, _output=self._task_output(run, task, pending))
        return task

    def _task_output(
        self, run: dict[str, Any], task: dict[str, Any], pending: tuple[dict[str, Any], ...] = ()
    ) -> Any:
        """A task's output; a LOOP_OVER's is assembled from its iterations (stored, or about to be)."""
        if task["_type"] != "LOOP_OVER":
            return task.get("_output")
        stored = self.repository.get_loop_tasks(run["_id"], consistent=True, loop_task_id=task["_id"])
        by_id = {t["_id"]: t for t in stored}
        by_id.update({t["_id"]: t for t in pending if t.get("_loopTaskId") == task["_id"]})
        iterations = sorted(by_id.values(), key=lambda t: (t["_loopIndex"], t["_sequenceno"]))
        return runs.loop_output(iterations)

    # ------------------------------------------------------------ sweeper

    def sweep(self) -> int:
        """Looks at every run whose due time has passed; answers how many it changed or re-drove."""
        handled = 0
        for run_id in self.repository.due_run_ids(timestamps.now_ns()):
            if self._sweep_run(run_id):
                handled += 1
        return handled

    def _sweep_run(self, run_id: str) -> bool:
        for _ in range(_WRITE_ATTEMPTS):
            stored = self.repository.get_run(run_id, consistent=True)
            if stored is None:
                return False
            run, meta = copy.deepcopy(stored.run), copy.deepcopy(stored.meta)
            now_ns, now = _now()
            try:
                if run["_status"] not in runs.ACTIVE_STATUSES:
                    self.repository.save_run(stored, run, meta)  # rewriting drops it from the active index
                    return False
                deadline = meta.get("deadlineNs")
                if deadline is not None and now_ns >= deadline:
                    if run.get("_timeoutPolicy") == "ALERT_ONLY":
                        if not meta.get("alerted"):
                            self._alert(run, meta, now)
                            self._save(stored, run, meta)
                            return True
                    else:
                        in_flight = _task_by_id(run, meta["inFlightTaskId"]) if meta.get("claimed") else None
                        current = (meta.get("loop") or {}).get("current") if meta.get("claimed") else None
                        self._save_and_continue(
                            stored,
                            *self._time_out(run, meta, now, current or in_flight),
                            [current] if current else [],
                        )
                        return True
                if meta.get("claimed") and meta.get("leaseNs") is not None and now_ns >= meta["leaseNs"]:
                    target = self._in_flight_target(run, meta)
                    outcome = Outcome(
                        error="no result came back from the worker within the task's timeout; "
                        "the attempt is presumed lost"
                    )
                    iteration = _current_iteration(meta, target)
                    run, meta = self._finish_attempt(run, meta, target, outcome, now_ns)
                    self._save_and_continue(stored, run, meta, [iteration] if iteration else [])
                    return True
                if not meta.get("claimed") and now_ns >= meta.get("scheduledNs", 0) + runs.REDRIVE_AFTER_NS:
                    # The step's message was lost (or the worker died before sending it): send it again.
                    meta["scheduledNs"] = now_ns
                    self._save_and_continue(stored, run, meta, [])
                    return True
                return False
            except VersionConflict:
                continue
        return False

    def _in_flight_target(self, run: dict[str, Any], meta: dict[str, Any]) -> Target:
        top = _task_by_id(run, meta["inFlightTaskId"])
        loop = meta.get("loop")
        if top["_type"] == "LOOP_OVER" and loop is not None and loop.get("current") is not None:
            items = self._loop_items(run, meta, top)
            return Target(
                task=top, iteration_task=loop["current"], items=items if isinstance(items, list) else []
            )
        return Target(task=top)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _may_name(text: str, name: str) -> bool:
    """Whether expressions in ``text`` may refer to task ``name``; one JMESPath must escape always may."""
    return name in text or '"' in name or "\\" in name


def _current_iteration(meta: dict[str, Any], target: Target) -> dict[str, Any] | None:
    """The stored iteration task the step works on (the dict the attempt's end will update)."""
    if target.iteration_task is None or meta.get("loop") is None:
        return None
    current: dict[str, Any] | None = meta["loop"].get("current")
    return current


def _stamp(run: dict[str, Any]) -> None:
    """Every change stamps the run; changes the service makes on its own are signed by it."""
    run["_updatedAt"] = timestamps.now()
    run["_updatedBy"] = SYSTEM_ACTOR


def _task_timeout(task: dict[str, Any]) -> float:
    return float(task.get("_timeoutSeconds") or DEFAULT_TASK_TIMEOUT_SECONDS)


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    settings = get_settings()
    return Engine(Repository(settings.table_name), TaskQueue(settings.task_queue_url), settings)

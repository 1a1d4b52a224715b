"""What a task type is: the hooks the rest of the service calls, and what they take and answer.

A task type says how its part of a definition is checked, what a step does when the run reaches it,
how it shows in the run's ``_tasks``, and what a retry or a status change does to what it keeps. Most
types are a single call (a leaf: one attempt per step); a type may also keep tasks of its own apart from
the run's ``_tasks`` (a LOOP_OVER's iterations, stored as items of their own) and attempt those one at a
time. ``TaskType`` gives every hook a default that suits a leaf; a type overrides what it does
differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from workflowsvc.errors import BadRequest
from workflowsvc.models.run import RunRecord, TaskDocument

if TYPE_CHECKING:
    from workflowsvc.egress import EgressPolicy


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended. ``permanent``: trying again cannot help (the same inputs fail the same way,
    e.g. an expression that cannot be evaluated), so the task's retries are not used."""

    output: Any = None
    error: str | None = None
    timed_out: bool = False
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Attempt:
    """What one step works on: the top-level task ``task_id``, or a task its type keeps apart
    (``runnable``, e.g. one task of a loop iteration). ``context`` is what the top-level task's type
    needs to go on (e.g. a loop's items); it is worked out again when a step is retried."""

    task_id: str
    runnable: TaskDocument | None = None
    context: Any = None

    @property
    def apart(self) -> bool:
        """The task attempted is kept apart from the run's ``_tasks`` (an item of its own)."""
        return self.runnable is not None


@dataclass(frozen=True)
class Ended:
    """The task ended as soon as the run reached it: completed with ``output``, or failed with ``error``
    (a failure no retry can help)."""

    output: Any = None
    error: str | None = None


class TasksApart(Protocol):
    """Reads a run's tasks kept apart (iteration tasks), of one parent task, or of one of its iterations."""

    def get_iteration_tasks(
        self,
        run_id: str,
        *,
        consistent: bool = False,
        parent_task_id: str | None = None,
        index: int | None = None,
    ) -> list[TaskDocument]: ...


class StepContext(Protocol):
    """What a step's rules may ask for while deciding on a task."""

    @property
    def now_ns(self) -> int: ...

    @property
    def tasks_apart(self) -> TasksApart: ...

    def resolve(self, value: Any) -> Any:
        """``value`` with its ``${...}`` expressions evaluated over the run (ExpressionError if one fails)."""
        ...


@dataclass(frozen=True)
class CallContext:
    """What an attempt's call may use: the egress policy, and how long it may take at most."""

    policy: EgressPolicy
    timeout_cap: float


class DefinedTask(Protocol):
    """A task of a definition, as the request model reads it (``models.api.TaskDefinition``)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def tasks(self) -> Sequence[DefinedTask] | None: ...


# How a type checks the tasks nested in one of its tasks: (tasks, where they are, the enclosing type).
CheckNested = Callable[[Sequence[DefinedTask], str, str], None]


def definition_error(message: str) -> BadRequest:
    return BadRequest(message, code="INVALID_DEFINITION")


class TaskType:
    """A task type; the defaults are those of a leaf (a single call per attempt, nothing kept apart)."""

    name: str = ""
    keeps_tasks_apart = False  # whether a run's view and retries must read this type's tasks kept apart

    # ------------------------------------------------------------ definitions

    def check(self, task: DefinedTask, where: str, inside: str | None, check_nested: CheckNested) -> None:
        """Refuse (``definition_error``, naming the field) what this type does not allow in a definition.
        ``inside``: the type of the task this one is nested in, if any."""
        if task.tasks is not None:
            raise definition_error(f"{where}._tasks: a {self.name} task has no nested tasks")

    def schema(self, common: dict[str, Any], nested: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
        """The JSON schema of this type's tasks in a definition (documentation). ``common``: the properties
        every task has; ``nested(name)``: the schemas of the types that may be nested in a ``name`` task."""
        return {
            "type": "object",
            "title": f"{self.name} task",
            "properties": {**common, "_type": {"const": self.name}, "_tasks": {"type": "null"}},
            "required": ["_name", "_type"],
            "additionalProperties": False,
        }

    # ------------------------------------------------------------ steps

    def begin(self, record: RunRecord, task: TaskDocument, context: StepContext) -> Attempt | Ended:
        """The run has reached ``task`` (or come back to it): what the step attempts, or how it ended."""
        return Attempt(task_id=task["_id"])

    def call(self, inputs: dict[str, Any], context: CallContext) -> Outcome:
        """Make the attempt of a leaf task with its evaluated inputs."""
        raise NotImplementedError(f"a {self.name} task makes no call of its own")

    def in_flight(self, record: RunRecord, task: TaskDocument, context: StepContext) -> Attempt:
        """The attempt in flight on ``task`` (for the sweeper, when its worker vanished)."""
        return Attempt(task_id=task["_id"])

    def current(self, record: RunRecord, attempt: Attempt) -> TaskDocument | None:
        """The task kept apart that ``attempt`` works on, as ``record`` has it now."""
        return None

    def attempt_started(self, record: RunRecord, attempt: Attempt, now: str) -> None:
        """An attempt of a task kept apart was claimed."""

    def child_completed(self, record: RunRecord, attempt: Attempt, now: str) -> None:
        """An attempt of a task kept apart completed: go on to the next one, or complete."""

    def child_retrying(self, record: RunRecord, attempt: Attempt, paused: bool) -> None:
        """An attempt of a task kept apart failed and will be tried again."""

    def child_failed(
        self, record: RunRecord, attempt: Attempt, runnable: TaskDocument, error: str, now: str
    ) -> None:
        """A task kept apart failed for good: this task fails with it."""

    def never_started(self, record: RunRecord, task: TaskDocument) -> list[TaskDocument]:
        """Tasks kept apart that will not run now that the run has failed, to be shown SKIPPED."""
        return []

    # ------------------------------------------------------------ expressions and outputs

    def output(
        self, record: RunRecord, task: TaskDocument, tasks_apart: TasksApart, pending: Sequence[TaskDocument]
    ) -> Any:
        """The task's ``_output`` as expressions and the run's output see it. ``pending``: tasks kept
        apart that are about to be stored with the change being decided."""
        return task.get("_output")

    def seen_by_expressions(
        self, record: RunRecord, task: TaskDocument, tasks_apart: TasksApart, pending: Sequence[TaskDocument]
    ) -> TaskDocument:
        """The task as ``${tasks.<name>}`` sees it (a task whose output is assembled shows it assembled)."""
        return task

    def extend_scope(
        self, scope: dict[str, Any], record: RunRecord, attempt: Attempt, tasks_apart: TasksApart
    ) -> None:
        """What an attempt of a task kept apart sees beside the run and its tasks (e.g. ``loop``)."""

    # ------------------------------------------------------------ status changes and views

    def resumed_status(self, record: RunRecord, task: TaskDocument) -> str:
        """What a PAUSED task becomes when the run is resumed."""
        return "QUEUED"

    def status_changed(self, record: RunRecord, task_id: str, requested: str, now: str) -> list[TaskDocument]:
        """The run's status was changed by a user (``PAUSED``, ``RESUMED``, ``RETRIED``, ``TERMINATED``):
        tasks kept apart whose status follows, to be written with the change."""
        return []

    def show(self, task: TaskDocument, tasks_apart: list[TaskDocument], include: bool) -> list[TaskDocument]:
        """The task as the API lists it in ``_tasks``, and the tasks kept apart after it when ``include``."""
        return [task]

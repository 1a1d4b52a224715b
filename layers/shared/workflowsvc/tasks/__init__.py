"""Task types, one module each, found by their ``_type`` here.

Adding a type is one module (a ``TaskType`` subclass, see ``base``) and one line in ``TASK_TYPES``.
"""

from __future__ import annotations

from workflowsvc.tasks import loop_over, rest_connector
from workflowsvc.tasks.base import TaskType

TASK_TYPES: dict[str, TaskType] = {
    task_type.name: task_type
    for task_type in (
        rest_connector.TASK_TYPE,
        loop_over.TASK_TYPE,
    )
}
TASK_TYPE_NAMES: tuple[str, ...] = tuple(TASK_TYPES)


def task_type(name: str) -> TaskType:
    """The type of a task of a stored run or a checked definition (so always one of ``TASK_TYPES``)."""
    return TASK_TYPES[name]


def type_of(task: dict[str, object]) -> TaskType:
    return TASK_TYPES[str(task["_type"])]

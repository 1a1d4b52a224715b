"""Use cases of the API, one module each (so a function imports the one it serves): ``definitions``,
``starting``, ``reading``, ``listing``, ``steering``. Each takes a ``Context``: the store, the queue, the
settings and the clock, built once per process by ``get_context``."""

from __future__ import annotations

from dataclasses import dataclass

from workflowsvc.config import Settings, get_settings, once_per_process
from workflowsvc.store import Store, get_store
from workflowsvc.task_queue import TaskQueue, get_task_queue
from workflowsvc.timestamps import SYSTEM_CLOCK, Clock, clock


@dataclass(frozen=True)
class Context:
    store: Store
    queue: TaskQueue
    settings: Settings
    clock: Clock = SYSTEM_CLOCK


@once_per_process
def get_context() -> Context:
    return Context(store=get_store(), queue=get_task_queue(), settings=get_settings(), clock=clock())

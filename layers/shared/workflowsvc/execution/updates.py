"""The one read-modify-write of a run: read it, decide, write conditionally on the version read, and
on a lost race read again and decide again on what the winner left.

Every change of a run goes through ``update_run``: a user's status change, a worker's claim and record,
the sweeper's look. The decision is made afresh on each read, so no writer ever overwrites what another
wrote: a worker that loses to a user's pause re-decides on the paused run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from workflowsvc.errors import VersionConflict
from workflowsvc.execution.steps import Change
from workflowsvc.models.run import RunRecord
from workflowsvc.store.runs import RunStore

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a lost race is tried again, and how long to wait before each new try: full jitter
    (uniform between 0 and an exponential ceiling), so that writers that collided do not collide again."""

    attempts: int = 5
    base_delay_s: float = 0.005
    max_delay_s: float = 0.1

    def delay_s(self, retry: int) -> float:
        ceiling = min(self.max_delay_s, self.base_delay_s * 2**retry)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


DEFAULT_RETRY_POLICY = RetryPolicy()


class StillConflicting(Exception):
    """The run kept changing between each read and write, for every attempt the policy allows."""

    def __init__(self, run_id: str, attempts: int) -> None:
        super().__init__(f"run {run_id} changed under {attempts} attempts to change it")
        self.run_id = run_id


@dataclass(frozen=True)
class Updated(Generic[T]):
    """What ``update_run`` did: the decision's ``result``, and the run as written (``saved``), or as
    read when the decision changed nothing (``saved`` None)."""

    read: RunRecord
    saved: RunRecord | None
    result: T


def update_run(
    store: RunStore,
    run_id: str,
    decide: Callable[[RunRecord], tuple[Change | None, T]],
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Updated[T] | None:
    """Reads run ``run_id`` (consistently), decides, writes; None when there is no such run.

    ``decide`` answers the change to write (None for none) and a result for the caller; it may raise to
    refuse (e.g. a transition the status does not allow), which ends the update.
    """
    for retry in range(policy.attempts):
        read = store.get(run_id, consistent=True)
        if read is None:
            return None
        change, result = decide(read)
        if change is None:
            return Updated(read=read, saved=None, result=result)
        try:
            saved = store.save(read, change.record, change.iteration_tasks)
        except VersionConflict:
            sleep(policy.delay_s(retry))
            continue
        if change.later_tasks:
            store.put_iteration_tasks(run_id, change.later_tasks)
        return Updated(read=read, saved=saved, result=result)
    raise StillConflicting(run_id, policy.attempts)

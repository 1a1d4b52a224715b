"""Messages on the task queue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StepMessage(BaseModel):
    """Run one step of a run: the attempt the run's ``step`` counter names.

    A message whose step is not the run's current one is stale (a duplicate, or overtaken by a
    pause, terminate or retry) and does nothing.
    """

    model_config = ConfigDict(populate_by_name=True)

    run_id: str = Field(alias="runId", min_length=1)
    step: int = Field(ge=1)
    task_id: str | None = Field(default=None, alias="taskId", description="For people reading the queue.")

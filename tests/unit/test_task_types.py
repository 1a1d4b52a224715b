"""Task types behind the registry: each type checks its part of a definition and shows its tasks."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from workflowsvc import definitions
from workflowsvc.errors import BadRequest
from workflowsvc.models.api import TaskDefinition, WorkflowDefinitionRequest
from workflowsvc.tasks import TASK_TYPE_NAMES, TASK_TYPES, loop_over

NOW = 1_771_900_342_148_605_220


def test_the_registry_names_each_type_by_its_own_name_and_the_models_accept_exactly_those():
    assert TASK_TYPE_NAMES == ("REST_CONNECTOR", "LOOP_OVER")
    assert all(task_type.name == name for name, task_type in TASK_TYPES.items())
    for name in TASK_TYPE_NAMES:
        assert TaskDefinition.model_validate({"_name": "t", "_type": name}).type == name
    with pytest.raises(ValidationError, match="SOAP_CONNECTOR"):
        TaskDefinition.model_validate({"_name": "t", "_type": "SOAP_CONNECTOR"})


def test_the_documented_task_shape_has_one_schema_per_type():
    schema = WorkflowDefinitionRequest.model_json_schema()
    task_schema = schema["$defs"]["TaskDefinition"]
    assert [kind["properties"]["_type"]["const"] for kind in task_schema["oneOf"]] == list(TASK_TYPE_NAMES)


def _definition(*tasks: dict[str, object]) -> WorkflowDefinitionRequest:
    return WorkflowDefinitionRequest.model_validate({"_name": "d", "_tasks": list(tasks)})


@pytest.mark.parametrize(
    ("task", "field"),
    [
        (
            {
                "_name": "call",
                "_type": "REST_CONNECTOR",
                "_tasks": [{"_name": "x", "_type": "REST_CONNECTOR"}],
            },
            "_tasks[0]._tasks",
        ),
        ({"_name": "each", "_type": "LOOP_OVER"}, "_tasks[0]._tasks"),
        (
            {
                "_name": "outer",
                "_type": "LOOP_OVER",
                "_tasks": [
                    {
                        "_name": "inner",
                        "_type": "LOOP_OVER",
                        "_tasks": [{"_name": "x", "_type": "REST_CONNECTOR"}],
                    }
                ],
            },
            "_tasks[0]._tasks[0]._type",
        ),
    ],
    ids=["rest-connector-with-nested-tasks", "loop-without-tasks", "loop-in-a-loop"],
)
def test_each_type_refuses_what_it_does_not_allow_naming_the_field(task, field):
    with pytest.raises(BadRequest) as refused:
        definitions.new_definition(_definition(task), ("ns",), "subject", NOW)
    assert refused.value.message.startswith(f"{field}:")
    assert refused.value.code == "INVALID_DEFINITION"


def test_loop_output_lists_the_last_output_of_each_completed_iteration():
    iterations = [
        {"_loopIndex": 0, "_sequenceno": 3, "_status": "COMPLETED", "_output": "a0"},
        {"_loopIndex": 0, "_sequenceno": 4, "_status": "COMPLETED", "_output": "a1"},
        {"_loopIndex": 1, "_sequenceno": 5, "_status": "COMPLETED", "_output": "b0"},
        {"_loopIndex": 1, "_sequenceno": 6, "_status": "COMPLETED", "_output": "b1"},
        {"_loopIndex": 2, "_sequenceno": 7, "_status": "FAILED"},
    ]
    assert loop_over.loop_output(iterations) == ["a1", "b1"]


def test_a_loop_shows_its_output_and_its_iterations_only_on_request():
    loop_task = {"_id": "loop-1", "_name": "each", "_type": "LOOP_OVER", "_status": "COMPLETED"}
    later = {
        "_id": "i-2",
        "_loopTaskId": "loop-1",
        "_loopIndex": 1,
        "_sequenceno": 4,
        "_status": "COMPLETED",
        "_output": 2,
    }
    earlier = {
        "_id": "i-1",
        "_loopTaskId": "loop-1",
        "_loopIndex": 0,
        "_sequenceno": 3,
        "_status": "COMPLETED",
        "_output": 1,
    }
    other = {"_id": "i-9", "_loopTaskId": "loop-2", "_loopIndex": 0, "_sequenceno": 9, "_status": "COMPLETED"}

    hidden = loop_over.TASK_TYPE.show(loop_task, [later, other, earlier], include=False)
    shown = loop_over.TASK_TYPE.show(loop_task, [later, other, earlier], include=True)

    assert hidden == [dict(loop_task, _output=[1, 2])]
    assert shown == [dict(loop_task, _output=[1, 2]), earlier, later]
    assert "_output" not in loop_task  # the stored task is left as it is

"""The template's tables, queues, function environments and routes, read from template.yaml itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localrun import aws_resources
from localrun.aws_resources import Intrinsic, Template

# --------------------------------------------------------------------------------------------- loading


def test_short_tags_are_kept_as_intrinsics(template: Template) -> None:
    # Given
    table_ref = template.document["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"]
    redrive = template.properties("TaskQueue")["RedrivePolicy"]

    # Then
    assert table_ref == Intrinsic("Ref", "WorkflowTable")
    assert redrive["deadLetterTargetArn"] == Intrinsic("Fn::GetAtt", ["TaskDeadLetterQueue", "Arn"])


def test_a_document_without_resources_is_refused(tmp_path: Any) -> None:
    # Given
    path = tmp_path / "template.yaml"
    path.write_text("Parameters: {}\n")

    # Then
    with pytest.raises(aws_resources.TemplateError):
        aws_resources.load_template(path)


# --------------------------------------------------------------------------------------------- resources


def test_the_table_is_created_as_the_template_declares_it(
    template: Template, aws_stack: aws_resources.Resources, dynamodb_client: Any
) -> None:
    # Given
    declared = template.properties("WorkflowTable")

    # When
    table = dynamodb_client.describe_table(TableName=aws_stack["WorkflowTable"])["Table"]
    ttl = dynamodb_client.describe_time_to_live(TableName=aws_stack["WorkflowTable"])

    # Then
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(declared["AttributeDefinitions"], key=str)
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {index["IndexName"] for index in declared["GlobalSecondaryIndexes"]}
    for index in declared["GlobalSecondaryIndexes"]:
        assert indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert indexes[index["IndexName"]]["Projection"] == index["Projection"]
    assert (
        ttl["TimeToLiveDescription"]["AttributeName"] == declared["TimeToLiveSpecification"]["AttributeName"]
    )
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"


def test_the_queues_are_created_with_their_attributes_and_redrive(
    template: Template, aws_stack: aws_resources.Resources, sqs_client: Any
) -> None:
    # Given
    declared = template.properties("TaskQueue")

    # When
    queue = sqs_client.get_queue_attributes(QueueUrl=aws_stack["TaskQueue"], AttributeNames=["All"])[
        "Attributes"
    ]
    dead_letter = sqs_client.get_queue_attributes(
        QueueUrl=aws_stack["TaskDeadLetterQueue"], AttributeNames=["All"]
    )["Attributes"]

    # Then
    assert queue["VisibilityTimeout"] == str(declared["VisibilityTimeout"])
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dead_letter["QueueArn"] == aws_stack.arn("TaskDeadLetterQueue")
    assert int(redrive["maxReceiveCount"]) == declared["RedrivePolicy"]["maxReceiveCount"]
    assert dead_letter["MessageRetentionPeriod"] == str(
        template.properties("TaskDeadLetterQueue")["MessageRetentionPeriod"]
    )


def test_every_table_and_queue_is_returned_by_logical_id(
    template: Template, aws_stack: aws_resources.Resources
) -> None:
    # Then
    assert set(aws_stack.tables) == set(template.logical_ids(aws_resources.TABLE_TYPE))
    assert set(aws_stack.queues) == set(template.logical_ids(aws_resources.QUEUE_TYPE))
    assert all(url.startswith("http") for url in aws_stack.queues.values())
    assert dict(aws_stack) == {**aws_stack.tables, **aws_stack.queues}


def test_a_dead_letter_queue_is_created_before_the_queue_naming_it(tmp_path: Any) -> None:
    # Given: the queue comes first in the template
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  Main:\n"
        "    Type: AWS::SQS::Queue\n"
        "    Properties:\n"
        "      RedrivePolicy: {deadLetterTargetArn: !GetAtt Dead.Arn, maxReceiveCount: 3}\n"
        "  Dead:\n"
        "    Type: AWS::SQS::Queue\n"
    )
    created: list[str] = []

    class RecordingSqs:
        def create_queue(self, QueueName: str, Attributes: dict[str, str]) -> dict[str, str]:
            created.append(QueueName)
            return {"QueueUrl": f"http://queue/{QueueName}"}

        def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
            return {
                "Attributes": {"QueueArn": f"arn:aws:sqs:us-east-1:123456789012:{QueueUrl.rsplit('/', 1)[1]}"}
            }

    # When
    resources = aws_resources.create_resources(aws_resources.load_template(path), None, RecordingSqs())

    # Then
    assert created == ["workflowsvc-local-Dead", "workflowsvc-local-Main"]
    assert resources.arn("Dead").endswith(":workflowsvc-local-Dead")


# --------------------------------------------------------------------------------------------- functions


def test_a_function_environment_merges_globals_and_resolves_references(
    template: Template, aws_stack: aws_resources.Resources
) -> None:
    # When
    environment = template.function_environment(
        "ListWorkflowsFunction", aws_stack, overrides={"WORKFLOWSVC_ENVIRONMENT": "local"}
    )

    # Then
    assert environment["TABLE_NAME"] == aws_stack["WorkflowTable"]
    assert environment["TASK_QUEUE_URL"] == aws_stack["TaskQueue"]
    assert environment["NAMESPACES_CLAIM"] == template.parameters["NamespacesClaim"]["Default"]
    assert environment["POWERTOOLS_LOG_LEVEL"] == template.parameters["LogLevel"]["Default"]
    assert environment["PAGE_TOKEN_SECRET"] == aws_resources.LOCAL_SECRET_VALUE
    assert environment["WORKFLOWSVC_ENVIRONMENT"] == "local"
    assert all(isinstance(value, str) for value in environment.values())


def test_a_function_gets_only_its_own_variables_beside_the_globals(
    template: Template, aws_stack: aws_resources.Resources
) -> None:
    # When
    environment = template.function_environment("GetWorkflowFunction", aws_stack)

    # Then
    assert "PAGE_TOKEN_SECRET" not in environment
    assert environment["WORKFLOWSVC_ENVIRONMENT"] == "deployed"  # the template's own value, no override


def test_parameter_values_override_defaults(template: Template, aws_stack: aws_resources.Resources) -> None:
    # When
    environment = template.function_environment(
        "TaskWorkerFunction", aws_stack, parameter_values={"RestConnectorAllowedNetworks": "10.0.0.0/8"}
    )

    # Then
    assert environment["REST_CONNECTOR_ALLOWED_NETWORKS"] == "10.0.0.0/8"


def test_the_routes_are_the_templates_http_api_events(template: Template) -> None:
    # When
    routes = {(route.method, route.path): route for route in template.http_routes()}

    # Then
    assert set(routes) == {
        ("GET", "/workflowsvc/api/v1/workflows"),
        ("POST", "/workflowsvc/api/v1/workflows"),
        ("GET", "/workflowsvc/api/v1/workflows/{workflowId}"),
        ("PUT", "/workflowsvc/api/v1/workflows/{workflowId}/status"),
        ("POST", "/workflowsvc/api/v1/workflowdefs"),
        ("GET", "/workflowsvc/api/v1/workflowdefs"),
        ("GET", "/workflowsvc/api/v1/workflowdefs/{workflowDefId}"),
        ("GET", "/console"),
        ("GET", "/console/{proxy+}"),
    }
    assert {path for (_, path), route in routes.items() if route.public} == {"/console", "/console/{proxy+}"}
    get_workflow = routes[("GET", "/workflowsvc/api/v1/workflows/{workflowId}")]
    assert get_workflow.route_key == "GET /workflowsvc/api/v1/workflows/{workflowId}"
    assert get_workflow.code_uri == "functions/get_workflow/"
    assert get_workflow.handler == "app.lambda_handler"
    assert get_workflow.function.module_name == "functions.get_workflow.app"
    assert (
        get_workflow.function.module_path == aws_resources.REPO_ROOT / "functions" / "get_workflow" / "app.py"
    )


def test_the_worker_and_the_sweeper_triggers(template: Template) -> None:
    # When
    (queue_trigger,) = template.queue_triggers()
    (schedule,) = template.schedules()

    # Then
    assert queue_trigger.function.logical_id == "TaskWorkerFunction"
    assert queue_trigger.queue_logical_id == "TaskQueue"
    assert queue_trigger.report_batch_item_failures
    assert schedule.function.logical_id == "SweeperFunction"
    assert schedule.interval_seconds == aws_resources.schedule_interval_seconds(schedule.expression)
    assert template.layer_dirs(schedule.function) == [aws_resources.REPO_ROOT / "layers" / "shared"]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("cron(0 * * * ? *)", 60)],
)
def test_schedule_intervals(expression: str, seconds: float) -> None:
    assert aws_resources.schedule_interval_seconds(expression) == seconds


def test_the_lambda_context_counts_down(template: Template) -> None:
    # Given
    context = aws_resources.LambdaContext.for_function(template.function("SweeperFunction"))

    # Then
    assert context.function_name == "workflowsvc-local-SweeperFunction"
    assert context.invoked_function_arn.endswith(":function:workflowsvc-local-SweeperFunction")
    assert 0 < context.get_remaining_time_in_millis() <= template.function("SweeperFunction").timeout * 1000

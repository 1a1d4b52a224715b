"""The SAM template, read as data: its tables and queues made real in any DynamoDB / SQS endpoint.

Everything comes from ``template.yaml`` itself (keys, indexes, TTL, queue attributes and redrive, function
environments, HTTP routes, queue and schedule triggers), so that the template stays the only place the
schema is written. Works with any boto3 client: moto in-process (``mock_aws``) or moto's server.

    template = load_template()
    resources = create_resources(template, dynamodb_client, sqs_client)
    resources["WorkflowTable"]      # the table name (what !Ref gives)
    resources["TaskQueue"]          # the queue URL
    env = template.function_environment("ListWorkflowsFunction", resources)
    template.http_routes()          # [HttpRoute(method="GET", path="/workflowsvc/api/v1/workflows", ...)]
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

DEFAULT_STACK_NAME = "workflowsvc-local"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
# Stands in for every {{resolve:...}} dynamic reference (the page-token signing key). Local only.
LOCAL_SECRET_VALUE = "local-only-secret-never-deployed"  # noqa: S105 - a stand-in, not a secret

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_TYPE = "AWS::Serverless::LayerVersion"

_DYNAMIC_REFERENCE = re.compile(r"\{\{resolve:.*?\}\}")
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")


class TemplateError(ValueError):
    """The template uses something this module cannot turn into a local resource or value."""


# ----------------------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Intrinsic:
    """A CloudFormation intrinsic function as written: ``!Ref X`` is ``Intrinsic("Ref", "X")``,
    ``!GetAtt X.Arn`` is ``Intrinsic("Fn::GetAtt", ["X", "Arn"])``,
    ``!Sub "..."`` is ``Intrinsic("Fn::Sub", "...")``.
    """

    name: str
    value: Any


class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A YAML loader that keeps CloudFormation short tags (``!Ref``, ``!GetAtt``...) as ``Intrinsic``."""


def _construct_intrinsic(loader: TemplateLoader, suffix: str, node: yaml.Node) -> Intrinsic:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if name == "Fn::GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return Intrinsic(name, value)


TemplateLoader.add_multi_constructor("!", _construct_intrinsic)


def _as_intrinsic(value: Any) -> Intrinsic | None:
    """The long form too: ``{"Ref": "X"}`` and ``{"Fn::GetAtt": ["X", "Arn"]}``."""
    if isinstance(value, Intrinsic):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (key, inner), *_ = value.items()
        if key == "Ref" or key.startswith("Fn::"):
            if key == "Fn::GetAtt" and isinstance(inner, str):
                inner = inner.split(".", 1)
            return Intrinsic(key, inner)
    return None


def load_template(path: str | Path = TEMPLATE_PATH) -> Template:
    """Parse a SAM / CloudFormation template (YAML or JSON)."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=TemplateLoader)  # noqa: S506 - SafeLoader plus inert markers
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise TemplateError(f"{path}: not a template (no Resources)")
    return Template(document=document, base_dir=path.resolve().parent)


# ------------------------------------------------------------------------------------------ values


_NO_VALUE = object()


@dataclass
class Resolver:
    """Evaluates intrinsic functions against local values.

    ``refs``: logical id → what ``!Ref`` gives (table name, queue URL);
    ``attributes``: (logical id, attribute) → what ``!GetAtt`` gives;
    parameters resolve to ``parameter_values`` or else their ``Default``;
    ``{{resolve:...}}`` dynamic references become ``dynamic_reference_value``.
    """

    template: Template
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[tuple[str, str], Any] = field(default_factory=dict)
    parameter_values: Mapping[str, Any] = field(default_factory=dict)
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    dynamic_reference_value: str = LOCAL_SECRET_VALUE

    def resolve(self, value: Any) -> Any:
        intrinsic = _as_intrinsic(value)
        if intrinsic is not None:
            return self._intrinsic(intrinsic)
        if isinstance(value, dict):
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not _NO_VALUE]
        if isinstance(value, str):
            return _DYNAMIC_REFERENCE.sub(lambda _m: self.dynamic_reference_value, value)
        return value

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/"
                "00000000-0000-0000-0000-000000000000"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        parameters = self.template.parameters
        if name in parameters:
            declared = parameters[name]
            value = self.parameter_values.get(name, declared.get("Default"))
            if value is None:
                raise TemplateError(f"parameter {name} has no Default and no value was given")
            if str(declared.get("Type", "")).startswith(("CommaDelimitedList", "List<")) and isinstance(
                value, str
            ):
                return [part.strip() for part in value.split(",")] if value else []
            return value
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"!Ref {name}: not a parameter, nor a resource created locally")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"!GetAtt {logical_id}.{attribute}: not available locally") from None

    def _intrinsic(self, intrinsic: Intrinsic) -> Any:
        name, value = intrinsic.name, intrinsic.value
        if name == "Ref":
            return self.ref(str(self.resolve(value)))
        if name == "Fn::GetAtt":
            logical_id, attribute = (self.resolve(part) for part in value)
            return self.get_att(str(logical_id), str(attribute))
        if name == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))
            # A dynamic reference is resolved whole, with the ${...} it may contain.
            text = _DYNAMIC_REFERENCE.sub(lambda _m: self.dynamic_reference_value, text)
            return _SUB_VARIABLE.sub(lambda match: self._sub_variable(match, variables), text)
        if name == "Fn::Join":
            delimiter, items = value
            return str(delimiter).join(_to_text(item) for item in self.resolve(items))
        if name == "Fn::Select":
            index, items = self.resolve(value)
            return items[int(index)]
        if name == "Fn::Split":
            delimiter, text = self.resolve(value)
            return str(text).split(str(delimiter))
        raise TemplateError(f"{name} is not supported locally")

    def _sub_variable(self, match: re.Match[str], variables: Mapping[str, Any]) -> str:
        expression = match.group(1)
        if expression.startswith("!"):
            return "${" + expression[1:] + "}"  # ${!Literal} stays literal
        if expression in variables:
            return _to_text(variables[expression])
        if "." in expression and not expression.startswith("AWS::"):
            logical_id, attribute = expression.split(".", 1)
            return _to_text(self.get_att(logical_id, attribute))
        return _to_text(self.ref(expression))


def _to_text(value: Any) -> str:
    """A value as an environment variable or a queue attribute holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_to_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with the template's ``Globals`` applied."""

    logical_id: str
    properties: Mapping[str, Any]
    base_dir: Path

    @property
    def code_uri(self) -> str:
        return str(self.properties["CodeUri"])

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def code_dir(self) -> Path:
        return (self.base_dir / self.code_uri).resolve()

    @property
    def handler_module(self) -> str:
        """``app`` for ``Handler: app.lambda_handler``."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def module_path(self) -> Path:
        return self.code_dir / (self.handler_module.replace(".", "/") + ".py")

    @property
    def module_name(self) -> str:
        """A distinct import name per function: ``functions.list_workflows.app``."""
        relative = (
            self.code_dir.relative_to(self.base_dir) if self.code_dir.is_relative_to(self.base_dir) else None
        )
        parts = relative.parts if relative is not None else (self.code_dir.name,)
        return ".".join((*parts, self.handler_module))

    @property
    def timeout(self) -> int:
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_size(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def events(self) -> Mapping[str, Any]:
        events = self.properties.get("Events") or {}
        return events if isinstance(events, dict) else {}

    def physical_name(self, stack_name: str = DEFAULT_STACK_NAME) -> str:
        return f"{stack_name}-{self.logical_id}"[:64]


@dataclass(frozen=True)
class HttpRoute:
    """An ``HttpApi`` event of a function: ``GET /workflowsvc/api/v1/workflows/{workflowId}``."""

    method: str
    path: str
    function: FunctionSpec

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def code_uri(self) -> str:
        return self.function.code_uri

    @property
    def handler(self) -> str:
        return self.function.handler

    @property
    def public(self) -> bool:
        """The event sets ``Auth: {Authorizer: NONE}``: API Gateway passes anyone, with no claims."""
        for event in self.function.events.values():
            properties = event.get("Properties") or {}
            if (
                event.get("Type") == "HttpApi"
                and str(properties.get("Method", "ANY")).upper() == self.method
                and str(properties.get("Path", "/{proxy+}")) == self.path
            ):
                return str((properties.get("Auth") or {}).get("Authorizer")) == "NONE"
        return False


@dataclass(frozen=True)
class QueueTrigger:
    """An ``SQS`` event of a function: the queue it polls and how."""

    function: FunctionSpec
    queue_logical_id: str
    batch_size: int
    report_batch_item_failures: bool
    maximum_batching_window_seconds: int


@dataclass(frozen=True)
class ScheduleTrigger:
    """A ``Schedule`` event of a function, e.g. ``rate(1 minute)``."""

    function: FunctionSpec
    event_name: str
    expression: str
    enabled: bool
    input: str | None

    @property
    def interval_seconds(self) -> float:
        return schedule_interval_seconds(self.expression)


def schedule_interval_seconds(expression: str) -> float:
    """The period of a ``rate(...)`` expression; a ``cron(...)`` expression counts as once a minute."""
    match = _RATE.match(expression.strip())
    if match is None:
        if expression.strip().startswith("cron("):
            return 60.0
        raise TemplateError(f"schedule {expression!r}: not a rate(...) or cron(...) expression")
    amount, unit = int(match.group(1)), match.group(2).rstrip("s")
    return float(amount * {"minute": 60, "hour": 3600, "day": 86400}[unit])


# ---------------------------------------------------------------------------------------- template


@dataclass(frozen=True)
class Template:
    document: Mapping[str, Any]
    base_dir: Path

    @property
    def resources(self) -> Mapping[str, Any]:
        return self.document["Resources"]  # type: ignore[no-any-return]

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.document.get("Parameters") or {}

    @property
    def function_globals(self) -> Mapping[str, Any]:
        return (self.document.get("Globals") or {}).get("Function") or {}

    def logical_ids(self, resource_type: str) -> list[str]:
        return [name for name, resource in self.resources.items() if resource.get("Type") == resource_type]

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return self.resources[logical_id].get("Properties") or {}

    # ------------------------------------------------------------------ functions

    def function(self, logical_id: str) -> FunctionSpec:
        if self.resources.get(logical_id, {}).get("Type") != FUNCTION_TYPE:
            raise TemplateError(f"{logical_id}: not an {FUNCTION_TYPE}")
        return FunctionSpec(
            logical_id, _apply_globals(self.function_globals, self.properties(logical_id)), self.base_dir
        )

    def functions(self) -> list[FunctionSpec]:
        return [self.function(name) for name in self.logical_ids(FUNCTION_TYPE)]

    def layer_dirs(self, function: FunctionSpec) -> list[Path]:
        """The local folders of the function's ``AWS::Serverless::LayerVersion`` layers (/opt/python)."""
        dirs = []
        for layer in function.properties.get("Layers") or []:
            intrinsic = _as_intrinsic(layer)
            if intrinsic is None or intrinsic.name != "Ref":
                continue
            resource = self.resources.get(str(intrinsic.value), {})
            if resource.get("Type") == LAYER_TYPE:
                dirs.append((self.base_dir / str(resource["Properties"]["ContentUri"])).resolve())
        return dirs

    def http_routes(self) -> list[HttpRoute]:
        """Every ``HttpApi`` event: (method, path template, the function with its CodeUri and Handler)."""
        routes = []
        for function in self.functions():
            for event in function.events.values():
                if event.get("Type") != "HttpApi":
                    continue
                properties = event.get("Properties") or {}
                method = str(properties.get("Method", "ANY")).upper()
                routes.append(
                    HttpRoute(method=method, path=str(properties.get("Path", "/{proxy+}")), function=function)
                )
        return routes

    def queue_triggers(self) -> list[QueueTrigger]:
        triggers = []
        for function in self.functions():
            for event in function.events.values():
                if event.get("Type") != "SQS":
                    continue
                properties = event.get("Properties") or {}
                queue = _as_intrinsic(properties.get("Queue"))
                if queue is None or queue.name != "Fn::GetAtt":
                    raise TemplateError(f"{function.logical_id}: SQS event Queue must be !GetAtt <Queue>.Arn")
                triggers.append(
                    QueueTrigger(
                        function=function,
                        queue_logical_id=str(queue.value[0]),
                        batch_size=int(properties.get("BatchSize", 10)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (properties.get("FunctionResponseTypes") or []),
                        maximum_batching_window_seconds=int(
                            properties.get("MaximumBatchingWindowInSeconds", 0)
                        ),
                    )
                )
        return triggers

    def schedules(self) -> list[ScheduleTrigger]:
        triggers = []
        for function in self.functions():
            for event_name, event in function.events.items():
                if event.get("Type") not in ("Schedule", "ScheduleV2"):
                    continue
                properties = event.get("Properties") or {}
                expression = properties.get("Schedule") or properties.get("ScheduleExpression")
                enabled = properties.get("Enabled", properties.get("State", "ENABLED") != "DISABLED")
                triggers.append(
                    ScheduleTrigger(
                        function=function,
                        event_name=event_name,
                        expression=str(expression),
                        enabled=bool(enabled),
                        input=properties.get("Input"),
                    )
                )
        return triggers

    def function_environment(
        self,
        logical_id: str,
        resources: Mapping[str, str],
        *,
        overrides: Mapping[str, str] | None = None,
        parameter_values: Mapping[str, Any] | None = None,
        dynamic_reference_value: str = LOCAL_SECRET_VALUE,
        region: str = LOCAL_REGION,
        account_id: str = LOCAL_ACCOUNT_ID,
        stack_name: str = DEFAULT_STACK_NAME,
    ) -> dict[str, str]:
        """The environment variables the function gets: ``Globals`` merged with its own, every ``!Ref``
        resolved (a resource to its local physical id, a parameter to its default), ``{{resolve:...}}``
        replaced by a local value, then ``overrides`` applied (e.g. ``{"WORKFLOWSVC_ENVIRONMENT": "local"}``).
        """
        function = self.function(logical_id)
        variables = (function.properties.get("Environment") or {}).get("Variables") or {}
        resolver = Resolver(
            template=self,
            refs=resources,
            attributes=getattr(resources, "attributes", {}),
            parameter_values=parameter_values or {},
            region=region,
            account_id=account_id,
            stack_name=stack_name,
            dynamic_reference_value=dynamic_reference_value,
        )
        environment = {name: _to_text(value) for name, value in resolver.resolve(dict(variables)).items()}
        environment.update(overrides or {})
        return environment


def _apply_globals(globals_: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """SAM's rules: maps merge (the function's keys win), lists concatenate, scalars are replaced."""
    merged: dict[str, Any] = dict(globals_)
    for key, value in properties.items():
        base = merged.get(key)
        if isinstance(base, dict) and isinstance(value, dict):
            merged[key] = _apply_globals(base, value)
        elif isinstance(base, list) and isinstance(value, list):
            merged[key] = [*base, *value]
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------------------- resources


@dataclass
class Resources(Mapping[str, str]):
    """What ``create_resources`` made: logical id → what ``!Ref`` gives (a table name, a queue URL).

    ``attributes`` holds what ``!GetAtt`` gives, e.g. ``("TaskQueue", "Arn")``;
    ``types`` each resource's type.
    """

    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, logical_id: str) -> str:
        return self.refs[logical_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.refs)

    def __len__(self) -> int:
        return len(self.refs)

    @property
    def tables(self) -> dict[str, str]:
        """Logical id → table name."""
        return {name: ref for name, ref in self.refs.items() if self.types[name] == TABLE_TYPE}

    @property
    def queues(self) -> dict[str, str]:
        """Logical id → queue URL."""
        return {name: ref for name, ref in self.refs.items() if self.types[name] == QUEUE_TYPE}

    def arn(self, logical_id: str) -> str:
        return self.attributes[(logical_id, "Arn")]


_TABLE_PROPERTIES = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)
_INDEX_PROPERTIES = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def create_table_request(properties: Mapping[str, Any], table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments from an ``AWS::DynamoDB::Table``'s (resolved) properties."""
    request: dict[str, Any] = {"TableName": properties.get("TableName", table_name)}
    request.update({key: properties[key] for key in _TABLE_PROPERTIES if key in properties})
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if properties.get(kind):
            request[kind] = [
                {key: index[key] for key in _INDEX_PROPERTIES if key in index} for index in properties[kind]
            ]
    stream = properties.get("StreamSpecification")
    if stream and stream.get("StreamViewType"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {
            key: value
            for key, value in {
                "Enabled": sse.get("SSEEnabled"),
                "SSEType": sse.get("SSEType"),
                "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
            }.items()
            if value is not None
        }
    return request


def queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """``CreateQueue`` attributes (all strings) from an ``AWS::SQS::Queue``'s (resolved) properties."""
    return {key: _to_text(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}


def create_resources(
    template: Template,
    dynamodb: Any,
    sqs: Any,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    parameter_values: Mapping[str, Any] | None = None,
    region: str = LOCAL_REGION,
    account_id: str = LOCAL_ACCOUNT_ID,
) -> Resources:
    """Create every ``AWS::DynamoDB::Table`` and ``AWS::SQS::Queue`` of the template with the given boto3
    clients, in dependency order (a dead-letter queue before the queue whose ``RedrivePolicy`` names it).

    Physical names are ``<stack_name>-<LogicalId>`` unless the template names the resource.
    """
    resources = Resources()
    resolver = Resolver(
        template=template,
        refs=resources.refs,
        attributes=resources.attributes,
        parameter_values=parameter_values or {},
        region=region,
        account_id=account_id,
        stack_name=stack_name,
    )
    wanted = {
        name: template.resources[name]["Type"]
        for name in (*template.logical_ids(TABLE_TYPE), *template.logical_ids(QUEUE_TYPE))
    }
    for logical_id in _dependency_order(template, list(wanted)):
        properties = resolver.resolve(dict(template.properties(logical_id)))
        physical_name = f"{stack_name}-{logical_id}"
        if wanted[logical_id] == TABLE_TYPE:
            _create_table(dynamodb, logical_id, properties, physical_name, resources)
        else:
            _create_queue(sqs, logical_id, properties, physical_name, resources)
    return resources


def _create_table(
    dynamodb: Any, logical_id: str, properties: Mapping[str, Any], physical_name: str, resources: Resources
) -> None:
    request = create_table_request(properties, physical_name)
    description = dynamodb.create_table(**request)["TableDescription"]
    table_name = description["TableName"]
    dynamodb.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    recovery = properties.get("PointInTimeRecoverySpecification")
    if recovery and recovery.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    resources.refs[logical_id] = table_name
    resources.types[logical_id] = TABLE_TYPE
    resources.attributes[(logical_id, "Arn")] = description["TableArn"]
    if description.get("LatestStreamArn"):
        resources.attributes[(logical_id, "StreamArn")] = description["LatestStreamArn"]


def _create_queue(
    sqs: Any, logical_id: str, properties: Mapping[str, Any], physical_name: str, resources: Resources
) -> None:
    attributes = queue_attributes(properties)
    name = properties.get("QueueName") or (
        f"{physical_name}.fifo" if attributes.get("FifoQueue") == "true" else physical_name
    )
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resources.refs[logical_id] = url
    resources.types[logical_id] = QUEUE_TYPE
    resources.attributes.update(
        {(logical_id, "Arn"): arn, (logical_id, "QueueName"): name, (logical_id, "QueueUrl"): url}
    )


def _references(value: Any) -> set[str]:
    """Logical ids named by ``!Ref``, ``!GetAtt`` and ``!Sub`` anywhere in ``value``."""
    intrinsic = _as_intrinsic(value)
    if intrinsic is not None:
        if intrinsic.name == "Ref" and isinstance(intrinsic.value, str):
            return {intrinsic.value}
        if intrinsic.name == "Fn::GetAtt":
            return {str(intrinsic.value[0])}
        if intrinsic.name == "Fn::Sub":
            text = intrinsic.value if isinstance(intrinsic.value, str) else intrinsic.value[0]
            names = {
                match.split(".", 1)[0] for match in _SUB_VARIABLE.findall(text) if not match.startswith("!")
            }
            return names | (_references(intrinsic.value[1]) if isinstance(intrinsic.value, list) else set())
        return _references(intrinsic.value)
    if isinstance(value, dict):
        return set().union(*(_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    return set()


def _dependency_order(template: Template, logical_ids: list[str]) -> list[str]:
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise TemplateError(f"{name}: circular reference")
        visiting.add(name)
        depends_on = template.resources[name].get("DependsOn") or []
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        for dependency in sorted(_references(template.properties(name)) | set(depends_on)):
            if dependency in logical_ids:
                visit(dependency)
        visiting.discard(name)
        ordered.append(name)

    for name in logical_ids:
        visit(name)
    return ordered


# ---------------------------------------------------------------------------------- Lambda context


@dataclass
class LambdaContext:
    """The context object Lambda passes to a handler, with the attributes Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 3.0
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: Any = None
    client_context: Any = None
    started_at: float = field(default_factory=time.monotonic)

    @classmethod
    def for_function(
        cls, function: FunctionSpec, *, stack_name: str = DEFAULT_STACK_NAME, **kwargs: Any
    ) -> LambdaContext:
        return cls(
            function_name=function.physical_name(stack_name),
            memory_limit_in_mb=function.memory_size,
            timeout_seconds=float(function.timeout),
            **kwargs,
        )

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))

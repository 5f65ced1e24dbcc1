"""CloudFormation, as the handler meets it: resolved properties, custom resource events, and the Provider framework.

- ``resolve`` turns a synthesized template's values into what CloudFormation would deliver: intrinsic functions
  evaluated with fake but well-formed values for other resources' Refs and GetAtts;
- ``stringify`` makes every scalar a string, as CloudFormation does with custom resource properties;
- ``Provider`` drives the packaged handler the way aws-cdk-lib's custom resource provider framework does
  (``custom-resources/lib/provider-framework/runtime``: framework.ts, cfn-response.ts): onEvent, then isComplete
  every ``query_interval`` until ``total_timeout``, with the framework's physical ids (its CREATE_FAILED and
  MISSING_PHYSICAL_ID markers), failure texts and response bodies, and each function's timeout enforced as Lambda
  does, on a fake clock so that an hour of waiting takes milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from cfnlint.api import ManualArgs, lint

from cdk_processing.handler import kinds
from emulator import ACCOUNT, REGION

STACK_NAME = "TestStack"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/{uuid.UUID(int=7)}"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": STACK_ID,
}


def _fake_id(logical_id: str, length: int = 17) -> str:
    return hashlib.sha256(logical_id.encode()).hexdigest()[:length]


# Where a WaitConditionHandle's pre-signed URL points: a test sets it to its local HTTP server.
WAIT_HANDLE_BASE = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com"


def physical_id(template: dict[str, Any], logical_id: str) -> str:
    """A well-formed physical id for a resource (what ``Ref`` returns)."""
    kind = template["Resources"][logical_id]["Type"]
    if kind == "AWS::CloudFormation::WaitConditionHandle":
        return f"{WAIT_HANDLE_BASE}/{STACK_ID.replace(':', '%3A')}/{logical_id}?X-Amz-Signature=fake"
    fake = _fake_id(logical_id)
    return {
        "AWS::EC2::Subnet": f"subnet-{fake}",
        "AWS::EC2::SecurityGroup": f"sg-{fake}",
        "AWS::EC2::VPC": f"vpc-{fake}",
        "AWS::EFS::FileSystem": f"fs-{fake}",
        "AWS::FSx::FileSystem": f"fs-{fake}",
        "AWS::KMS::Key": str(uuid.UUID(hex=hashlib.md5(logical_id.encode()).hexdigest())),
        "AWS::S3::Bucket": f"{logical_id.lower()[:40]}-{fake[:8]}",
        "AWS::IAM::Role": f"{STACK_NAME}-{logical_id}"[:64],
    }.get(kind, f"{logical_id}-{fake[:8]}")


def get_att(template: dict[str, Any], logical_id: str, attribute: str, outputs: dict[str, dict[str, str]]) -> str:
    if logical_id in outputs:  # an attribute a custom resource returned earlier in the deployment
        return outputs[logical_id][attribute]
    kind = template["Resources"][logical_id]["Type"]
    ref = physical_id(template, logical_id)
    arns = {
        "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{ref}",
        "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{ref}",
        "AWS::S3::Bucket": f"arn:aws:s3:::{ref}",
        "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{ref}",
    }
    if attribute == "Arn":
        _, service, resource = kind.split("::")
        return arns.get(kind) or f"arn:aws:{service.lower()}:{REGION}:{ACCOUNT}:{resource.lower()}/{ref}"
    if attribute == "GroupId":
        return ref
    if attribute.endswith("Arn"):  # a custom resource's ARN attribute (ProcessingJobArn)
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{ref.lower()}"
    return f"{ref}-{attribute}"


def resolve(value: Any, template: dict[str, Any], outputs: dict[str, dict[str, str]] | None = None) -> Any:
    """Evaluate intrinsic functions in ``value`` as CloudFormation would, with fake ids for other resources."""
    outputs = outputs or {}
    if isinstance(value, list):
        return [resolve(v, template, outputs) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return PSEUDO.get(argument) or physical_id(template, argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return get_att(template, logical_id, attribute, outputs)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(resolve(p, template, outputs)) for p in parts)
        if function == "Fn::Select":
            index, items = argument
            return resolve(items, template, outputs)[int(index)]
        if function == "Fn::Split":
            separator, text = argument
            return str(resolve(text, template, outputs)).split(separator)
        if function == "Fn::FindInMap":
            name, top, second = (resolve(a, template, outputs) for a in argument)
            return template["Mappings"][name][top][second]
        if function == "Fn::Sub" and isinstance(argument, str):
            return _SUB_VARIABLE.sub(lambda m: _sub_variable(m[1], m[2], template, outputs), argument)
        if function.startswith("Fn::"):
            raise NotImplementedError(f"{function} is not resolved by the test harness")
    return {k: resolve(v, template, outputs) for k, v in value.items()}


# A ``${...}`` of an ``Fn::Sub`` body: ``!`` (escaped: the literal text) and the variable's name.
_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]*)\}")


def _sub_variable(escaped: str, name: str, template: dict[str, Any], outputs: dict[str, dict[str, str]]) -> str:
    """A variable of an ``Fn::Sub`` string: ``${!x}`` is the text ``${x}``, ``${Logical.Attribute}`` an
    ``Fn::GetAtt``, any other name a ``Ref``."""
    if escaped:
        return "${" + name + "}"
    if "." in name and not name.startswith("AWS::"):
        logical_id, attribute = name.split(".", 1)
        return str(resolve({"Fn::GetAtt": [logical_id, attribute]}, template, outputs))
    return str(resolve({"Ref": name}, template, outputs))


# What a job's role may do with its volume key, written out here (not the library's constants): explicit actions only
# (aws-cdk-lib's key grants have kms:GenerateDataKey* and kms:ReEncrypt*), EBS's data keys without plaintext and
# re-encryption, and SageMaker's grant.
VOLUME_KEY_ACTIONS = frozenset(
    {
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:CreateGrant",
        "kms:DescribeKey",
    }
)


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """What IAM ``statements`` (resolved) allow, one (action, resource, condition) per grant, whichever way they are
    grouped into statements: a condition on ``s3:prefix`` (one value per request) by ``StringLike`` or
    ``StringEquals`` split into its values, any of which matches; any other condition whole. Allow statements
    only."""
    out: set[tuple[str, str, str]] = set()
    for s in statements:
        assert s.get("Effect", "Allow") == "Allow", s
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        condition = s.get("Condition")
        atoms = [json.dumps(condition, sort_keys=True)]
        if isinstance(condition, dict) and len(condition) == 1:
            ((operator, keys),) = condition.items()
            if operator in ("StringLike", "StringEquals") and list(keys) == ["s3:prefix"]:
                values = keys["s3:prefix"]
                atoms = [f"{operator} s3:prefix {v}" for v in (values if isinstance(values, list) else [values])]
        out |= {(a, json.dumps(r, sort_keys=True), c) for a in actions for r in resources for c in atoms}
    return out


def role_grants(template: dict[str, Any], role_logical_prefix: str) -> set[tuple[str, str, str]]:
    """What the role of logical id ``<prefix><8 hex>`` may do: the grants (``grants``, resources resolved) of every
    policy of the template attached to it."""
    size = len(role_logical_prefix) + 8
    [role] = [k for k in template["Resources"] if k.startswith(role_logical_prefix) and len(k) == size]
    return grants([s for p in attached_policies(template, role).values() for s in resolve(p["Statement"], template)])


def attached_policies(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """The documents, by logical id, of the template's policies attached to the role of logical id ``role``: by the
    policy's ``Roles`` or by the role's ``ManagedPolicyArns``."""
    by_role = template["Resources"][role]["Properties"].get("ManagedPolicyArns", [])
    return {
        k: r["Properties"]["PolicyDocument"]
        for k, r in template["Resources"].items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and ({"Ref": role} in r["Properties"].get("Roles", []) or {"Ref": k} in by_role)
    }


def attached_to(template: dict[str, Any], policy: str) -> list[str]:
    """The logical ids of the roles the policy of logical id ``policy`` is attached to (``attached_policies``)."""
    return [
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and policy in attached_policies(template, k)
    ]


def library_managed_policy_arns(template: dict[str, Any], role: str) -> list[Any]:
    """The role's ``ManagedPolicyArns`` that are not a reference to a customer managed policy of the template (an AWS
    managed policy, or any ARN): none for a role of the library's."""
    own = [{"Ref": k} for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    return [a for a in template["Resources"][role]["Properties"].get("ManagedPolicyArns", []) if a not in own]


def waits_for(template: dict[str, Any], logical_id: str, other: str) -> bool:
    """Whether CloudFormation creates (and updates) ``logical_id`` only after ``other``: ``other`` is among what it
    depends on, by ``DependsOn`` or by reference (``Ref``, ``Fn::GetAtt``, a ``${...}`` of ``Fn::Sub``), directly or
    through others."""
    resources = template["Resources"]
    seen: set[str] = set()
    todo = [logical_id]
    while todo:
        for needed in sorted(needs(resources[todo.pop()], resources)):
            if needed not in seen:
                seen.add(needed)
                todo.append(needed)
    return other in seen


def needs(resource: dict[str, Any], resources: dict[str, Any]) -> set[str]:
    """The resources of ``resources`` (a template's) that ``resource`` directly depends on: its ``DependsOn`` and
    what it references."""
    depends = resource.get("DependsOn", [])
    return set([depends] if isinstance(depends, str) else depends) | _referenced(resource, resources)


def _referenced(value: Any, resources: dict[str, Any]) -> set[str]:
    """The resources of the template ``value`` references."""
    if isinstance(value, list):
        return set().union(*(_referenced(v, resources) for v in value))
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, argument in value.items():
        if key == "Ref" and argument in resources:
            found.add(argument)
        elif key == "Fn::GetAtt":
            found.add(argument[0] if isinstance(argument, list) else argument.split(".")[0])
        elif key == "Fn::Sub":
            text = argument if isinstance(argument, str) else argument[0]
            found |= {name.split(".")[0] for bang, name in _SUB_VARIABLE.findall(text) if not bang} & set(resources)
            if not isinstance(argument, str):
                found |= _referenced(argument[1], resources)
        else:
            found |= _referenced(argument, resources)
    return found


def cfn_lint(template: dict[str, Any]) -> list[str]:
    """cfn-lint's errors and warnings on ``template`` (in us-east-1), one line each."""
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]


def stringify(value: Any) -> Any:
    """CloudFormation delivers every scalar of a custom resource's properties as a string."""
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def job_resources(template: dict[str, Any], resource_type: str | None = None) -> dict[str, Any]:
    """The template's job custom resources (of ``resource_type``, else of every kind)."""
    types = {resource_type} if resource_type else set(kinds.BY_RESOURCE_TYPE)
    return {k: r for k, r in template["Resources"].items() if r["Type"] in types}


class Delivered(dict):  # type: ignore[type-arg]
    """A resource's properties as delivered, knowing the resource's type (CloudFormation sends it beside them, in
    the event's ``ResourceType``); copies keep it."""

    resource_type: str


def delivered_properties(
    template: dict[str, Any], logical_id: str, outputs: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """A resource's properties as its custom resource handler receives them."""
    resource = template["Resources"][logical_id]
    delivered = Delivered(stringify(resolve(resource["Properties"], template, outputs)))
    delivered.resource_type = resource["Type"]
    return delivered


def event(
    request_type: str,
    logical_id: str,
    properties: dict[str, Any],
    *,
    physical_resource_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
    request_id: str | None = None,
    stack_id: str = STACK_ID,
    resource_type: str | None = None,
) -> dict[str, Any]:
    """A CloudFormation custom resource request, as the Provider framework's onEvent receives it.

    :param resource_type: Default: the type the properties were delivered for (``delivered_properties``), else a
        processing job's.
    """
    resource_type = resource_type or getattr(properties, "resource_type", kinds.PROCESSING.resource_type)
    request: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
        + f"{stack_id.replace(':', '%3A')}%7C{logical_id}%7C{uuid.uuid4()}?X-Amz-Signature=fake",
        "StackId": stack_id,
        "RequestId": request_id or str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    }
    if physical_resource_id is not None:
        request["PhysicalResourceId"] = physical_resource_id
    if old_properties is not None:
        request["OldResourceProperties"] = old_properties
    return request


class LambdaTimeout(BaseException):
    """Lambda ended the invocation at its timeout (nothing in the function can catch it)."""


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.deadlines: list[float] = []  # of the invocations under way, innermost last

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """The handler's sleep: time passes, and an invocation past its timeout is ended there."""
        self.now += seconds
        if self.deadlines and self.now > self.deadlines[-1]:
            raise LambdaTimeout()


CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
MISSING_PHYSICAL_ID_MARKER = "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID"
# What V8 appends to the framework's error (Error.stack, which is the Reason it sends): the frames of its bundle.
_FRAMEWORK_TRACE = "\n".join(
    [
        "    at invokeUserFunction (/var/task/framework.js:1:2287)",
        "    at process.processTicksAndRejections (node:internal/process/task_queues:105:5)",
        "    at async onEvent (/var/task/framework.js:1:365)",
        "    at async Runtime.handler (/var/task/cfn-response.js:1:1826)",
    ]
)
# Lambda function names are at most 64 characters; CloudFormation makes them from the stack name and logical id.
FUNCTION_NAMES = {
    "OnEvent": f"{STACK_NAME}-CdkProcessingJobProviderOnEvent".ljust(51, "X") + "-AbCdEfGhIjKl",
    "IsComplete": f"{STACK_NAME}-CdkProcessingJobProviderIsComplete".ljust(51, "X") + "-MnOpQrStUvWx",
}


@dataclass
class Response:
    """What CloudFormation receives at the ResponseURL."""

    status: str
    physical_resource_id: str
    reason: str = ""
    data: dict[str, str] | None = None
    polls: int = 0

    def body(self, request: dict[str, Any]) -> bytes:
        """The body as cfn-response.ts's submitResponse writes it: JSON.stringify (no spaces, no escaping of
        non-ASCII, undefined members left out), sent as UTF-8."""
        body: dict[str, Any] = {
            "Status": self.status,
            "Reason": self.reason or self.status,
            "StackId": request["StackId"],
            "RequestId": request["RequestId"],
            "PhysicalResourceId": self.physical_resource_id or MISSING_PHYSICAL_ID_MARKER,
            "LogicalResourceId": request["LogicalResourceId"],
        }
        if self.data is not None:
            body["Data"] = self.data
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


class FunctionError(Exception):
    """The framework's invokeUserFunction: the user function failed (raised, or timed out)."""


class Waiter:
    """One request in flight through the framework: onEvent done, isComplete polled every ``query_interval``."""

    def __init__(self, provider: Provider, request: dict[str, Any], started: float) -> None:
        self.provider = provider
        self.request = request
        self.response: Response | None = None
        self.next_poll = started
        self.polls = 0
        self.physical = ""
        self._event: dict[str, Any] = {}
        self._start()

    def _start(self) -> None:
        request = self.request
        if request["RequestType"] == "Delete" and request.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            self.response = Response("SUCCESS", CREATE_FAILED_MARKER)  # safeHandler: the failed create's delete
            return
        try:
            result = self.provider.invoke("OnEvent", self.provider.handler.on_event, request) or {}
        except FunctionError as error:
            # safeHandler: a Create has no physical id yet, so the framework answers with its marker, whose
            # Delete it later ignores.
            physical = request.get("PhysicalResourceId") or (
                CREATE_FAILED_MARKER if request["RequestType"] == "Create" else MISSING_PHYSICAL_ID_MARKER
            )
            self.response = Response("FAILED", physical, str(error))
            return
        # createResponseEvent: the handler's physical id, else the request id (Create) or the request's own.
        default = request["RequestId"] if request["RequestType"] == "Create" else request.get("PhysicalResourceId")
        self.physical = result.get("PhysicalResourceId") or default or ""
        if request["RequestType"] == "Delete" and self.physical != (request.get("PhysicalResourceId") or ""):
            self.response = Response(
                "FAILED",
                request.get("PhysicalResourceId") or MISSING_PHYSICAL_ID_MARKER,
                f"Error: DELETE: cannot change the physical resource ID from "
                f'"{request.get("PhysicalResourceId")}" to "{result.get("PhysicalResourceId")}" during deletion',
            )
            return
        self._event = {**request, **result}
        if self.physical:
            self._event["PhysicalResourceId"] = self.physical

    def poll(self) -> Response | None:
        """One isComplete call (the Step Functions task); the response once the request is finished."""
        if self.response is not None:
            return self.response
        self.polls += 1
        data = self._event.get("Data")
        try:
            outcome = self.provider.invoke("IsComplete", self.provider.handler.is_complete, self._event)
        except FunctionError as error:
            # The failure carries the waiter's event, and so onEvent's Data.
            self.response = Response("FAILED", self.physical, str(error), data=data, polls=self.polls)
            return self.response
        if outcome["IsComplete"]:
            merged = {**(data or {}), **(outcome.get("Data") or {})}
            self.response = Response("SUCCESS", self.physical, data=merged, polls=self.polls)
        elif outcome.get("Data"):
            self.response = Response(
                "FAILED", self.physical, 'Error: "Data" is not allowed if "IsComplete" is "False"', data=data
            )
        elif self.polls > self.provider.max_attempts:
            self.response = Response("FAILED", self.physical, "Operation timed out", data=data, polls=self.polls)
        else:
            self.next_poll += self.provider.query_interval
        return self.response


class Provider:
    """aws-cdk-lib's custom resource provider framework (onEvent + isComplete waiter), over the packaged handler.

    The waiter calls isComplete at once, then every ``query_interval`` seconds, ``total_timeout / query_interval``
    more times at most, and then answers "Operation timed out" (Step Functions Retry, then the onTimeout task).
    Each user function runs within its ``timeouts`` (seconds on the fake clock), as Lambda enforces them.
    """

    def __init__(
        self,
        handler: ModuleType,
        clock: FakeClock,
        query_interval: float,
        total_timeout: float,
        timeouts: dict[str, float] | None = None,
    ) -> None:
        self.handler = handler
        self.clock = clock
        self.query_interval = query_interval
        self.max_attempts = int(total_timeout // query_interval)
        self.timeouts = timeouts or {}
        self.invocations: list[tuple[str, float]] = []  # (function, seconds it took on the fake clock)

    def invoke(self, function: str, entry: Callable[..., Any], payload: dict[str, Any]) -> Any:
        """invokeUserFunction: the payload as JSON, the function's error as the framework words it."""
        timeout = self.timeouts.get(function, float("inf"))
        start = self.clock()
        self.clock.deadlines.append(start + timeout)
        try:
            result = entry(json.loads(json.dumps(payload)), None)
        except LambdaTimeout:
            result, error = None, f"RequestId: {uuid.uuid4()} Error: Task timed out after {timeout:.2f} seconds"
        except Exception as raised:
            result, error = None, str(raised) or "error"
        else:
            error = None
        finally:
            self.clock.deadlines.pop()
            self.invocations.append((function, self.clock() - start))
        if error is None and self.clock() - start > timeout:
            error = f"RequestId: {uuid.uuid4()} Error: Task timed out after {timeout:.2f} seconds"
        if error is not None:
            raise FunctionError(self.failure(error, function))
        return json.loads(json.dumps(result))

    def failure(self, message: str, function: str) -> str:
        """The Reason the framework sends for a user function's error: V8's Error.stack of its message."""
        return f"Error: {message}\n\nLogs: /aws/lambda/{FUNCTION_NAMES.get(function, function)}\n\n{_FRAMEWORK_TRACE}"

    def start(self, request: dict[str, Any]) -> Waiter:
        return Waiter(self, request, self.clock())

    def send(self, request: dict[str, Any], on_poll: Callable[[int, str], None] | None = None) -> Response:
        """Deliver ``request`` and wait; ``on_poll(n, physical_id)`` runs before the n-th isComplete call."""
        return run_concurrently(self, [request], on_poll)[0]


def run_concurrently(
    provider: Provider, requests: list[dict[str, Any]], on_poll: Callable[[int, str], None] | None = None
) -> list[Response]:
    """Deliver requests that CloudFormation sends at once, and poll each on its own schedule on the fake clock."""
    return drive(provider, [provider.start(r) for r in requests], on_poll)


def drive(
    provider: Provider, waiters: list[Waiter], on_poll: Callable[[int, str], None] | None = None
) -> list[Response]:
    """Poll waiters already started until each has its response."""
    while True:
        pending = [w for w in waiters if w.response is None]
        if not pending:
            return [w.response for w in waiters if w.response is not None]
        due = min(w.next_poll for w in pending)
        if due > provider.clock():
            provider.clock.advance(due - provider.clock())
        for waiter in pending:
            if waiter.next_poll <= provider.clock():
                if on_poll is not None:
                    on_poll(waiter.polls + 1, waiter.physical)
                waiter.poll()

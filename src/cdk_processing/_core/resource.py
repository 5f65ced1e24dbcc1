"""The job's CloudFormation resource (``Resource`` under the job): the library's custom resource, which starts and
awaits the job, or, for a start-only job, the kind's native resource; the long wait's WaitCondition; the tokens of
the job's attributes and of its output locations."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, cast

import jsii
from aws_cdk import (
    Aspects,
    CfnResource,
    CfnWaitCondition,
    CfnWaitConditionHandle,
    CustomResource,
    Duration,
    Fn,
    IAspect,
    IResolvable,
    IResolveContext,
    IStableAnyProducer,
    Lazy,
    Names,
    Stack,
    Token,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct, IDependable

from .._compacted import Compacted
from .._memo import stack_of
from .._policy import PoliciesOf, allow
from .._principal import LibraryRole
from .._validation import ProcessingJobValidationError, fail
from ..completion import LONG_WAIT_MARGIN, Completion
from ..handler import kinds
from ..handler.kinds import JobKind
from ..job_base import JobBase
from ..provider import SERVICE_TIMEOUT, ProcessingJobProvider
from .upstream import Runs


class JobResource:
    """Creates the job's resource under ``job`` and gives the tokens that read it."""

    def __init__(
        self,
        job: Construct,
        kind: JobKind,
        request: dict[str, Any],
        *,
        completion: Completion,
        name_prefix: str,
        fixed_name: str | None,
        role: iam.IRole,
        role_passed_in: bool,
        volume_key: kms.IKey | None,
        upstream: list[str],
        waits_for: list[IDependable],
        per_run: list[str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        """:param per_run: members of the request (dotted paths) whose S3 URI each run extends with its job name.
        :param properties: the custom resource's properties of the kind's own (a quality gate), None: none."""
        self._job = job
        self._kind = kind
        self._fixed_name = fixed_name
        # What a run outside the deployment (a workflow's task) is made of: the same request, role and names.
        self.request = request
        self.role = role
        self.volume_key = volume_key
        self.name_prefix = name_prefix
        self.per_run = list(per_run or [])
        self.deploy_run = completion.deploy_run
        self.waits_for = waits_for
        self.native: CfnResource | None = None
        self.custom: CustomResource | None = None
        self.wait_condition: CfnWaitCondition | None = None
        self.resource: Construct | None = None
        self._name: str | None = None
        if not self.deploy_run:
            return  # Completion.never(): no resource; the role and its grants are the job's all the same
        handler: list[IDependable] = []  # the handler's policies, for the custom resource
        if completion.kind == Completion.START and kind.native_type is not None:
            # Nothing waits: the native resource, created by CloudFormation itself, with no Lambda at all.
            # A Lazy per member computed at synth: the resource's properties are a map of aws-cdk-lib's own.
            properties = {k: Lazy.any(Produce(v.fn)) if isinstance(v, Deferred) else v for k, v in request.items()}
            self.native = CfnResource(job, "Resource", type=kind.native_type, properties=properties)
            resource: Construct = self.native
        else:
            # A kind with no native resource starts only-started jobs through the custom resource too.
            provider = ProcessingJobProvider.of(job, kind)
            if fixed_name is not None:
                provider.allow_job_name(fixed_name, kind)
            if role_passed_in:
                provider.allow_pass_role(role)
            if volume_key is not None:
                grant_create_grant(volume_key, provider.handler_principal)
            self.custom = CustomResource(
                job,
                "Resource",
                service_token=provider.service_token,
                resource_type=kind.resource_type,
                properties={
                    # One value for the whole request, rendered at synth, its Fn::Join written as Fn::Sub (the
                    # handler receives the same resolved request).
                    kinds.PROP_REQUEST: CompactValue(stack_of(job), lambda: rendered(request)),
                    kinds.PROP_NAME_PREFIX: name_prefix,
                    # Only for a job that reads runs of others (an input added later may be the first).
                    kinds.PROP_UPSTREAM: _runs(upstream) if upstream else None,
                    kinds.PROP_COMPLETION: None if completion.kind == Completion.WAIT else completion.kind,
                    kinds.PROP_PER_RUN: per_run or None,
                    **(properties or {}),
                },
                service_timeout=SERVICE_TIMEOUT,
            )
            # The handler's policies (each names the handler's role: the role comes first all the same).
            handler = [PoliciesOf.for_role(provider.handler_role)]
            if not upstream and isinstance(upstream, Runs):
                custom = self.custom
                upstream.on_first = lambda: cast(CfnResource, custom.node.default_child).add_property_override(
                    kinds.PROP_UPSTREAM, _runs(upstream)
                )
            resource = self.custom
        self.resource = resource
        # The job must not start before its role can read its inputs, nor before the handler may start it (the role
        # itself is implied by the request's GetAtt of its ARN), nor before its local files are in S3. Every policy
        # the role holds at synth: those that inputs, outputs or grants added later bring included. In one call.
        node = resource.node
        policies = role.depend(node) if isinstance(role, LibraryRole) else [PoliciesOf.for_role(role)]
        node.add_dependency(*handler, *policies, *waits_for)

    def no_deploy_run(self, what: str) -> ProcessingJobValidationError:
        """The error for ``what`` (an attribute, ...) of a job no deployment runs."""
        return fail(
            what,
            "asked for",
            "the job has no run during deployments (Completion.never()): its runs are its workflows' tasks "
            "(job.as_task), whose results carry it",
        ).at(self._job.node.path)

    def att(self, name: str) -> str:
        """An attribute of the job (a GetAtt token)."""
        if not self.deploy_run:
            raise self.no_deploy_run(name)
        if self.custom is not None:
            return self.custom.get_att_string(name)
        assert self.native is not None
        return Token.as_string(self.native.get_att(name))

    def job_name(self) -> str:
        """The job's name as a token: the custom resource's attribute, a fixed name, or the native job's (from its
        ARN, which is its Ref: ``.../<kind's ARN resource>/<name>``)."""
        if self._name is None:
            self._name = self._job_name()
        return self._name

    def _job_name(self) -> str:
        if not self.deploy_run:
            raise self.no_deploy_run(self._kind.name_field)
        if self.custom is not None:
            return self.custom.get_att_string(self._kind.name_field)
        if self._fixed_name:
            return self._fixed_name
        assert self.native is not None
        return Fn.select(1, Fn.split(f"{self._kind.arn_resource}/", self.native.ref))

    def output_uri(self, location: str) -> str:
        """An output location of the request as a token that makes its consumer wait for the job.

        The location is the request's (known before the job runs, so no response has to carry it); a consumer depends
        on the job through the empty text before "arn:" in its ARN, an attribute that exists once the job completed
        (or, start-only, was created). With the long wait, the output is there once the WaitCondition is: the text
        before the "{" that starts the condition's data follows too.
        """
        uri = Fn.join("", [location, Fn.select(0, Fn.split("arn:", self.att(self._kind.arn_field)))])
        if self.wait_condition is None:
            return uri
        data = Token.as_string(self.wait_condition.attr_data)
        return Fn.join("", [uri, Fn.select(0, Fn.split("{", data))])

    def wait_for(self, dependable: IDependable) -> None:
        if self.resource is None:  # no deployment runs the job: its workflows wait for it (JobWorkflow)
            self.waits_for.append(dependable)
        else:
            self.resource.node.add_dependency(dependable)

    def set_property(self, key: str, value: Any) -> None:
        """Set a property of the custom resource (outside the request: the job does not run again for it)."""
        assert self.custom is not None
        resource = self.custom.node.default_child
        assert isinstance(resource, CfnResource)
        resource.add_property_override(key, value)

    def override_request(self, request: dict[str, Any], path: str, value: Any) -> None:
        """Set the request's member at ``path`` (dotted): in the resource's properties, and in ``request`` (the
        dictionary the long wait's ids are computed from), so that the job and its wait change as for any prop."""
        node: Any = request
        parts: list[str | int] = [int(p) if p.isdigit() else p for p in path.split(".")]
        for part in parts[:-1]:
            node = node[part] if isinstance(part, int) else node.setdefault(part, {})
        node[parts[-1]] = value
        if not self.deploy_run:
            return
        if self.custom is not None:
            resource = self.custom.node.default_child
            assert isinstance(resource, CfnResource)
            resource.add_property_override(f"{kinds.PROP_REQUEST}.{path}", value)
        else:
            assert self.native is not None
            self.native.add_property_override(path, value)

    def add_long_wait(
        self,
        job: Construct,
        events_of: JobBase,
        completion: Completion,
        max_runtime: Duration,
        request: dict[str, Any],
        upstream: list[str],
        gate: list[dict[str, Any]] | None = None,
    ) -> None:
        """A WaitCondition that the job's terminal state change event signals, through the stack's signal function
        (which checks ``gate``, the job's quality gate, where it has one).

        The handle and the condition get new logical ids whenever the job runs again (their ids carry a digest of
        the request), since a WaitCondition only waits when it is created.
        """
        timeout = completion.timeout or max_runtime.plus(LONG_WAIT_MARGIN)
        handle = CfnWaitConditionHandle(job, "WaitHandle")
        condition = CfnWaitCondition(
            job, "WaitCondition", handle=handle.ref, count=1, timeout=str(int(timeout.to_seconds()))
        )
        assert self.custom is not None
        resource = self.custom.node.default_child
        assert isinstance(resource, CfnResource)
        condition.node.add_dependency(self.custom)
        resource.add_property_override(kinds.PROP_SIGNAL_HANDLE, handle.ref)
        ended = sorted(self._kind.failed | {"Completed"})
        rule = events_of.on_state_change("CompletionEvents", statuses=ended)
        rule.add_target(
            targets.LambdaFunction(
                ProcessingJobProvider.of(job, self._kind).signal_function,
                event=events.RuleTargetInput.from_object(
                    {
                        kinds.SIGNAL_DETAIL: events.EventField.from_path("$.detail"),
                        kinds.SIGNAL_HANDLE: handle.ref,
                        **({kinds.SIGNAL_GATE: gate} if gate else {}),
                    }
                ),
            )
        )
        self.wait_condition = condition
        Aspects.of(job).add(_RunIds(job, self._kind, [handle, condition], request, upstream))


def grant_create_grant(key: kms.IKey, grantee: iam.IGrantable) -> None:
    """SageMaker attaches encrypted volumes through a KMS grant made for it (kms:GrantIsForAWSResource)."""
    allow(
        grantee,
        ["kms:CreateGrant", "kms:DescribeKey"],
        [key.key_arn],
        {"Bool": {"kms:GrantIsForAWSResource": True}},
        common=True,
    )


@jsii.implements(IAspect)
class _RunIds:
    """Gives the long wait's handle and condition logical ids that change with the job's request (tags aside)."""

    def __init__(
        self, job: Construct, kind: JobKind, resources: list[CfnResource], request: dict[str, Any], upstream: list[str]
    ) -> None:
        self._job = job
        self._kind = kind
        self._resources = resources
        self._request = request
        self._upstream = upstream
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._job:
            return
        self._done = True
        stack = Stack.of(self._job)
        essential = rendered({k: v for k, v in self._request.items() if k != "Tags"})
        resolved = stack.resolve({kinds.PROP_REQUEST: essential, kinds.PROP_UPSTREAM: list(self._upstream)})
        # What an update changes in place (a warm pool's stay) does not run the job again, nor move its wait.
        resolved[kinds.PROP_REQUEST] = kinds.without_updatable(self._kind, resolved[kinds.PROP_REQUEST])
        digest = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:8]
        for resource in self._resources:
            resource.override_logical_id(f"{Names.unique_id(resource)}{digest}")


def _runs(upstream: list[str]) -> Any:
    """The names of the upstream runs at synth (inputs may come later), produced once."""
    return Lazy.any(Produce(lambda: list(upstream)))


class Deferred:
    """A request member computed at synth from a Python callable (``lazy``)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn


def lazy(fn: Callable[[], Any]) -> Any:
    """A request member computed at synth by ``fn`` (``None``: no member): the resource renders the request, such
    members produced, in one ``Lazy`` (``rendered``); a workflow's task renders it from the same ``fn``
    (``produced``)."""
    return Deferred(fn)


def produced(value: Any) -> Callable[[], Any] | None:
    """The function of a ``lazy`` request member, ``None`` for any other value."""
    return value.fn if isinstance(value, Deferred) else None


def rendered(value: Any) -> Any:
    """``value`` (a request) with its ``lazy`` members produced, those that produce ``None`` left out; the same
    dictionaries where nothing is deferred in them."""
    if isinstance(value, dict):
        items = {k: v.fn() if isinstance(v, Deferred) else rendered(v) for k, v in value.items()}
        deferred = [k for k, v in value.items() if isinstance(v, Deferred)]
        if not deferred and all(items[k] is value[k] for k in items):
            return value
        return {k: v for k, v in items.items() if not (k in deferred and v is None)}
    if isinstance(value, list) and any(isinstance(v, (Deferred, dict, list)) for v in value):
        items_list = [rendered(v) for v in value]
        return value if all(a is b for a, b in zip(items_list, value, strict=True)) else items_list
    return value


@jsii.implements(IResolvable)
class CompactValue:
    """A value computed once, from a Python callable, when first resolved; written with ``Fn::Sub`` for ``Fn::Join``
    once the app is prepared (``_compacted``): what CloudFormation resolves it to is the same, in fewer bytes."""

    def __init__(self, stack: Stack, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._value: list[Any] = []  # the value, computed at the first resolution
        self._compacted = Compacted(stack, self._computed)

    def _computed(self) -> Any:
        if not self._value:
            self._value.append(self._fn())
        return self._value[0]

    @property
    def creation_stack(self) -> list[str]:
        return []

    def resolve(self, context: IResolveContext) -> Any:
        return self._compacted.resolution()

    def to_string(self) -> str:
        return Token.as_string(self)


@jsii.implements(IStableAnyProducer)
class Produce:
    """A value computed once, at synth time, from a Python callable (``Lazy.any(Produce(...))``)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn

    def produce(self) -> Any:
        return self._fn()

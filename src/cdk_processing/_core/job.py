"""What a job made in this app is, whatever its kind: the parts it composes first (its role, its name, its image, its
logs and its network, in that order) and the members those parts give it (grants, connections, default locations,
attributes every kind has, the escape hatch). Each kind's job adds its own request around them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from aws_cdk import CfnResource, Duration, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct, IDependable

from .. import _model
from .._job_checks import claim_job_name
from .._naming import job_name_prefix
from .._validation import fail, in_construct
from ..assets import default_bucket
from ..code import Launch
from ..completion import Completion
from ..handler import kinds
from ..handler.kinds import JobKind
from ..image import ContainerImage, ContainerImageConfig
from ..workflow import JobTask, JobWorkflow
from .network import JobNetwork
from .resource import JobResource
from .role import JobRole, grant_logs_and_metrics
from .tags import JobTags
from .upstream import Runs

# Every kind's default ML storage volume per instance (the SageMaker SDK's default too); one object, so that its
# value is asked of aws-cdk-lib once.
DEFAULT_VOLUME_SIZE = Size.gibibytes(30)


class CreatedJob:
    """A job of this app (mixed into ``ProcessingJob`` and ``TrainingJob`` before their ``JobBase``)."""

    _kind: ClassVar[JobKind]
    _resource: JobResource | None
    _request: dict[str, Any]
    completion: Completion
    _launch: Launch | None = None
    """The job's entrypoint, where the library controls it (code or an entrypoint given)."""
    _input_mode: str = "File"
    """How the job reads an input without a mode of its own."""

    def _compose(
        self,
        *,
        role: iam.IRole | None,
        fixed_name: str | None,
        output_bucket: s3.IBucket | None,
        output_encryption_key: kms.IKey | None,
        image: ContainerImage,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        isolation: bool,
        encryption: bool | None,
        instance_count: Any,
    ) -> tuple[JobRole, ContainerImageConfig]:
        """Create the parts every job has, under the job: its role (or the one given), its claim on a fixed name, its
        image's grants, its logs' and metrics' grants and its network; the role and the bound image."""
        kind = self._kind
        job: Any = self
        job_role = JobRole(job, kind, role)
        self.role: iam.IRole = job_role.role
        self._principal = job_role.principal
        self.library_principal: iam.IPrincipal | None = job_role.library_principal
        """Where the library's own statements for this job go (``_policy.allow``); ``None``: the role's own."""
        if fixed_name is not None:
            claim_job_name(job, fixed_name, kind.name_prop)
        self._name_prefix = job_name_prefix(job)
        self._fixed_name = fixed_name
        self._output_bucket = output_bucket
        self._output_encryption_key = output_encryption_key
        self._waits_for: list[IDependable] = []
        self._upstream = Runs()
        self._resource = None
        self._tasks: list[Any] = []  # the workflows' tasks that run this job (JobTask)
        image_config = image.bind(job, job)
        streams = f"{fixed_name}/*" if fixed_name else f"{self._name_prefix}-*"
        grant_logs_and_metrics(job, job, kind, streams)
        self._network = JobNetwork(
            job,
            job,
            kind,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            isolation=isolation,
            encryption=encryption,
            instance_count=instance_count,
        )
        return job_role, image_config

    def _make_resource(
        self,
        job_role: JobRole,
        request: dict[str, Any],
        *,
        completion: Completion,
        bound: Duration,
        volume_key: kms.IKey | None,
        tag_probe: Callable[[Construct, str], CfnResource],
        scope: Construct,
        per_run: list[str] | None = None,
        gate: list[dict[str, Any]] | None = None,
    ) -> None:
        """Once the request is complete (its inputs and outputs added): the role's policies made, the job's resource,
        its long wait (sized from ``bound``, the job's longest time) where the mode has one, and its tags (gathered
        on ``tag_probe``, the kind's taggable L1). ``gate``: a training job's quality gate, checked by the handler
        and the long wait's signal."""
        job: Any = self
        job_role.flush()
        self._resource = JobResource(
            job,
            self._kind,
            request,
            completion=completion,
            name_prefix=self._name_prefix,
            fixed_name=self._fixed_name,
            role=self.role,
            role_passed_in=job_role.passed_in,
            volume_key=volume_key,
            upstream=self._upstream,
            waits_for=self._waits_for,
            per_run=per_run,
            properties={kinds.PROP_QUALITY_GATE: gate} if gate else None,
        )
        self._request = request
        if completion.kind == Completion.LONG:
            self._resource.add_long_wait(job, job, completion, bound, request, self._upstream, gate)
        self._tags = JobTags(job, tag_probe, scope)

    @in_construct
    def add_request_override(self, path: str, value: Any) -> None:
        """Set a member of the job's create request (``CreateProcessingJob``, ``CreateTrainingJob``) that no prop
        reaches, by its dotted path in the API's names (``"ProcessingResources.ClusterConfig.VolumeSizeInGB"``,
        ``"ResourceConfig.KeepAlivePeriodInSeconds"``, list items by index). The job runs again, and a long wait
        waits again, as for any change of the request. The path must name members of the request in botocore's
        SageMaker model; the value is not checked (SageMaker does, at deploy)."""
        create = self._kind.create
        problem = _model.member_path(create, path) if isinstance(path, str) else "it must be a str"
        if problem is not None:
            raise fail("add_request_override path", path, f"must name a member of {create}'s request: {problem}")
        assert self._resource is not None
        self._resource.override_request(self._request, path, value)

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """What a stack delete or replacement does with the job: ``DESTROY`` (the default) stops a job still
        running; ``RETAIN`` leaves it alone (CloudFormation keeps the resource and sends no delete). A job no
        deployment runs (``Completion.never()``) has no resource: nothing to do."""
        assert self._resource is not None
        resource = self._resource.native or self._resource.custom
        if resource is not None:
            resource.apply_removal_policy(policy)

    @property
    def deploy_run(self) -> bool:
        """Whether deployments run the job (``False`` for ``Completion.never()``: it runs in workflows only)."""
        return self.completion.deploy_run

    @property
    def _name(self) -> str:
        assert self._resource is not None
        return self._resource.job_name()

    @property
    def _arn(self) -> str:
        return self._att(self._kind.arn_field)

    @in_construct
    def as_task(
        self,
        scope: Construct,
        id: str,
        *,
        arguments: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
        input_paths: Mapping[str, str] | None = None,
        output_paths: Mapping[str, str] | None = None,
        comment: str | None = None,
        task_timeout: Duration | None = None,
    ) -> JobTask:
        """A Step Functions Task state that runs this job (``JobTask``): the request the deployment's run has, through
        SageMaker's ``.sync`` integration, under a name of each run's own, in any state machine. See ``JobTask`` for
        the parameters."""
        return JobTask(
            scope,
            id,
            job=self,
            arguments=arguments,
            environment=environment,
            hyperparameters=hyperparameters,
            input_paths=input_paths,
            output_paths=output_paths,
            comment=comment,
            task_timeout=task_timeout,
        )

    @in_construct
    def schedule(
        self,
        id: str,
        *,
        schedule: scheduler.ScheduleExpression,
        input: Mapping[str, Any] | None = None,
        time_window: scheduler.TimeWindow | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
        enabled: bool = True,
        description: str | None = None,
    ) -> JobWorkflow:
        """Run the job on a schedule: an EventBridge Scheduler schedule starting a state machine of one task
        (``as_task``, the job's request as it is), made under the job (``JobWorkflow``, whose parameters these
        are)."""
        job: Any = self
        return JobWorkflow(
            job,
            id,
            definition=self.as_task(job, f"{id}Run"),
            schedule=schedule,
            input=input,
            time_window=time_window,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
            enabled=enabled,
            description=description,
        )

    def _att(self, name: str) -> str:
        assert self._resource is not None
        return self._resource.att(name)

    @property
    def failure_reason(self) -> str:
        """Empty for a completed job."""
        return self._att("FailureReason")

    @property
    def creation_time(self) -> str:
        """When SageMaker created the job, ISO 8601."""
        return self._att("CreationTime")

    def _name_pattern(self) -> list[Any]:
        # Every run of a job with a generated name shares its prefix; a fixed name is matched as it is. A native
        # (start-only) job's name is CloudFormation's: the rule then follows the job's creation.
        if self._fixed_name and self.deploy_run:
            return [self._fixed_name]
        if self._resource is not None and not self._resource.deploy_run:  # runs in workflows only: their names
            return [{"prefix": f"{self._name_prefix}-"}]
        if self._resource is None or self._resource.custom is None:
            return [self._name]
        return [{"prefix": f"{self._name_prefix}-"}]

    def _rule_added(self, rule: events.Rule) -> None:
        # In place before the job starts, so that no event of the deployment's own run is missed (a native job with a
        # name of CloudFormation's can only be matched once it exists).
        if (self._resource is not None and self._resource.custom is not None) or self._fixed_name:
            self.wait_for(rule)

    @property
    def output_bucket(self) -> s3.IBucket:
        """The bucket of the job's default locations (outputs or the model given no bucket, checkpoints, local
        files): ``output_bucket``, or the stack's bucket (created on first use)."""
        if self._output_bucket is None:
            self._output_bucket = default_bucket(self)  # type: ignore[arg-type]
        return self._output_bucket

    @property
    def default_prefix(self) -> str:
        """The key prefix of this job's default locations and local files: one per job."""
        return f"cdk-processing/{self._name_prefix}/"

    @property
    def output_encryption_key(self) -> kms.IKey | None:
        """The key the job's outputs (a training job's model) are encrypted with, if one was given."""
        return self._output_encryption_key

    def wait_for(self, dependable: IDependable) -> None:
        """The job starts only after ``dependable`` exists (an input's files, an event rule, ...)."""
        if self._resource is None:  # still in the constructor: added once the resource exists
            self._waits_for.append(dependable)
        else:
            self._resource.wait_for(dependable)

    def _unpacker(self, input_mode: str | None) -> Launch | None:
        """The job's entrypoint wrapper, which unpacks a zip where an input read as files (``input_mode``, or the
        job's) was downloaded; ``None`` for a job that runs its image's own entrypoint."""
        launch = self._launch
        if launch is None or not launch.wraps or (input_mode or self._input_mode) != "File":
            return None
        return launch

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The job's role: pass the job to any ``grant_*`` method (``bucket.grant_read(job)``). For a role the library
        created, the statements go to customer managed policies of the role (``GrantsPolicy``)."""
        return self._principal

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Add a statement to the job's role (for a role passed in, as far as the role can be changed)."""
        self._principal.add_to_principal_policy(statement)

    @property
    def connections(self) -> ec2.Connections:
        """The job's security groups, to allow traffic from the job; only for a job in a VPC."""
        return self._network.connections

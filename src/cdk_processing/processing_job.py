"""``ProcessingJob``: a SageMaker processing job run, and awaited, during ``cdk deploy``."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import (
    ArnFormat,
    Aspects,
    CfnResource,
    CfnWaitCondition,
    CfnWaitConditionHandle,
    CustomResource,
    Duration,
    Fn,
    IAspect,
    IStableAnyProducer,
    Lazy,
    Names,
    Size,
    SizeRoundingBehavior,
    Stack,
    Token,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct, IConstruct, IDependable, IValidation

from . import _model
from ._naming import job_name_prefix, role_path
from ._policy import KMS_VOLUME, KMS_WRITE, ManagedPolicyPrincipal, PoliciesOf, acknowledge, allow, allow_key
from ._s3 import S3Location
from ._validation import (
    ProcessingJobValidationError,
    check_bool,
    check_count,
    check_integer,
    check_interface,
    check_length,
    check_list_of,
    check_local_paths_unique,
    check_mapping,
    check_model_range,
    check_model_string,
    check_str_list,
    check_type,
    check_unique,
    fail,
    in_construct,
    is_unresolved,
)
from .assets import CODE_PATH, Code, default_bucket
from .completion import LONG_WAIT_MARGIN, Completion
from .handler import kinds
from .handler.kinds import PROCESSING
from .image import ContainerImage
from .inputs import ProcessingInput, _AssetInput
from .instance_type import InstanceType
from .job_base import ImportedProcessingJob, ProcessingJobBase
from .outputs import ProcessingOutput
from .provider import SERVICE_TIMEOUT, ProcessingJobProvider

RESOURCE_TYPE = PROCESSING.resource_type
LOG_GROUP = PROCESSING.log_group
MAX_INPUTS = 10  # ProcessingInputs' max in botocore's model (test_bad_input checks it)
MAX_OUTPUTS = 10  # ProcessingOutputs' max
# SageMaker accepts 50 tags; the handler adds up to five of its own (cdk-processing:request-id, :request-digest,
# :resource, :replaces and :wait-handle) to recognise its jobs.
MAX_TAGS = kinds.MAX_JOB_TAGS - len(kinds.HANDLER_TAGS)
# The jsii interfaces a prop takes, as the attributes that make one (jsii's Python interfaces are Protocols that
# isinstance cannot check), with what to write instead of a string or a number.
_KEY = (("key_arn", "grant_encrypt_decrypt"), "must be a kms.IKey, such as kms.Key(...) or kms.Key.from_key_arn(...)")
_ROLE = (
    ("role_arn", "grant_principal", "add_to_principal_policy"),
    "must be an iam.IRole, such as iam.Role(...) or iam.Role.from_role_arn(scope, id, arn)",
)
_VPC = (("vpc_id", "select_subnets"), "must be an ec2.IVpc, such as ec2.Vpc(...) or ec2.Vpc.from_lookup(...)")
_GROUP = (
    ("security_group_id", "connections"),
    "must be an ec2.ISecurityGroup, such as ec2.SecurityGroup.from_security_group_id(scope, id, 'sg-...')",
)
_BUCKET = (
    ("bucket_name", "bucket_arn", "grant_read"),
    "must be an s3.IBucket, such as s3.Bucket.from_bucket_name(...)",
)
_SERVICE = "sagemaker.amazonaws.com"
# SageMaker's [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, digits, spaces (no tabs or line breaks) and _.:/=+-@.
_TAG_PATTERN = r"(?:[^\W_]|[ _.:/=+\-@])*"


@dataclass(frozen=True)
class ExperimentConfig:
    """Associates the job, as a trial component, with a SageMaker experiment, trial and run.

    Each name is 1 to 120 letters or digits with hyphens between them. Default for each: not set.
    """

    experiment_name: str | None = None
    trial_name: str | None = None
    trial_component_display_name: str | None = None
    run_name: str | None = None


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class ProcessingJob(ProcessingJobBase):
    """A SageMaker processing job, started and awaited by CloudFormation.

    The deployment succeeds when the job completed and fails with the job's FailureReason and ExitMessage when it
    failed or was stopped. The job runs again when its request changes (image, arguments, inputs, ...), never for a
    change that leaves the request as it is. Deleting the resource stops a job that is still running; output data
    is never deleted.

    Example::

        job = ProcessingJob(self, "Preprocess",
            image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"),
            arguments=["--train-ratio", "0.8"],
            inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
            outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/train/")],
        )
    """

    @in_construct
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: ContainerImage,
        instance_type: InstanceType | None = None,
        instance_count: int = 1,
        volume_size: Size | None = None,
        volume_encryption_key: kms.IKey | None = None,
        max_runtime: Duration | None = None,
        entrypoint: Sequence[str] | None = None,
        arguments: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        inputs: Sequence[ProcessingInput] | None = None,
        outputs: Sequence[ProcessingOutput] | None = None,
        output_encryption_key: kms.IKey | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        enable_network_isolation: bool = False,
        enable_inter_container_traffic_encryption: bool | None = None,
        experiment_config: ExperimentConfig | None = None,
        role: iam.IRole | None = None,
        processing_job_name: str | None = None,
        code: Code | None = None,
        command: Sequence[str] | None = None,
        output_bucket: s3.IBucket | None = None,
        completion: Completion | None = None,
    ) -> None:
        """
        :param image: the container image the job runs.
        :param instance_type: Default: ``InstanceType.M5_XLARGE``.
        :param instance_count: instances to run the job on, 1 to 100. Default: 1.
        :param volume_size: the ML storage volume attached to each instance, 1 to 16384 GiB. Default: 30 GiB.
        :param volume_encryption_key: encrypts the storage volumes (not allowed with instance types that have local
            instance storage). Default: SageMaker's AWS managed key.
        :param max_runtime: the longest the job may run: up to 45 minutes with ``Completion.wait()``, 11 h 45 min
            with ``wait_long()``, 9 days with ``start_only()``. Default: 45 minutes (``wait_long``: 11 h 45 min,
            ``start_only``: 1 day).
        :param entrypoint: the container's entrypoint. Default: the image's ENTRYPOINT.
        :param arguments: arguments for the entrypoint. Default: none.
        :param environment: environment variables (at most 100; keys ``[a-zA-Z_][a-zA-Z0-9_]*``, keys and values up
            to 256 characters). Default: none.
        :param inputs: at most 10, with unique names; more with ``add_input``. Default: none.
        :param outputs: at most 10, with unique names; more with ``add_output``. Default: none.
        :param output_encryption_key: encrypts the outputs in S3. Default: the buckets' own encryption.
        :param vpc: runs the job's containers in this VPC. Default: SageMaker's network, no VPC.
        :param vpc_subnets: Default: the VPC's private subnets.
        :param security_groups: at most 5. Default: one security group is created for the job (``connections``).
        :param enable_network_isolation: no network access from the containers at all. Default: false.
        :param enable_inter_container_traffic_encryption: encrypts traffic between the job's instances. Default: on
            when ``instance_count`` is more than 1.
        :param experiment_config: Default: the job is not part of an experiment.
        :param role: the role SageMaker assumes for the job; used as is and granted what the inputs, outputs, image,
            keys and network need. Default: a role is created with exactly those grants.
        :param processing_job_name: a fixed job name (unique in the account and region, forever: a change to the job
            then needs a new name). Default: a name derived from the stack and this construct, new for each run.
        :param code: the job's own script or folder (``Code.from_asset``), mounted at
            ``/opt/ml/processing/input/code`` and run as ``command + [script] + arguments``; not with ``entrypoint``.
            Default: the image runs its own code.
        :param command: what runs the code. Default: ``["python3"]``.
        :param output_bucket: where outputs given no bucket, local input data and code go. Default: one bucket per
            stack, created on first use (encrypted, private, retained on delete).
        :param completion: how the deployment waits for the job (``Completion.wait()``, ``.wait_long()``,
            ``.start_only()``). Default: waits in the custom resource when ``max_runtime`` is at most 45 minutes,
            on a WaitCondition when it is at most 11 h 45 min; a longer ``max_runtime`` needs ``start_only()``.
        """
        super().__init__(scope, id)
        stack = Stack.of(self)
        entrypoint = check_str_list("entrypoint", entrypoint, "['python3', '/opt/program/run.py']")
        arguments = check_str_list("arguments", arguments, "['--train-ratio', '0.8']")
        command = check_str_list("command", command, "['python3', '-u']")
        inputs = check_list_of("inputs", inputs, ProcessingInput, "[ProcessingInput.from_bucket(...)]")
        outputs = check_list_of("outputs", outputs, ProcessingOutput, "[ProcessingOutput.to_bucket(...)]")
        self._validate_types(
            image=image,
            volume_size=volume_size,
            max_runtime=max_runtime,
            volume_encryption_key=volume_encryption_key,
            output_encryption_key=output_encryption_key,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            enable_network_isolation=enable_network_isolation,
            enable_inter_container_traffic_encryption=enable_inter_container_traffic_encryption,
            experiment_config=experiment_config,
            role=role,
            processing_job_name=processing_job_name,
            code=code,
            output_bucket=output_bucket,
            completion=completion,
            environment=environment,
        )
        self._validate_scalars(
            instance_count,
            volume_size,
            volume_encryption_key,
            instance_type,
            entrypoint,
            arguments,
            environment,
            processing_job_name,
            experiment_config,
            security_groups,
        )
        instance_type = instance_type or InstanceType.M5_XLARGE
        instance_type.check_processing()
        volume_size = volume_size or Size.gibibytes(30)
        completion = completion or Completion.for_max_runtime(max_runtime)
        max_runtime = max_runtime or completion.default_max_runtime
        completion.check(max_runtime)
        self.completion = completion
        self.instance_count = instance_count

        # A role the library creates holds customer managed policies (NIST 800-53 and HIPAA rule packs ask for no
        # inline policies): the library's statements in policies of their own, others' grants to the job in others.
        # A role passed in gets others' grants as it takes any grant, and the library's in a policy of their own.
        self._principal: iam.IPrincipal
        self.library_principal: iam.IPrincipal | None = None
        """Where the library's own statements for this job go (``_policy.allow``); ``None``: the role's own."""
        if role is None:
            created = iam.Role(
                self,
                "Role",
                assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                description=f"Runs the SageMaker processing job {self.node.path}",
                path=role_path(stack),
            )
            self.role: iam.IRole = created
            self.library_principal = ManagedPolicyPrincipal(created, "ManagedPolicy")
            self._principal = ManagedPolicyPrincipal(created, "GrantsPolicy")
        else:
            _check_role("role", role)
            self.role = self._principal = role

        if processing_job_name is not None:
            _claim_job_name(self, processing_job_name)
        self._name_prefix = job_name_prefix(self)
        self._fixed_name = processing_job_name
        self._inputs: list[ProcessingInput] = []
        self._outputs: list[ProcessingOutput] = []
        self._input_members: list[dict[str, Any]] = []
        self._output_members: list[dict[str, Any]] = []
        self._output_bucket = output_bucket
        self._waits_for: list[IDependable] = []
        self._upstream: list[str] = []

        image_config = image.bind(self, self)
        self._grant_logs()

        self._security_groups: list[ec2.ISecurityGroup] = []
        network_config = self._network(
            vpc,
            vpc_subnets,
            security_groups,
            enable_network_isolation,
            enable_inter_container_traffic_encryption,
            instance_count,
        )

        cluster_config: dict[str, Any] = {
            "InstanceCount": instance_count,
            "InstanceType": instance_type.name,
            "VolumeSizeInGB": _gibibytes(volume_size),
        }
        if volume_encryption_key is not None:
            allow_key(self, volume_encryption_key, KMS_VOLUME)
            _grant_create_grant(volume_encryption_key, self)
            cluster_config["VolumeKmsKeyId"] = volume_encryption_key.key_arn

        if code is not None:
            if entrypoint is not None:
                raise fail("entrypoint", list(entrypoint), "cannot be combined with code, which runs with command")
            entrypoint = self._add_code(code, command or ["python3"], enable_network_isolation)
        elif command is not None:
            raise fail("command", list(command), "runs code: give code=Code.from_asset(...), or use entrypoint")

        app_specification: dict[str, Any] = {"ImageUri": image_config.image_uri}
        if entrypoint is not None:
            app_specification["ContainerEntrypoint"] = list(entrypoint)
        if arguments is not None:
            app_specification["ContainerArguments"] = list(arguments)

        self._output_encryption_key = output_encryption_key
        if output_encryption_key is not None:
            allow_key(self, output_encryption_key, KMS_WRITE)

        request: dict[str, Any] = {
            "AppSpecification": app_specification,
            "ProcessingResources": {"ClusterConfig": cluster_config},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime.to_seconds())},
            "RoleArn": self.role.role_arn,
            "NetworkConfig": network_config,
            "ProcessingInputs": Lazy.any(_Produce(lambda: self._input_members or None)),
            "ProcessingOutputConfig": Lazy.any(_Produce(self._render_output_config)),
            "Tags": Lazy.any(_Produce(self._render_tags)),
        }
        if environment:
            request["Environment"] = dict(environment)
        if experiment_config is not None:
            request["ExperimentConfig"] = _experiment(experiment_config)
        if processing_job_name is not None:
            request["ProcessingJobName"] = processing_job_name

        for processing_input in inputs or []:
            self.add_input(processing_input)
        for processing_output in outputs or []:
            self.add_output(processing_output)

        self._native: CfnResource | None = None
        self._custom: CustomResource | None = None
        self._resource: Construct
        if completion.kind == Completion.START:
            # Nothing waits: the native resource, created by CloudFormation itself, with no Lambda at all.
            self._native = CfnResource(self, "Resource", type="AWS::SageMaker::ProcessingJob", properties=request)
            self._resource = self._native
        else:
            provider = ProcessingJobProvider.of(self)
            if processing_job_name is not None:
                provider.allow_job_name(processing_job_name)
            if role is not None:
                provider.allow_pass_role(role)
            if volume_encryption_key is not None:
                _grant_create_grant(volume_encryption_key, provider.handler_principal)
            self._custom = CustomResource(
                self,
                "Resource",
                service_token=provider.service_token,
                resource_type=RESOURCE_TYPE,
                properties={
                    kinds.PROP_REQUEST: request,
                    kinds.PROP_NAME_PREFIX: self._name_prefix,
                    kinds.PROP_UPSTREAM: Lazy.any(_Produce(lambda: self._upstream or None)),
                    kinds.PROP_COMPLETION: None if completion.kind == Completion.WAIT else completion.kind,
                },
                service_timeout=SERVICE_TIMEOUT,
            )
            self._resource = self._custom
            self._resource.node.add_dependency(provider.handler_role, PoliciesOf.for_role(provider.handler_role))
        # The job must not start before its role can read its inputs, nor before the handler may start it (the role
        # itself is implied by the request's GetAtt of its ARN), nor before its local files are in S3.
        self._depend_on_role_policies()
        for dependable in self._waits_for:
            self._resource.node.add_dependency(dependable)
        self._wait_condition: CfnWaitCondition | None = None
        if completion.kind == Completion.LONG:
            self._add_long_wait(ProcessingJobProvider.of(self), completion, max_runtime, request)

        # The job's tags, gathered the way CDK's Tag aspects would apply them to an AWS::SageMaker::ProcessingJob.
        self._tag_collector = sagemaker.CfnProcessingJob(
            self,
            "TagCollector",
            app_specification={"imageUri": "unused"},
            processing_resources={"clusterConfig": {"instanceCount": 1, "instanceType": "unused", "volumeSizeInGb": 1}},
            role_arn="unused",
        )
        self.node.try_remove_child("TagCollector")
        self.node.add_validation(_TagValidation(self))

        self.processing_job_name: str = self._job_name()
        """The job's name. Depends on the job having completed."""
        self.processing_job_arn: str = self._att("ProcessingJobArn")
        """The job's ARN."""

    # -----------------------------------------------------------------------------------------------------------
    # Public members
    # -----------------------------------------------------------------------------------------------------------

    def _att(self, name: str) -> str:
        if self._custom is not None:
            return self._custom.get_att_string(name)
        assert self._native is not None
        return Token.as_string(self._native.get_att(name))

    def _job_name(self) -> str:
        if self._custom is not None:
            return self._custom.get_att_string("ProcessingJobName")
        if self._fixed_name:
            return self._fixed_name
        # The native resource's Ref is its ARN, ".../processing-job/<name>".
        assert self._native is not None
        return Fn.select(1, Fn.split("processing-job/", self._native.ref))

    @property
    def processing_job_status(self) -> str:
        """``Completed`` once the deployment got past this resource."""
        return self._att("ProcessingJobStatus")

    @property
    def exit_message(self) -> str:
        """The job's exit message, if its container wrote one."""
        return self._att("ExitMessage")

    @property
    def failure_reason(self) -> str:
        """Empty for a completed job."""
        return self._att("FailureReason")

    @property
    def creation_time(self) -> str:
        """When SageMaker created the job, ISO 8601."""
        return self._att("CreationTime")

    @property
    def processing_start_time(self) -> str:
        """When the job started running, ISO 8601."""
        return self._att("ProcessingStartTime")

    @property
    def processing_end_time(self) -> str:
        """When the job ended, ISO 8601."""
        return self._att("ProcessingEndTime")

    @staticmethod
    def from_processing_job_name(scope: Construct, id: str, processing_job_name: str) -> ProcessingJobBase:
        """A processing job created elsewhere, for its ARN, events (``on_state_change``) and metrics."""
        try:
            check_model_string(
                "processing_job_name",
                processing_job_name,
                "ProcessingJobName",
                "letters and digits with hyphens between them",
            )
        except ProcessingJobValidationError as error:
            raise error.at(f"{scope.node.path}/{id}") from None
        return ImportedProcessingJob(scope, id, processing_job_name)

    def _name_pattern(self) -> list[Any]:
        # Every run of a job with a generated name shares its prefix; a fixed name is matched as it is. A native
        # (start-only) job's name is CloudFormation's: the rule then follows the job's creation.
        if self._fixed_name:
            return [self._fixed_name]
        if self._custom is None:
            return [self.processing_job_name]
        return [{"prefix": f"{self._name_prefix}-"}]

    @in_construct
    def add_input(self, processing_input: ProcessingInput) -> None:
        """Add an input (at most 10 in all, names unique) and grant the role its reads."""
        check_type(
            "inputs[]",
            processing_input,
            ProcessingInput,
            "must be a ProcessingInput, such as ProcessingInput.from_bucket(name, bucket, key_prefix)",
        )
        self._admit("inputs", [i.name for i in self._inputs], processing_input.name, processing_input.local_path)
        self._inputs.append(processing_input)
        self._input_members.append(processing_input.bind(self, self))
        if processing_input.waits_for is not None:
            self.wait_for(processing_input.waits_for)
        if processing_input.upstream is not None:
            # The name of the upstream job's current run: when that job runs again, so does this one.
            self._upstream.append(processing_input.upstream.run_name)

    @in_construct
    def add_output(self, processing_output: ProcessingOutput) -> None:
        """Add an output (at most 10 in all, names unique) and grant the role its writes."""
        check_type(
            "outputs[]",
            processing_output,
            ProcessingOutput,
            "must be a ProcessingOutput, such as ProcessingOutput.to_bucket(name, bucket, key_prefix)",
        )
        self._admit("outputs", [o.name for o in self._outputs], processing_output.name, processing_output.local_path)
        self._outputs.append(processing_output)
        self._output_members.append(processing_output.bind(self, self))

    @property
    def output_encryption_key(self) -> kms.IKey | None:
        """The key the job's outputs are encrypted with, if one was given."""
        return self._output_encryption_key

    def _rule_added(self, rule: events.Rule) -> None:
        # In place before the job starts, so that no event of the deployment's own run is missed (a native job with a
        # name of CloudFormation's can only be matched once it exists).
        if self._custom is not None or self._fixed_name:
            self.wait_for(rule)

    @property
    def output_bucket(self) -> s3.IBucket:
        """The bucket of outputs given no bucket: ``output_bucket``, or the stack's bucket (created on first use)."""
        if self._output_bucket is None:
            self._output_bucket = default_bucket(self)
        return self._output_bucket

    @property
    def default_prefix(self) -> str:
        """The key prefix under which this job's outputs (given no prefix) and local files go: one per job."""
        return f"cdk-processing/{self._name_prefix}/"

    def wait_for(self, dependable: IDependable) -> None:
        """The job starts only after ``dependable`` exists (an input's files, an event rule, ...)."""
        resource: Construct | None = getattr(self, "_resource", None)
        if resource is None:  # still in the constructor: added once the resource exists
            self._waits_for.append(dependable)
        else:
            resource.node.add_dependency(dependable)

    def _add_code(self, code: Code, command: list[str], network_isolation: bool) -> list[str]:
        # SageMaker takes 100 entrypoint items: the command, the script, and the pip wrapper's four.
        check_count("command", command, 95 if code.has_requirements else 99, 1)
        # A single script goes as a plain asset (its name does not matter: the entrypoint names it); a folder keeps
        # its file names, which its own imports rely on.
        code_input = _AssetInput("code", code.path, CODE_PATH, code.exclude, keep_file_name=False)
        self.add_input(code_input)
        staged = code_input.staged
        assert staged is not None
        script = f"{CODE_PATH}/{staged.file_name or code.entry_point}"
        if not code.has_requirements:
            return [*command, script]
        if network_isolation:
            raise fail(
                "code",
                f"{code.path}/requirements.txt",
                "is installed with pip when the job starts, which needs network access, but enable_network_isolation "
                "is True: the install would fail. Bake the packages into the image and give "
                "Code.from_asset(..., install_requirements=False), or turn network isolation off",
            )
        # pip of the interpreter that runs the code (a bare pip may belong to another Python, or be missing).
        pip = f"{command[0]} -m pip" if "python" in command[0] else "pip"
        install = f'{pip} install --quiet --requirement {CODE_PATH}/requirements.txt && exec "$@"'
        return ["/bin/sh", "-c", install, "sh", *command, script]

    @property
    def inputs(self) -> list[ProcessingInput]:
        """The job's inputs, in request order."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[ProcessingOutput]:
        """The job's outputs, in request order."""
        return list(self._outputs)

    @property
    def run_name(self) -> str:
        """The name of the job's current run (``processing_job_name``): a job reading its outputs runs again with it."""
        return self.processing_job_name

    @in_construct
    def output_location(self, output_name: str) -> S3Location:
        """Where an S3 output is written: its bucket and key prefix."""
        for output in self._outputs:
            if output.name == output_name and output.s3_location is not None:
                return output.s3_location
        names = [o.name for o in self._outputs if o.is_s3]
        raise fail("output_name", output_name, f"must name one of this job's S3 outputs: {names}")

    @in_construct
    def output_uri(self, output_name: str) -> str:
        """The S3 URI of an S3 output, as a token that resolves once the job completed.

        Whatever consumes it (another job's input, a model's data) is deployed after this job.
        """
        for output in self._outputs:
            if output.name == output_name and output.is_s3:
                # The location is the request's (known before the job runs, so no response has to carry it), and a
                # consumer depends on the job through the empty text before "arn:" in its ARN, an attribute that
                # exists once the job completed (or, start-only, was created).
                assert output.s3_uri is not None
                uri = Fn.join("", [output.s3_uri, Fn.select(0, Fn.split("arn:", self.processing_job_arn))])
                if self._wait_condition is None:
                    return uri
                # With the long wait, the output is there once the WaitCondition is: the URI followed by the empty
                # text before the "{" that starts the condition's data, so that a consumer depends on both.
                data = Token.as_string(self._wait_condition.attr_data)
                after = Fn.select(0, Fn.split("{", data))
                return Fn.join("", [uri, after])
        names = [o.name for o in self._outputs if o.is_s3]
        raise fail("output_name", output_name, f"must name one of this job's S3 outputs: {names}")

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
        if not self._security_groups:
            raise ProcessingJobValidationError(
                f"connections: the processing job {self.node.path} is not in a VPC; give it a vpc to use connections"
            )
        return ec2.Connections(security_groups=self._security_groups)

    def _add_long_wait(
        self, provider: ProcessingJobProvider, completion: Completion, max_runtime: Duration, request: dict[str, Any]
    ) -> None:
        """A WaitCondition that the job's terminal state change event signals, through the stack's signal function.

        The handle and the condition get new logical ids whenever the job runs again (their ids carry a digest of
        the request), since a WaitCondition only waits when it is created.
        """
        timeout = completion.timeout or max_runtime.plus(LONG_WAIT_MARGIN)
        handle = CfnWaitConditionHandle(self, "WaitHandle")
        condition = CfnWaitCondition(
            self, "WaitCondition", handle=handle.ref, count=1, timeout=str(int(timeout.to_seconds()))
        )
        assert self._custom is not None
        resource = self._custom.node.default_child
        assert isinstance(resource, CfnResource)
        condition.node.add_dependency(self._resource)
        resource.add_property_override(kinds.PROP_SIGNAL_HANDLE, handle.ref)
        rule = self.on_state_change("CompletionEvents", statuses=["Completed", "Failed", "Stopped"])
        rule.add_target(
            targets.LambdaFunction(
                provider.signal_function,
                event=events.RuleTargetInput.from_object(
                    {"detail": events.EventField.from_path("$.detail"), "handle": handle.ref}
                ),
            )
        )
        self._wait_condition = condition
        Aspects.of(self).add(_RunIds(self, [handle, condition], request))

    def _depend_on_role_policies(self) -> None:
        # Every policy the role holds at synth: those that inputs, outputs or grants added later bring included.
        self._resource.node.add_dependency(PoliciesOf.for_role(self.role))

    # -----------------------------------------------------------------------------------------------------------
    # Rendering
    # -----------------------------------------------------------------------------------------------------------

    def _render_output_config(self) -> dict[str, Any] | None:
        if not self._output_members and self._output_encryption_key is None:
            return None
        config: dict[str, Any] = {"Outputs": self._output_members}
        if self._output_encryption_key is not None:
            config["KmsKeyId"] = self._output_encryption_key.key_arn
        return config

    def _tags(self) -> dict[str, str]:
        """The job's tags, once every aspect is in place (computed once, at synth: aspects run before rendering)."""
        cached: dict[str, str] | None = getattr(self, "_tags_cache", None)
        if cached is None:
            cached = self._tags_cache = self._collect_tags()
        return cached

    def _collect_tags(self) -> dict[str, str]:
        stack = Stack.of(self)
        collector = self._tag_collector
        for key, value in stack.tags.tag_values().items():
            collector.cdk_tag_manager.set_tag(key, value, 0)
        for scope in self.node.scopes:  # from the app down to this job, as aspects are applied
            for aspect in Aspects.of(scope).all:
                aspect.visit(collector)
        # Keys with the aws: prefix are reserved for AWS; SageMaker rejects them in a request.
        return {k: v for k, v in collector.cdk_tag_manager.tag_values().items() if not k.startswith("aws:")}

    def _render_tags(self) -> list[dict[str, str]] | None:
        tags = self._tags()
        return [{"Key": k, "Value": v} for k, v in sorted(tags.items())] or None

    def _admit(self, kind: str, names: list[str], name: str, local_path: str | None) -> None:
        """One more input or output: within SageMaker's 10, under a name and a local path of its own."""
        limit = MAX_INPUTS if kind == "inputs" else MAX_OUTPUTS
        if len(names) >= limit:
            raise fail(kind, f"{len(names) + 1} items", f"a job takes at most {limit} {kind}")
        check_unique(f"{kind}[].name", [*names, name])
        self._check_local_path(local_path)

    def _check_local_path(self, path: str | None) -> None:
        paths = [i.local_path for i in self._inputs] + [o.local_path for o in self._outputs]
        check_local_paths_unique("local_path", [p for p in [*paths, path] if p is not None])

    # -----------------------------------------------------------------------------------------------------------
    # Grants and network
    # -----------------------------------------------------------------------------------------------------------

    def _grant_logs(self) -> None:
        stack = Stack.of(self)
        streams = f"{self._fixed_name}/*" if self._fixed_name else f"{self._name_prefix}-*"
        log_group_arn = stack.format_arn(
            service="logs", resource="log-group", resource_name=LOG_GROUP, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        allow(
            self,
            ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            [log_group_arn + ":*"],
            why="CloudWatch Logs authorizes these on the log group's ARN with the ':*' suffix (CloudWatch Logs "
            "permissions reference); the group, /aws/sagemaker/ProcessingJobs, is SageMaker's and shared by every job",
        )
        allow(
            self,
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [f"{log_group_arn}:log-stream:{streams}"],
            why="SageMaker names a job's log streams <job name>/algo-<n>-<epoch>; the job name ends in the "
            "deployment's request id, so the streams are named by this job's name prefix",
        )
        allow(
            self,
            ["cloudwatch:PutMetricData"],
            ["*"],
            {"StringEquals": {"cloudwatch:namespace": LOG_GROUP}},
            why="PutMetricData supports no resource-level permissions (Service Authorization Reference, Actions "
            "defined by Amazon CloudWatch); the condition limits it to the processing jobs' namespace",
        )

    def _network(
        self,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        enable_network_isolation: bool,
        enable_encryption: bool | None,
        instance_count: int,
    ) -> dict[str, Any]:
        if enable_encryption is None:
            enable_encryption = is_unresolved(instance_count) or instance_count > 1
        config: dict[str, Any] = {
            "EnableInterContainerTrafficEncryption": enable_encryption,
            "EnableNetworkIsolation": enable_network_isolation,
        }
        if vpc is None:
            if vpc_subnets is not None or security_groups is not None:
                given = "vpc_subnets" if vpc_subnets is not None else "security_groups"
                raise fail(given, "set without vpc", "vpc_subnets and security_groups take effect only with a vpc")
            return config
        subnet_ids = self._subnet_ids(vpc, vpc_subnets)
        low, high = _model.bounds("Subnets")
        check_count("vpc_subnets", subnet_ids, high, low)
        if security_groups is None:
            group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                allow_all_outbound=True,
                description=f"SageMaker processing job {self.node.path}",
            )
            if is_unresolved(instance_count) or instance_count > 1:
                group.connections.allow_internally(ec2.Port.all_traffic(), "between the job's instances")
                acknowledge(
                    group,
                    {
                        "EC2RestrictedCommonPorts": "The only ingress is from the group itself: SageMaker asks for "
                        "all traffic between the instances of a distributed job in a VPC (SageMaker developer "
                        "guide, Give SageMaker Processing Jobs Access to Resources in Your Amazon VPC)"
                    },
                )
            self._security_groups = [group]
        else:
            self._security_groups = list(security_groups)
        self._grant_eni(subnet_ids)
        config["VpcConfig"] = {
            "SecurityGroupIds": [g.security_group_id for g in self._security_groups],
            "Subnets": subnet_ids,
        }
        return config

    @staticmethod
    def _subnet_ids(vpc: ec2.IVpc, vpc_subnets: ec2.SubnetSelection | None) -> list[str]:
        explicit = None if vpc_subnets is None else vpc_subnets.subnets
        if explicit is not None and not vpc_subnets.subnet_filters and not vpc_subnets.one_per_az:  # type: ignore[union-attr]
            # Subnets given one by one are the selection, as the VPC's selectSubnets would return them. Their ids
            # are read directly: the Python binding of SelectedSubnets reads every field, and the availability zone
            # of a subnet imported with Subnet.from_subnet_id throws (aws-cdk-lib's Lambda reads only subnetIds).
            for index, subnet in enumerate(explicit):
                check_interface(
                    f"vpc_subnets.subnets[{index}]",
                    subnet,
                    ("subnet_id",),
                    "must be an ec2.ISubnet, such as ec2.Subnet.from_subnet_id(scope, id, 'subnet-...')",
                )
                _check_subnet_in_vpc(index, subnet, vpc)
            return [subnet.subnet_id for subnet in explicit]
        # The Python binding spreads struct arguments into keywords; hand the SubnetSelection over as it is.
        selection: ec2.SelectedSubnets = jsii.invoke(vpc, "selectSubnets", [vpc_subnets])
        if vpc_subnets is None and selection.has_public:
            raise fail(
                "vpc_subnets",
                "not set",
                f"the VPC {vpc.node.path} has no private subnets to default to; pass vpc_subnets explicitly",
            )
        return list(selection.subnet_ids)

    def _grant_eni(self, subnet_ids: Sequence[str]) -> None:
        stack = Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        interfaces = ec2_arn("network-interface", "*")
        eni_reason = (
            "SageMaker creates the job's network interfaces when it starts, so their ids are unknown before; "
            "creation is limited to the job's subnets and security groups"
        )
        allow(
            self,
            ["ec2:CreateNetworkInterface"],
            [
                interfaces,
                *(ec2_arn("subnet", s) for s in subnet_ids),
                *(ec2_arn("security-group", g.security_group_id) for g in self._security_groups),
            ],
            why=eni_reason,
        )
        allow(
            self,
            [
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            [interfaces],
            why=eni_reason,
        )
        allow(
            self,
            [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            ["*"],
            why="EC2 Describe* actions support no resource-level permissions (Service Authorization Reference, "
            "Actions defined by Amazon EC2); SageMaker needs them to place the job's network interfaces",
        )

    # -----------------------------------------------------------------------------------------------------------
    # Validation
    # -----------------------------------------------------------------------------------------------------------

    @staticmethod
    def _validate_types(
        *,
        image: Any,
        volume_size: Any,
        max_runtime: Any,
        volume_encryption_key: Any,
        output_encryption_key: Any,
        vpc: Any,
        vpc_subnets: Any,
        security_groups: Any,
        enable_network_isolation: Any,
        enable_inter_container_traffic_encryption: Any,
        experiment_config: Any,
        role: Any,
        processing_job_name: Any,
        code: Any,
        output_bucket: Any,
        completion: Any,
        environment: Any,
    ) -> None:
        """Each prop is of its type: a clear error instead of an AttributeError or a jsii error further on."""
        check_type(
            "image",
            image,
            ContainerImage,
            "must be a ContainerImage, such as ContainerImage.from_registry('<registry>/<repository>:<tag>')",
        )
        check_type("volume_size", volume_size, Size, "must be a Size, such as Size.gibibytes(30)")
        check_type("max_runtime", max_runtime, Duration, "must be a Duration, such as Duration.minutes(30)")
        check_interface("volume_encryption_key", volume_encryption_key, *_KEY)
        check_interface("output_encryption_key", output_encryption_key, *_KEY)
        check_interface("vpc", vpc, *_VPC)
        check_type(
            "vpc_subnets",
            vpc_subnets,
            ec2.SubnetSelection,
            "must be an ec2.SubnetSelection, such as ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED) "
            "or ec2.SubnetSelection(subnets=[...])",
        )
        if security_groups is not None:
            if isinstance(security_groups, (str, bytes)) or not isinstance(security_groups, (list, tuple)):
                raise fail(
                    "security_groups", security_groups, f"must be a list of ec2.ISecurityGroup; each {_GROUP[1]}"
                )
            for group in security_groups:
                check_interface("security_groups[]", group, *_GROUP)
        check_bool("enable_network_isolation", enable_network_isolation)
        check_bool("enable_inter_container_traffic_encryption", enable_inter_container_traffic_encryption)
        check_type(
            "experiment_config",
            experiment_config,
            ExperimentConfig,
            "must be an ExperimentConfig, such as ExperimentConfig(experiment_name='churn')",
        )
        check_interface("role", role, *_ROLE)
        check_type("processing_job_name", processing_job_name, str, "must be a string, such as 'features-2024-06-01'")
        check_type("code", code, Code, "must be a Code, such as Code.from_asset('jobs/preprocess.py')")
        check_interface("output_bucket", output_bucket, *_BUCKET)
        check_type(
            "completion",
            completion,
            Completion,
            "must be a Completion: Completion.wait(), Completion.wait_long() or Completion.start_only()",
        )
        if check_mapping("environment", environment, "{'MODE': 'full'}") is not None and not is_unresolved(environment):
            for key, value in environment.items():
                check_type(f"environment key {key!r}", key, str, "must be a string")
                check_type(f"environment[{key}]", value, str, f"must be a string (write it as {str(value)!r})")

    @staticmethod
    def _validate_scalars(
        instance_count: int,
        volume_size: Size | None,
        volume_encryption_key: kms.IKey | None,
        instance_type: InstanceType | None,
        entrypoint: Sequence[str] | None,
        arguments: Sequence[str] | None,
        environment: Mapping[str, str] | None,
        processing_job_name: str | None,
        experiment_config: ExperimentConfig | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> None:
        if instance_count is None:
            low, high = _model.bounds("ProcessingInstanceCount")
            raise fail("instance_count", instance_count, f"must be a whole number (an int) from {low} to {high}")
        check_integer("instance_count", instance_count)
        check_model_range("instance_count", instance_count, "ProcessingInstanceCount")
        if volume_size is not None and not volume_size.is_unresolved():
            check_model_range(
                "volume_size", _gibibytes(volume_size), "ProcessingVolumeSizeInGB", "GiB", as_written=volume_size
            )
        check_type(
            "instance_type",
            instance_type,
            InstanceType,
            "must be an InstanceType, such as InstanceType.of('ml.m5.xlarge')",
        )
        if volume_encryption_key is not None and (instance_type or InstanceType.M5_XLARGE).has_local_storage:
            raise fail(
                "volume_encryption_key",
                str(instance_type),
                "cannot be used with an instance type that has local instance storage (SageMaker encrypts that "
                "storage itself); drop the key or choose a type without local storage, such as ml.m5.xlarge",
            )
        for prop, values, list_shape, item_shape in (
            ("entrypoint", entrypoint, "ContainerEntrypoint", "ContainerEntrypointString"),
            ("arguments", arguments, "ContainerArguments", "ContainerArgument"),
        ):
            if values is None or is_unresolved(values):
                continue
            low, high = _model.bounds(list_shape)
            check_count(prop, values, high, low)
            for value in values:
                check_model_string(f"{prop}[]", value, item_shape)
        if environment is not None and not is_unresolved(environment):
            check_count("environment", environment, _model.bounds("ProcessingEnvironmentMap")[1])
            for key, value in environment.items():
                check_length(f"environment key {key!r}", key, 1, _model.bounds("ProcessingEnvironmentKey")[1])
                check_model_string(
                    "environment key",
                    key,
                    "ProcessingEnvironmentKey",
                    "letters, digits and '_', not starting with a digit",
                )
                check_model_string(f"environment[{key}]", value, "ProcessingEnvironmentValue")
        if processing_job_name is not None:
            check_model_string(
                "processing_job_name",
                processing_job_name,
                "ProcessingJobName",
                "letters and digits with single or repeated hyphens between them",
            )
        if experiment_config is not None:
            for field in ("experiment_name", "trial_name", "trial_component_display_name", "run_name"):
                check_model_string(
                    f"experiment_config.{field}",
                    getattr(experiment_config, field),
                    "ExperimentEntityName",
                    "1 to 120 letters or digits with hyphens between them",
                )
        low, high = _model.bounds("VpcSecurityGroupIds")
        check_count("security_groups", security_groups, high, low)


def _check_role(prop: str, role: iam.IRole) -> None:
    """An IAM role's ARN that SageMaker takes (RoleArn in botocore's model), and a trust SageMaker can assume.

    The trust policy is that of a role made in this app (``iam.Role``) as it is when the job is given it; an imported
    role's trust is not known at synth.
    """
    arn = role.role_arn
    if not is_unresolved(arn) and not _model.matches("RoleArn", arn):
        raise fail(
            prop,
            arn,
            f"must be an IAM role ARN matching {_model.pattern('RoleArn')}, such as "
            "arn:aws:iam::123456789012:role/ml-processing (not a user, a policy or another service's ARN)",
        )
    document = getattr(role, "assume_role_policy", None)
    if document is None:
        return
    trust = Stack.of(role).resolve(document.to_json())
    if not _trusts_sagemaker(trust):
        raise fail(
            prop,
            role,
            f"its trust policy does not let {_SERVICE} assume it: create it with "
            f"assumed_by=iam.ServicePrincipal('{_SERVICE}') (or add that principal with a CompositePrincipal) "
            "before giving it to the job",
        )


def _trusts_sagemaker(trust: Any) -> bool:
    statements = trust.get("Statement", []) if isinstance(trust, dict) else []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal", {})
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            return True
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if any(is_unresolved(s) or s == _SERVICE for s in services):
            return True
    return False


def _claim_job_name(job: ProcessingJob, name: str) -> None:
    """A fixed job name belongs to one job of the stack: SageMaker refuses a second job of the same name."""
    if is_unresolved(name):
        return
    stack = Stack.of(job)
    names: dict[str, str] | None = getattr(stack, "_cdk_processing_job_names", None)
    if names is None:
        names = {}
        stack._cdk_processing_job_names = names  # type: ignore[attr-defined]
    if name in names:
        raise fail(
            "processing_job_name",
            name,
            f"is already the name of {names[name]} in this stack: SageMaker job names are unique in an account "
            "and region, give each job a name of its own (or none: a name is then generated per run)",
        )
    names[name] = job.node.path


def _check_subnet_in_vpc(index: int, subnet: ec2.ISubnet, vpc: ec2.IVpc) -> None:
    """A subnet made in this app under another VPC construct than the job's ``vpc`` is refused; a subnet imported on
    its own (``Subnet.from_subnet_id``) names no VPC, and is taken as it is."""
    for scope in reversed(subnet.node.scopes[:-1]):
        # An imported VPC reaches Python as a jsii InterfaceDynamicProxy: its attributes are on the object.
        if hasattr(scope, "vpc_id") and hasattr(scope, "select_subnets"):
            if scope.node.path != vpc.node.path:
                raise fail(
                    f"vpc_subnets.subnets[{index}]",
                    subnet,
                    f"belongs to the VPC {scope.node.path}, not to the job's vpc {vpc.node.path}: SageMaker places the "
                    "job in subnets of one VPC",
                )
            return


@jsii.implements(IAspect)
class _RunIds:
    """Gives the long wait's handle and condition logical ids that change with the job's request (tags aside)."""

    def __init__(self, job: ProcessingJob, resources: list[CfnResource], request: dict[str, Any]) -> None:
        self._job = job
        self._resources = resources
        self._request = request
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._job:
            return
        self._done = True
        stack = Stack.of(self._job)
        essential = {k: v for k, v in self._request.items() if k != "Tags"}
        resolved = stack.resolve({kinds.PROP_REQUEST: essential, kinds.PROP_UPSTREAM: list(self._job._upstream)})
        digest = hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:8]
        for resource in self._resources:
            resource.override_logical_id(f"{Names.unique_id(resource)}{digest}")


@jsii.implements(IValidation)
class _TagValidation:
    """Checks the job's tags once every Tags.of() call has been made."""

    def __init__(self, job: ProcessingJob) -> None:
        self._job = job

    def validate(self) -> list[str]:
        tags = self._job._tags()
        errors = []
        if len(tags) > MAX_TAGS:
            errors.append(
                f"tags: the job has {len(tags)} tags: at most {MAX_TAGS} are allowed "
                "(SageMaker takes 50, four are the library's)"
            )
        for key, value in tags.items():
            if is_unresolved(key) or is_unresolved(value):
                continue  # resolved by CloudFormation, checked by SageMaker
            if not (1 <= len(key) <= 128 and re.fullmatch(_TAG_PATTERN, key)) or not (
                len(value) <= 256 and re.fullmatch(_TAG_PATTERN, value)
            ):
                errors.append(
                    f"tags: {key!r}={value!r}: keys of 1 to 128 and values up to 256 letters, digits, spaces "
                    "and _.:/=+-@"
                )
        return errors


@jsii.implements(IStableAnyProducer)
class _Produce:
    """A value computed once, at synth time, from a Python callable."""

    def __init__(self, fn: Any) -> None:
        self._fn = fn

    def produce(self) -> Any:
        return self._fn()


def _experiment(config: ExperimentConfig) -> dict[str, str]:
    fields = {
        "ExperimentName": config.experiment_name,
        "TrialName": config.trial_name,
        "TrialComponentDisplayName": config.trial_component_display_name,
        "RunName": config.run_name,
    }
    return {k: v for k, v in fields.items() if v is not None}


def _gibibytes(size: Size) -> Any:
    if size.is_unresolved():
        return size.to_gibibytes()
    try:
        return int(size.to_gibibytes(rounding=SizeRoundingBehavior.FAIL))
    except Exception as error:  # jsii raises a plain RuntimeError for a fractional size
        raise fail("volume_size", size, "must be a whole number of GiB, such as Size.gibibytes(30)") from error


def _grant_create_grant(key: kms.IKey, grantee: iam.IGrantable) -> None:
    """SageMaker attaches encrypted volumes through a KMS grant made for it (kms:GrantIsForAWSResource)."""
    allow(grantee, ["kms:CreateGrant", "kms:DescribeKey"], [key.key_arn], {"Bool": {"kms:GrantIsForAWSResource": True}})

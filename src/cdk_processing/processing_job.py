"""``ProcessingJob``: a SageMaker processing job run, and awaited, during ``cdk deploy``.

The job composes the parts every job kind shares (``_core``: its role, network, tags and resource) and renders the
blocks of its own request, ``CreateProcessingJob``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Duration, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import _memo
from ._core.job import DEFAULT_VOLUME_SIZE
from ._core.resource import lazy
from ._core.tags import MAX_TAGS
from ._job_checks import PROCESSING_SHAPES, check_job_scalars, check_prop_types
from ._policy import KMS_WRITE, allow_key
from ._s3 import S3Location
from ._validation import (
    check_list_of,
    check_str_list,
    in_construct,
)
from .assets import CODE_PATH, Code
from .code import job_entrypoint
from .completion import Completion
from .experiment import ExperimentConfig, render_experiment
from .handler.kinds import PROCESSING
from .image import ContainerImage
from .inputs import ProcessingInput, _AssetInput
from .instance_type import InstanceType
from .job_base import ProcessingJobBase
from .outputs import ProcessingOutput
from .processing_attributes import ProcessingJobAttributes, render_app_specification, render_cluster, tag_probe
from .processing_channels import MAX_INPUTS, MAX_OUTPUTS, ProcessingChannels

__all__ = ["MAX_INPUTS", "MAX_OUTPUTS", "MAX_TAGS", "ExperimentConfig", "ProcessingJob"]


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class ProcessingJob(ProcessingJobAttributes, ProcessingJobBase):
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
        _memo.made(self, scope, id)
        entrypoint = check_str_list("entrypoint", entrypoint, "['python3', '/opt/program/run.py']")
        arguments = check_str_list("arguments", arguments, "['--train-ratio', '0.8']")
        command = check_str_list("command", command, "['python3', '-u']")
        inputs = check_list_of("inputs", inputs, ProcessingInput, "[ProcessingInput.from_bucket(...)]")
        outputs = check_list_of("outputs", outputs, ProcessingOutput, "[ProcessingOutput.to_bucket(...)]")
        check_prop_types(
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
        check_job_scalars(
            PROCESSING_SHAPES,
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
        volume_size = volume_size or DEFAULT_VOLUME_SIZE
        completion = completion or Completion.for_max_runtime(max_runtime)
        max_runtime = max_runtime or completion.default_max_runtime
        completion.check(max_runtime)
        self.completion = completion
        self.instance_count = instance_count

        job_role, image_config = self._compose(
            role=role,
            fixed_name=processing_job_name,
            output_bucket=output_bucket,
            output_encryption_key=output_encryption_key,
            image=image,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            isolation=enable_network_isolation,
            encryption=enable_inter_container_traffic_encryption,
            instance_count=instance_count,
        )
        self._channels = ProcessingChannels(self, self._upstream, output_encryption_key)
        network_config = dict(self._network.flags)
        if self._network.vpc_config is not None:
            network_config["VpcConfig"] = self._network.vpc_config

        cluster_config = render_cluster(self, instance_count, instance_type, volume_size, volume_encryption_key)

        shape = "ContainerEntrypoint"
        self._launch = job_entrypoint(
            code, command, entrypoint, enable_network_isolation, CODE_PATH, self._add_code, shape
        )
        launch = self._launch.token() if self._launch is not None else None
        app_specification = render_app_specification(image_config.image_uri, launch, arguments)

        if output_encryption_key is not None:
            allow_key(self, output_encryption_key, KMS_WRITE)

        request: dict[str, Any] = {
            "AppSpecification": app_specification,
            "ProcessingResources": {"ClusterConfig": cluster_config},
            "StoppingCondition": {"MaxRuntimeInSeconds": int(_memo.seconds(max_runtime))},
            "RoleArn": self.role.role_arn,
            "NetworkConfig": network_config,
            "ProcessingInputs": lazy(self._channels.render_inputs),
            "ProcessingOutputConfig": lazy(self._channels.render_output_config),
            "Tags": lazy(lambda: self._tags.render()),
        }
        if environment:
            request["Environment"] = dict(environment)
        if experiment_config is not None:
            request["ExperimentConfig"] = render_experiment(experiment_config)
        if processing_job_name is not None:
            request[PROCESSING.name_field] = processing_job_name

        for processing_input in inputs or []:
            self.add_input(processing_input)
        for processing_output in outputs or []:
            self.add_output(processing_output)

        self._make_resource(
            job_role,
            request,
            completion=completion,
            bound=max_runtime,
            volume_key=volume_encryption_key,
            tag_probe=tag_probe,
            scope=scope,
        )

    # -----------------------------------------------------------------------------------------------------------
    # Public members
    # -----------------------------------------------------------------------------------------------------------

    def _add_code(self, code: Code) -> str:
        """The code as the input ``code`` (the plain CDK asset); its file name at ``CODE_PATH``."""
        code_input = _AssetInput("code", code.path, CODE_PATH, code.exclude, code=True)
        self.add_input(code_input)
        assert code_input.staged is not None and code_input.staged.file_name is not None
        return code_input.staged.file_name

    @in_construct
    def add_input(self, processing_input: ProcessingInput) -> None:
        """Add an input (at most 10 in all, names unique) and grant the role its reads."""
        self._channels.add_input(processing_input, self, self)

    @in_construct
    def add_output(self, processing_output: ProcessingOutput) -> None:
        """Add an output (at most 10 in all, names unique) and grant the role its writes."""
        self._channels.add_output(processing_output, self)

    @property
    def inputs(self) -> list[ProcessingInput]:
        """The job's inputs, in request order."""
        return list(self._channels.inputs)

    @property
    def outputs(self) -> list[ProcessingOutput]:
        """The job's outputs, in request order."""
        return list(self._channels.outputs)

    @property
    def run_name(self) -> str:
        """The name of the job's current run (``processing_job_name``): a job reading its outputs runs again with it."""
        return self.processing_job_name

    @in_construct
    def output_uri(self, output_name: str) -> str:
        """The S3 URI of an S3 output, as a token that resolves once the job completed.

        Whatever consumes it (another job's input, a model's data) is deployed after this job.
        """
        uri = self._channels.s3_uri(output_name)
        assert self._resource is not None
        return self._resource.output_uri(uri)

    @in_construct
    def output_location(self, output_name: str) -> S3Location:
        """Where an S3 output is written: its bucket and key prefix."""
        return self._channels.location(output_name)

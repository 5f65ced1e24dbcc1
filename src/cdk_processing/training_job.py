"""``TrainingJob``: a SageMaker training job run, and awaited, during ``cdk deploy``.

The job composes the parts every job kind shares (``_core``: its role, network, tags and resource) and renders the
blocks of its own request, ``CreateTrainingJob``.
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

from . import _memo, _model
from ._core.job import DEFAULT_VOLUME_SIZE
from ._core.resource import lazy
from ._hyperparameters import render_hyperparameters
from ._job_checks import TRAINING_SHAPES, check_job_scalars, check_prop_types
from ._policy import KMS_WRITE, allow_key
from ._s3 import S3Location
from ._training_checks import check_training_props, keep_alive_seconds, pending_seconds, stop_times
from ._validation import check_list_of, check_str_list, check_unique, fail, in_construct
from .assets import Code
from .completion import Completion
from .experiment import ExperimentConfig, render_experiment
from .handler.kinds import TRAINING
from .image import ContainerImage, for_training
from .instance_type import InstanceType
from .job_base import TrainingJobBase
from .provider import ProcessingJobProvider
from .quality_gate import MetricThreshold, render_gate
from .s3_data import InputMode
from .training_attributes import (
    MODEL_OUTPUT,
    Checkpoints,
    MetricDefinition,
    TrainingJobAttributes,
    tag_probe,
)
from .training_cluster import InstanceGroup, TrainingCluster
from .training_distribution import Distribution, job_launch, with_distribution
from .training_inputs import TrainingInput, code_channel

__all__ = ["MODEL_OUTPUT", "TrainingJob"]


@jsii.implements(iam.IGrantable, ec2.IConnectable)
class TrainingJob(TrainingJobAttributes, TrainingJobBase):
    """A SageMaker training job, started and awaited by CloudFormation.

    The deployment succeeds when the job completed and fails with the job's FailureReason and its last status
    message when it failed or was stopped. The job trains again when its request changes (image, hyperparameters,
    channels, the runs of the jobs it reads from, ...), never for a change that leaves the request as it is.
    Deleting the resource stops a job that is still running; the model and checkpoints are never deleted.

    Example::

        train = TrainingJob(self, "Train",
            image=ContainerImage.from_framework(Framework.XGBOOST, "1.7-1"),
            hyperparameters={"objective": "binary:logistic", "num_round": 100},
            inputs=[TrainingInput.from_output("train", prepare, "train")],
            metric_definitions=[MetricDefinition("validation:auc", r"validation-auc:([0-9\\.]+)")],
        )
        model_uri = train.model_data
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
        use_spot_instances: bool = False,
        max_wait: Duration | None = None,
        checkpoints: Checkpoints | None = None,
        allow_spot_without_checkpoints: bool = False,
        entrypoint: Sequence[str] | None = None,
        arguments: Sequence[str] | None = None,
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
        environment: Mapping[str, str] | None = None,
        inputs: Sequence[TrainingInput] | None = None,
        input_mode: InputMode = InputMode.FILE,
        metric_definitions: Sequence[MetricDefinition] | None = None,
        output_bucket: s3.IBucket | None = None,
        output_prefix: str | None = None,
        output_encryption_key: kms.IKey | None = None,
        retry_attempts: int | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        enable_network_isolation: bool = False,
        enable_inter_container_traffic_encryption: bool | None = None,
        experiment_config: ExperimentConfig | None = None,
        role: iam.IRole | None = None,
        training_job_name: str | None = None,
        code: Code | None = None,
        command: Sequence[str] | None = None,
        completion: Completion | None = None,
        max_pending_time: Duration | None = None,
        enable_remote_debug: bool | None = None,
        enable_infra_check: bool | None = None,
        quality_gate: Sequence[MetricThreshold] | None = None,
        keep_alive: Duration | None = None,
        instance_groups: Sequence[InstanceGroup] | None = None,
        distribution: Distribution | None = None,
    ) -> None:
        """
        :param image: the container image the job runs; a framework image (``ContainerImage.from_framework``) in
            its training build, CPU or GPU as ``instance_type`` has.
        :param instance_type: Default: ``InstanceType.M5_XLARGE``.
        :param instance_count: instances to train on. Default: 1.
        :param volume_size: the ML storage volume attached to each instance, in GiB. Default: 30 GiB.
        :param volume_encryption_key: encrypts the storage volumes (not with instance types that have local
            instance storage). Default: SageMaker's AWS managed key.
        :param max_runtime: the longest the job may train: up to 45 minutes with ``Completion.wait()``, 11 h 45 min
            with ``wait_long()``, 28 days with ``start_only()``. Default: 45 minutes (``wait_long``: 11 h 45 min,
            ``start_only``: 1 day); with spot, ``max_wait``.
        :param use_spot_instances: train on managed spot capacity (``EnableManagedSpotTraining``). Default: false.
        :param max_wait: with spot only: the longest the job may take, waiting for spot capacity included; at least
            ``max_runtime``; it bounds the deployment's wait. Default: ``max_runtime``.
        :param checkpoints: where the job keeps checkpoints (``Checkpoints.per_run()`` or ``.shared(...)``).
            Default: no checkpoints.
        :param allow_spot_without_checkpoints: a spot job whose ``max_wait`` passes an hour needs ``checkpoints``
            (an interrupted job without them trains from the start again); this allows it anyway. Default: false.
        :param entrypoint: the container's entrypoint. Default: the image's ENTRYPOINT.
        :param arguments: arguments for the entrypoint. Default: none.
        :param hyperparameters: at most 100, values str, int, float or bool (rendered as strings: ``true``/``false``,
            ``0.1``). Default: none.
        :param environment: environment variables (at most 100). Default: none.
        :param inputs: the job's channels, 1 to 20 with unique names; more with ``add_input``. Default: none.
        :param input_mode: how channels without their own mode are read. Default: ``InputMode.FILE``.
        :param metric_definitions: at most 40, with unique names. Default: none.
        :param output_bucket: where the model (and checkpoints given no bucket) go. Default: one bucket per stack,
            created on first use (encrypted, private, retained on delete).
        :param output_prefix: the key prefix of the model's location. Default: ``<the job's prefix>model/``; each run
            writes ``<prefix><job name>/output/model.tar.gz``.
        :param output_encryption_key: encrypts the model in S3. Default: the bucket's own encryption.
        :param retry_attempts: runs of the job after an internal SageMaker error, 1 to 30 (``max_runtime`` covers
            them all). Default: no retry.
        :param vpc: runs the job's containers in this VPC. Default: SageMaker's network, no VPC.
        :param vpc_subnets: Default: the VPC's private subnets.
        :param security_groups: at most 5. Default: one security group is created for the job (``connections``).
        :param enable_network_isolation: no network access from the containers at all. Default: false.
        :param enable_inter_container_traffic_encryption: Default: on when ``instance_count`` is more than 1.
        :param experiment_config: Default: the job is not part of an experiment.
        :param role: the role SageMaker assumes for the job; used as is and granted what the channels, outputs,
            image, keys and network need. Default: a role is created with exactly those grants.
        :param training_job_name: a fixed job name (unique in the account and region, forever). Default: a name
            derived from the stack and this construct, new for each run.
        :param code: the job's own script or folder (``Code.from_asset``), the channel ``code`` at
            ``/opt/ml/input/data/code``, run as ``command + [script] + arguments`` in any image. Default: the image's
            own code.
        :param command: what runs the code. Default: ``["python3"]``.
        :param completion: how the deployment waits for the job. Default: from ``max_runtime`` (``max_wait`` with
            spot): ``Completion.wait()`` up to 45 minutes, ``wait_long()`` up to 11 h 45 min.
        :param max_pending_time: how long the job may wait for capacity (accelerated instance types), 30 minutes
            to 28 days. Default: SageMaker's.
        :param enable_remote_debug: lets you connect to the container with SSM while it runs. Default: off.
        :param enable_infra_check: runs SageMaker's cluster health checks before training. Default: off.
        :param quality_gate: thresholds on the job's final metrics (each names one of ``metric_definitions``): when
            the job completed but a final value misses its threshold, or the job reported none, the deployment fails
            with the metric, its value and the threshold, and nothing that reads the job's model is deployed with it
            (checked at the job's end with ``Completion.wait()`` and ``wait_long()``; not with ``start_only()``).
            Default: any job that completed passes.
        :param keep_alive: keeps the job's instances in a warm pool for this long after it completed (billed), so
            that the next run with the same role, instances, volume and network starts on them; 0 to 6 hours (the
            model's maximum). A change of ``keep_alive`` alone updates the job in place (it does not train again);
            deleting the job or rolling it back releases the pool at once. Default: no warm pool.
        :param instance_groups: 1 to 5 ``InstanceGroup`` (a heterogeneous cluster) in place of ``instance_type`` and
            ``instance_count``. Default: ``instance_count`` instances of ``instance_type``.
        :param distribution: how a framework image's toolkit launches ``code`` (a script) across the instances, such
            as ``Distribution.torchrun()``. Default: the container runs as it is.
        """
        super().__init__(scope, id)
        _memo.made(self, scope, id)
        entrypoint = check_str_list("entrypoint", entrypoint, "['python3', '/opt/program/train.py']")
        arguments = check_str_list("arguments", arguments, "['--epochs', '10']")
        command = check_str_list("command", command, "['python3', '-u']")
        inputs = check_list_of("inputs", inputs, TrainingInput, "[TrainingInput.from_bucket(...)]")
        metrics = check_list_of(
            "metric_definitions", metric_definitions, MetricDefinition, "[MetricDefinition('loss', 'loss=(\\S+)')]"
        )
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
            processing_job_name=training_job_name,
            code=code,
            output_bucket=output_bucket,
            completion=completion,
            environment=environment,
            name_prop="training_job_name",
        )
        cluster = TrainingCluster(instance_type, instance_count, instance_groups, volume_encryption_key)
        check_job_scalars(
            TRAINING_SHAPES,
            instance_count,
            volume_size,
            volume_encryption_key,
            instance_type,
            entrypoint,
            arguments,
            environment,
            training_job_name,
            experiment_config,
            security_groups,
        )
        check_training_props(
            use_spot_instances=use_spot_instances,
            allow_spot_without_checkpoints=allow_spot_without_checkpoints,
            enable_remote_debug=enable_remote_debug,
            enable_infra_check=enable_infra_check,
            input_mode=input_mode,
            checkpoints=checkpoints,
            metrics=metrics,
            retry_attempts=retry_attempts,
        )
        cluster.instance_type.check_training()
        image = for_training(image, cluster.image_instance_type)
        volume_size = volume_size or DEFAULT_VOLUME_SIZE
        max_runtime, max_wait, completion = stop_times(
            max_runtime, use_spot_instances, max_wait, completion, checkpoints, allow_spot_without_checkpoints
        )
        self.completion = completion
        self.instance_count = cluster.count
        self._cluster = cluster
        self._metric_names = [m.name for m in metrics or []]
        self._final_metrics: list[str] = []
        gate = render_gate(quality_gate, self._metric_names, completion)

        job_role, image_config = self._compose(
            role=role,
            fixed_name=training_job_name,
            output_bucket=output_bucket,
            output_encryption_key=output_encryption_key,
            image=image,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            isolation=enable_network_isolation,
            encryption=enable_inter_container_traffic_encryption,
            instance_count=cluster.count,
        )
        self._inputs: list[TrainingInput] = []
        self._channels: list[dict[str, Any]] = []

        self._input_mode = input_mode.value
        self._launch, launch = job_launch(
            distribution, image, cluster, code, command, entrypoint, arguments, enable_network_isolation, self._add_code
        )

        algorithm: dict[str, Any] = {"TrainingImage": image_config.image_uri, "TrainingInputMode": input_mode.value}
        if metrics:
            algorithm["MetricDefinitions"] = [{"Name": m.name, "Regex": m.regex} for m in metrics]
        if self._launch is not None:
            algorithm["ContainerEntrypoint"] = self._launch.token()
        if arguments is not None:
            algorithm["ContainerArguments"] = list(arguments)

        self._model_location = S3Location.from_bucket(
            "output_prefix",
            self.output_bucket,
            output_prefix if output_prefix is not None else self.default_prefix + "model/",
        )
        self._model_location.grant_write(self)
        output: dict[str, Any] = {"S3OutputPath": self._model_location.uri}
        if output_encryption_key is not None:
            allow_key(self, output_encryption_key, KMS_WRITE)
            output["KmsKeyId"] = output_encryption_key.key_arn

        resources = cluster.render(self, volume_size, volume_encryption_key)
        if keep_alive is not None:
            resources["KeepAlivePeriodInSeconds"] = keep_alive_seconds(keep_alive)
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": int(_memo.seconds(max_runtime))}
        request: dict[str, Any] = {
            "AlgorithmSpecification": algorithm,
            "RoleArn": self.role.role_arn,
            "InputDataConfig": lazy(lambda: self._channels or None),
            "OutputDataConfig": output,
            "ResourceConfig": resources,
            "StoppingCondition": stopping,
            **self._network.flags,
            "Tags": lazy(lambda: self._tags.render()),
        }
        if self._network.vpc_config is not None:
            request["VpcConfig"] = self._network.vpc_config
        if use_spot_instances:
            request["EnableManagedSpotTraining"] = True
            stopping["MaxWaitTimeInSeconds"] = int(_memo.seconds(max_wait))
        if max_pending_time is not None:
            stopping["MaxPendingTimeInSeconds"] = pending_seconds(max_pending_time)
        per_run: list[str] = []
        if checkpoints is not None:
            request["CheckpointConfig"] = checkpoints.bind(self)
            if checkpoints.own_prefix_per_run:
                per_run.append("CheckpointConfig.S3Uri")
        rendered = with_distribution(render_hyperparameters(hyperparameters), launch, repr(distribution))
        if rendered:
            request["HyperParameters"] = rendered
        if environment:
            request["Environment"] = dict(environment)
        if retry_attempts is not None:
            request["RetryStrategy"] = {"MaximumRetryAttempts": retry_attempts}
        if experiment_config is not None:
            request["ExperimentConfig"] = render_experiment(experiment_config)
        if enable_remote_debug is not None:
            request["RemoteDebugConfig"] = {"EnableRemoteDebug": enable_remote_debug}
        if enable_infra_check is not None:
            request["InfraCheckConfig"] = {"EnableInfraCheck": enable_infra_check}
        if training_job_name is not None:
            request[TRAINING.name_field] = training_job_name

        for channel in inputs or []:
            self.add_input(channel)

        self._make_resource(
            job_role,
            request,
            completion=completion,
            bound=max_wait,
            volume_key=volume_encryption_key,
            tag_probe=tag_probe,
            scope=scope,
            per_run=per_run,
            gate=gate,
        )
        if keep_alive is not None and completion.deploy_run:
            ProcessingJobProvider.of(self, TRAINING).allow_update(training_job_name, TRAINING)

    def _add_code(self, code: Code) -> str:
        """The code as the channel ``code`` (the plain CDK asset); its file name in the channel."""
        channel = code_channel(code.path, code.exclude, InputMode(self._input_mode))
        self.add_input(channel)
        assert channel.staged is not None and channel.staged.file_name is not None
        return channel.staged.file_name

    @in_construct
    def add_input(self, channel: TrainingInput) -> None:
        """Add a channel (at most 20 in all, names unique) and grant the role its reads."""
        if not isinstance(channel, TrainingInput):
            raise fail("inputs[]", channel, "must be a TrainingInput, such as TrainingInput.from_bucket(...)")
        high = _model.bounds("InputDataConfig")[1]
        if len(self._inputs) >= high:
            raise fail("inputs", f"{len(self._inputs) + 1} items", f"a training job takes at most {high} channels")
        check_unique("inputs[].channel", [*(i.channel for i in self._inputs), channel.channel])
        self._cluster.check_channel(channel.channel, channel.instance_groups)
        self._inputs.append(channel)
        self._channels.append(channel.bind(self, self))
        channel.admitted(self, self._upstream)

    # -----------------------------------------------------------------------------------------------------------
    # Public members
    # -----------------------------------------------------------------------------------------------------------

    @property
    def inputs(self) -> list[TrainingInput]:
        """The job's channels, in request order."""
        return list(self._inputs)

    @property
    def run_name(self) -> str:
        """The name of the job's current run (``training_job_name``): a job reading its model runs again with it."""
        return self.training_job_name

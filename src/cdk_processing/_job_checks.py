"""Synth-time checks of a job's props that need more than one value or botocore's model: types first, so that a
wrong type meets a clear error instead of an AttributeError or a jsii error further on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Size, SizeRoundingBehavior, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from . import _memo, _model
from ._validation import (
    check_bool,
    check_count,
    check_integer,
    check_interface,
    check_length,
    check_mapping,
    check_model_range,
    check_model_string,
    check_type,
    fail,
    is_unresolved,
)
from .assets import Code
from .completion import Completion
from .experiment import ExperimentConfig
from .image import ContainerImage
from .instance_type import InstanceType

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


def check_prop_types(
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
    name_prop: str = "processing_job_name",
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
            raise fail("security_groups", security_groups, f"must be a list of ec2.ISecurityGroup; each {_GROUP[1]}")
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
    check_type(name_prop, processing_job_name, str, "must be a string, such as 'features-2024-06-01'")
    check_type("code", code, Code, "must be a Code, such as Code.from_asset('jobs/preprocess.py')")
    check_interface("output_bucket", output_bucket, *_BUCKET)
    check_type(
        "completion",
        completion,
        Completion,
        "must be a Completion: Completion.wait(), .wait_long(), .start_only() or .never()",
    )
    if check_mapping("environment", environment, "{'MODE': 'full'}") is not None and not is_unresolved(environment):
        for key, value in environment.items():
            check_type(f"environment key {key!r}", key, str, "must be a string")
            check_type(f"environment[{key}]", value, str, f"must be a string (write it as {str(value)!r})")


def check_job_scalars(
    shapes: JobShapes,
    instance_count: int,
    volume_size: Size | None,
    volume_encryption_key: kms.IKey | None,
    instance_type: InstanceType | None,
    entrypoint: Sequence[str] | None,
    arguments: Sequence[str] | None,
    environment: Mapping[str, str] | None,
    job_name: str | None,
    experiment_config: ExperimentConfig | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> None:
    """The scalars every job kind has, as the kind's shapes in botocore's model take them."""
    if instance_count is None:
        low, high = _model.bounds(shapes.instance_count)
        raise fail("instance_count", instance_count, f"must be a whole number (an int) from {low} to {high}")
    check_integer("instance_count", instance_count)
    check_model_range("instance_count", instance_count, shapes.instance_count)
    if volume_size is not None and not volume_size.is_unresolved():
        check_model_range("volume_size", gibibytes(volume_size), shapes.volume_size, "GiB", as_written=volume_size)
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
    check_container(entrypoint, arguments, environment, experiment_config, security_groups, shapes)
    if job_name is not None:
        check_model_string(
            shapes.name_prop,
            job_name,
            shapes.name_shape,
            "letters and digits with single or repeated hyphens between them",
        )


@dataclass(frozen=True)
class JobShapes:
    """The shapes in botocore's model of a kind's instances, container entrypoint, arguments, environment and name."""

    instance_count: str
    volume_size: str
    entrypoint: tuple[str, str]  # the list's shape and its items'
    arguments: tuple[str, str]
    environment: tuple[str, str, str]  # the map's shape, its keys' and its values'
    name_shape: str
    name_prop: str


PROCESSING_SHAPES = JobShapes(
    "ProcessingInstanceCount",
    "ProcessingVolumeSizeInGB",
    ("ContainerEntrypoint", "ContainerEntrypointString"),
    ("ContainerArguments", "ContainerArgument"),
    ("ProcessingEnvironmentMap", "ProcessingEnvironmentKey", "ProcessingEnvironmentValue"),
    "ProcessingJobName",
    "processing_job_name",
)
TRAINING_SHAPES = JobShapes(
    "TrainingInstanceCount",
    "OptionalVolumeSizeInGB",
    ("TrainingContainerEntrypoint", "TrainingContainerEntrypointString"),
    ("TrainingContainerArguments", "TrainingContainerArgument"),
    ("TrainingEnvironmentMap", "TrainingEnvironmentKey", "TrainingEnvironmentValue"),
    "TrainingJobName",
    "training_job_name",
)


def check_container(
    entrypoint: Sequence[str] | None,
    arguments: Sequence[str] | None,
    environment: Mapping[str, str] | None,
    experiment_config: ExperimentConfig | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
    shapes: JobShapes,
) -> None:
    """The container's entrypoint, arguments and environment, the experiment and the security groups, as the kind's
    shapes in botocore's model take them."""
    for prop, values, (list_shape, item_shape) in (
        ("entrypoint", entrypoint, shapes.entrypoint),
        ("arguments", arguments, shapes.arguments),
    ):
        if values is None or is_unresolved(values):
            continue
        low, high = _model.bounds(list_shape)
        check_count(prop, values, high, low)
        for value in values:
            check_model_string(f"{prop}[]", value, item_shape)
    map_shape, key_shape, value_shape = shapes.environment
    if environment is not None and not is_unresolved(environment):
        check_count("environment", environment, _model.bounds(map_shape)[1])
        for key, value in environment.items():
            check_length(f"environment key {key!r}", key, 1, _model.bounds(key_shape)[1])
            check_model_string(
                "environment key",
                key,
                key_shape,
                "letters, digits and '_', not starting with a digit",
            )
            check_model_string(f"environment[{key}]", value, value_shape)
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


def claim_job_name(job: Construct, name: str, prop: str = "processing_job_name") -> None:
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
            prop,
            name,
            f"is already the name of {names[name]} in this stack: SageMaker job names are unique in an account "
            "and region, give each job a name of its own (or none: a name is then generated per run)",
        )
    names[name] = job.node.path


def gibibytes(size: Size) -> Any:
    if _memo.size_unresolved(size):
        return size.to_gibibytes()
    try:
        return _memo.once(size, "GiB", lambda: int(size.to_gibibytes(rounding=SizeRoundingBehavior.FAIL)))
    except Exception as error:  # jsii raises a plain RuntimeError for a fractional size
        raise fail("volume_size", size, "must be a whole number of GiB, such as Size.gibibytes(30)") from error

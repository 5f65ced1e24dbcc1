"""Bad input, table-driven: every case fails at synth with the library's error naming the construct path (when a job
is involved), the property, the value as written and what is allowed; the valid values that follow synthesize.

Limits, enums and patterns come from botocore's SageMaker model (``model.input_shape``), as the library reads them.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_processing import (
    AthenaOutputCompression,
    AthenaOutputFormat,
    Code,
    Completion,
    ContainerImage,
    DataDistribution,
    ExperimentConfig,
    Framework,
    InputMode,
    InstanceType,
    ProcessingInput,
    ProcessingJob,
    ProcessingJobValidationError,
    ProcessingOutput,
    RedshiftOutputCompression,
    RedshiftOutputFormat,
    S3Compression,
    S3DataType,
    S3UploadMode,
)
from model import _MODEL, input_shape

APP = cdk.App()
_ids = itertools.count()
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"
IMAGE = ContainerImage.from_registry(URI)
ROLE_ARN = "arn:aws:iam::123456789012:role/ml-processing"
FILES = Path(tempfile.mkdtemp(prefix="bad-input-"))
(FILES / "project").mkdir()
(FILES / "project" / "main.py").write_text("print(1)\n")
(FILES / "project" / "requirements.txt").write_text("pandas\n")
(FILES / "script.py").write_text("print(1)\n")
STATUSES = list(_MODEL.shape_for("ProcessingJobStatus").enum)


def shape(path: str) -> Any:
    """A member shape of CreateProcessingJobRequest by its dotted path (``ProcessingResources.ClusterConfig...``)."""
    node = input_shape()
    for part in path.split("."):
        node = node.member if part == "[]" else node.members[part]
    return node


def high(path: str) -> int:
    return int(shape(path).metadata["max"])


def enum_of(path: str) -> list[str]:
    return list(shape(path).enum)


def new_stack() -> cdk.Stack:
    return cdk.Stack(APP, f"Bad{next(_ids)}")


def job(s: cdk.Stack, id: str = "Job", **props: Any) -> ProcessingJob:
    props.setdefault("image", IMAGE)
    return ProcessingJob(s, id, **props)


def bucket(s: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(s, f"B{next(_ids)}", "data-bucket")


def vpc(s: cdk.Stack, id: str = "Vpc") -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        s,
        id,
        vpc_id=f"vpc-{id.lower()}",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=[f"subnet-{id.lower()}1", f"subnet-{id.lower()}2"],
    )


def role(s: cdk.Stack, principal: iam.IPrincipal) -> iam.Role:
    return iam.Role(s, f"R{next(_ids)}", assumed_by=principal)


def athena(**kwargs: Any) -> ProcessingInput:
    props: dict[str, Any] = {
        "database": "sales",
        "query_string": "SELECT 1",
        "output_s3_uri": "s3://athena-out/q/",
        "output_format": AthenaOutputFormat.PARQUET,
    }
    return ProcessingInput.from_athena("q", **{**props, **kwargs})


def redshift(s: cdk.Stack, **kwargs: Any) -> ProcessingInput:
    props: dict[str, Any] = {
        "cluster_id": "warehouse",
        "cluster_role": iam.Role.from_role_arn(s, f"C{next(_ids)}", "arn:aws:iam::123456789012:role/unload"),
        "database": "dev",
        "db_user": "etl",
        "query_string": "SELECT 1",
        "output_s3_uri": "s3://unload-out/r/",
        "output_format": RedshiftOutputFormat.CSV,
    }
    return ProcessingInput.from_redshift("r", **{**props, **kwargs})


Build = Callable[[cdk.Stack], Any]
# (id, build, fragments, in a job): in a job, the message starts with the job's path, "<stack>/Job: ".
Case = tuple[str, Build, list[str], bool]
J, F = True, False  # the error names the job's path / a factory's error, raised before any construct

# -- Wrong types anywhere ----------------------------------------------------------------------------------------
WRONG_TYPES: list[Case] = [
    ("image as str", lambda s: job(s, image=URI), [f"image is {URI!r}", "must be a ContainerImage"], J),
    ("image as int", lambda s: job(s, image=5), ["image is 5", "ContainerImage.from_registry"], J),
    ("image as dict", lambda s: job(s, image={"uri": URI}), ["image is {'uri'", "must be a ContainerImage"], J),
    (
        "image factory not called",
        lambda s: job(s, image=ContainerImage.from_registry),
        ["image is ContainerImage.from_registry", "call it: ContainerImage.from_registry()"],
        J,
    ),
    ("instance_type as int", lambda s: job(s, instance_type=4), ["instance_type is 4", "InstanceType"], J),
    (
        "instance_type factory not called",
        lambda s: job(s, instance_type=InstanceType.of),
        ["instance_type is InstanceType.of", "call it: InstanceType.of()"],
        J,
    ),
    ("instance_count as str", lambda s: job(s, instance_count="2"), ["instance_count is '2'", "whole number"], J),
    ("instance_count as bool", lambda s: job(s, instance_count=True), ["instance_count is True", "whole number"], J),
    ("instance_count None", lambda s: job(s, instance_count=None), ["instance_count is None", "from 1 to 100"], J),
    ("volume_size as int", lambda s: job(s, volume_size=30), ["volume_size is 30", "Size.gibibytes(30)"], J),
    ("volume_size as str", lambda s: job(s, volume_size="30 GiB"), ["volume_size is '30 GiB'", "a Size"], J),
    (
        "volume_size as Duration",
        lambda s: job(s, volume_size=cdk.Duration.minutes(30)),
        ["volume_size is Duration.minutes(30)", "must be a Size"],
        J,
    ),
    ("max_runtime as int", lambda s: job(s, max_runtime=3600), ["max_runtime is 3600", "Duration.minutes(30)"], J),
    ("max_runtime as str", lambda s: job(s, max_runtime="1h"), ["max_runtime is '1h'", "must be a Duration"], J),
    (
        "max_runtime as Size",
        lambda s: job(s, max_runtime=cdk.Size.gibibytes(1)),
        ["max_runtime is Size.gibibytes(1)", "must be a Duration"],
        J,
    ),
    (
        "volume key as ARN str",
        lambda s: job(s, volume_encryption_key="arn:aws:kms:us-east-1:123456789012:key/k"),
        ["volume_encryption_key is 'arn:aws:kms:us-east-1:123456789012:key/k'", "must be a kms.IKey"],
        J,
    ),
    (
        "volume key as dict",
        lambda s: job(s, volume_encryption_key={"arn": "k"}),
        ["volume_encryption_key is {'arn': 'k'}", "kms.Key.from_key_arn"],
        J,
    ),
    (
        "output key as str",
        lambda s: job(s, output_encryption_key="alias/ml"),
        ["output_encryption_key is 'alias/ml'", "must be a kms.IKey"],
        J,
    ),
    (
        "output key as a bucket",
        lambda s: job(s, output_encryption_key=bucket(s)),
        ["output_encryption_key is the construct", "must be a kms.IKey"],
        J,
    ),
    (
        "entrypoint as one str",
        lambda s: job(s, entrypoint="python3 x.py"),
        ["entrypoint is 'python3 x.py'", "must be a list of strings"],
        J,
    ),
    (
        "entrypoint with an int",
        lambda s: job(s, entrypoint=["python3", 3]),
        ["entrypoint[] is 3", "must be a string"],
        J,
    ),
    ("arguments as one str", lambda s: job(s, arguments="--x 1"), ["arguments is '--x 1'", "list of strings"], J),
    ("arguments as dict", lambda s: job(s, arguments={"--x": "1"}), ["arguments is {'--x': '1'}", "list"], J),
    ("arguments with a float", lambda s: job(s, arguments=["--ratio", 0.8]), ["arguments[] is 0.8", "string"], J),
    (
        "environment as list",
        lambda s: job(s, environment=[("A", "b")]),
        ["environment is [('A', 'b')]", "must be a dict"],
        J,
    ),
    ("environment as str", lambda s: job(s, environment="A=b"), ["environment is 'A=b'", "must be a dict"], J),
    (
        "environment value int",
        lambda s: job(s, environment={"N": 3}),
        ["environment[N] is 3", "must be a string (write it as '3')"],
        J,
    ),
    (
        "environment value bool",
        lambda s: job(s, environment={"DEBUG": True}),
        ["environment[DEBUG] is True", "write it as 'True'"],
        J,
    ),
    ("environment key int", lambda s: job(s, environment={1: "x"}), ["environment key 1 is 1", "string"], J),
    (
        "one input, not a list",
        lambda s: job(s, inputs=ProcessingInput.from_bucket("raw", bucket(s), "raw/")),
        ["inputs is a ProcessingInput", "must be a list"],
        J,
    ),
    (
        "inputs as a URI str",
        lambda s: job(s, inputs="s3://data-bucket/raw/"),
        ["inputs is 's3://data-bucket/raw/'", "list of ProcessingInput"],
        J,
    ),
    (
        "inputs list with a str",
        lambda s: job(s, inputs=["s3://data-bucket/raw/"]),
        ["inputs[] is 's3://data-bucket/raw/'", "must be a ProcessingInput"],
        J,
    ),
    (
        "inputs list with an output",
        lambda s: job(s, inputs=[ProcessingOutput.to_bucket("o")]),
        ["inputs[] is a ProcessingOutput", "must be a ProcessingInput"],
        J,
    ),
    (
        "inputs list with an uncalled factory",
        lambda s: job(s, inputs=[ProcessingInput.from_bucket]),
        ["inputs[] is ProcessingInput.from_bucket", "call it"],
        J,
    ),
    (
        "one output, not a list",
        lambda s: job(s, outputs=ProcessingOutput.to_bucket("o")),
        ["outputs is a ProcessingOutput", "must be a list"],
        J,
    ),
    (
        "outputs list with an input",
        lambda s: job(s, outputs=[ProcessingInput.from_bucket("raw", bucket(s), "raw/")]),
        ["outputs[] is a ProcessingInput", "must be a ProcessingOutput"],
        J,
    ),
    ("outputs as dict", lambda s: job(s, outputs={"o": "s3://b/o/"}), ["outputs is {'o'", "list"], J),
    ("vpc as str", lambda s: job(s, vpc="vpc-123"), ["vpc is 'vpc-123'", "must be an ec2.IVpc"], J),
    ("vpc as dict", lambda s: job(s, vpc={"id": "vpc-1"}), ["vpc is {'id': 'vpc-1'}", "ec2.Vpc.from_lookup"], J),
    (
        "vpc_subnets as list",
        lambda s: (lambda v: job(s, vpc=v, vpc_subnets=v.private_subnets))(vpc(s)),
        ["vpc_subnets is [", "must be an ec2.SubnetSelection", "SubnetSelection(subnets=[...])"],
        J,
    ),
    (
        "vpc_subnets as str",
        lambda s: job(s, vpc=vpc(s), vpc_subnets="subnet-1"),
        ["vpc_subnets is 'subnet-1'", "ec2.SubnetSelection"],
        J,
    ),
    (
        "subnet as str in a selection",
        lambda s: job(s, vpc=vpc(s), vpc_subnets=ec2.SubnetSelection(subnets=["subnet-1"])),
        ["vpc_subnets.subnets[0] is 'subnet-1'", "ec2.Subnet.from_subnet_id"],
        J,
    ),
    (
        "security_groups as str",
        lambda s: job(s, vpc=vpc(s), security_groups="sg-1"),
        ["security_groups is 'sg-1'", "must be a list of ec2.ISecurityGroup"],
        J,
    ),
    (
        "security_groups with a str",
        lambda s: job(s, vpc=vpc(s), security_groups=["sg-1"]),
        ["security_groups[] is 'sg-1'", "from_security_group_id"],
        J,
    ),
    (
        "one security group, not a list",
        lambda s: job(s, vpc=vpc(s), security_groups=ec2.SecurityGroup.from_security_group_id(s, "G", "sg-1")),
        ["security_groups is the construct", "must be a list"],
        J,
    ),
    (
        "network isolation as str",
        lambda s: job(s, enable_network_isolation="yes"),
        ["enable_network_isolation is 'yes'", "True or False"],
        J,
    ),
    (
        "network isolation as int",
        lambda s: job(s, enable_network_isolation=1),
        ["enable_network_isolation is 1", "True or False"],
        J,
    ),
    (
        "traffic encryption as str",
        lambda s: job(s, enable_inter_container_traffic_encryption="true"),
        ["enable_inter_container_traffic_encryption is 'true'", "True or False"],
        J,
    ),
    (
        "experiment_config as dict",
        lambda s: job(s, experiment_config={"experiment_name": "x"}),
        ["experiment_config is {'experiment_name': 'x'}", "ExperimentConfig(experiment_name="],
        J,
    ),
    (
        "experiment name as int",
        lambda s: job(s, experiment_config=ExperimentConfig(experiment_name=5)),
        ["experiment_config.experiment_name is 5", "must be a string"],
        J,
    ),
    (
        "trial name as list",
        lambda s: job(s, experiment_config=ExperimentConfig(trial_name=["t"])),
        ["experiment_config.trial_name is ['t']", "must be a string"],
        J,
    ),
    ("role as ARN str", lambda s: job(s, role=ROLE_ARN), [f"role is {ROLE_ARN!r}", "iam.Role.from_role_arn"], J),
    ("role as dict", lambda s: job(s, role={"arn": ROLE_ARN}), ["role is {'arn'", "must be an iam.IRole"], J),
    (
        "role as a principal",
        lambda s: job(s, role=iam.ServicePrincipal("sagemaker.amazonaws.com")),
        ["role is a ServicePrincipal", "must be an iam.IRole"],
        J,
    ),
    ("job name as int", lambda s: job(s, processing_job_name=123), ["processing_job_name is 123", "a string"], J),
    (
        "job name as list",
        lambda s: job(s, processing_job_name=["a"]),
        ["processing_job_name is ['a']", "must be a string"],
        J,
    ),
    ("code as path str", lambda s: job(s, code="jobs/x.py"), ["code is 'jobs/x.py'", "Code.from_asset("], J),
    (
        "code factory not called",
        lambda s: job(s, code=Code.from_asset),
        ["code is Code.from_asset", "call it: Code.from_asset()"],
        J,
    ),
    (
        "command as one str",
        lambda s: job(s, code=Code.from_asset(str(FILES / "script.py")), command="python3 -u"),
        ["command is 'python3 -u'", "list of strings"],
        J,
    ),
    (
        "command with an int",
        lambda s: job(s, code=Code.from_asset(str(FILES / "script.py")), command=["python", 3]),
        ["command[] is 3", "must be a string"],
        J,
    ),
    (
        "output_bucket as name",
        lambda s: job(s, output_bucket="my-bucket"),
        ["output_bucket is 'my-bucket'", "must be an s3.IBucket"],
        J,
    ),
    (
        "completion not called",
        lambda s: job(s, completion=Completion.start_only),
        ["completion is Completion.start_only", "call it: Completion.start_only()"],
        J,
    ),
    (
        "completion wait not called",
        lambda s: job(s, completion=Completion.wait),
        ["completion is Completion.wait", "call it: Completion.wait()"],
        J,
    ),
    ("completion as str", lambda s: job(s, completion="wait"), ["completion is 'wait'", "must be a Completion"], J),
    (
        "long wait timeout as str",
        lambda s: Completion.wait_long("2h"),
        ["completion timeout is '2h'", "must be a Duration"],
        F,
    ),
    (
        "long wait timeout as int",
        lambda s: Completion.wait_long(3600),
        ["completion timeout is 3600", "Duration.hours(2)"],
        F,
    ),
    (
        "add_input with a str",
        lambda s: job(s).add_input("s3://data-bucket/raw/"),
        ["inputs[] is 's3://data-bucket/raw/'", "ProcessingInput.from_bucket(name, bucket, key_prefix)"],
        J,
    ),
    (
        "add_output with an input",
        lambda s: job(s).add_output(ProcessingInput.from_bucket("raw", bucket(s), "raw/")),
        ["outputs[] is a ProcessingInput", "ProcessingOutput.to_bucket"],
        J,
    ),
    (
        "statuses as one str",
        lambda s: job(s).on_state_change("Events", statuses="Failed"),
        ["statuses is 'Failed'", "list of strings"],
        J,
    ),
    (
        "rule target as ARN",
        lambda s: job(s).on_state_change("Events", target="arn:aws:sns:us-east-1:123456789012:t"),
        ["target is 'arn:aws:sns:us-east-1:123456789012:t'", "events.IRuleTarget"],
        J,
    ),
    ("input name as int", lambda s: ProcessingInput.from_bucket(5, bucket(s)), ["inputs[].name is 5", "string"], F),
    (
        "input bucket as name",
        lambda s: ProcessingInput.from_bucket("raw", "data-bucket", "raw/"),
        ["inputs[raw].bucket is 'data-bucket'", "must be an s3.IBucket", "from_s3_uri"],
        F,
    ),
    (
        "input key prefix as int",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), 2024),
        ["inputs[raw].key_prefix is 2024", "as a string"],
        F,
    ),
    (
        "input local path as int",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), local_path=1),
        ["inputs[raw].local_path is 1", "must be a string"],
        F,
    ),
    (
        "distribution as str",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), distribution="ShardedByS3Key"),
        ["inputs[raw].distribution is 'ShardedByS3Key'", "DataDistribution.SHARDED_BY_S3_KEY"],
        F,
    ),
    (
        "data type as str",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), data_type="ManifestFile"),
        ["inputs[raw].data_type is 'ManifestFile'", "S3DataType.MANIFEST_FILE"],
        F,
    ),
    (
        "compression as str",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), compression="Gzip"),
        ["inputs[raw].compression is 'Gzip'", "S3Compression.GZIP"],
        F,
    ),
    (
        "input mode of another enum",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), input_mode=S3UploadMode.CONTINUOUS),
        ["inputs[raw].input_mode is S3UploadMode.CONTINUOUS", "InputMode.FILE, InputMode.PIPE"],
        F,
    ),
    (
        "app_managed as str",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), app_managed="yes"),
        ["inputs[raw].app_managed is 'yes'", "True or False"],
        F,
    ),
    (
        "input URI as int",
        lambda s: ProcessingInput.from_s3_uri("raw", 42),
        ["inputs[raw].s3_uri is 42", "as a string"],
        F,
    ),
    (
        "input URI as a bucket",
        lambda s: ProcessingInput.from_s3_uri("raw", bucket(s)),
        ["inputs[raw].s3_uri is the construct", "S3 URI as a string"],
        F,
    ),
    (
        "asset path as int",
        lambda s: ProcessingInput.from_asset("data", 7),
        ["inputs[data].path is 7", "(a str or a pathlib.Path)"],
        F,
    ),
    (
        "asset exclude as str",
        lambda s: ProcessingInput.from_asset("data", str(FILES), exclude="*.tmp"),
        ["inputs[data].exclude is '*.tmp'", "list of strings"],
        F,
    ),
    (
        "from_output of a name",
        lambda s: ProcessingInput.from_output("train", "prep", "train"),
        ["inputs[train].job is 'prep'", "must be a ProcessingJob"],
        F,
    ),
    (
        "from_output output name as int",
        lambda s: ProcessingInput.from_output("train", job(s), 1),
        ["inputs[train].output_name is 1", "one of the job's S3 outputs"],
        F,
    ),
    (
        "athena format as str",
        lambda s: athena(output_format="PARQUET"),
        ["athena.output_format is 'PARQUET'", "AthenaOutputFormat.PARQUET"],
        F,
    ),
    (
        "athena compression as str",
        lambda s: athena(output_compression="SNAPPY"),
        ["athena.output_compression is 'SNAPPY'", "AthenaOutputCompression.SNAPPY"],
        F,
    ),
    ("athena database as int", lambda s: athena(database=1), ["athena.database is 1", "must be a string"], F),
    ("athena key as str", lambda s: athena(kms_key="alias/a"), ["athena.kms_key is 'alias/a'", "kms.IKey"], F),
    (
        "redshift role as ARN",
        lambda s: redshift(s, cluster_role="arn:aws:iam::123456789012:role/unload"),
        ["redshift.cluster_role is 'arn:aws:iam::123456789012:role/unload'", "iam.Role.from_role_arn"],
        F,
    ),
    (
        "redshift format of the Athena enum",
        lambda s: redshift(s, output_format=AthenaOutputFormat.PARQUET),
        ["redshift.output_format is AthenaOutputFormat.PARQUET", "RedshiftOutputFormat.PARQUET"],
        F,
    ),
    (
        "redshift compression as str",
        lambda s: redshift(s, output_compression="GZIP"),
        ["redshift.output_compression is 'GZIP'", "RedshiftOutputCompression.GZIP"],
        F,
    ),
    ("redshift key as dict", lambda s: redshift(s, kms_key={}), ["redshift.kms_key is {}", "kms.IKey"], F),
    (
        "output bucket as name",
        lambda s: ProcessingOutput.to_bucket("o", "results", "o/"),
        ["outputs[o].bucket is 'results'", "must be an s3.IBucket"],
        F,
    ),
    (
        "output key prefix as int",
        lambda s: ProcessingOutput.to_bucket("o", bucket(s), 7),
        ["outputs[o].key_prefix is 7", "as a string"],
        F,
    ),
    (
        "upload mode as str",
        lambda s: ProcessingOutput.to_bucket("o", upload_mode="Continuous"),
        ["outputs[o].upload_mode is 'Continuous'", "S3UploadMode.CONTINUOUS"],
        F,
    ),
    ("output URI as int", lambda s: ProcessingOutput.to_s3_uri("o", 3), ["outputs[o].s3_uri is 3", "string"], F),
    (
        "feature group as int",
        lambda s: ProcessingOutput.to_feature_store("fs", 5),
        ["outputs[fs].feature_group_name is 5", "must be a string"],
        F,
    ),
    ("output name as int", lambda s: ProcessingOutput.to_bucket(9), ["outputs[].name is 9", "string"], F),
    ("registry image as int", lambda s: ContainerImage.from_registry(123), ["image is 123", "as a string"], F),
    ("registry image None", lambda s: ContainerImage.from_registry(None), ["image is None", "image URI"], F),
    (
        "ecr repository as name",
        lambda s: ContainerImage.from_ecr_repository("prep"),
        ["repository is 'prep'", "ecr.Repository.from_repository_name"],
        F,
    ),
    (
        "ecr tag as int",
        lambda s: ContainerImage.from_ecr_repository(ecr.Repository.from_repository_name(s, "Repo", "prep"), 1),
        ["tag_or_digest is 1", "as a string"],
        F,
    ),
    ("asset image dir as int", lambda s: ContainerImage.from_asset(5), ["image is 5", "Dockerfile"], F),
    (
        "asset image build args not str",
        lambda s: ContainerImage.from_asset(str(FILES), build_args={"V": 1}),
        ["image.build_args is {'V': 1}", "dict of strings"],
        F,
    ),
    (
        "framework as str",
        lambda s: ContainerImage.from_framework("sklearn", "1.2-1"),
        ["framework is 'sklearn'", "Framework.SKLEARN"],
        F,
    ),
    (
        "framework version as float",
        lambda s: ContainerImage.from_framework(Framework.SKLEARN, 1.2),
        ["sklearn version is 1.2", "version string"],
        F,
    ),
    (
        "framework gpu as str",
        lambda s: ContainerImage.from_framework(Framework.PYTORCH, "2.6.0", gpu="yes"),
        ["gpu is 'yes'", "True or False"],
        F,
    ),
    ("instance type name as int", lambda s: InstanceType.of(5), ["instance_type is 5", "must be a string"], F),
    (
        "allow_unlisted as str",
        lambda s: InstanceType.of("ml.m5.xlarge", allow_unlisted="yes"),
        ["allow_unlisted is 'yes'", "True or False"],
        F,
    ),
    ("code path as int", lambda s: Code.from_asset(5), ["code is 5", "(a str or a pathlib.Path)"], F),
    (
        "code entry point as int",
        lambda s: Code.from_asset(str(FILES / "project"), entry_point=5),
        ["code.entry_point is 5", "as a string"],
        F,
    ),
    (
        "code exclude as str",
        lambda s: Code.from_asset(str(FILES / "project"), entry_point="main.py", exclude="*.pyc"),
        ["code.exclude is '*.pyc'", "list of strings"],
        F,
    ),
    (
        "install_requirements as str",
        lambda s: Code.from_asset(str(FILES / "project"), entry_point="main.py", install_requirements="no"),
        ["code.install_requirements is 'no'", "True or False"],
        F,
    ),
    (
        "imported job name as int",
        lambda s: ProcessingJob.from_processing_job_name(s, "Nightly", 42),
        ["/Nightly: processing_job_name is 42", "must be a string"],
        F,
    ),
]

_TYPES = input_shape().members["ProcessingResources"].members["ClusterConfig"].members["InstanceType"].enum


def _typo(name: str) -> str:
    return name[:-1] + ("x" if name[-1] != "x" else "y")


# -- Values SageMaker rejects ------------------------------------------------------------------------------------
SAGEMAKER_REJECTS: list[Case] = [
    (
        "instance type typo",
        lambda s: job(s, instance_type=InstanceType.of("ml.m5.xlarj")),
        ["instance_type is 'ml.m5.xlarj'", "did you mean ml.m5.xlarge", "allow_unlisted=True"],
        J,
    ),
    (
        "instance size missing",
        lambda s: job(s, instance_type=InstanceType.of("ml.c5.large")),
        ["instance_type is 'ml.c5.large'", "did you mean", "ProcessingInstanceType"],
        J,
    ),
    (
        "training-only family",
        lambda s: job(s, instance_type=InstanceType.of("ml.p3dn.24xlarge")),
        ["instance_type is 'ml.p3dn.24xlarge'", "not a processing instance type"],
        J,
    ),
    (
        "old generation",
        lambda s: job(s, instance_type=InstanceType.of("ml.t2.medium")),
        ["instance_type is 'ml.t2.medium'", "did you mean ml.t3.medium"],
        J,
    ),
    (
        "size the family lacks",
        lambda s: job(s, instance_type=InstanceType.of("ml.m5.8xlarge")),
        ["instance_type is 'ml.m5.8xlarge'", "did you mean"],
        J,
    ),
    (
        "flex size the family lacks",
        lambda s: job(s, instance_type=InstanceType.of("ml.m7i-flex.48xlarge")),
        ["instance_type is 'ml.m7i-flex.48xlarge'", "not a processing instance type"],
        J,
    ),
    *[
        (
            f"instance type {_typo(name)}",
            (lambda n: lambda s: job(s, instance_type=InstanceType.of(_typo(n))))(name),
            [f"instance_type is {_typo(name)!r}", f"did you mean {name}"],
            J,
        )
        for name in ["ml.g4dn.xlarge", "ml.r5d.2xlarge", "ml.c7i.4xlarge"]
    ],
    (
        "instance_count above the model",
        lambda s: job(s, instance_count=high("ProcessingResources.ClusterConfig.InstanceCount") + 1),
        [f"instance_count is {high('ProcessingResources.ClusterConfig.InstanceCount') + 1}", "between 1 and"],
        J,
    ),
    (
        "instance_count negative",
        lambda s: job(s, instance_count=-1),
        ["instance_count is -1", "between 1 and 100"],
        J,
    ),
    (
        "volume above the model",
        lambda s: job(s, volume_size=cdk.Size.tebibytes(20)),
        [
            "volume_size is 20480",
            "(Size.tebibytes(20))",
            f"and {high('ProcessingResources.ClusterConfig.VolumeSizeInGB')} GiB",
        ],
        J,
    ),
    (
        "volume in mebibytes",
        lambda s: job(s, volume_size=cdk.Size.mebibytes(500)),
        ["volume_size is Size.mebibytes(500)", "whole number of GiB"],
        J,
    ),
    (
        "max_runtime beyond SageMaker's model",
        lambda s: job(
            s,
            max_runtime=cdk.Duration.seconds(high("StoppingCondition.MaxRuntimeInSeconds") + 1),
            completion=Completion.start_only(),
        ),
        [f"max_runtime is '{high('StoppingCondition.MaxRuntimeInSeconds') + 1} s'", "ProcessingMaxRuntimeInSeconds"],
        J,
    ),
    (
        "max_runtime as written",
        lambda s: job(s, max_runtime=cdk.Duration.minutes(90), completion=Completion.wait()),
        ["max_runtime is '5400 s' (Duration.minutes(90))", "Completion.wait()"],
        J,
    ),
    (
        "long wait shorter than the job",
        lambda s: job(s, max_runtime=cdk.Duration.hours(3), completion=Completion.wait_long(cdk.Duration.hours(2))),
        ["completion timeout is '7200 s' (Duration.hours(2))", "at least max_runtime (10800 s)"],
        J,
    ),
    (
        "long wait timeout too short",
        lambda s: Completion.wait_long(cdk.Duration.seconds(30)),
        ["completion timeout is '30 s' (Duration.seconds(30))", "between 60 s and 43200 s"],
        F,
    ),
    (
        "too many entrypoint items",
        lambda s: job(s, entrypoint=["x"] * (high("AppSpecification.ContainerEntrypoint") + 1)),
        [f"entrypoint is '{high('AppSpecification.ContainerEntrypoint') + 1} items'", "1 to 100 items"],
        J,
    ),
    (
        "too many arguments",
        lambda s: job(s, arguments=["x"] * (high("AppSpecification.ContainerArguments") + 1)),
        [f"arguments is '{high('AppSpecification.ContainerArguments') + 1} items'", "1 to 100 items"],
        J,
    ),
    ("empty arguments", lambda s: job(s, arguments=[]), ["arguments is '0 items'", "1 to 100 items"], J),
    (
        "entrypoint item too long",
        lambda s: job(s, entrypoint=["e" * (high("AppSpecification.ContainerEntrypoint.[]") + 1)]),
        ["entrypoint[] is 'eeee", "0 to 256 characters"],
        J,
    ),
    (
        "environment key with a hyphen",
        lambda s: job(s, environment={"MY-VAR": "1"}),
        ["environment key is 'MY-VAR'", "not starting with a digit"],
        J,
    ),
    (
        "environment key too long",
        lambda s: job(s, environment={"K" * 257: "1"}),
        ["environment key 'KKK", "1 to 256 characters"],
        J,
    ),
    (
        "environment key empty",
        lambda s: job(s, environment={"": "1"}),
        ["environment key '' is ''", "1 to 256 characters"],
        J,
    ),
    (
        "job name with a leading hyphen",
        lambda s: job(s, processing_job_name="-nightly"),
        ["processing_job_name is '-nightly'", "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"],
        J,
    ),
    (
        "job name with a dot",
        lambda s: job(s, processing_job_name="job.v1"),
        ["processing_job_name is 'job.v1'", "hyphens"],
        J,
    ),
    ("job name empty", lambda s: job(s, processing_job_name=""), ["processing_job_name is ''", "1 to 63"], J),
    (
        "imported job name too long",
        lambda s: ProcessingJob.from_processing_job_name(s, "Nightly", "n" * (high("ProcessingJobName") + 1)),
        ["/Nightly: processing_job_name is 'nnn", "1 to 63 characters"],
        F,
    ),
    (
        "trial name with underscore",
        lambda s: job(s, experiment_config=ExperimentConfig(trial_name="nightly_1")),
        ["experiment_config.trial_name is 'nightly_1'", "1 to 120"],
        J,
    ),
    (
        "run name too long",
        lambda s: job(s, experiment_config=ExperimentConfig(run_name="r" * (high("ExperimentConfig.RunName") + 1))),
        ["experiment_config.run_name is 'rrr", "1 to 120 characters"],
        J,
    ),
    (
        "display name with space",
        lambda s: job(s, experiment_config=ExperimentConfig(trial_component_display_name="my build")),
        ["experiment_config.trial_component_display_name is 'my build'", "hyphens"],
        J,
    ),
    (
        "ECR repository ARN as image",
        lambda s: ContainerImage.from_registry("arn:aws:ecr:us-east-1:123456789012:repository/prep"),
        [
            "image is 'arn:aws:ecr:us-east-1:123456789012:repository/prep'",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:<tag>",
            "from_repository_arn",
        ],
        F,
    ),
    (
        "ECR ARN in China as image",
        lambda s: ContainerImage.from_registry("arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/prep"),
        ["is an ECR repository ARN", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/prep:<tag>"],
        F,
    ),
    (
        "upper-case ECR repository",
        lambda s: ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/Prep:1"),
        ["image is '123456789012.dkr.ecr.us-east-1.amazonaws.com/Prep:1'", "did you mean 'prep'", "lowercase"],
        F,
    ),
    (
        "upper-case Docker Hub image",
        lambda s: ContainerImage.from_registry("MyOrg/image:1"),
        ["image is 'MyOrg/image:1'", "did you mean 'myorg/image'"],
        F,
    ),
    (
        "repository ending in a separator",
        lambda s: ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep-:1"),
        ["has the repository 'prep-'", "reference grammar"],
        F,
    ),
    (
        "empty path component",
        lambda s: ContainerImage.from_registry("registry.example.com//prep:1"),
        ["image is 'registry.example.com//prep:1'", "lowercase letters and digits"],
        F,
    ),
    (
        "tag starting with a dot",
        lambda s: ContainerImage.from_registry("registry.example.com/prep:.1"),
        ["has the tag '.1'", "up to 128"],
        F,
    ),
    (
        "tag too long",
        lambda s: ContainerImage.from_registry("prep:" + "t" * 129),
        ["image is 'prep:ttt", "up to 128"],
        F,
    ),
    (
        "digest not hex",
        lambda s: ContainerImage.from_registry("registry.example.com/prep@sha256:xyz"),
        ["has a digest", "sha256:<64 hex digits>"],
        F,
    ),
    (
        "registry with underscore",
        lambda s: ContainerImage.from_registry("my_registry.example.com/prep:1"),
        ["has the registry 'my_registry.example.com'", "host name"],
        F,
    ),
    (
        "image URI too long",
        lambda s: ContainerImage.from_registry("r.example.com/" + "p" * high("AppSpecification.ImageUri")),
        ["image is 'r.example.com/ppp", "1 to 255 characters"],
        F,
    ),
    (
        "s3 URI as key prefix",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), "s3://data-bucket/raw/"),
        ["inputs[raw].key_prefix is 's3://data-bucket/raw/'", "not a key prefix", "'raw/'"],
        F,
    ),
    (
        "https URL as key prefix",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), "https://data-bucket.s3.amazonaws.com/raw/"),
        ["inputs[raw].key_prefix is 'https://data-bucket.s3.amazonaws.com/raw/'", "is a URI"],
        F,
    ),
    (
        "s3 URI as output key prefix",
        lambda s: ProcessingOutput.to_bucket("o", bucket(s), "s3://results/o/"),
        ["outputs[o].key_prefix is 's3://results/o/'", "to_s3_uri"],
        F,
    ),
    (
        "https URI not of S3",
        lambda s: ProcessingInput.from_s3_uri("raw", "https://example.com/data/raw/"),
        ["inputs[raw].s3_uri is 'https://example.com/data/raw/'", "https://<bucket>.s3.<region>.amazonaws.com"],
        F,
    ),
    (
        "S3 URI with one slash",
        lambda s: ProcessingInput.from_s3_uri("raw", "s3:/data-bucket/raw/"),
        ["inputs[raw].s3_uri is 's3:/data-bucket/raw/'", "s3://<bucket>/<key prefix>"],
        F,
    ),
    (
        "ftp URI",
        lambda s: ProcessingOutput.to_s3_uri("o", "ftp://data-bucket/o/"),
        ["outputs[o].s3_uri is 'ftp://data-bucket/o/'", "S3 URI"],
        F,
    ),
    (
        "bucket with underscore",
        lambda s: ProcessingInput.from_s3_uri("raw", "s3://data_bucket/raw/"),
        ["inputs[raw].s3_uri is 's3://data_bucket/raw/'", "valid bucket name"],
        F,
    ),
    (
        "S3 URI too long",
        lambda s: ProcessingOutput.to_s3_uri(
            "o", "s3://results/" + "k" * high("ProcessingOutputConfig.Outputs.[].S3Output.S3Uri")
        ),
        ["outputs[o].s3_uri is 's3://results/kkk", "6 to 1024 characters"],
        F,
    ),
    (
        "athena output URI of another scheme",
        lambda s: athena(output_s3_uri="gs://athena-out/q/"),
        ["inputs[q].output_s3_uri is 'gs://athena-out/q/'", "S3 URI"],
        F,
    ),
    (
        "IAM user ARN as role",
        lambda s: job(s, role=iam.Role.from_role_arn(s, "User", "arn:aws:iam::123456789012:user/alice")),
        ["role is 'arn:aws:iam::123456789012:user/alice'", "must be an IAM role ARN", "not a user"],
        J,
    ),
    (
        "assumed-role ARN as role",
        lambda s: job(s, role=iam.Role.from_role_arn(s, "Sts", "arn:aws:sts::123456789012:assumed-role/ml/session")),
        ["role is 'arn:aws:sts::123456789012:assumed-role/ml/session'", "arn:aws[a-z\\-]*:iam::\\d{12}:role"],
        J,
    ),
    (
        "role ARN with a short account",
        lambda s: job(s, role=iam.Role.from_role_arn(s, "Short", "arn:aws:iam::12345678901:role/ml")),
        ["role is 'arn:aws:iam::12345678901:role/ml'", "IAM role ARN"],
        J,
    ),
    (
        "policy ARN as role",
        lambda s: job(s, role=iam.Role.from_role_arn(s, "Policy", "arn:aws:iam::123456789012:policy/ml")),
        ["role is 'arn:aws:iam::123456789012:policy/ml'", "IAM role ARN"],
        J,
    ),
    (
        "Redshift cluster role is a user",
        lambda s: redshift(s, cluster_role=iam.Role.from_role_arn(s, "U", "arn:aws:iam::123456789012:user/etl")),
        ["redshift.cluster_role is 'arn:aws:iam::123456789012:user/etl'", "IAM role ARN"],
        F,
    ),
    *[
        (
            f"athena {fmt.name} with {comp.name}",
            (lambda f, c: lambda s: athena(output_format=f, output_compression=c))(fmt, comp),
            [
                f"athena.output_compression is AthenaOutputCompression.{comp.name}",
                f"AthenaOutputFormat.{fmt.name} output takes",
            ],
            F,
        )
        for fmt, comp in [
            (AthenaOutputFormat.PARQUET, AthenaOutputCompression.ZLIB),
            (AthenaOutputFormat.ORC, AthenaOutputCompression.GZIP),
            (AthenaOutputFormat.AVRO, AthenaOutputCompression.GZIP),
            (AthenaOutputFormat.AVRO, AthenaOutputCompression.ZLIB),
            (AthenaOutputFormat.JSON, AthenaOutputCompression.ZLIB),
            (AthenaOutputFormat.TEXTFILE, AthenaOutputCompression.ZLIB),
        ]
    ],
    *[
        (
            f"redshift {fmt.name} with {comp.name}",
            (lambda f, c: lambda s: redshift(s, output_format=f, output_compression=c))(fmt, comp),
            [
                f"redshift.output_compression is RedshiftOutputCompression.{comp.name}",
                f"RedshiftOutputFormat.{fmt.name} output takes",
            ],
            F,
        )
        for fmt, comp in [
            (RedshiftOutputFormat.PARQUET, RedshiftOutputCompression.GZIP),
            (RedshiftOutputFormat.PARQUET, RedshiftOutputCompression.BZIP2),
            (RedshiftOutputFormat.PARQUET, RedshiftOutputCompression.ZSTD),
            (RedshiftOutputFormat.CSV, RedshiftOutputCompression.SNAPPY),
        ]
    ],
    (
        "athena work group too long",
        lambda s: athena(work_group="w" * 129),
        ["athena.work_group is 'www", "1 to 128 characters"],
        F,
    ),
    ("athena catalog too long", lambda s: athena(catalog="c" * 257), ["athena.catalog is 'ccc", "1 to 256"], F),
    (
        "athena catalog with a line break",
        lambda s: athena(catalog="a\nb"),
        ["athena.catalog is 'a\\nb'", "must match"],
        F,
    ),
    ("athena database too long", lambda s: athena(database="d" * 256), ["athena.database is 'ddd", "1 to 255"], F),
    (
        "athena query too long",
        lambda s: athena(query_string="S" * 4097),
        ["athena.query_string is 'SSS", "1 to 4096 characters"],
        F,
    ),
    ("redshift database too long", lambda s: redshift(s, database="d" * 65), ["redshift.database is", "1 to 64"], F),
    ("redshift db user empty", lambda s: redshift(s, db_user=""), ["redshift.db_user is ''", "1 to 128"], F),
    ("redshift empty query", lambda s: redshift(s, query_string=""), ["redshift.query_string is ''", "1 to 4096"], F),
    (
        "redshift cluster id too long",
        lambda s: redshift(s, cluster_id="c" * 64),
        ["redshift.cluster_id is 'ccc", "1 to 63 characters"],
        F,
    ),
    (
        "redshift cluster id with double hyphen",
        lambda s: redshift(s, cluster_id="ware--house"),
        ["redshift.cluster_id is 'ware--house'", "single hyphens"],
        F,
    ),
    (
        "feature group too long",
        lambda s: ProcessingOutput.to_feature_store("fs", "f" * 65),
        ["outputs[fs].feature_group_name is 'fff", "1 to 64 characters"],
        F,
    ),
    (
        "feature group with leading underscore",
        lambda s: ProcessingOutput.to_feature_store("fs", "_features"),
        ["outputs[fs].feature_group_name is '_features'", "'_' or '-' between them"],
        F,
    ),
    *[
        (
            f"input name {name!r}",
            (lambda n: lambda s: ProcessingInput.from_bucket(n, bucket(s), "raw/"))(name),
            [f"inputs[].name is {name!r}", "1 to 64 letters"],
            F,
        )
        for name in ["a/b", "raw*", "raw?", "$HOME", ".", "..", "", "n" * 65, "tab\there"]
    ],
    *[
        (
            f"output name {name!r}",
            (lambda n: lambda s: ProcessingOutput.to_bucket(n))(name),
            [f"outputs[].name is {name!r}", "without whitespace and without / * ? $"],
            F,
        )
        for name in ["train/v1", "out put", "o*"]
    ],
    (
        "local path at the root",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), local_path="/opt/ml/processing"),
        ["inputs[raw].local_path is '/opt/ml/processing'", "a folder under /opt/ml/processing/"],
        F,
    ),
    (
        "local path escaping",
        lambda s: ProcessingOutput.to_bucket("o", local_path="/opt/ml/processing/../etc"),
        ["outputs[o].local_path is '/opt/ml/processing/../etc'", "without '..'"],
        F,
    ),
    (
        "local path too long",
        lambda s: ProcessingInput.from_bucket("raw", bucket(s), local_path="/opt/ml/processing/" + "p" * 240),
        ["inputs[raw].local_path is '/opt/ml/processing/ppp", "1 to 256 characters"],
        F,
    ),
    (
        "status not in the model",
        lambda s: job(s).on_state_change("Events", statuses=["Done"]),
        ["statuses[] is 'Done'", str(STATUSES)],
        J,
    ),
    (
        "too many security groups",
        lambda s: (
            lambda v: job(
                s,
                vpc=v,
                security_groups=[
                    ec2.SecurityGroup.from_security_group_id(s, f"G{i}", f"sg-{i}")
                    for i in range(high("NetworkConfig.VpcConfig.SecurityGroupIds") + 1)
                ],
            )
        )(vpc(s)),
        [f"security_groups is '{high('NetworkConfig.VpcConfig.SecurityGroupIds') + 1} items'", "1 to 5 items"],
        J,
    ),
    (
        "no security groups",
        lambda s: job(s, vpc=vpc(s), security_groups=[]),
        ["security_groups is '0 items'", "1 to 5"],
        J,
    ),
    (
        "environment over the model's count",
        lambda s: job(s, environment={f"K{i}": "v" for i in range(high("Environment") + 1)}),
        [f"environment is '{high('Environment') + 1} items'", "0 to 100 items"],
        J,
    ),
    (
        "too many inputs via add_input",
        lambda s: (
            lambda j: [
                j.add_input(ProcessingInput.from_bucket(f"i{n}", bucket(s), f"{n}/"))
                for n in range(high("ProcessingInputs") + 1)
            ]
        )(job(s)),
        [f"inputs is '{high('ProcessingInputs') + 1} items'", "at most 10 inputs"],
        J,
    ),
]

# -- Mistakes across resources -----------------------------------------------------------------------------------
CROSS_RESOURCE: list[Case] = [
    (
        "output_uri of an output the job does not have",
        lambda s: job(s, outputs=[ProcessingOutput.to_bucket("train")]).output_uri("test"),
        ["output_name is 'test'", "must name one of this job's S3 outputs: ['train']"],
        J,
    ),
    (
        "subnet of another VPC",
        lambda s: job(s, vpc=vpc(s, "Vpc"), vpc_subnets=ec2.SubnetSelection(subnets=vpc(s, "Other").private_subnets)),
        ["vpc_subnets.subnets[0] is", "belongs to the VPC", "/Other", "not to the job's vpc", "/Vpc"],
        J,
    ),
    (
        "subnet of another VPC made here",
        lambda s: job(
            s,
            vpc=vpc(s, "Vpc"),
            vpc_subnets=ec2.SubnetSelection(subnets=ec2.Vpc(s, "Made", max_azs=1, nat_gateways=0).isolated_subnets),
        ),
        ["vpc_subnets.subnets[0] is", "belongs to the VPC", "/Made"],
        J,
    ),
    (
        "role trusted by Lambda",
        lambda s: job(s, role=role(s, iam.ServicePrincipal("lambda.amazonaws.com"))),
        ["role is the construct", "does not let sagemaker.amazonaws.com assume it", "ServicePrincipal('sagemaker"],
        J,
    ),
    (
        "role trusted by the account",
        lambda s: job(s, role=role(s, iam.AccountRootPrincipal())),
        ["role is the construct", "sagemaker.amazonaws.com"],
        J,
    ),
    (
        "role trusted by a user",
        lambda s: job(s, role=role(s, iam.ArnPrincipal("arn:aws:iam::123456789012:user/alice"))),
        ["role is the construct", "trust policy"],
        J,
    ),
    (
        "role trusted by two other services",
        lambda s: job(
            s,
            role=role(
                s,
                iam.CompositePrincipal(
                    iam.ServicePrincipal("ec2.amazonaws.com"), iam.ServicePrincipal("glue.amazonaws.com")
                ),
            ),
        ),
        ["role is the construct", "CompositePrincipal"],
        J,
    ),
    (
        "two jobs with one fixed name",
        lambda s: (job(s, "First", processing_job_name="nightly"), job(s, "Second", processing_job_name="nightly")),
        ["/Second: processing_job_name is 'nightly'", "/First in this stack", "unique"],
        False,
    ),
    (
        "a start-only job reusing a waited job's name",
        lambda s: (
            job(s, "First", processing_job_name="features"),
            job(s, "Second", processing_job_name="features", completion=Completion.start_only()),
        ),
        ["/Second: processing_job_name is 'features'", "already the name of"],
        False,
    ),
    (
        "requirements in a network-isolated job",
        lambda s: job(
            s, enable_network_isolation=True, code=Code.from_asset(str(FILES / "project"), entry_point="main.py")
        ),
        ["code is '", "requirements.txt'", "needs network access", "install_requirements=False"],
        J,
    ),
    (
        "volume key with local NVMe storage",
        lambda s: job(s, instance_type=InstanceType.of("ml.r5d.xlarge"), volume_encryption_key=kms.Key(s, "K")),
        ["volume_encryption_key is 'ml.r5d.xlarge'", "local instance storage"],
        J,
    ),
    (
        "volume key with a g5",
        lambda s: job(s, instance_type=InstanceType.G5_XLARGE, volume_encryption_key=kms.Key(s, "K")),
        ["volume_encryption_key is 'ml.g5.xlarge'", "local instance storage"],
        J,
    ),
    (
        "security groups without a VPC",
        lambda s: job(s, security_groups=[ec2.SecurityGroup.from_security_group_id(s, "G", "sg-1")]),
        ["security_groups is 'set without vpc'", "only with a vpc"],
        J,
    ),
    (
        "code and entrypoint",
        lambda s: job(s, code=Code.from_asset(str(FILES / "script.py")), entrypoint=["python3"]),
        ["entrypoint is ['python3']", "cannot be combined with code"],
        J,
    ),
    ("command without code", lambda s: job(s, command=["python3"]), ["command is ['python3']", "give code="], J),
    (
        "reading a Feature Store output",
        lambda s: ProcessingInput.from_output(
            "features", job(s, outputs=[ProcessingOutput.to_feature_store("store", "customers")]), "store"
        ),
        ["output_name is 'store'", "S3 outputs: []"],
        F,
    ),
    (
        "input and output at one path",
        lambda s: job(
            s,
            inputs=[ProcessingInput.from_bucket("raw", bucket(s), local_path="/opt/ml/processing/data")],
            outputs=[ProcessingOutput.to_bucket("o", local_path="/opt/ml/processing/data")],
        ),
        ["local_path is '/opt/ml/processing/data'", "a local path of its own"],
        J,
    ),
    (
        "input and output of one name as their defaults",
        lambda s: job(
            s,
            inputs=[ProcessingInput.from_bucket("x", bucket(s), local_path="/opt/ml/processing/output/x")],
            outputs=[ProcessingOutput.to_bucket("x")],
        ),
        ["local_path is '/opt/ml/processing/output/x'", "own"],
        J,
    ),
]

BAD = [("wrong type: " + c[0], *c[1:]) for c in WRONG_TYPES]
BAD += [("rejected: " + c[0], *c[1:]) for c in SAGEMAKER_REJECTS]
BAD += [("across: " + c[0], *c[1:]) for c in CROSS_RESOURCE]


@pytest.mark.parametrize("case,build,fragments,in_job", BAD, ids=[c[0] for c in BAD])
def test_fails_at_synth_with_the_library_error(case: str, build: Build, fragments: list[str], in_job: bool) -> None:
    stack = new_stack()
    with pytest.raises(ProcessingJobValidationError) as raised:
        build(stack)
    message = str(raised.value)
    assert raised.type is ProcessingJobValidationError
    if in_job:
        assert message.startswith(f"{stack.node.path}/Job: "), message
    assert " is " in message and ": " in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "object at 0x" not in message, message


def test_the_table_holds_150_cases_or_more() -> None:
    counts = {"wrong types": len(WRONG_TYPES), "rejected": len(SAGEMAKER_REJECTS), "across": len(CROSS_RESOURCE)}
    assert sum(counts.values()) >= 150, counts


# -- Valid values, some refused before: they synthesize --------------------------------------------------------------
def _https(uri: str) -> Build:
    return lambda s: job(s, inputs=[ProcessingInput.from_s3_uri("raw", uri)])


VALID: list[tuple[str, Build]] = [
    ("https virtual-hosted URI", _https("https://data-bucket.s3.us-east-1.amazonaws.com/raw/")),
    ("https virtual-hosted URI without region", _https("https://data-bucket.s3.amazonaws.com/raw/")),
    ("https path-style URI", _https("https://s3.eu-west-1.amazonaws.com/data-bucket/raw/")),
    ("https legacy dash region", _https("https://data-bucket.s3-us-west-2.amazonaws.com/raw/")),
    ("https China URI", _https("https://data-bucket.s3.cn-north-1.amazonaws.com.cn/raw/")),
    (
        "https output URI",
        lambda s: job(s, outputs=[ProcessingOutput.to_s3_uri("o", "https://results.s3.amazonaws.com/o/")]),
    ),
    ("athena https output", lambda s: job(s, inputs=[athena(output_s3_uri="https://athena-out.s3.amazonaws.com/q/")])),
    ("S3 URI of a whole bucket", _https("s3://data-bucket")),
    *[
        (
            f"input name {name!r}",
            (lambda n: lambda s: job(s, inputs=[ProcessingInput.from_bucket(n, bucket(s), "r/")]))(name),
        )
        for name in ["train.v1", "raw+2024", "données", "a:b", "in@1", "x" * 64, "A_B-c=1", "(raw)"]
    ],
    *[
        (f"output name {name!r}", (lambda n: lambda s: job(s, outputs=[ProcessingOutput.to_bucket(n)]))(name))
        for name in ["report.v2", "évaluation", "o,1"]
    ],
    (
        "subnets from Subnet.from_subnet_id",
        lambda s: job(
            s,
            vpc=vpc(s),
            vpc_subnets=ec2.SubnetSelection(
                subnets=[
                    ec2.Subnet.from_subnet_id(s, "S1", "subnet-a1"),
                    ec2.Subnet.from_subnet_id(s, "S2", "subnet-a2"),
                ]
            ),
        ),
    ),
    (
        "subnets of the job's own VPC, one by one",
        lambda s: (lambda v: job(s, vpc=v, vpc_subnets=ec2.SubnetSelection(subnets=v.private_subnets)))(vpc(s)),
    ),
    (
        "subnets from Subnet.from_subnet_attributes",
        lambda s: job(
            s,
            vpc=vpc(s),
            vpc_subnets=ec2.SubnetSelection(
                subnets=[
                    ec2.Subnet.from_subnet_attributes(s, "S", subnet_id="subnet-9", availability_zone="us-east-1a")
                ]
            ),
        ),
    ),
    (
        "newer instance type allowed unlisted",
        lambda s: job(s, instance_type=InstanceType.of("ml.x9.xlarge", allow_unlisted=True)),
    ),
    *[
        (f"instance type {name}", (lambda n: lambda s: job(s, instance_type=InstanceType.of(n)))(name))
        for name in [_TYPES[0], _TYPES[len(_TYPES) // 2], _TYPES[-1], "ml.m7i-flex.large"]
    ],
    *[
        (f"image {uri}", (lambda u: lambda s: job(s, image=ContainerImage.from_registry(u)))(uri))
        for uri in [
            "public.ecr.aws/docker/library/python:3.12",
            "python:3.12-slim",
            "localhost:5000/team/app__x:V1.0",
            "registry.example.com:5000/a.b/c-d:latest",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep@sha256:" + "a" * 64,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/prep:Release_1",
        ]
    ],
    (
        "role trusted by SageMaker among others",
        lambda s: job(
            s,
            role=role(
                s,
                iam.CompositePrincipal(
                    iam.ServicePrincipal("lambda.amazonaws.com"), iam.ServicePrincipal("sagemaker.amazonaws.com")
                ),
            ),
        ),
    ),
    (
        "imported role with a path",
        lambda s: job(s, role=iam.Role.from_role_arn(s, "P", "arn:aws:iam::123456789012:role/service-role/ml")),
    ),
    *[
        (
            f"athena {f.name} with {c.name if c else 'none'}",
            (lambda fmt, comp: lambda s: job(s, inputs=[athena(output_format=fmt, output_compression=comp)]))(f, c),
        )
        for f, c in [
            (AthenaOutputFormat.PARQUET, AthenaOutputCompression.SNAPPY),
            (AthenaOutputFormat.PARQUET, AthenaOutputCompression.GZIP),
            (AthenaOutputFormat.ORC, AthenaOutputCompression.ZLIB),
            (AthenaOutputFormat.AVRO, AthenaOutputCompression.SNAPPY),
            (AthenaOutputFormat.JSON, AthenaOutputCompression.GZIP),
            (AthenaOutputFormat.TEXTFILE, None),
        ]
    ],
    *[
        (
            f"redshift {f.name} with {c.name if c else 'none'}",
            (lambda fm, cm: lambda s: job(s, inputs=[redshift(s, output_format=fm, output_compression=cm)]))(f, c),
        )
        for f, c in [
            (RedshiftOutputFormat.PARQUET, RedshiftOutputCompression.SNAPPY),
            (RedshiftOutputFormat.PARQUET, RedshiftOutputCompression.NONE),
            (RedshiftOutputFormat.CSV, RedshiftOutputCompression.GZIP),
            (RedshiftOutputFormat.CSV, RedshiftOutputCompression.ZSTD),
            (RedshiftOutputFormat.CSV, None),
        ]
    ],
    (
        "requirements in an isolated job, opted out",
        lambda s: job(
            s,
            enable_network_isolation=True,
            code=Code.from_asset(str(FILES / "project"), entry_point="main.py", install_requirements=False),
        ),
    ),
    (
        "requirements excluded in an isolated job",
        lambda s: job(
            s,
            enable_network_isolation=True,
            code=Code.from_asset(str(FILES / "project"), entry_point="main.py", exclude=["requirements.txt"]),
        ),
    ),
    ("arguments as a tuple", lambda s: job(s, arguments=("--ratio", "0.8"))),
    (
        "entrypoint at the model's maximum",
        lambda s: job(s, entrypoint=["x"] * high("AppSpecification.ContainerEntrypoint")),
    ),
    (
        "one fixed name per stack",
        lambda s: (job(s, "A", processing_job_name="a"), job(s, "B", processing_job_name="b")),
    ),
    ("statuses from the model", lambda s: job(s).on_state_change("E", statuses=STATUSES)),
    (
        "unresolved image and role tokens",
        lambda s: job(
            s,
            image=ContainerImage.from_registry(cdk.CfnParameter(s, "Image").value_as_string),
            role=iam.Role.from_role_arn(s, "T", cdk.CfnParameter(s, "Role").value_as_string),
            instance_type=InstanceType.of(cdk.CfnParameter(s, "Type").value_as_string),
        ),
    ),
]


@pytest.mark.parametrize("case,build", VALID, ids=[c[0] for c in VALID])
def test_valid_values_synthesize(case: str, build: Build) -> None:
    stack = cdk.Stack(cdk.App(), "Valid")  # an app of its own: synthesizing the shared one would freeze it
    build(stack)
    cdk.assertions.Template.from_stack(stack)  # renders the request: nothing fails at synth


def test_same_fixed_name_in_two_stacks_is_each_stack_s_own() -> None:
    job(new_stack(), processing_job_name="shared")
    job(new_stack(), processing_job_name="shared")


def test_an_https_uri_reaches_the_request_as_written_and_grants_its_bucket() -> None:
    stack = cdk.Stack(cdk.App(), "Https")
    uri = "https://data-bucket.s3.us-east-1.amazonaws.com/raw/"
    job(stack, inputs=[ProcessingInput.from_s3_uri("raw", uri)])
    template = cdk.assertions.Template.from_stack(stack).to_json()
    [resource] = [r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob"]
    assert resource["Properties"]["Request"]["ProcessingInputs"][0]["S3Input"]["S3Uri"] == uri
    policies = str([r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"])
    assert "data-bucket/raw/*" in policies


def test_subnets_imported_by_id_reach_the_request() -> None:
    stack = cdk.Stack(cdk.App(), "Subnets")
    subnets = [ec2.Subnet.from_subnet_id(stack, "S1", "subnet-a1"), ec2.Subnet.from_subnet_id(stack, "S2", "subnet-a2")]
    job(stack, vpc=vpc(stack), vpc_subnets=ec2.SubnetSelection(subnets=subnets))
    template = cdk.assertions.Template.from_stack(stack).to_json()
    [resource] = [r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob"]
    assert resource["Properties"]["Request"]["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-a1", "subnet-a2"]


def test_the_library_enums_are_the_model_s() -> None:
    def members(path: str) -> set[str]:
        return set(shape(path).enum)

    athena_path = "ProcessingInputs.[].DatasetDefinition.AthenaDatasetDefinition."
    redshift_path = "ProcessingInputs.[].DatasetDefinition.RedshiftDatasetDefinition."
    s3_path = "ProcessingInputs.[].S3Input."
    assert {m.value for m in AthenaOutputFormat} == members(athena_path + "OutputFormat")
    assert {m.value for m in AthenaOutputCompression} == members(athena_path + "OutputCompression")
    assert {m.value for m in RedshiftOutputFormat} == members(redshift_path + "OutputFormat")
    assert {m.value for m in RedshiftOutputCompression} == members(redshift_path + "OutputCompression")
    # The input enums serve both kinds: their members are the processing model's and the training model's (less
    # S3DataType Converse, which needs a model hub and is not typed), and each kind accepts only its model's.
    from cdk_processing import _model

    assert {m.value for m in InputMode} == members(s3_path + "S3InputMode") | set(_model.enum("TrainingInputMode"))
    assert {m.value for m in S3DataType} == members(s3_path + "S3DataType") | {"AugmentedManifestFile"}
    assert {m.value for m in S3DataType} <= set(_model.enum("S3DataType"))
    assert {m.value for m in DataDistribution} == members(s3_path + "S3DataDistributionType")
    assert {m.value for m in S3Compression} == members(s3_path + "S3CompressionType")
    assert {m.value for m in S3UploadMode} == members("ProcessingOutputConfig.Outputs.[].S3Output.S3UploadMode")
    assert high("ProcessingInputs") == 10 and high("ProcessingOutputConfig.Outputs") == 10  # MAX_INPUTS, MAX_OUTPUTS


def test_the_compression_tables_cover_the_model_s_formats() -> None:
    from cdk_processing.datasets import _ATHENA_COMPRESSIONS, _REDSHIFT_COMPRESSIONS

    assert set(_ATHENA_COMPRESSIONS) == {m.value for m in AthenaOutputFormat}
    assert set(_REDSHIFT_COMPRESSIONS) == {m.value for m in RedshiftOutputFormat}
    for allowed in _ATHENA_COMPRESSIONS.values():
        assert allowed <= {m.value for m in AthenaOutputCompression}
    for allowed in _REDSHIFT_COMPRESSIONS.values():
        assert allowed <= {m.value for m in RedshiftOutputCompression}

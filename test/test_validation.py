"""Bad input fails at synth time with a message naming the property, the value and what is allowed."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_processing import (
    AthenaOutputFormat,
    Completion,
    ContainerImage,
    InputMode,
    InstanceType,
    ProcessingInput,
    ProcessingJob,
    ProcessingJobValidationError,
    ProcessingOutput,
    RedshiftOutputFormat,
    S3Compression,
)
from cdk_processing.processing_job import ExperimentConfig

APP = cdk.App()
_ids = itertools.count()
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"


def new_stack() -> cdk.Stack:
    return cdk.Stack(APP, f"Validation{next(_ids)}")


def make_job(stack: cdk.Stack | None = None, **props: Any) -> ProcessingJob:
    stack = stack or new_stack()
    props.setdefault("image", ContainerImage.from_registry(IMAGE))
    return ProcessingJob(stack, "Job", **props)


def bucket(stack: cdk.Stack) -> s3.IBucket:
    return s3.Bucket.from_bucket_name(stack, f"B{next(_ids)}", "data-bucket")


Case = Callable[[cdk.Stack], Any]

CASES: list[tuple[str, Case, list[str]]] = [
    ("instance_count too low", lambda s: make_job(s, instance_count=0), ["instance_count is 0", "between 1 and 100"]),
    (
        "instance_count too high",
        lambda s: make_job(s, instance_count=101),
        ["instance_count is 101", "between 1 and 100"],
    ),
    ("instance_count fraction", lambda s: make_job(s, instance_count=1.5), ["instance_count is 1.5", "whole number"]),
    (
        "volume too large",
        lambda s: make_job(s, volume_size=cdk.Size.tebibytes(17)),
        ["volume_size is 17408", "between 1 and 16384 GiB"],
    ),
    (
        "volume fractional",
        lambda s: make_job(s, volume_size=cdk.Size.mebibytes(1536)),
        ["volume_size", "whole number of GiB"],
    ),
    (
        "volume zero",
        lambda s: make_job(s, volume_size=cdk.Size.gibibytes(0)),
        ["volume_size is 0", "between 1 and 16384"],
    ),
    (
        "max_runtime beyond the wait",
        lambda s: make_job(s, max_runtime=cdk.Duration.hours(2), completion=Completion.wait()),
        ["max_runtime is '7200 s'", "between 1 s and 2700 s with Completion.wait()", "one hour", "wait_long()"],
    ),
    (
        "max_runtime beyond any wait",
        lambda s: make_job(s, max_runtime=cdk.Duration.hours(13)),
        ["max_runtime is '46800 s'", "at most 42300 s", "Completion.start_only()"],
    ),
    (
        "max_runtime beyond the long wait",
        lambda s: make_job(s, max_runtime=cdk.Duration.hours(12), completion=Completion.wait_long()),
        ["max_runtime is '43200 s'", "between 1 s and 42300 s with Completion.wait_long()", "start_only()"],
    ),
    (
        "max_runtime beyond SageMaker",
        lambda s: make_job(s, max_runtime=cdk.Duration.days(10), completion=Completion.start_only()),
        ["max_runtime is '864000 s'", "777600"],
    ),
    (
        "long wait timeout",
        lambda s: Completion.wait_long(cdk.Duration.hours(13)),
        ["completion timeout is '46800 s'", "43200 s"],
    ),
    ("max_runtime zero", lambda s: make_job(s, max_runtime=cdk.Duration.seconds(0)), ["max_runtime is '0 s'"]),
    (
        "instance type pattern",
        lambda s: make_job(s, instance_type=InstanceType.of("m5.xlarge")),
        ["instance_type is 'm5.xlarge'", "ml.m5.xlarge"],
    ),
    (
        "instance type not a type",
        lambda s: make_job(s, instance_type="ml.m5.xlarge"),
        ["instance_type is 'ml.m5.xlarge'", "must be an InstanceType"],
    ),
    (
        "volume key with local storage",
        lambda s: make_job(s, instance_type=InstanceType.of("ml.g4dn.xlarge"), volume_encryption_key=kms.Key(s, "K")),
        ["volume_encryption_key is 'ml.g4dn.xlarge'", "local instance storage"],
    ),
    (
        "environment key pattern",
        lambda s: make_job(s, environment={"1BAD": "x"}),
        ["environment key is '1BAD'", "[a-zA-Z_][a-zA-Z0-9_]*"],
    ),
    (
        "environment value length",
        lambda s: make_job(s, environment={"K": "v" * 257}),
        ["environment[K]", "0 to 256 characters"],
    ),
    (
        "environment too many",
        lambda s: make_job(s, environment={f"K{i}": "v" for i in range(101)}),
        ["environment is '101 items'", "0 to 100 items"],
    ),
    ("entrypoint empty", lambda s: make_job(s, entrypoint=[]), ["entrypoint is '0 items'", "1 to 100 items"]),
    ("argument too long", lambda s: make_job(s, arguments=["a" * 257]), ["arguments[]", "0 to 256 characters"]),
    (
        "job name pattern",
        lambda s: make_job(s, processing_job_name="my_job"),
        ["processing_job_name is 'my_job'", "hyphens"],
    ),
    (
        "job name length",
        lambda s: make_job(s, processing_job_name="a" * 64),
        ["processing_job_name", "1 to 63 characters"],
    ),
    (
        "experiment name",
        lambda s: make_job(s, experiment_config=ExperimentConfig(experiment_name="bad name")),
        ["experiment_config.experiment_name is 'bad name'", "1 to 120"],
    ),
    (
        "image empty",
        lambda s: make_job(s, image=ContainerImage.from_registry("")),
        ["image is ''", "1 to 255 characters"],
    ),
    (
        "image spaces",
        lambda s: make_job(s, image=ContainerImage.from_registry("my image")),
        ["image is 'my image'", "without spaces"],
    ),
    (
        "too many inputs",
        lambda s: make_job(s, inputs=[ProcessingInput.from_bucket(f"in{i}", bucket(s), f"p{i}/") for i in range(11)]),
        ["inputs is '11 items'", "at most 10 inputs"],
    ),
    (
        "too many outputs",
        lambda s: make_job(s, outputs=[ProcessingOutput.to_bucket(f"o{i}", bucket(s), f"p{i}/") for i in range(11)]),
        ["outputs is '11 items'", "at most 10 outputs"],
    ),
    (
        "duplicate input names",
        lambda s: make_job(
            s,
            inputs=[
                ProcessingInput.from_bucket("raw", bucket(s), "a/"),
                ProcessingInput.from_bucket("raw", bucket(s), "b/", local_path="/opt/ml/processing/b"),
            ],
        ),
        ["inputs[].name is 'raw'", "unique"],
    ),
    (
        "duplicate output names",
        lambda s: make_job(
            s,
            outputs=[
                ProcessingOutput.to_bucket("o", bucket(s), "a/"),
                ProcessingOutput.to_bucket("o", bucket(s), "b/", local_path="/opt/ml/processing/x"),
            ],
        ),
        ["outputs[].name is 'o'", "unique"],
    ),
    (
        "same local path twice",
        lambda s: make_job(
            s,
            inputs=[
                ProcessingInput.from_bucket("a", bucket(s), "a/", local_path="/opt/ml/processing/data"),
                ProcessingInput.from_bucket("b", bucket(s), "b/", local_path="/opt/ml/processing/data/"),
            ],
        ),
        ["local_path is '/opt/ml/processing/data/'", "own"],
    ),
    (
        "input name pattern",
        lambda s: ProcessingInput.from_bucket("bad name", bucket(s), "a/"),
        ["inputs[].name is 'bad name'", "1 to 64 letters"],
    ),
    (
        "local path outside /opt/ml/processing",
        lambda s: ProcessingInput.from_bucket("a", bucket(s), "a/", local_path="/data"),
        ["inputs[a].local_path is '/data'", "under /opt/ml/processing/"],
    ),
    (
        "output local path outside",
        lambda s: ProcessingOutput.to_bucket("o", bucket(s), "a/", local_path="/opt/ml/model"),
        ["outputs[o].local_path is '/opt/ml/model'", "under /opt/ml/processing/"],
    ),
    (
        "gzip without pipe",
        lambda s: ProcessingInput.from_bucket("a", bucket(s), "a/", compression=S3Compression.GZIP),
        ["inputs[a].compression is 'Gzip'", "InputMode.PIPE"],
    ),
    (
        "bad s3 uri",
        lambda s: ProcessingInput.from_s3_uri("a", "https://bucket/key"),
        ["inputs[a].s3_uri is 'https://bucket/key'", "s3://<bucket>"],
    ),
    (
        "bad output uri",
        lambda s: ProcessingOutput.to_s3_uri("o", "s3://B/x"),
        ["outputs[o].s3_uri is 's3://B/x'", "valid bucket name"],
    ),
    (
        "key prefix with slash",
        lambda s: ProcessingInput.from_bucket("a", bucket(s), "/raw"),
        ["inputs[a].key_prefix is '/raw'", "must not start with '/'"],
    ),
    (
        "enum of the wrong kind",
        lambda s: ProcessingInput.from_bucket("a", bucket(s), "a/", input_mode="Pipe"),
        ["inputs[a].input_mode is 'Pipe'", "InputMode.FILE, InputMode.PIPE"],
    ),
    (
        "feature store not app managed",
        lambda s: ProcessingOutput.to_feature_store("fs", "group", app_managed=False),
        ["outputs[fs].app_managed is False", "app_managed=True"],
    ),
    (
        "feature group name",
        lambda s: ProcessingOutput.to_feature_store("fs", "bad name"),
        ["outputs[fs].feature_group_name is 'bad name'"],
    ),
    (
        "athena work group",
        lambda s: ProcessingInput.from_athena(
            "q",
            database="d",
            query_string="SELECT 1",
            output_s3_uri="s3://bucket-x/q/",
            output_format=AthenaOutputFormat.JSON,
            work_group="my group",
        ),
        ["athena.work_group is 'my group'"],
    ),
    (
        "athena empty query",
        lambda s: ProcessingInput.from_athena(
            "q", database="d", query_string="", output_s3_uri="s3://bucket-x/q/", output_format=AthenaOutputFormat.JSON
        ),
        ["athena.query_string is ''", "1 to 4096 characters"],
    ),
    (
        "redshift cluster id",
        lambda s: ProcessingInput.from_redshift(
            "r",
            cluster_id="Warehouse_1",
            cluster_role=iam.Role.from_role_arn(s, "R", "arn:aws:iam::123456789012:role/r"),
            database="d",
            db_user="u",
            query_string="SELECT 1",
            output_s3_uri="s3://bucket-x/r/",
            output_format=RedshiftOutputFormat.CSV,
        ),
        ["redshift.cluster_id is 'Warehouse_1'", "lowercase letters"],
    ),
    (
        "ecr tag",
        lambda s: ContainerImage.from_ecr_repository(
            __import__("aws_cdk.aws_ecr").aws_ecr.Repository(s, "Repo"), "bad tag"
        ),
        ["tag_or_digest is 'bad tag'"],
    ),
    (
        "subnets without vpc",
        lambda s: make_job(s, vpc_subnets=ec2.SubnetSelection()),
        ["vpc_subnets is 'set without vpc'"],
    ),
    (
        "too many security groups",
        lambda s: (
            lambda v: make_job(s, vpc=v, security_groups=[ec2.SecurityGroup(s, f"G{i}", vpc=v) for i in range(6)])
        )(ec2.Vpc(s, "V", nat_gateways=1)),
        ["security_groups is '6 items'", "1 to 5 items"],
    ),
    (
        "vpc without private subnets",
        lambda s: make_job(
            s,
            vpc=ec2.Vpc(
                s, "V", subnet_configuration=[ec2.SubnetConfiguration(name="pub", subnet_type=ec2.SubnetType.PUBLIC)]
            ),
        ),
        ["vpc_subnets is 'not set'", "no private subnets"],
    ),
    ("unknown output uri", lambda s: make_job(s).output_uri("nope"), ["output_name is 'nope'", "S3 outputs"]),
]


@pytest.mark.parametrize("case,build,fragments", CASES, ids=[c[0] for c in CASES])
def test_fails_at_synth_with_a_clear_message(case: str, build: Case, fragments: list[str]) -> None:
    with pytest.raises(ProcessingJobValidationError) as raised:
        build(new_stack())
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_connections_of_a_job_outside_a_vpc_fail_clearly() -> None:
    with pytest.raises(ProcessingJobValidationError, match="not in a VPC"):
        make_job().connections  # noqa: B018


def test_too_many_tags_fail_when_the_app_is_synthesized() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Tags")
    job = make_job(stack)
    for i in range(46):
        cdk.Tags.of(job).add(f"k{i}", "v")
    with pytest.raises(RuntimeError, match="tags: the job has 46 tags: at most 45"):
        app.synth()


def test_a_tag_with_a_line_break_fails_when_the_app_is_synthesized() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Tags")
    cdk.Tags.of(make_job(stack)).add("note", "two\nlines")
    with pytest.raises(RuntimeError, match="tags: 'note'='two\\\\nlines'"):
        app.synth()


def test_a_tag_whose_value_is_a_token_synthesizes() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Tags")
    job = make_job(stack)
    cdk.Tags.of(job).add("bucket", s3.Bucket(stack, "B").bucket_name)
    cdk.Tags.of(job).add("owner", "équipe data")  # letters of any alphabet, and spaces
    template = app.synth().get_stack_by_name("Tags").template
    [resource] = [r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob"]
    tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Request"]["Tags"]}
    assert tags["bucket"] == {"Ref": next(k for k in template["Resources"] if k.startswith("B"))}
    assert tags["owner"] == "équipe data"


def test_instance_types_with_hyphenated_families_are_accepted() -> None:
    assert InstanceType.of("ml.m7i-flex.large").name == "ml.m7i-flex.large"


def test_unresolved_tokens_are_accepted_and_left_for_cloudformation() -> None:
    stack = new_stack()
    count = cdk.CfnParameter(stack, "Count", type="Number").value_as_number
    name = cdk.CfnParameter(stack, "Name").value_as_string
    uri = cdk.CfnParameter(stack, "Uri").value_as_string
    volume = cdk.CfnParameter(stack, "Volume", type="Number").value_as_number
    job = make_job(
        stack,
        instance_count=count,
        volume_size=cdk.Size.gibibytes(volume),
        max_runtime=cdk.Duration.seconds(cdk.CfnParameter(stack, "Runtime", type="Number").value_as_number),
        processing_job_name=name,
        environment={"TARGET": name},
        inputs=[ProcessingInput.from_s3_uri("data", uri, input_mode=InputMode.PIPE)],
        image=ContainerImage.from_registry(cdk.CfnParameter(stack, "Image").value_as_string),
    )
    request = stack.resolve(job.node.find_child("Resource").node.default_child._cfn_properties)["Request"]  # type: ignore[union-attr]
    assert request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == {"Ref": "Count"}
    assert request["ProcessingJobName"] == {"Ref": "Name"}
    assert request["ProcessingInputs"][0]["S3Input"]["S3Uri"] == {"Ref": "Uri"}
    assert request["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True  # count unknown: the safe default


def test_instance_type_constants_are_all_in_the_service_model() -> None:
    from model import input_shape

    allowed = set(input_shape().members["ProcessingResources"].members["ClusterConfig"].members["InstanceType"].enum)
    constants = {v.name for v in vars(InstanceType).values() if isinstance(v, InstanceType)}
    assert len(constants) > 20
    assert constants <= allowed, constants - allowed


@pytest.mark.parametrize(
    "name,local",
    [
        ("ml.m5.xlarge", False),
        ("ml.r5d.large", True),
        ("ml.g4dn.xlarge", True),
        ("ml.g5.2xlarge", True),
        ("ml.c5.xlarge", False),
        ("ml.p3dn.24xlarge", True),
        ("ml.t3.medium", False),
    ],
)
def test_instance_types_know_whether_they_have_local_storage(name: str, local: bool) -> None:
    assert InstanceType.of(name).has_local_storage is local


def test_list_tokens_are_recognised_as_unresolved() -> None:
    from cdk_processing._validation import is_unresolved

    stack = new_stack()
    assert is_unresolved(cdk.Fn.split(",", cdk.CfnParameter(stack, "Csv").value_as_string))
    assert is_unresolved(cdk.Fn.get_azs())
    assert not is_unresolved(["#{not a token}", "a"])
    assert is_unresolved(cdk.Aws.REGION) and not is_unresolved("us-east-1")
    assert is_unresolved(cdk.CfnParameter(stack, "N", type="Number").value_as_number) and not is_unresolved(3)

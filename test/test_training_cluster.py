"""TrainingJob's clusters: distributed training (``Distribution``), file-system channels (EFS, FSx for Lustre) and
heterogeneous clusters (``InstanceGroup``). The template of the shared test stack ``training_cluster``, the
distributions' hyperparameters as the SageMaker Python SDK renders them, the bad input refused at synth with the
library's error, and valid values that synthesize (one app for all of them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cases import assert_refused
from cdk_processing import (
    Code,
    ContainerImage,
    Distribution,
    Framework,
    InstanceGroup,
    InstanceType,
    JobValidationError,
    TrainingInput,
    TrainingJob,
)
from cdk_processing.training_cluster import TrainingCluster
from stacks import EXAMPLES, TRAIN_IMAGE_URI

SCRIPT = str(EXAMPLES / "train" / "train.py")
P4D = InstanceType.of("ml.p4d.24xlarge")
P5 = InstanceType.of("ml.p5.48xlarge")
TRN1 = InstanceType.of("ml.trn1.32xlarge")
PYTORCH = ContainerImage.from_framework(Framework.PYTORCH, "2.3.0")


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _request(template: dict[str, Any], job: str) -> dict[str, Any]:
    [resource] = [
        r
        for r in _resources(template, "Custom::SageMakerTrainingJob").values()
        if f"/{job}/" in r["Metadata"]["aws:cdk:path"]
    ]
    return dict(resource["Properties"]["Request"])


def _id(template: dict[str, Any], path: str) -> str:
    [logical_id] = [k for k, r in template["Resources"].items() if r["Metadata"]["aws:cdk:path"] == path]
    return logical_id


# -- The shared stack ------------------------------------------------------------------------------------------------


def test_torchrun_hands_the_script_to_the_toolkit_with_the_sdks_hyperparameters(synthesized) -> None:
    request = _request(synthesized.templates["training_cluster"], "Torchrun")
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    # The script as the toolkit finds it: its file name in the channel "code", which holds the CDK asset.
    script = json.loads(request["HyperParameters"]["sagemaker_program"])
    assert script.endswith(".py") and json.dumps(channels["code"]["DataSource"]["S3DataSource"]).count(script) == 1
    assert request["HyperParameters"] == {
        "epochs": "3",
        "sagemaker_torch_distributed_enabled": "true",
        "sagemaker_instance_type": '"ml.p4d.24xlarge"',
        "sagemaker_program": json.dumps(script),
        "sagemaker_submit_directory": '"/opt/ml/input/data/code"',
    }
    # The framework image's own entrypoint (the training toolkit) runs: no entrypoint of the library's.
    assert "ContainerEntrypoint" not in request["AlgorithmSpecification"]
    assert "pytorch-training:2.3.0-gpu-py311" in json.dumps(request["AlgorithmSpecification"]["TrainingImage"])


def test_file_system_channels_mount_efs_and_lustre_through_the_jobs_vpc(synthesized) -> None:
    template = synthesized.templates["training_cluster"]
    request = _request(template, "Torchrun")
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    efs_id = _id(template, "TrainingCluster/Efs/Resource")
    lustre_id = _id(template, "TrainingCluster/Lustre/Resource")
    assert channels["train"] == {
        "ChannelName": "train",
        "DataSource": {
            "FileSystemDataSource": {
                "FileSystemId": {"Ref": efs_id},
                "FileSystemType": "EFS",
                "DirectoryPath": "/datasets/train",
                "FileSystemAccessMode": "ro",
            }
        },
    }
    assert channels["scratch"]["DataSource"]["FileSystemDataSource"] == {
        "FileSystemId": {"Ref": lustre_id},
        "FileSystemType": "FSxLustre",
        # FSx for Lustre paths start with the file system's mount name.
        "DirectoryPath": {"Fn::Sub": f"/${{{lustre_id}.LustreMountName}}/scratch"},
        "FileSystemAccessMode": "rw",
    }
    assert "VpcConfig" in request
    # The job's security group may reach each file system on its port, and nothing else is opened to it.
    job_group = {"Fn::GetAtt": [_id(template, "TrainingCluster/Torchrun/SecurityGroup/Resource"), "GroupId"]}
    rules = {
        (json.dumps(r["Properties"]["GroupId"]), r["Properties"]["FromPort"], r["Properties"]["ToPort"])
        for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("SourceSecurityGroupId") == job_group and r["Properties"]["IpProtocol"] == "tcp"
    }
    efs_group = _id(template, "TrainingCluster/Efs/EfsSecurityGroup/Resource")
    lustre_group = _id(template, "TrainingCluster/Lustre/FsxLustreSecurityGroup/Resource")
    assert rules == {
        (json.dumps({"Fn::GetAtt": [efs_group, "GroupId"]}), 2049, 2049),
        (json.dumps({"Fn::GetAtt": [lustre_group, "GroupId"]}), 988, 1023),
    }
    # A file system channel needs no S3 grant, and no IAM for the mount: the role reads the S3 channels only.
    policies = json.dumps(_resources(template, "AWS::IAM::ManagedPolicy"))
    assert "elasticfilesystem" not in policies and "fsx:" not in policies


def test_multi_instance_jobs_in_a_vpc_talk_to_themselves_encrypted_and_single_ones_do_not(synthesized) -> None:
    template = synthesized.templates["training_cluster"]
    for job in ("Torchrun", "Hetero"):  # 2 instances; groups of 2 and 1
        group = _id(template, f"TrainingCluster/{job}/SecurityGroup/Resource")
        own = [
            r["Properties"]
            for r in _resources(template, "AWS::EC2::SecurityGroupIngress").values()
            if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
            and r["Properties"].get("SourceSecurityGroupId") == {"Fn::GetAtt": [group, "GroupId"]}
        ]
        assert [r["IpProtocol"] for r in own] == ["-1"], job
        assert _request(template, job)["EnableInterContainerTrafficEncryption"] is True, job
    assert _request(template, "Sharded")["EnableInterContainerTrafficEncryption"] is False


def test_a_heterogeneous_cluster_renders_its_groups_and_the_groups_of_its_channels(synthesized) -> None:
    request = _request(synthesized.templates["training_cluster"], "Hetero")
    assert request["ResourceConfig"] == {
        "VolumeSizeInGB": 30,
        "InstanceGroups": [
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "gpu", "InstanceType": "ml.p3.16xlarge", "InstanceCount": 1},
        ],
    }
    sources = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in request["InputDataConfig"]}
    assert sources["raw"]["InstanceGroupNames"] == ["cpu"]
    assert sources["features"]["InstanceGroupNames"] == ["gpu"]
    assert "InstanceGroupNames" not in sources["code"]  # every instance gets the script
    hyperparameters = request["HyperParameters"]
    assert {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_program")} == {
        "sagemaker_distribution_instance_groups": '["gpu"]',
        "sagemaker_mpi_enabled": "true",
        "sagemaker_mpi_num_of_processes_per_host": "8",
        "sagemaker_mpi_custom_mpi_options": '"--verbose"',
        "sagemaker_submit_directory": '"/opt/ml/input/data/code"',
    }
    # The framework image's build follows the first group with GPUs, as the SDK's does.
    assert "pytorch-training:2.3.0-gpu-py311" in json.dumps(request["AlgorithmSpecification"]["TrainingImage"])


def test_model_parallel_is_smp_v2_launched_by_torchrun(synthesized) -> None:
    request = _request(synthesized.templates["training_cluster"], "Sharded")
    assert request["HyperParameters"] == {
        "mp_parameters": '{"tensor_parallel_degree": 8, "hybrid_shard_degree": 1}',
        "sagemaker_distributed_dataparallel_enabled": "false",
        "sagemaker_instance_type": '"ml.p5.48xlarge"',
        "sagemaker_torch_distributed_enabled": "true",
    }
    assert request["ResourceConfig"]["InstanceType"] == "ml.p5.48xlarge"


# -- Hyperparameters of each distribution, without a job ---------------------------------------------------------------


def _launch(distribution: Distribution, instance_type: InstanceType = P4D, **cluster: Any) -> dict[str, str]:
    made = TrainingCluster(None if cluster else instance_type, cluster.pop("count", 1), cluster.get("groups"), None)
    return distribution.bind(
        ContainerImage.from_registry(TRAIN_IMAGE_URI), made, None, None, None, None, "/code", lambda code: ""
    )


def test_data_parallel_renders_what_the_sdks_estimators_render() -> None:
    assert _launch(Distribution.smdistributed(data_parallel=True)) == {
        "sagemaker_distributed_dataparallel_enabled": "true",
        "sagemaker_instance_type": '"ml.p4d.24xlarge"',
        "sagemaker_distributed_dataparallel_custom_mpi_options": '""',
    }
    assert _launch(Distribution.smdistributed(data_parallel=True, torchrun=True, custom_mpi_options="-x A=1"), P5) == {
        "sagemaker_distributed_dataparallel_enabled": "true",
        "sagemaker_instance_type": '"ml.p5.48xlarge"',
        "sagemaker_distributed_dataparallel_custom_mpi_options": '"-x A=1"',
        "sagemaker_torch_distributed_enabled": "true",
    }
    # One group: the SDK names it for the distribution; each instance reads its own type (no sagemaker_instance_type).
    assert _launch(Distribution.smdistributed(data_parallel=True), groups=[InstanceGroup("gpu", P4D, count=4)]) == {
        "sagemaker_distribution_instance_groups": '["gpu"]',
        "sagemaker_distributed_dataparallel_enabled": "true",
        "sagemaker_distributed_dataparallel_custom_mpi_options": '""',
    }
    assert _launch(Distribution.mpi()) == {"sagemaker_mpi_enabled": "true", "sagemaker_mpi_custom_mpi_options": '""'}


# -- Bad input ---------------------------------------------------------------------------------------------------------


def job(stack: cdk.Stack, **props: Any) -> TrainingJob:
    return TrainingJob(stack, "Train", **{"image": ContainerImage.from_registry(TRAIN_IMAGE_URI), **props})


def vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0, subnet_configuration=[_isolated()])


def _isolated() -> ec2.SubnetConfiguration:
    return ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


def file_system(stack: cdk.Stack) -> efs.FileSystem:
    return efs.FileSystem(stack, "Efs", vpc=vpc(stack))


TWO_GROUPS = [InstanceGroup("cpu", InstanceType.C5_XLARGE, count=2), InstanceGroup("gpu", P4D)]

BAD: list[tuple[str, Callable[[cdk.Stack], Any], list[str]]] = [
    (
        "a distribution with an entrypoint",
        lambda s: job(s, distribution=Distribution.torchrun(), instance_type=P4D, entrypoint=["python3", "t.py"]),
        ["entrypoint is ['python3', 't.py']", "replaces the framework image's training toolkit", "hyperparameters"],
    ),
    (
        "a distribution with arguments",
        lambda s: job(s, distribution=Distribution.mpi(), arguments=["--epochs", "3"]),
        ["arguments is ['--epochs', '3']", "'train' command", "--name value"],
    ),
    (
        "a distribution with a command",
        lambda s: job(s, distribution=Distribution.mpi(), code=Code.from_asset(SCRIPT), command=["python3", "-u"]),
        ["command is ['python3', '-u']", "Distribution.mpi()"],
    ),
    (
        "a distribution with a folder of code",
        lambda s: job(
            s,
            distribution=Distribution.mpi(),
            code=Code.from_asset(str(EXAMPLES / "preprocess"), entry_point="preprocess.py"),
        ),
        ["code is", "is a folder", "does not unpack: give a single script"],
    ),
    (
        "torchrun of a script that is no Python",
        lambda s: job(
            s,
            distribution=Distribution.torchrun(),
            code=Code.from_asset(str(EXAMPLES / "preprocess" / "requirements.txt")),
        ),
        ["code is", "requirements.txt", "must be a Python script (*.py) for torchrun"],
    ),
    (
        "torchrun in the PyTorch image on a CPU type",
        lambda s: job(s, image=PYTORCH, distribution=Distribution.torchrun(), instance_type=InstanceType.M5_XLARGE),
        ["distribution is Distribution.torchrun()", "GPU (ml.p*, ml.g*) or Trainium", "not ml.m5.xlarge"],
    ),
    (
        "MPI on Trainium",
        lambda s: job(s, distribution=Distribution.mpi(), instance_type=TRN1),
        ["distribution is Distribution.mpi()", "not supported on Trainium (ml.trn1.32xlarge)", "torchrun()"],
    ),
    (
        "SMDDP with mpirun on ml.p5.48xlarge",
        lambda s: job(s, distribution=Distribution.smdistributed(data_parallel=True), instance_type=P5),
        ["distribution is Distribution.smdistributed(data_parallel=True)", "ml.p5.48xlarge", "torchrun=True"],
    ),
    (
        "smdistributed without a library",
        lambda s: Distribution.smdistributed(),
        ["distribution is 'smdistributed()'", "data_parallel=True (SMDDP) or model_parallel"],
    ),
    (
        "smdistributed with both libraries",
        lambda s: Distribution.smdistributed(data_parallel=True, model_parallel={"tensor_parallel_degree": 2}),
        ["takes one library"],
    ),
    (
        "model parallel without parameters",
        lambda s: Distribution.smdistributed(model_parallel={}),
        ["distribution.model_parallel is {}", "tensor_parallel_degree"],
    ),
    (
        "model parallel parameters that are no JSON",
        lambda s: Distribution.smdistributed(model_parallel={"degree": {1, 2}}),
        ["distribution.model_parallel is", "JSON values only"],
    ),
    (
        "mpi options for model parallel",
        lambda s: Distribution.smdistributed(model_parallel={"tensor_parallel_degree": 2}, custom_mpi_options="-v"),
        ["distribution.custom_mpi_options is '-v'", "data_parallel"],
    ),
    (
        "no processes per host",
        lambda s: Distribution.mpi(processes_per_host=0),
        ["distribution.processes_per_host is 0", "between 1 and"],
    ),
    (
        "an instance group for model parallel",
        lambda s: Distribution.smdistributed(model_parallel={"tensor_parallel_degree": 2}, instance_group="gpu"),
        ["distribution.instance_group is 'gpu'", "runs on every instance"],
    ),
    (
        "a hyperparameter the distribution sets",
        lambda s: job(s, distribution=Distribution.mpi(), hyperparameters={"sagemaker_mpi_enabled": False}),
        ["hyperparameters[sagemaker_mpi_enabled] is 'false'", "set by the distribution (Distribution.mpi()) to true"],
    ),
    (
        "a distribution of a wrong type",
        lambda s: job(s, distribution={"mpi": {"enabled": True}}),
        ["distribution is {'mpi': {'enabled': True}}", "Distribution.torchrun()"],
    ),
    (
        "MPI on two groups without naming one",
        lambda s: job(s, distribution=Distribution.mpi(), instance_groups=TWO_GROUPS),
        ["distribution.instance_group is None", "one of the job's 2 instance groups", "['cpu', 'gpu']"],
    ),
    (
        "MPI on a group the job does not have",
        lambda s: job(s, distribution=Distribution.mpi(instance_group="tpu"), instance_groups=TWO_GROUPS),
        ["distribution.instance_group is 'tpu'", "not an instance group of the job"],
    ),
    (
        "MPI on a group of a job without groups",
        lambda s: job(s, distribution=Distribution.mpi(instance_group="gpu")),
        ["distribution.instance_group is 'gpu'", "the job has no instance_groups"],
    ),
    (
        "model parallel on instance groups",
        lambda s: job(
            s,
            distribution=Distribution.smdistributed(model_parallel={"tensor_parallel_degree": 2}),
            instance_groups=[InstanceGroup("gpu", P4D, count=2)],
        ),
        ["cannot train on instance_groups"],
    ),
    (
        "instance groups and an instance type",
        lambda s: job(s, instance_groups=TWO_GROUPS, instance_type=InstanceType.C5_XLARGE),
        ["instance_type is 'ml.c5.xlarge'", "each group's with instance_groups"],
    ),
    (
        "instance groups and an instance count",
        lambda s: job(s, instance_groups=TWO_GROUPS, instance_count=3),
        ["instance_count is 3", "each group's count"],
    ),
    (
        "six instance groups",
        lambda s: job(s, instance_groups=[InstanceGroup(f"g{i}", InstanceType.C5_XLARGE) for i in range(6)]),
        ["instance_groups is '6 items'", "1 to 5 groups"],
    ),
    (
        "two groups of one name",
        lambda s: job(s, instance_groups=[InstanceGroup("g", InstanceType.C5_XLARGE)] * 2),
        ["instance_groups[].name is 'g'", "unique"],
    ),
    (
        "a group's instance type with a typo",
        lambda s: InstanceGroup("gpu", InstanceType.of("ml.p4d.24xlarg")),
        ["instance_groups[gpu].instance_type is 'ml.p4d.24xlarg'", "did you mean ml.p4d.24xlarge"],
    ),
    (
        "a group of a type as a string",
        lambda s: InstanceGroup("gpu", "ml.p4d.24xlarge"),  # type: ignore[arg-type]
        ["instance_groups[gpu].instance_type is 'ml.p4d.24xlarge'", "must be an InstanceType"],
    ),
    (
        "a volume key with a group of local storage",
        lambda s: job(s, instance_groups=TWO_GROUPS, volume_encryption_key=kms.Key(s, "Key")),
        ["volume_encryption_key is 'instance group gpu (ml.p4d.24xlarge)'", "local instance storage"],
    ),
    (
        "a channel naming a group the job does not have",
        lambda s: job(
            s,
            instance_groups=TWO_GROUPS,
            inputs=[TrainingInput.from_s3_uri("train", "s3://bucket-a/t/", instance_groups=["tpu"])],
        ),
        ["inputs[train].instance_groups is 'tpu'", "one of ['cpu', 'gpu']"],
    ),
    (
        "a channel naming groups of a job without groups",
        lambda s: job(s, inputs=[TrainingInput.from_s3_uri("train", "s3://bucket-a/t/", instance_groups=["cpu"])]),
        ["inputs[train].instance_groups is ['cpu']", "the job has none"],
    ),
    (
        "a channel naming six groups",
        lambda s: TrainingInput.from_s3_uri("t", "s3://bucket-a/t/", instance_groups=[f"g{i}" for i in range(6)]),
        ["inputs[t].instance_groups is '6 items'", "1 to 5"],
    ),
    (
        "a file system channel of a job outside a VPC",
        lambda s: job(s, inputs=[TrainingInput.from_file_system("train", file_system(s), "/data")]),
        ["inputs[train] is 'a directory of the construct Bad/Efs'", "give the job a vpc"],
    ),
    (
        "a relative directory path",
        lambda s: TrainingInput.from_file_system("train", file_system(s), "data"),
        ["inputs[train].directory_path is 'data'", "must start with '/'"],
    ),
    (
        "an imported FSx for Lustre file system without its mount name",
        lambda s: TrainingInput.from_file_system(
            "train",
            fsx.LustreFileSystem.from_lustre_file_system_attributes(
                s,
                "Fsx",
                dns_name="fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com",
                file_system_id="fs-0123456789abcdef0",
                security_group=ec2.SecurityGroup.from_security_group_id(s, "Sg", "sg-12345678"),
            ),
            "/data",
        ),
        ["inputs[train].mount_name is None", "imported FSx for Lustre", "LustreConfiguration.MountName"],
    ),
    (
        "a mount name for EFS",
        lambda s: TrainingInput.from_file_system("train", file_system(s), "/data", mount_name="abcdefgh"),
        ["inputs[train].mount_name is 'abcdefgh'", "FSx for Lustre's"],
    ),
    (
        "a bucket as a file system",
        lambda s: TrainingInput.from_file_system("train", s3.Bucket(s, "B"), "/data"),  # type: ignore[arg-type]
        ["inputs[train].file_system is the construct Bad/B", "efs.FileSystem, fsx.LustreFileSystem"],
    ),
    (
        "a file system id SageMaker refuses",
        lambda s: TrainingInput.from_file_system(
            "train",
            efs.FileSystem.from_file_system_attributes(
                s,
                "Old",
                file_system_id="fs-12",
                security_group=ec2.SecurityGroup.from_security_group_id(s, "Sg", "sg-12345678"),
            ),
            "/data",
        ),
        ["inputs[train].file_system is 'fs-12'", "must be 11 to 21 characters"],
    ),
]


@pytest.mark.parametrize("case,make,expected", BAD, ids=[c[0] for c in BAD])
def test_fails_at_synth_with_the_library_error(
    case: str, make: Callable[[cdk.Stack], Any], expected: list[str]
) -> None:
    assert_refused(case, make, expected)


def test_a_channels_errors_name_the_job() -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(JobValidationError) as error:
        job(stack, inputs=[TrainingInput.from_file_system("train", file_system(stack), "/data")])
    assert str(error.value).startswith("Bad/Train: inputs[train] is")


# -- Valid values, one app -----------------------------------------------------------------------------------------


def _imported_lustre(s: cdk.Stack) -> Any:
    return fsx.LustreFileSystem.from_lustre_file_system_attributes(
        s,
        "Fsx",
        dns_name="fs-0123456789abcdef0.fsx.us-east-1.amazonaws.com",
        file_system_id="fs-0123456789abcdef0",
        security_group=ec2.SecurityGroup.from_security_group_id(s, "FsxGroup", "sg-12345678", mutable=False),
    )


GOOD: list[tuple[str, Callable[[cdk.Stack], Any], Callable[[dict[str, Any]], Any]]] = [
    (
        "an imported FSx for Lustre file system with its mount name",
        lambda s: job(
            s,
            vpc=vpc(s),
            inputs=[TrainingInput.from_file_system("t", _imported_lustre(s), "/data", mount_name="abcdefgh")],
        ),
        lambda r: r["InputDataConfig"][0]["DataSource"]["FileSystemDataSource"]["DirectoryPath"] == "/abcdefgh/data",
    ),
    (
        "an imported EFS file system and security groups of the user's",
        lambda s: job(
            s,
            vpc=vpc(s),
            security_groups=[ec2.SecurityGroup(s, "Mine", vpc=s.node.find_child("Vpc"))],  # type: ignore[arg-type]
            inputs=[
                TrainingInput.from_file_system(
                    "t",
                    efs.FileSystem.from_file_system_attributes(
                        s,
                        "Old",
                        file_system_id="fs-0123456789abcdef0",
                        security_group=ec2.SecurityGroup.from_security_group_id(s, "Sg", "sg-12345678"),
                    ),
                    "/",
                    content_type="application/x-image",
                )
            ],
        ),
        lambda r: r["InputDataConfig"][0]["ContentType"] == "application/x-image",
    ),
    (
        "torchrun in the PyTorch image on Trainium",
        lambda s: job(s, image=PYTORCH, instance_type=TRN1, distribution=Distribution.torchrun()),
        lambda r: r["HyperParameters"]["sagemaker_instance_type"] == '"ml.trn1.32xlarge"',
    ),
    (
        "torchrun in an image of the user's on a CPU type",
        lambda s: job(s, instance_count=2, distribution=Distribution.torchrun()),
        lambda r: r["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true",
    ),
    (
        "torchrun on every group of a heterogeneous cluster",
        lambda s: job(
            s,
            image=PYTORCH,
            instance_groups=[InstanceGroup("a", P4D), InstanceGroup("b", InstanceType.G5_XLARGE, count=3)],
            distribution=Distribution.torchrun(),
        ),
        lambda r: r["HyperParameters"] == {"sagemaker_torch_distributed_enabled": "true"},
    ),
    (
        "a channel read by both groups, and hyperparameters with a token",
        lambda s: job(
            s,
            instance_groups=TWO_GROUPS,
            distribution=Distribution.smdistributed(data_parallel=True, instance_group="gpu"),
            hyperparameters={"bucket": s3.Bucket(s, "B").bucket_name, "epochs": 3},
            inputs=[TrainingInput.from_s3_uri("t", "s3://bucket-a/t/", instance_groups=["cpu", "gpu"])],
        ),
        lambda r: (
            r["InputDataConfig"][0]["DataSource"]["S3DataSource"]["InstanceGroupNames"] == ["cpu", "gpu"]
            # A map with a token still has every value rendered as a string.
            and r["HyperParameters"]["bucket"] == {"Ref": "B08E7C7AF"}
            and r["HyperParameters"]["epochs"] == "3"
        ),
    ),
    (
        "five groups",
        lambda s: job(s, instance_groups=[InstanceGroup(f"g{i}", InstanceType.C5_XLARGE) for i in range(5)]),
        lambda r: len(r["ResourceConfig"]["InstanceGroups"]) == 5 and r["EnableInterContainerTrafficEncryption"],
    ),
    (
        "a single group of one instance",
        lambda s: job(s, instance_groups=[InstanceGroup("only", InstanceType.C5_XLARGE)]),
        lambda r: r["EnableInterContainerTrafficEncryption"] is False,
    ),
]


@pytest.fixture(scope="module")
def good() -> dict[str, dict[str, Any]]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    names = {}
    for index, (case, make, _) in enumerate(GOOD):
        stack = cdk.Stack(app, f"Good{index}")
        make(stack)
        names[case] = stack.stack_name
    assembly = app.synth()
    return {case: _request(assembly.get_stack_by_name(name).template, "Train") for case, name in names.items()}


@pytest.mark.parametrize("case,check", [(c[0], c[2]) for c in GOOD], ids=[c[0] for c in GOOD])
def test_valid_values_synthesize(good: dict[str, dict[str, Any]], case: str, check: Callable[[Any], Any]) -> None:
    assert check(good[case]), good[case]

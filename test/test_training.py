"""TrainingJob's template: its request, its grants and its conventions (the shared test stacks, synthesized once),
and the bad input it refuses at synth with the library's error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from cases import assert_refused, synthesized_with
from cdk_processing import (
    Checkpoints,
    Completion,
    ContainerImage,
    Framework,
    InputMode,
    InstanceType,
    JobValidationError,
    MetricDefinition,
    ProcessingInput,
    ProcessingJob,
    S3Compression,
    TrainingInput,
    TrainingJob,
)
from cfn import ACCOUNT, REGION, attached_policies, role_grants
from stacks import TRAIN_IMAGE_URI

TRAINING = "Custom::SageMakerTrainingJob"


def _request(template: dict[str, Any], path_part: str) -> dict[str, Any]:
    [resource] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == TRAINING and path_part in r.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    return dict(resource["Properties"]["Request"])


def _statements(template: dict[str, Any], role_path: str) -> list[dict[str, Any]]:
    """The statements of the managed policies attached to the role of the job at ``role_path``."""
    roles = {
        k
        for k, r in template["Resources"].items()
        if r.get("Metadata", {}).get("aws:cdk:path") == f"{role_path}/Resource"
    }
    return [
        s
        for role in sorted(roles)
        for k, document in attached_policies(template, role).items()
        if template["Resources"][k]["Type"] == "AWS::IAM::ManagedPolicy"
        for s in document["Statement"]
    ]


def test_hyperparameters_are_strings_as_sagemaker_takes_them(synthesized) -> None:
    request = _request(synthesized.templates["training"], "Training/Base/")
    assert request["HyperParameters"] == {
        "learning_rate": "0.1",
        "epochs": "5",
        "early_stopping": "true",
        "objective": "binary:logistic",
    }


def test_every_typed_member_reaches_the_request(synthesized) -> None:
    request = _request(synthesized.templates["training_full"], "TrainingFull/Train/")
    assert request["TrainingJobName"] == "churn-train-2024-06-01"
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 1800,
        "MaxWaitTimeInSeconds": 2400,
        "MaxPendingTimeInSeconds": 3600,
    }
    assert request["ResourceConfig"]["InstanceType"] == "ml.p3.2xlarge"
    assert request["ResourceConfig"]["InstanceCount"] == 2 and request["ResourceConfig"]["VolumeSizeInGB"] == 100
    assert request["EnableInterContainerTrafficEncryption"] is True  # two instances: on by default
    assert request["RetryStrategy"] == {"MaximumRetryAttempts": 2}
    assert request["InfraCheckConfig"] == {"EnableInfraCheck": True}
    assert request["Environment"] == {"NCCL_DEBUG": "INFO"}
    assert request["ExperimentConfig"] == {"ExperimentName": "churn", "TrialName": "nightly"}
    assert request["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert [m["Name"] for m in request["AlgorithmSpecification"]["MetricDefinitions"]] == [
        "train:loss",
        "validation:auc",
    ]
    # The PyTorch framework image in its GPU build, for a GPU instance type.
    image = json.dumps(request["AlgorithmSpecification"]["TrainingImage"])
    assert "pytorch-training:2.3.0-gpu-py311" in image
    # The code runs as the channel "code", with the command, the script and the arguments, after the entrypoint
    # unpacked the local folder of the channel "lookup" (File mode: the job's) in the channel's folder.
    entrypoint = request["AlgorithmSpecification"]["ContainerEntrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "-c"] and entrypoint[-4] == "--"
    assert entrypoint[-3:-1] == ["python3", "-u"] and entrypoint[-1].startswith("/opt/ml/input/data/code/")
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    lookup = channels["lookup"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert lookup["Fn::Sub"].startswith("s3://cdk-hnb659fds-assets-") and lookup["Fn::Sub"].endswith(".zip")
    assert entrypoint[4:-4] == ["/opt/ml/input/data/lookup/" + lookup["Fn::Sub"].rsplit("/", 1)[1]]
    assert list(channels) == ["code", "train", "manifest", "validation", "lookup"]
    assert channels["train"]["ShuffleConfig"] == {"Seed": 7} and channels["train"]["ContentType"] == "text/csv"
    manifest = channels["manifest"]
    assert manifest["InputMode"] == "Pipe" and manifest["RecordWrapperType"] == "RecordIO"
    assert manifest["DataSource"]["S3DataSource"]["S3DataType"] == "AugmentedManifestFile"
    assert manifest["DataSource"]["S3DataSource"]["AttributeNames"] == ["source-ref", "label"]
    assert manifest["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "ShardedByS3Key"
    assert channels["validation"]["InputMode"] == "FastFile"
    # The model goes to the given bucket and prefix, encrypted with the given key.
    output = request["OutputDataConfig"]
    assert output["S3OutputPath"]["Fn::Sub"].endswith("}/models/churn/") and "KmsKeyId" in output
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == output["KmsKeyId"]


def test_the_job_role_reads_its_channels_and_writes_its_model_and_checkpoints_only(synthesized) -> None:
    template = synthesized.templates["training"]
    statements = _statements(template, "Training/Tune/Role")
    text = json.dumps(statements)
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    read = [s for s in statements if s["Action"] == "s3:GetObject" or "s3:GetObject" in s["Action"]]
    # Tune reads Base's model location and writes its own: no other prefix of the shared bucket.
    assert "cdk-processing/training-36a7-base-f05860/model/*" in text
    assert all("cdk-processing/training-36a7-tune-" in json.dumps(s["Resource"]) for s in writes), writes
    assert read and not any("checkpoints/base" in json.dumps(s) for s in statements)
    assert "/aws/sagemaker/TrainingJobs:log-stream:training-36a7-tune-" in text
    metrics = next(s for s in statements if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}}
    # Base writes its shared checkpoints' prefix, and reads it back when it starts.
    base = json.dumps(_statements(template, "Training/Base/Role"))
    assert "checkpoints/base/*" in base


def test_the_handler_manages_the_training_jobs_of_the_stacks_prefix_only(synthesized) -> None:
    template = synthesized.templates["training"]
    handler = role_grants(template, "CdkProcessingJobProviderHandlerRole")
    creates = {json.loads(r) for a, r, _ in handler if a == "sagemaker:CreateTrainingJob"}
    assert creates == {f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/training-36a7-*"}
    assert ("sagemaker:StopTrainingJob", json.dumps(creates.pop()), "null") in handler
    # A stack of training jobs only: no processing job actions.
    assert not [a for a, _, _ in handler if "ProcessingJob" in a]


def test_model_data_is_the_artifact_of_the_current_run_and_its_readers_wait_for_it(synthesized) -> None:
    tune = synthesized.jobs["train_tune"]
    base = synthesized.jobs["train_base"]
    stack = cdk.Stack.of(tune)
    resource = base.node.find_child("Resource").node.default_child
    name = {"Fn::GetAtt": [stack.get_logical_id(resource), "TrainingJobName"]}
    uri = stack.resolve(base.model_data)["Fn::Join"][1]
    assert uri[-2:] == [name, "/output/model.tar.gz"]
    assert stack.resolve(base.run_name) == name
    template = synthesized.templates["training"]
    tune_resource = next(r for k, r in template["Resources"].items() if "Tune" in k and r["Type"] == TRAINING)
    assert tune_resource["Properties"]["Upstream"] == [name]


def test_conventions_events_metrics_tags_and_imports() -> None:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Conventions", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    job = TrainingJob(stack, "Train", image=ContainerImage.from_registry(TRAIN_IMAGE_URI))
    job.on_state_change("Failed", target=targets.SnsTopic(sns.Topic(stack, "Alerts")), statuses=["Failed"])
    cdk.Tags.of(stack).add("project", "churn")
    cdk.Tags.of(stack).add("only-training", "yes", include_resource_types=["AWS::SageMaker::TrainingJob"])
    cdk.Tags.of(stack).add("only-processing", "yes", include_resource_types=["AWS::SageMaker::ProcessingJob"])
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Training Job State Change"],
                "detail": {
                    "TrainingJobName": [{"prefix": Match.string_like_regexp("conventions-")}],
                    "TrainingJobStatus": ["Failed"],
                },
            }
        },
    )
    tags = _request(template.to_json(), "Conventions/Train/").get("Tags")
    assert tags == [{"Key": "only-training", "Value": "yes"}, {"Key": "project", "Value": "churn"}]
    metric = stack.resolve(job.metric("validation:auc").to_metric_config().metric_stat.dimensions)  # type: ignore[union-attr]
    assert metric[0]["name"] == "TrainingJobName"
    cpu = job.metric_gpu_utilization(host="algo-2")
    assert cpu.namespace == "/aws/sagemaker/TrainingJobs" and cpu.metric_name == "GPUUtilization"
    imported = TrainingJob.from_training_job_arn(
        stack, "Old", "arn:aws:sagemaker:eu-west-1:123456789012:training-job/old-1"
    )
    assert imported.training_job_name == "old-1"
    named = TrainingJob.from_training_job_name(stack, "Named", "Nightly-2")
    assert named.training_job_arn.endswith(":training-job/nightly-2")


def test_an_evaluation_job_reads_only_the_model_and_runs_after_training() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Eval")
    train = TrainingJob(stack, "Train", image=ContainerImage.from_registry(TRAIN_IMAGE_URI))
    ProcessingJob(
        stack,
        "Evaluate",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        inputs=[ProcessingInput.from_model("model", train)],
    )
    template = Template.from_stack(stack).to_json()
    evaluate = next(r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob")
    uri = evaluate["Properties"]["Request"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert json.dumps(uri).count("TrainingJobName") == 1 and uri["Fn::Join"][1][-1] == "/output/model.tar.gz"
    assert len(evaluate["Properties"]["Upstream"]) == 1


def job(stack: cdk.Stack, **props: Any) -> TrainingJob:
    return TrainingJob(stack, "Train", **{"image": ContainerImage.from_registry(TRAIN_IMAGE_URI), **props})


def bucket(stack: cdk.Stack) -> s3.Bucket:
    return s3.Bucket(stack, "Data")


BAD: list[tuple[str, Callable[[cdk.Stack], Any], list[str]]] = [
    (
        "max_wait without spot",
        lambda s: job(s, max_wait=cdk.Duration.hours(1)),
        ["max_wait is", "use_spot_instances=True"],
    ),
    (
        "max_wait below max_runtime",
        lambda s: job(
            s,
            use_spot_instances=True,
            max_runtime=cdk.Duration.minutes(40),
            max_wait=cdk.Duration.minutes(30),
        ),
        ["max_wait is '1800 s'", "at least max_runtime (2400 s)"],
    ),
    (
        "long spot without checkpoints",
        lambda s: job(s, use_spot_instances=True, max_runtime=cdk.Duration.hours(2), max_wait=cdk.Duration.hours(3)),
        ["checkpoints is 'not set'", "Checkpoints.per_run()", "allow_spot_without_checkpoints=True"],
    ),
    (
        "spot wait past the long wait",
        lambda s: job(s, use_spot_instances=True, max_wait=cdk.Duration.hours(13), checkpoints=Checkpoints.per_run()),
        ["max_wait is '46800 s'", "Completion.start_only()"],
    ),
    (
        "runtime past 28 days",
        lambda s: job(s, max_runtime=cdk.Duration.days(29), completion=Completion.start_only()),
        ["max_runtime is '2505600 s' (Duration.days(29))", "28 days for a training job"],
    ),
    (
        "an instance type with a typo",
        lambda s: job(s, instance_type=InstanceType.of("ml.m5.xlarg")),
        ["instance_type is 'ml.m5.xlarg'", "did you mean ml.m5.xlarge", "TrainingInstanceType"],
    ),
    (
        "twenty-one channels",
        lambda s: job(
            s,
            inputs=[
                TrainingInput.from_bucket(f"c{i}", bucket(s) if i == 0 else s.node.find_child("Data"))
                for i in range(21)
            ],
        ),
        ["inputs is '21 items'", "at most 20 channels"],
    ),
    (
        "two channels of one name",
        lambda s: job(
            s,
            inputs=[
                TrainingInput.from_s3_uri("train", "s3://bucket-a/a/"),
                TrainingInput.from_s3_uri("train", "s3://bucket-a/b/"),
            ],
        ),
        ["inputs[].channel", "train"],
    ),
    (
        "a channel name SageMaker refuses",
        lambda s: TrainingInput.from_s3_uri("train data", "s3://bucket-a/a/"),
        ["inputs[].channel is 'train data'", "must match"],
    ),
    (
        "gzip without pipe",
        lambda s: TrainingInput.from_s3_uri(
            "t", "s3://bucket-a/a/", compression=S3Compression.GZIP, input_mode=InputMode.FILE
        ),
        ["inputs[t].compression is 'Gzip'", "InputMode.PIPE"],
    ),
    (
        "attribute names without an augmented manifest",
        lambda s: TrainingInput.from_s3_uri("t", "s3://bucket-a/a/", attribute_names=["label"]),
        ["inputs[t].attribute_names", "AUGMENTED_MANIFEST_FILE"],
    ),
    (
        "forty-one metric definitions",
        lambda s: job(s, metric_definitions=[MetricDefinition(f"m{i}", "x=(\\S+)") for i in range(41)]),
        ["metric_definitions is '41 items'", "at most 40"],
    ),
    (
        "two metric definitions of one name",
        lambda s: job(
            s, metric_definitions=[MetricDefinition("loss", "a=(\\S+)"), MetricDefinition("loss", "b=(\\S+)")]
        ),
        ["metric_definitions[].name", "loss"],
    ),
    ("an empty metric regex", lambda s: MetricDefinition("loss", ""), ["metric_definitions[loss].regex is ''"]),
    (
        "a hyperparameter value past 2500 characters",
        lambda s: job(s, hyperparameters={"prompt": "x" * 2501}),
        ["hyperparameters[prompt]", "2500"],
    ),
    (
        "a hyperparameter of a list",
        lambda s: job(s, hyperparameters={"layers": [1, 2]}),
        ["hyperparameters[layers] is [1, 2]", "str, int, float or bool"],
    ),
    (
        "101 hyperparameters",
        lambda s: job(s, hyperparameters={f"h{i}": i for i in range(101)}),
        ["hyperparameters is '101 entries'", "at most 100"],
    ),
    ("no retries", lambda s: job(s, retry_attempts=0), ["retry_attempts is 0", "between 1 and 30"]),
    (
        "a pending time under 30 minutes",
        lambda s: job(s, max_pending_time=cdk.Duration.minutes(10)),
        ["max_pending_time is 600", "1800"],
    ),
    (
        "a Spark image",
        lambda s: job(s, image=ContainerImage.from_framework(Framework.SPARK, "3.5")),
        ["image is 'Framework.SPARK 3.5'", "processing images only"],
    ),
    ("a training job's other output", lambda s: job(s).output_uri("train"), ["output_name is 'train'", "'model'"]),
    (
        "an ARN of another kind",
        lambda s: TrainingJob.from_training_job_arn(
            s, "X", "arn:aws:sagemaker:us-east-1:123456789012:processing-job/x"
        ),
        ["training_job_arn is", "training-job/<name>"],
    ),
    (
        "a name SageMaker refuses",
        lambda s: job(s, training_job_name="train_1"),
        ["training_job_name is 'train_1'", "must match"],
    ),
    (
        "checkpoints of a wrong type",
        lambda s: job(s, checkpoints="s3://bucket-a/ckpt/"),
        ["checkpoints is 's3://bucket-a/ckpt/'", "Checkpoints.per_run()"],
    ),
    (
        "a relative checkpoint path",
        lambda s: Checkpoints.per_run(local_path="ckpt"),
        ["checkpoints.local_path is 'ckpt'", "absolute"],
    ),
    (
        "a second job under one fixed name",
        lambda s: [
            job(s, training_job_name="nightly"),
            TrainingJob(s, "Again", image=ContainerImage.from_registry(TRAIN_IMAGE_URI), training_job_name="nightly"),
        ],
        ["training_job_name is 'nightly'", "already the name of"],
    ),
    (
        "a hyperparameter that is no number",
        lambda s: job(s, hyperparameters={"lr": float("inf")}),
        ["Bad/Train: hyperparameters[lr] is inf: must be a finite number"],
    ),
]


@pytest.mark.parametrize("case,make,expected", BAD, ids=[c[0] for c in BAD])
def test_fails_at_synth_with_the_library_error(
    case: str, make: Callable[[cdk.Stack], Any], expected: list[str]
) -> None:
    assert_refused(case, make, expected)


def test_job_props_name_the_construct_path() -> None:
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(JobValidationError) as error:
        job(stack, retry_attempts=31)
    assert str(error.value).startswith("Bad/Train: retry_attempts is 31")


GOOD: list[tuple[str, Callable[[cdk.Stack], Any]]] = [
    (
        "spot without checkpoints within an hour",
        lambda s: job(s, use_spot_instances=True, max_runtime=cdk.Duration.minutes(30)),
    ),
    (
        "spot without checkpoints, allowed",
        lambda s: job(
            s, use_spot_instances=True, max_runtime=cdk.Duration.hours(2), allow_spot_without_checkpoints=True
        ),
    ),
    ("28 days, started only", lambda s: job(s, max_runtime=cdk.Duration.days(28), completion=Completion.start_only())),
    (
        "an instance type newer than the model",
        lambda s: job(s, instance_type=InstanceType.of("ml.p9.48xlarge", allow_unlisted=True)),
    ),
    ("a token for a hyperparameter", lambda s: job(s, hyperparameters={"bucket": s3.Bucket(s, "B").bucket_name})),
    (
        "a number token for a hyperparameter",
        lambda s: job(s, hyperparameters={"lr": cdk.CfnParameter(s, "Lr", type="Number").value_as_number}),
    ),
    (
        "twenty channels",
        lambda s: job(s, inputs=[TrainingInput.from_s3_uri(f"c{i}", f"s3://bucket-a/{i}/") for i in range(20)]),
    ),
    (
        "a VPC with an imported subnet",
        lambda s: job(
            s,
            vpc=ec2.Vpc(s, "Vpc"),
            vpc_subnets=ec2.SubnetSelection(subnets=[ec2.Subnet.from_subnet_id(s, "S", "subnet-1")]),
        ),
    ),
    (
        "gzip with pipe",
        lambda s: job(
            s,
            inputs=[
                TrainingInput.from_s3_uri(
                    "t", "s3://bucket-a/a/", compression=S3Compression.GZIP, input_mode=InputMode.PIPE
                )
            ],
        ),
    ),
    (
        "a CPU PyTorch build on a CPU type",
        lambda s: job(
            s, image=ContainerImage.from_framework(Framework.PYTORCH, "2.3.0"), instance_type=InstanceType.M5_XLARGE
        ),
    ),
]


@pytest.mark.parametrize("case,make", GOOD, ids=[c[0] for c in GOOD])
def test_valid_values_synthesize(case: str, make: Callable[[cdk.Stack], Any]) -> None:
    template = synthesized_with(make)
    if "Lr" in template.get("Parameters", {}):  # a number parameter reaches the request as its value, a string
        [train] = [r for r in template["Resources"].values() if r["Type"] == TRAINING]
        assert train["Properties"]["Request"]["HyperParameters"]["lr"] == {"Ref": "Lr"}

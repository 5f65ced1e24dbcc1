"""Test stacks that cover every prop group, synthesized once per session (each synth costs a jsii round trip)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_efs as efs
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template

from cdk_processing import (
    AthenaOutputCompression,
    AthenaOutputFormat,
    Checkpoints,
    Code,
    Completion,
    ContainerImage,
    DataDistribution,
    Distribution,
    ExperimentConfig,
    Framework,
    InputMode,
    InstanceGroup,
    InstanceType,
    JobWorkflow,
    MetricDefinition,
    MetricThreshold,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    RecordWrapper,
    RedshiftOutputFormat,
    S3Compression,
    S3DataType,
    S3UploadMode,
    TrainingInput,
    TrainingJob,
)

IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"
TRAIN_IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.0"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@dataclass
class Synthesized:
    stacks: dict[str, cdk.Stack]
    jobs: dict[str, ProcessingJob | TrainingJob]
    templates: dict[str, dict[str, Any]]
    workflows: dict[str, JobWorkflow]

    def template(self, stack: str) -> Template:
        return Template.from_json(self.templates[stack])


def build() -> Synthesized:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stacks: dict[str, cdk.Stack] = {}
    jobs: dict[str, ProcessingJob | TrainingJob] = {}

    # -- Minimal: one job, registry image, one S3 input and output --------------------------------------------
    minimal = cdk.Stack(app, "Minimal")
    bucket = s3.Bucket(minimal, "Data")
    jobs["minimal"] = ProcessingJob(
        minimal,
        "Prep",
        image=ContainerImage.from_registry(IMAGE_URI),
        inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", bucket, "train/")],
    )
    stacks["minimal"] = minimal

    # -- Full: every field of CreateProcessingJob -----------------------------------------------------------------
    full = cdk.Stack(app, "Full", tags={"owner": "ml-platform"})
    key = kms.Key(full, "Key")
    data = s3.Bucket(full, "Data", encryption_key=key, encryption=s3.BucketEncryption.KMS)
    results = s3.Bucket(full, "Results")
    vpc = ec2.Vpc(full, "Vpc", max_azs=2, nat_gateways=1)
    group = ec2.SecurityGroup(full, "JobGroup", vpc=vpc)
    repository = ecr.Repository(full, "Repo")
    cluster_role = iam.Role(full, "RedshiftRole", assumed_by=iam.ServicePrincipal("redshift.amazonaws.com"))
    full_job = ProcessingJob(
        full,
        "Features",
        image=ContainerImage.from_ecr_repository(repository, "v2"),
        entrypoint=["python3", "/opt/program/features.py"],
        arguments=["--mode", "full"],
        environment={"LOG_LEVEL": "DEBUG", "_PRIVATE": "1"},
        instance_type=InstanceType.M5_2XLARGE,
        instance_count=2,
        volume_size=cdk.Size.gibibytes(100),
        volume_encryption_key=key,
        max_runtime=cdk.Duration.minutes(40),
        inputs=[
            ProcessingInput.from_bucket("raw", data, "raw/2024/"),
            ProcessingInput.from_s3_uri(
                "manifest",
                "s3://shared-datasets-bucket/manifests/train.manifest",
                data_type=S3DataType.MANIFEST_FILE,
                input_mode=InputMode.PIPE,
                distribution=DataDistribution.SHARDED_BY_S3_KEY,
                compression=S3Compression.GZIP,
            ),
            ProcessingInput.from_athena(
                "athena",
                database="sales",
                query_string="SELECT * FROM orders",
                output_s3_uri="s3://athena-results-bucket/sales/",
                output_format=AthenaOutputFormat.PARQUET,
                work_group="analytics",
                output_compression=AthenaOutputCompression.SNAPPY,
                kms_key=key,
            ),
            ProcessingInput.from_redshift(
                "redshift",
                cluster_id="warehouse",
                cluster_role=cluster_role,
                database="dev",
                db_user="etl",
                query_string="SELECT * FROM events",
                output_s3_uri="s3://redshift-unload-bucket/events/",
                output_format=RedshiftOutputFormat.PARQUET,
            ),
            ProcessingInput.from_bucket("app", data, "app/", app_managed=True, local_path="/opt/ml/processing/app"),
        ],
        outputs=[
            ProcessingOutput.to_bucket("features", results, "features/"),
            ProcessingOutput.to_s3_uri(
                "stream",
                "s3://stream-bucket/live/",
                upload_mode=S3UploadMode.CONTINUOUS,
                local_path="/opt/ml/processing/stream",
            ),
            ProcessingOutput.to_feature_store("store", "customer-features"),
        ],
        output_encryption_key=key,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        security_groups=[group],
        enable_network_isolation=True,
        experiment_config=ExperimentConfig(
            experiment_name="features", trial_name="nightly", trial_component_display_name="build", run_name="run-1"
        ),
        processing_job_name="features-nightly",
    )
    cdk.Tags.of(full_job).add("team", "forecasting")
    cdk.Tags.of(full).add("only-buckets", "yes", include_resource_types=["AWS::S3::Bucket"])
    jobs["full"] = full_job
    stacks["full"] = full

    # -- Pipeline: two jobs, a default VPC job, chaining, a role passed in -------------------------------------
    pipeline = cdk.Stack(app, "Pipeline")
    lake = s3.Bucket(pipeline, "Lake")
    network = ec2.Vpc(pipeline, "Vpc", max_azs=2, nat_gateways=1)
    prep = ProcessingJob(
        pipeline,
        "Prep",
        image=ContainerImage.from_registry(IMAGE_URI),
        instance_count=3,
        inputs=[ProcessingInput.from_bucket("raw", lake, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", lake, "prepared/train/")],
        vpc=network,
    )
    existing = iam.Role.from_role_arn(pipeline, "Existing", "arn:aws:iam::123456789012:role/ml-eval")
    evaluate = ProcessingJob(
        pipeline,
        "Evaluate",
        image=ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.12"),
        inputs=[ProcessingInput.from_output("train", prep, "train")],
        outputs=[ProcessingOutput.to_bucket("report", lake, "reports/")],
        role=existing,
    )
    jobs["prep"] = prep
    jobs["evaluate"] = evaluate
    stacks["pipeline"] = pipeline

    # -- Modes: long waits, start-only jobs, code and data folders, a framework image, a key on the default bucket
    modes = cdk.Stack(app, "Modes")
    data = s3.Bucket(modes, "Data")
    output_key = kms.Key(modes, "OutputKey", enable_key_rotation=True)
    framework = ContainerImage.from_framework(Framework.SKLEARN, "1.2-1")
    jobs["long"] = ProcessingJob(
        modes,
        "Train",
        image=framework,
        code=Code.from_asset(str(EXAMPLES / "preprocess"), entry_point="preprocess.py"),
        inputs=[ProcessingInput.from_asset("lookup", str(EXAMPLES / "evaluate"))],
        outputs=[ProcessingOutput.to_bucket("model")],
        output_encryption_key=output_key,
        max_runtime=cdk.Duration.hours(3),
        completion=Completion.wait_long(),
    )
    jobs["start_only"] = ProcessingJob(
        modes,
        "Backfill",
        image=framework,
        code=Code.from_asset(str(EXAMPLES / "evaluate" / "evaluate.py")),
        inputs=[
            ProcessingInput.from_output("model", jobs["long"], "model"),
            ProcessingInput.from_bucket("raw", data, "raw/"),
        ],
        max_runtime=cdk.Duration.days(2),
        completion=Completion.start_only(),
    )
    stacks["modes"] = modes

    # -- Training: a chain of two training jobs (the second reads the first's model), shared checkpoints -----------
    training = cdk.Stack(app, "Training")
    models = s3.Bucket(training, "Models")
    base = TrainingJob(
        training,
        "Base",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        arguments=["--epochs", "5"],
        hyperparameters={"learning_rate": 0.1, "epochs": 5, "early_stopping": True, "objective": "binary:logistic"},
        inputs=[TrainingInput.from_bucket("train", models, "data/train/", content_type="text/csv")],
        checkpoints=Checkpoints.shared(models, "checkpoints/base/"),
        output_bucket=models,
    )
    tune = TrainingJob(
        training,
        "Tune",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        arguments=["--fine-tune"],
        inputs=[TrainingInput.from_output("model", base, "model")],
        metric_definitions=[MetricDefinition("validation:auc", r"validation-auc=([0-9\.]+)")],
        output_bucket=models,
    )
    jobs["train_base"] = base
    jobs["train_tune"] = tune
    stacks["training"] = training

    # -- Training, every member: fixed name, VPC, keys, spot with per-run checkpoints, channels of every kind ------
    training_full = cdk.Stack(app, "TrainingFull", tags={"owner": "ml-platform"})
    key = kms.Key(training_full, "Key", enable_key_rotation=True)
    data = s3.Bucket(training_full, "Data", encryption_key=key, encryption=s3.BucketEncryption.KMS)
    vpc = ec2.Vpc(training_full, "Vpc", max_azs=2, nat_gateways=1)
    prepare = ProcessingJob(
        training_full,
        "Prepare",
        image=ContainerImage.from_registry(IMAGE_URI),
        inputs=[ProcessingInput.from_bucket("raw", data, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", data, "prepared/train/")],
    )
    jobs["training_full"] = TrainingJob(
        training_full,
        "Train",
        image=ContainerImage.from_framework(Framework.PYTORCH, "2.3.0"),
        code=Code.from_asset(str(EXAMPLES / "train" / "train.py")),
        command=["python3", "-u"],
        arguments=["--epochs", "3"],
        hyperparameters={"lr": 0.001, "batch-size": 64, "amp": False},
        environment={"NCCL_DEBUG": "INFO"},
        instance_type=InstanceType.P3_2XLARGE,
        instance_count=2,
        volume_size=cdk.Size.gibibytes(100),
        volume_encryption_key=key,
        output_encryption_key=key,
        output_prefix="models/churn/",
        output_bucket=data,
        max_runtime=cdk.Duration.minutes(30),
        use_spot_instances=True,
        max_wait=cdk.Duration.minutes(40),
        checkpoints=Checkpoints.per_run(data, "checkpoints/", local_path="/opt/ml/checkpoints"),
        inputs=[
            TrainingInput.from_output("train", prepare, "train", content_type="text/csv", shuffle_seed=7),
            TrainingInput.from_s3_uri(
                "manifest",
                "s3://shared-datasets-bucket/manifests/train.manifest",
                data_type=S3DataType.AUGMENTED_MANIFEST_FILE,
                attribute_names=["source-ref", "label"],
                input_mode=InputMode.PIPE,
                record_wrapper=RecordWrapper.RECORD_IO,
                distribution=DataDistribution.SHARDED_BY_S3_KEY,
            ),
            TrainingInput.from_bucket("validation", data, "prepared/validation/", input_mode=InputMode.FAST_FILE),
            TrainingInput.from_asset("lookup", str(EXAMPLES / "evaluate")),
        ],
        metric_definitions=[
            MetricDefinition("train:loss", r"loss=([0-9\.]+)"),
            MetricDefinition("validation:auc", r"auc=([0-9\.]+)"),
        ],
        retry_attempts=2,
        vpc=vpc,
        experiment_config=ExperimentConfig(experiment_name="churn", trial_name="nightly"),
        training_job_name="churn-train-2024-06-01",
        max_pending_time=cdk.Duration.hours(1),
        enable_infra_check=True,
    )
    cdk.Tags.of(jobs["training_full"]).add("team", "forecasting")
    stacks["training_full"] = training_full

    # -- Training with a quality gate and a warm pool; an evaluation reads its model and a final metric -----------
    gated = cdk.Stack(app, "TrainingGate")
    definitions = [
        MetricDefinition("validation:auc", r"validation-auc=([0-9\.]+)"),
        MetricDefinition("validation:loss", r"validation-loss=([0-9\.]+)"),
    ]
    gate = [MetricThreshold.at_least("validation:auc", 0.85), MetricThreshold("validation:loss", "<", 0.5)]
    gated_train = TrainingJob(
        gated,
        "Train",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        hyperparameters={"num_round": 100},
        metric_definitions=definitions,
        quality_gate=gate,
        keep_alive=cdk.Duration.minutes(10),
    )
    jobs["gate_evaluate"] = ProcessingJob(
        gated,
        "Evaluate",
        image=ContainerImage.from_registry(IMAGE_URI),
        inputs=[ProcessingInput.from_model("model", gated_train)],
        environment={"TRAINED_AUC": gated_train.metric_value("validation:auc")},
    )
    jobs["gate_long"] = TrainingJob(
        gated,
        "TrainLong",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        metric_definitions=definitions,
        quality_gate=gate,
        completion=Completion.wait_long(),
        max_runtime=cdk.Duration.hours(2),
    )
    jobs["gate_train"] = gated_train
    stacks["training_gate"] = gated

    # -- Training clusters: distributed jobs in a VPC reading EFS and FSx for Lustre, a heterogeneous cluster -----
    cluster = cdk.Stack(app, "TrainingCluster")
    network = ec2.Vpc(cluster, "Vpc", max_azs=2, nat_gateways=1)
    shared = efs.FileSystem(cluster, "Efs", vpc=network, removal_policy=cdk.RemovalPolicy.DESTROY)
    scratch = fsx.LustreFileSystem(
        cluster,
        "Lustre",
        vpc=network,
        vpc_subnet=network.private_subnets[0],
        storage_capacity_gib=1200,
        lustre_configuration=fsx.LustreConfiguration(deployment_type=fsx.LustreDeploymentType.SCRATCH_2),
    )
    corpus = s3.Bucket(cluster, "Corpus")
    script = Code.from_asset(str(EXAMPLES / "train" / "train.py"))
    jobs["torchrun"] = TrainingJob(
        cluster,
        "Torchrun",
        image=ContainerImage.from_framework(Framework.PYTORCH, "2.3.0"),
        code=script,
        instance_type=InstanceType.of("ml.p4d.24xlarge"),
        instance_count=2,
        hyperparameters={"epochs": 3},
        distribution=Distribution.torchrun(),
        inputs=[
            TrainingInput.from_file_system("train", shared, "/datasets/train"),
            TrainingInput.from_file_system("scratch", scratch, "/scratch", read_only=False),
            TrainingInput.from_bucket("validation", corpus, "validation/"),
        ],
        vpc=network,
    )
    jobs["hetero"] = TrainingJob(
        cluster,
        "Hetero",
        image=ContainerImage.from_framework(Framework.PYTORCH, "2.3.0"),
        code=script,
        instance_groups=[
            InstanceGroup("cpu", InstanceType.C5_XLARGE, count=2),
            InstanceGroup("gpu", InstanceType.of("ml.p3.16xlarge")),
        ],
        distribution=Distribution.mpi(processes_per_host=8, custom_mpi_options="--verbose", instance_group="gpu"),
        inputs=[
            TrainingInput.from_bucket("raw", corpus, "raw/", instance_groups=["cpu"]),
            TrainingInput.from_bucket("features", corpus, "features/", instance_groups=["gpu"]),
        ],
        vpc=network,
    )
    jobs["sharded"] = TrainingJob(
        cluster,
        "Sharded",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        instance_type=InstanceType.of("ml.p5.48xlarge"),
        distribution=Distribution.smdistributed(model_parallel={"tensor_parallel_degree": 8, "hybrid_shard_degree": 1}),
        inputs=[TrainingInput.from_bucket("train", corpus, "train/")],
    )
    stacks["training_cluster"] = cluster

    workflows = _workflow(app, stacks, jobs)

    assembly = app.synth()
    templates = {name: assembly.get_stack_by_name(stack.stack_name).template for name, stack in stacks.items()}
    return Synthesized(stacks=stacks, jobs=jobs, templates=templates, workflows=workflows)


def _workflow(
    app: cdk.App, stacks: dict[str, cdk.Stack], jobs: dict[str, ProcessingJob | TrainingJob]
) -> dict[str, JobWorkflow]:
    """Workflow: a nightly pipeline prepare -> train -> evaluate of jobs no deployment runs (Completion.never()), on a
    schedule, with state-input parts; a feature job and a training job the deployment runs too, run again by a
    workflow of their own and a weekly schedule."""
    stack = cdk.Stack(app, "Workflow", tags={"owner": "ml-platform"})
    lake = s3.Bucket(stack, "Lake")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    image = ContainerImage.from_registry(IMAGE_URI)
    day = sfn.JsonPath.string_at("$.day")
    prepare = ProcessingJob(
        stack,
        "Prepare",
        image=image,
        code=Code.from_asset(str(EXAMPLES / "evaluate" / "evaluate.py")),
        arguments=["--day", "latest"],
        environment={"MODE": "nightly"},
        inputs=[ProcessingInput.from_bucket("raw", lake, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", lake, "prepared/train/"), ProcessingOutput.to_bucket("test")],
        completion=Completion.never(),
    )
    train = TrainingJob(
        stack,
        "Train",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        hyperparameters={"epochs": 10, "lr": 0.1},
        inputs=[TrainingInput.from_output("train", prepare, "train", content_type="text/csv")],
        checkpoints=Checkpoints.per_run(),
        volume_encryption_key=key,
        output_bucket=lake,
        completion=Completion.never(),
    )
    evaluate = ProcessingJob(
        stack,
        "Evaluate",
        image=image,
        inputs=[ProcessingInput.from_model("model", train), ProcessingInput.from_output("test", prepare, "test")],
        outputs=[ProcessingOutput.to_bucket("report", lake, "reports/")],
        completion=Completion.never(),
    )
    nightly = JobWorkflow(
        stack,
        "Nightly",
        definition=prepare.as_task(stack, "PrepareRun", arguments=["--day", day], input_paths={"raw": f"{day}/"})
        .next(train.as_task(stack, "TrainRun", hyperparameters={"epochs": sfn.JsonPath.string_at("$.epochs")}))
        .next(evaluate.as_task(stack, "EvaluateRun", output_paths={"report": f"{day}/"})),
        schedule=scheduler.ScheduleExpression.cron(hour="2", minute="0", time_zone=cdk.TimeZone.EUROPE_BERLIN),
        input={"day": scheduler.ContextAttribute.scheduled_time, "epochs": "20"},
        time_window=scheduler.TimeWindow.flexible(cdk.Duration.minutes(30)),
        retry_attempts=3,
        max_event_age=cdk.Duration.hours(2),
        timeout=cdk.Duration.hours(12),
        description="Nightly prepare, train and evaluate",
    )
    cloudwatch.Alarm(stack, "FailedRuns", metric=nightly.metric_failed(), threshold=1, evaluation_periods=1)
    nightly.on_failure("Failures")

    # Jobs the deployment runs too: the same requests, run again by a workflow and a weekly schedule.
    features = ProcessingJob(
        stack,
        "Features",
        image=image,
        arguments=["--mode", "full"],
        inputs=[ProcessingInput.from_bucket("raw", lake, "raw/")],
        outputs=[ProcessingOutput.to_bucket("features", lake, "features/")],
    )
    cdk.Tags.of(features).add("team", "forecasting")
    baseline = TrainingJob(
        stack,
        "Baseline",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        hyperparameters={"epochs": 5, "early_stopping": True},
        inputs=[TrainingInput.from_output("features", features, "features")],
        checkpoints=Checkpoints.per_run(lake, "checkpoints/"),
        output_bucket=lake,
        training_job_name="baseline-2024-06-01",
    )
    features.schedule("Weekly", schedule=scheduler.ScheduleExpression.rate(cdk.Duration.days(7)))
    refresh = JobWorkflow(
        stack,
        "Refresh",
        definition=features.as_task(stack, "FeaturesRun").next(
            baseline.as_task(stack, "BaselineRun", arguments=[sfn.JsonPath.string_at("$$.Execution.Name")])
        ),
    )
    jobs.update(wf_prepare=prepare, wf_train=train, wf_evaluate=evaluate, wf_features=features, wf_baseline=baseline)
    stacks["workflow"] = stack
    return {"nightly": nightly, "refresh": refresh}

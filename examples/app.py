#!/usr/bin/env python3
"""Prepare, train, evaluate: a preprocessing job, a training job on its output and an evaluation job reading the
model, run in that order during ``cdk deploy``.

Synthesizes with no AWS credentials: ``npx cdk synth`` (or ``make synth``).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_processing import (
    Checkpoints,
    Code,
    ContainerImage,
    Framework,
    InstanceType,
    MetricDefinition,
    ProcessingInput,
    ProcessingJob,
    ProcessingJobProvider,
    ProcessingOutput,
    TrainingInput,
    TrainingJob,
)

HERE = Path(__file__).resolve().parent


def acknowledge(scope: Construct, **reasons: str) -> None:
    """Acknowledge rules of cdk-nag's NIST 800-53 R5 and HIPAA Security packs on ``scope``: rule name=reason."""
    cdk.Validations.of(scope).acknowledge(
        *(
            cdk.Acknowledgment(id=f"{pack}-{rule}", reason=reason)
            for pack in ("NIST.800.53.R5", "HIPAA.Security")
            for rule, reason in reasons.items()
        )
    )


class ChurnPipelineStack(cdk.Stack):
    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]

        key = kms.Key(self, "DataKey", enable_key_rotation=True, description="Churn pipeline data, volumes and logs")
        # The library's own log groups (the functions that run the jobs during the deployment) under the same key.
        ProcessingJobProvider.configure(self, log_encryption_key=key)
        # Server access logs of the data bucket and the VPC's flow logs (S3 delivers access logs only to a bucket
        # with SSE-S3 encryption).
        audit = s3.Bucket(
            self,
            "AuditLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        bucket = s3.Bucket(
            self,
            "Data",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
            server_access_logs_bucket=audit,
            server_access_logs_prefix="data/",
        )
        # Jobs run in private subnets; the one NAT gateway lets the preprocessing job install its requirements.
        vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="nat", subnet_type=ec2.SubnetType.PUBLIC, map_public_ip_on_launch=False),
                ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ],
            flow_logs={"all": ec2.FlowLogOptions(destination=ec2.FlowLogDestination.to_s3(audit, "vpc/"))},
        )
        # Choices of this app, not of cdk-processing: acknowledged where they are made, for the compliance packs.
        acknowledge(audit, S3DefaultEncryptionKMS="S3 delivers access logs only to a bucket with SSE-S3 encryption")
        for logged in (audit, bucket):
            acknowledge(logged, S3BucketReplicationEnabled="The example keeps its data in one Region")
        acknowledge(
            vpc,
            VPCNoUnrestrictedRouteToIGW="The NAT gateway's public subnets route to the internet gateway",
            VPCDefaultSecurityGroupClosed="Nothing uses the default security group: each job gets a group of its own",
        )

        # The SageMaker scikit-learn image of the stack's region (a CloudFormation mapping: the stack has no region).
        image = ContainerImage.from_framework(Framework.SKLEARN, "1.2-1")

        preprocess = ProcessingJob(
            self,
            "Preprocess",
            image=image,
            # The folder is put in S3 and mounted at /opt/ml/processing/input/code; its requirements.txt is
            # installed before preprocess.py runs. The job runs again exactly when these files change.
            code=Code.from_asset(str(HERE / "preprocess"), entry_point="preprocess.py"),
            arguments=["--train-ratio", "0.8"],
            environment={"LOG_LEVEL": "INFO"},
            instance_type=InstanceType.M5_XLARGE,
            volume_size=cdk.Size.gibibytes(50),
            volume_encryption_key=key,
            output_encryption_key=key,
            max_runtime=cdk.Duration.minutes(30),
            inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/churn/")],
            outputs=[
                ProcessingOutput.to_bucket("train", bucket, "prepared/train/"),
                ProcessingOutput.to_bucket("test", bucket, "prepared/test/"),
            ],
            vpc=vpc,
        )

        # Trains on the prepared training split: runs after the preprocessing job, reads only that prefix, and trains
        # again whenever the preprocessing job runs again. train.py runs in the scikit-learn training image.
        train = TrainingJob(
            self,
            "Train",
            image=image,
            code=Code.from_asset(str(HERE / "train" / "train.py")),
            hyperparameters={"C": 0.5, "max_iter": 200},
            instance_type=InstanceType.M5_XLARGE,
            volume_encryption_key=key,
            output_encryption_key=key,
            max_runtime=cdk.Duration.minutes(30),
            inputs=[TrainingInput.from_output("train", preprocess, "train", content_type="text/csv")],
            metric_definitions=[MetricDefinition("train:accuracy", r"train:accuracy=([0-9\.]+)")],
            checkpoints=Checkpoints.per_run(),
            vpc=vpc,
        )

        evaluate = ProcessingJob(
            self,
            "Evaluate",
            image=image,
            code=Code.from_asset(str(HERE / "evaluate" / "evaluate.py")),
            instance_type=InstanceType.M5_LARGE,
            volume_encryption_key=key,
            output_encryption_key=key,
            max_runtime=cdk.Duration.minutes(15),
            # Reading the preprocessing output makes this job run after that one completed, with read access to
            # exactly that prefix.
            # And after the training job, with read access to its model location only.
            inputs=[
                ProcessingInput.from_output("test", preprocess, "test"),
                ProcessingInput.from_model("model", train),
            ],
            outputs=[ProcessingOutput.to_bucket("report", bucket, "evaluation/")],
            vpc=vpc,
        )

        for name, job in (("Preprocess", preprocess), ("Evaluate", evaluate)):
            cdk.CfnOutput(self, f"{name}JobName", value=job.processing_job_name)
            cdk.CfnOutput(self, f"{name}JobArn", value=job.processing_job_arn)
            cdk.CfnOutput(self, f"{name}JobStatus", value=job.processing_job_status)
        cdk.CfnOutput(self, "TrainJobName", value=train.training_job_name)
        cdk.CfnOutput(self, "ModelData", value=train.model_data)
        cdk.CfnOutput(self, "EvaluationReport", value=evaluate.output_uri("report"))


app = cdk.App()
ChurnPipelineStack(app, "ChurnPipeline", tags={"project": "churn", "cost-center": "ml-platform"})
app.synth()

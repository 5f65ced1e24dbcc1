"""Baseline: the native ``aws_sagemaker.CfnProcessingJob`` (L1), plus an execution role per job.

From the CloudFormation reference of ``AWS::SageMaker::ProcessingJob`` and the SageMaker developer guide's execution
role (``AmazonSageMakerFullAccess`` plus access to the job's own data). CloudFormation starts the job; nothing waits
for it to finish, so a failed job does not fail the deploy and nothing downstream can wait for its outputs.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"


def job_role(stack: Stack, id: str, bucket: s3.IBucket, input_prefix: str, output_prefix: str) -> iam.Role:
    """The SageMaker execution role of the docs, with read on the input prefix and write on the output prefix."""
    role = iam.Role(
        stack,
        id,
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSageMakerFullAccess")],
    )
    bucket.grant_read(role, f"{input_prefix}*")
    bucket.grant_write(role, f"{output_prefix}*")
    return role


def add_jobs(stack: Stack, n: int) -> None:
    bucket = s3.Bucket(stack, "Data")
    for i in range(n):
        role = job_role(stack, f"Job{i}Role", bucket, f"raw/{i}/", f"out/{i}/")
        job = sagemaker.CfnProcessingJob(
            stack,
            f"Job{i}",
            role_arn=role.role_arn,
            app_specification=sagemaker.CfnProcessingJob.AppSpecificationProperty(image_uri=IMAGE),
            processing_resources=sagemaker.CfnProcessingJob.ProcessingResourcesProperty(
                cluster_config=sagemaker.CfnProcessingJob.ClusterConfigProperty(
                    instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=30
                )
            ),
            stopping_condition=sagemaker.CfnProcessingJob.StoppingConditionProperty(max_runtime_in_seconds=2700),
            processing_inputs=[
                sagemaker.CfnProcessingJob.ProcessingInputsObjectProperty(
                    input_name="raw",
                    s3_input=sagemaker.CfnProcessingJob.S3InputProperty(
                        s3_uri=bucket.s3_url_for_object(f"raw/{i}/"),
                        local_path="/opt/ml/processing/input/raw",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                )
            ],
            processing_output_config=sagemaker.CfnProcessingJob.ProcessingOutputConfigProperty(
                outputs=[
                    sagemaker.CfnProcessingJob.ProcessingOutputsObjectProperty(
                        output_name="out",
                        s3_output=sagemaker.CfnProcessingJob.S3OutputProperty(
                            s3_uri=bucket.s3_url_for_object(f"out/{i}/"),
                            local_path="/opt/ml/processing/output/out",
                            s3_upload_mode="EndOfJob",
                        ),
                    )
                ]
            ),
        )
        # The role ARN alone orders the job after the role, not after its policy: without this the job may start
        # before it can read its input.
        job.node.add_dependency(role)

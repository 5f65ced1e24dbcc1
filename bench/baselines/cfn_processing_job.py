"""Baseline: the native ``aws_sagemaker.CfnProcessingJob`` (L1), plus an execution role per job.

From the CloudFormation reference of ``AWS::SageMaker::ProcessingJob`` and the SageMaker developer guide's execution
role (``AmazonSageMakerFullAccess`` plus access to the job's own data). CloudFormation starts the job; nothing waits
for it to finish, so a failed job does not fail the deploy and nothing downstream can wait for its outputs.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"
SCRIPT = Path(__file__).resolve().parent / "job_script.py"
CODE_PATH = "/opt/ml/processing/input/code"


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


def add_realistic_jobs(stack: Stack, n: int, key: kms.IKey, bucket: s3.IBucket, vpc: ec2.IVpc) -> None:
    """The hand-written equivalent of the library's realistic job: its script as an asset input, arguments, one
    input and one output on a KMS bucket, a security group in a VPC, the volume and outputs encrypted with the key."""
    for i in range(n):
        role = job_role(stack, f"Job{i}Role", bucket, f"raw/{i}/", f"out/{i}/")
        script = s3_assets.Asset(stack, f"Job{i}Script", path=str(SCRIPT))
        script.grant_read(role)
        key.grant_encrypt_decrypt(role)
        group = ec2.SecurityGroup(stack, f"Job{i}SecurityGroup", vpc=vpc, allow_all_outbound=True)
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        job = sagemaker.CfnProcessingJob(
            stack,
            f"Job{i}",
            role_arn=role.role_arn,
            app_specification=sagemaker.CfnProcessingJob.AppSpecificationProperty(
                image_uri=IMAGE,
                container_entrypoint=["python3", f"{CODE_PATH}/{SCRIPT.name}"],
                container_arguments=["--train-ratio", "0.8"],
            ),
            processing_resources=sagemaker.CfnProcessingJob.ProcessingResourcesProperty(
                cluster_config=sagemaker.CfnProcessingJob.ClusterConfigProperty(
                    instance_count=1, instance_type="ml.m5.xlarge", volume_size_in_gb=30, volume_kms_key_id=key.key_arn
                )
            ),
            stopping_condition=sagemaker.CfnProcessingJob.StoppingConditionProperty(max_runtime_in_seconds=2700),
            network_config=sagemaker.CfnProcessingJob.NetworkConfigProperty(
                vpc_config=sagemaker.CfnProcessingJob.VpcConfigProperty(
                    security_group_ids=[group.security_group_id], subnets=subnets
                )
            ),
            processing_inputs=[
                sagemaker.CfnProcessingJob.ProcessingInputsObjectProperty(
                    input_name=name,
                    s3_input=sagemaker.CfnProcessingJob.S3InputProperty(
                        s3_uri=uri, local_path=path, s3_data_type="S3Prefix", s3_input_mode="File"
                    ),
                )
                for name, uri, path in (
                    ("code", script.s3_object_url, CODE_PATH),
                    ("raw", bucket.s3_url_for_object(f"raw/{i}/"), "/opt/ml/processing/input/raw"),
                )
            ],
            processing_output_config=sagemaker.CfnProcessingJob.ProcessingOutputConfigProperty(
                kms_key_id=key.key_arn,
                outputs=[
                    sagemaker.CfnProcessingJob.ProcessingOutputsObjectProperty(
                        output_name="out",
                        s3_output=sagemaker.CfnProcessingJob.S3OutputProperty(
                            s3_uri=bucket.s3_url_for_object(f"out/{i}/"),
                            local_path="/opt/ml/processing/output/out",
                            s3_upload_mode="EndOfJob",
                        ),
                    )
                ],
            ),
        )
        job.node.add_dependency(role)

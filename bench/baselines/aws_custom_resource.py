"""Baseline: ``custom_resources.AwsCustomResource`` calling SageMaker ``CreateProcessingJob``, plus a role per job.

From the ``AwsCustomResource`` docs: one SDK call on create, its policy generated with
``AwsCustomResourcePolicy.from_sdk_calls(resources=ANY_RESOURCE)``. That policy holds ``sagemaker:CreateProcessingJob``
only, so the job role is also granted ``iam:PassRole`` to the custom resource's function (``Role.grant_pass_role``),
which CreateProcessingJob needs (one statement per job in that function's role policy, which CDK splits into
overflow managed policies as it grows). The call returns as soon as the job is created: nothing waits for it, a
failed job does not fail the deploy, and a job name must be chosen by hand (SageMaker never reuses one).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr

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
        name = f"bench-job-{i}"
        job = cr.AwsCustomResource(
            stack,
            f"Job{i}",
            on_create=cr.AwsSdkCall(
                service="SageMaker",
                action="createProcessingJob",
                parameters={
                    "ProcessingJobName": name,
                    "RoleArn": role.role_arn,
                    "AppSpecification": {"ImageUri": IMAGE},
                    "ProcessingResources": {
                        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
                    },
                    "StoppingCondition": {"MaxRuntimeInSeconds": 2700},
                    "ProcessingInputs": [
                        {
                            "InputName": "raw",
                            "S3Input": {
                                "S3Uri": bucket.s3_url_for_object(f"raw/{i}/"),
                                "LocalPath": "/opt/ml/processing/input/raw",
                                "S3DataType": "S3Prefix",
                                "S3InputMode": "File",
                            },
                        }
                    ],
                    "ProcessingOutputConfig": {
                        "Outputs": [
                            {
                                "OutputName": "out",
                                "S3Output": {
                                    "S3Uri": bucket.s3_url_for_object(f"out/{i}/"),
                                    "LocalPath": "/opt/ml/processing/output/out",
                                    "S3UploadMode": "EndOfJob",
                                },
                            }
                        ]
                    },
                },
                physical_resource_id=cr.PhysicalResourceId.of(name),
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE),
            # The docs recommend the SDK the Lambda runtime ships over installing the latest at each invocation.
            install_latest_aws_sdk=False,
        )
        role.grant_pass_role(job.grant_principal)
        # The job must not start before its role can read its input.
        job.node.add_dependency(role)

"""Baseline: a hand-rolled ``custom_resources.Provider`` with an ``on_event`` and an ``is_complete`` Lambda.

The pattern most blog posts copy, from the ``custom_resources.Provider`` docs ("Asynchronous Providers:
isComplete"): inline Python handlers (``lambda_.Code.from_inline``), one role for both with ``sagemaker:*`` on ``*``
(and ``iam:PassRole`` to SageMaker, which CreateProcessingJob needs), the Provider's default 5-second query interval
and a one-hour total timeout (CloudFormation's limit for a custom resource), one custom resource per job, and a
SageMaker execution role per job.
"""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import custom_resources as cr

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"

# Both handlers in one inline module (index.py); CloudFormation delivers every property as a string.
HANDLER_CODE = """
import boto3

sagemaker = boto3.client("sagemaker")


def on_event(event, context):
    props = event["ResourceProperties"]
    if event["RequestType"] in ("Create", "Update"):
        name = props["JobName"] + "-" + event["RequestId"][:8]
        sagemaker.create_processing_job(
            ProcessingJobName=name,
            RoleArn=props["RoleArn"],
            AppSpecification={"ImageUri": props["ImageUri"]},
            ProcessingResources={
                "ClusterConfig": {
                    "InstanceCount": int(props["InstanceCount"]),
                    "InstanceType": props["InstanceType"],
                    "VolumeSizeInGB": int(props["VolumeSizeInGB"]),
                }
            },
            StoppingCondition={"MaxRuntimeInSeconds": int(props["MaxRuntimeInSeconds"])},
            ProcessingInputs=[
                {
                    "InputName": "raw",
                    "S3Input": {
                        "S3Uri": props["InputUri"],
                        "LocalPath": "/opt/ml/processing/input/raw",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            ],
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "out",
                        "S3Output": {
                            "S3Uri": props["OutputUri"],
                            "LocalPath": "/opt/ml/processing/output/out",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        )
        return {"PhysicalResourceId": name}
    try:
        sagemaker.stop_processing_job(ProcessingJobName=event["PhysicalResourceId"])
    except Exception as error:
        print("not stopped:", error)
    return {"PhysicalResourceId": event["PhysicalResourceId"]}


def is_complete(event, context):
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    job = sagemaker.describe_processing_job(ProcessingJobName=event["PhysicalResourceId"])
    status = job["ProcessingJobStatus"]
    if status == "Completed":
        return {"IsComplete": True, "Data": {"ProcessingJobArn": job["ProcessingJobArn"]}}
    if status in ("Failed", "Stopped"):
        raise Exception(f"{job['ProcessingJobName']} {status}: {job.get('FailureReason', '')}")
    return {"IsComplete": False}
"""


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


def provider(stack: Stack) -> cr.Provider:
    """The Lambda functions and the Provider, shared by every job of the stack."""
    role = iam.Role(
        stack,
        "HandlerRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")],
    )
    role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:*"], resources=["*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=["*"],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
    )
    code = lambda_.Code.from_inline(HANDLER_CODE)
    on_event, is_complete = (
        lambda_.Function(
            stack,
            name,
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler=f"index.{handler}",
            code=code,
            role=role,
            timeout=Duration.minutes(1),
        )
        for name, handler in (("OnEvent", "on_event"), ("IsComplete", "is_complete"))
    )
    return cr.Provider(
        stack,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        total_timeout=Duration.hours(1),
    )


def add_jobs(stack: Stack, n: int) -> None:
    bucket = s3.Bucket(stack, "Data")
    service_token = provider(stack).service_token
    for i in range(n):
        role = job_role(stack, f"Job{i}Role", bucket, f"raw/{i}/", f"out/{i}/")
        job = CustomResource(
            stack,
            f"Job{i}",
            service_token=service_token,
            resource_type="Custom::ProcessingJob",
            properties={
                "JobName": f"bench-job-{i}",
                "RoleArn": role.role_arn,
                "ImageUri": IMAGE,
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
                "MaxRuntimeInSeconds": 2700,
                "InputUri": bucket.s3_url_for_object(f"raw/{i}/"),
                "OutputUri": bucket.s3_url_for_object(f"out/{i}/"),
            },
        )
        # The job must not start before its role can read its input.
        job.node.add_dependency(role)

"""What the CLI knows about the library's jobs, as data: one row per job kind, and the library's names and tags.

A kind is read, never branched on: the CloudFormation types whose physical id names a job of the kind, the
SageMaker operations and field names that describe, list and stop one, and its log group. A new kind (training)
is one more row in ``KINDS``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Kind:
    """One kind of job, by the names SageMaker and CloudFormation give it."""

    name: str
    """What the CLI calls the kind (``processing``)."""
    resource_types: tuple[str, ...]
    """CloudFormation types whose physical id is a job of this kind: its name, or its ARN (a native resource)."""
    arn_resource: str
    """The resource part of the kind's ARNs (``arn:aws:sagemaker:<region>:<account>:processing-job/<name>``)."""
    describe_operation: str
    list_operation: str
    stop_operation: str
    name_field: str
    arn_field: str
    status_field: str
    summaries_field: str
    created_field: str
    started_field: str
    ended_field: str
    failure_field: str
    log_group: str
    instance_count_path: str
    """Where the describe answer has the number of instances (one log stream each)."""
    details: tuple[tuple[str, str], ...]
    """What ``describe`` shows besides the common fields: label and path in the describe answer (``[]`` maps a
    list)."""


PROCESSING = Kind(
    name="processing",
    resource_types=("Custom::SageMakerProcessingJob", "AWS::SageMaker::ProcessingJob"),
    arn_resource="processing-job",
    describe_operation="DescribeProcessingJob",
    list_operation="ListProcessingJobs",
    stop_operation="StopProcessingJob",
    name_field="ProcessingJobName",
    arn_field="ProcessingJobArn",
    status_field="ProcessingJobStatus",
    summaries_field="ProcessingJobSummaries",
    created_field="CreationTime",
    started_field="ProcessingStartTime",
    ended_field="ProcessingEndTime",
    failure_field="FailureReason",
    log_group="/aws/sagemaker/ProcessingJobs",
    instance_count_path="ProcessingResources.ClusterConfig.InstanceCount",
    details=(
        ("Exit message", "ExitMessage"),
        ("Image", "AppSpecification.ImageUri"),
        ("Entrypoint", "AppSpecification.ContainerEntrypoint"),
        ("Instance type", "ProcessingResources.ClusterConfig.InstanceType"),
        ("Instance count", "ProcessingResources.ClusterConfig.InstanceCount"),
        ("Max runtime (s)", "StoppingCondition.MaxRuntimeInSeconds"),
        ("Role", "RoleArn"),
        ("Inputs", "ProcessingInputs[].S3Input.S3Uri"),
        ("Outputs", "ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),
    ),
)

KINDS: tuple[Kind, ...] = (PROCESSING,)

RUNNING = frozenset({"InProgress", "Stopping"})

# The handler's tags (src/cdk_processing/handler/logic.py; a test holds the two to the same values).
LIBRARY_TAG_PREFIX = "cdk-processing:"
RESOURCE_TAG = "cdk-processing:resource"


def kind_of_type(resource_type: str) -> Kind | None:
    """The kind whose jobs a CloudFormation resource of ``resource_type`` is, if any."""
    return next((k for k in KINDS if resource_type in k.resource_types), None)


def kind_of_arn(arn: str) -> Kind | None:
    """The kind of a job ARN, read from its resource part."""
    resource = arn.split(":", 5)[-1].partition("/")[0] if arn.startswith("arn:") else ""
    return next((k for k in KINDS if k.arn_resource == resource), None)


def job_name_of(physical_id: str) -> str:
    """The job a resource's physical id names: a job name (custom resource) or a job ARN (native resource)."""
    return physical_id.rpartition("/")[2] if physical_id.startswith("arn:") else physical_id


def stack_prefix(stack_name: str) -> str:
    """The prefix of every job name the library generates in the stack ``stack_name`` (``_naming.stack_part``)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", stack_name.lower()).strip("-")[:20].strip("-") or "job"
    return f"{cleaned}-{hashlib.sha256(stack_name.encode()).hexdigest()[:4]}"


def resource_digest(stack_id: str, logical_id: str) -> str:
    """The ``cdk-processing:resource`` tag of every job the resource ``logical_id`` of the stack started."""
    return hashlib.sha256(f"{stack_id}|{logical_id}".encode()).hexdigest()[:32]


def logs_url(kind: Kind, name: str, region: str) -> str:
    """The CloudWatch console's view of the job's log streams, as the handler links it in a failed deploy."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logStream:group={quote(kind.log_group, safe='')};prefix={quote(name + '/', safe='')}"
    )

"""What the CLI knows about the library's jobs, as data: one row per job kind, on the handler's kind table.

A kind is read, never branched on. The names SageMaker and CloudFormation give a kind's jobs, the library's tags,
the resource digest and the console link are the handler's (``handler/kinds.py``); the CLI adds only what it shows.
A new kind (training) is one more row in ``KINDS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..handler import kinds as job_kinds
from ..handler.kinds import LIBRARY_TAG_PREFIX, RESOURCE_TAG, JobKind, logs_url, resource_digest, stack_prefix

__all__ = [
    "KINDS",
    "LIBRARY_TAG_PREFIX",
    "PROCESSING",
    "TRAINING",
    "RESOURCE_TAG",
    "RUNNING",
    "Kind",
    "job_name_of",
    "kind_of_arn",
    "kind_of_type",
    "logs_url",
    "resource_digest",
    "stack_prefix",
]


@dataclass(frozen=True)
class Kind:
    """One kind of job: the handler's row (``job``) and what the CLI shows of it."""

    name: str
    """What the CLI calls the kind (``processing``)."""
    job: JobKind
    started_field: str
    ended_field: str
    instance_count_path: str
    """Where the describe answer has the number of instances (one log stream each)."""
    details: tuple[tuple[str, str], ...]
    """What ``describe`` shows besides the common fields: label and path in the describe answer (``[]`` maps a
    list)."""
    created_field: str = "CreationTime"
    failure_field: str = "FailureReason"

    @property
    def resource_types(self) -> tuple[str, ...]:
        """CloudFormation types whose physical id is a job of this kind: its name, or its ARN (a native resource)."""
        return tuple(t for t in (self.job.resource_type, self.job.native_type) if t is not None)

    @property
    def arn_resource(self) -> str:
        return self.job.arn_resource

    @property
    def describe_operation(self) -> str:
        return self.job.describe

    @property
    def list_operation(self) -> str:
        return self.job.list_jobs

    @property
    def stop_operation(self) -> str:
        return self.job.stop

    @property
    def name_field(self) -> str:
        return self.job.name_field

    @property
    def arn_field(self) -> str:
        return self.job.arn_field

    @property
    def status_field(self) -> str:
        return self.job.status_field

    @property
    def summaries_field(self) -> str:
        return self.job.summaries

    @property
    def log_group(self) -> str:
        return self.job.log_group


PROCESSING = Kind(
    name="processing",
    job=job_kinds.PROCESSING,
    started_field="ProcessingStartTime",
    ended_field="ProcessingEndTime",
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

TRAINING = Kind(
    name="training",
    job=job_kinds.TRAINING,
    started_field="TrainingStartTime",
    ended_field="TrainingEndTime",
    instance_count_path="ResourceConfig.InstanceCount",
    details=(
        ("Secondary status", "SecondaryStatus"),
        ("Image", "AlgorithmSpecification.TrainingImage"),
        ("Instance type", "ResourceConfig.InstanceType"),
        ("Instance count", "ResourceConfig.InstanceCount"),
        ("Instance groups", "ResourceConfig.InstanceGroups[].InstanceGroupName"),
        ("Max runtime (s)", "StoppingCondition.MaxRuntimeInSeconds"),
        ("Role", "RoleArn"),
        ("Channels", "InputDataConfig[].DataSource.S3DataSource.S3Uri"),
        ("Model", "ModelArtifacts.S3ModelArtifacts"),
        ("Final metrics", "FinalMetricDataList[].MetricName"),
        ("Training seconds", "TrainingTimeInSeconds"),
        ("Billable seconds", "BillableTimeInSeconds"),
        ("Warm pool", "WarmPoolStatus.Status"),
    ),
)

KINDS: tuple[Kind, ...] = (PROCESSING, TRAINING)

RUNNING = job_kinds.PROCESSING.running | job_kinds.TRAINING.running


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

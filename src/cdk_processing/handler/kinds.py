"""What differs between SageMaker job kinds by name, written out once, and the custom resource's contract.

Read two ways: by the Lambda handler (``import kinds``) and by the constructs (``from cdk_processing.handler import
kinds``), so that a name the two sides must agree on (a property key, an attribute, a tag, an API operation) is
written here and nowhere else. The API names, fields and statuses are botocore's SageMaker model; the event detail
types EventBridge's. Standard library only: this file ships in the Lambda asset.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class JobKind:
    """One SageMaker job kind: its API operations, fields, statuses, logs, events and resource types."""

    noun: str  # in every message: "processing job"
    name_prop: str  # the construct's prop of a fixed job name, named in messages
    resource_type: str  # the custom resource's type; the handler dispatches on it (the event's ResourceType)
    native_type: str | None  # CloudFormation's own resource type (start-only jobs); None: none is provisionable
    arn_resource: str  # the ARN's resource part: arn:aws:sagemaker:<region>:<account>:<arn_resource>/<name>
    create: str  # API operations (and IAM actions: sagemaker:<operation>)
    describe: str
    stop: str
    list_jobs: str
    summaries: str  # the list operation's answer member
    name_field: str  # in the request, the description, the summaries and the event detail
    arn_field: str
    status_field: str
    running: frozenset[str]  # statuses of a job that has not ended
    failed: frozenset[str]  # statuses of an ended job that fail the deployment (any other end completes it)
    log_group: str
    metrics_namespace: str
    event_detail_type: str  # EventBridge's detail-type of the job's state changes
    # The custom resource's attributes (GetAtt names), from the description: a member, or a dotted path of members
    # ("ModelArtifacts.S3ModelArtifacts", as AwsCustomResource names nested fields).
    attributes: tuple[str, ...]
    exit_message_field: str | None  # a message the container wrote, where the kind has one
    # A list of status transitions in the description whose last StatusMessage explains a failure (capacity
    # retries, an instance replaced, ...), where the kind has one.
    transitions_field: str | None
    # Where in a description the job writes its outputs, as a path of members ("*": each item of a list): an
    # update rolled back returns to the job it replaced only if the replacing job did not write there too.
    output_locations: tuple[str, ...]
    # The description's list of final metric values ({MetricName, Value}), where the kind has one: what a quality
    # gate reads, and the request's metric definitions (dotted path), named when a metric has no value.
    final_metrics: str | None = None
    metric_definitions: str | None = None
    # The operation that changes a job in place, and the members of the request (dotted paths) it can change: a
    # change of those alone updates the job instead of running it again (and they are not part of its digest).
    update: str | None = None
    updatable: tuple[str, ...] = ()
    # Resources a job holds after it ended (dotted path of their status in the description), released on delete by
    # an update of the member (dotted path) to the value given, while their status is the one given.
    retained_status: str | None = None
    retained_while: str = ""
    retained_filter: str | None = None  # the list operation's filter of jobs by that status
    release: tuple[str, object] | None = None
    # The description's seconds the job ran and was billed for, where it has both (managed spot bills less).
    run_seconds: str | None = None
    billed_seconds: str | None = None


PROCESSING = JobKind(
    noun="processing job",
    name_prop="processing_job_name",
    resource_type="Custom::SageMakerProcessingJob",
    native_type="AWS::SageMaker::ProcessingJob",
    arn_resource="processing-job",
    create="CreateProcessingJob",
    describe="DescribeProcessingJob",
    stop="StopProcessingJob",
    list_jobs="ListProcessingJobs",
    summaries="ProcessingJobSummaries",
    name_field="ProcessingJobName",
    arn_field="ProcessingJobArn",
    status_field="ProcessingJobStatus",
    running=frozenset({"InProgress", "Stopping"}),
    failed=frozenset({"Failed", "Stopped"}),
    log_group="/aws/sagemaker/ProcessingJobs",
    metrics_namespace="/aws/sagemaker/ProcessingJobs",
    event_detail_type="SageMaker Processing Job State Change",
    attributes=(
        "ProcessingJobName",
        "ProcessingJobArn",
        "ProcessingJobStatus",
        "ExitMessage",
        "FailureReason",
        "CreationTime",
        "ProcessingStartTime",
        "ProcessingEndTime",
    ),
    exit_message_field="ExitMessage",
    transitions_field=None,
    output_locations=("ProcessingOutputConfig", "Outputs", "*", "S3Output", "S3Uri"),
)

# No CloudFormation resource type provisions a training job (AWS::SageMaker::TrainingJob is documented but not
# provisionable, and aws-cdk-lib has no CfnTrainingJob): every mode, start-only too, goes through the custom resource.
TRAINING = JobKind(
    noun="training job",
    name_prop="training_job_name",
    resource_type="Custom::SageMakerTrainingJob",
    native_type=None,
    arn_resource="training-job",
    create="CreateTrainingJob",
    describe="DescribeTrainingJob",
    stop="StopTrainingJob",
    list_jobs="ListTrainingJobs",
    summaries="TrainingJobSummaries",
    name_field="TrainingJobName",
    arn_field="TrainingJobArn",
    status_field="TrainingJobStatus",
    running=frozenset({"InProgress", "Stopping"}),
    # A job being deleted while the deployment waits for it did not complete.
    failed=frozenset({"Failed", "Stopped", "Deleting"}),
    log_group="/aws/sagemaker/TrainingJobs",
    metrics_namespace="/aws/sagemaker/TrainingJobs",
    event_detail_type="SageMaker Training Job State Change",
    attributes=(
        "TrainingJobName",
        "TrainingJobArn",
        "TrainingJobStatus",
        "SecondaryStatus",
        "FailureReason",
        "ModelArtifacts.S3ModelArtifacts",
        "CreationTime",
        "TrainingStartTime",
        "TrainingEndTime",
        "BillableTimeInSeconds",
        "TrainingTimeInSeconds",
    ),
    exit_message_field=None,
    transitions_field="SecondaryStatusTransitions",
    # Each run writes its model under a folder of its own name; only checkpoints shared between runs are written
    # over.
    output_locations=("CheckpointConfig", "S3Uri"),
    final_metrics="FinalMetricDataList",
    metric_definitions="AlgorithmSpecification.MetricDefinitions",
    # A warm pool's length of stay is the only part of the request UpdateTrainingJob changes here.
    update="UpdateTrainingJob",
    updatable=("ResourceConfig.KeepAlivePeriodInSeconds",),
    # A completed job keeps its instances in a warm pool (billed) while it is Available: released on delete.
    retained_status="WarmPoolStatus.Status",
    retained_while="Available",
    retained_filter="WarmPoolStatusEquals",
    release=("ResourceConfig.KeepAlivePeriodInSeconds", 0),
    run_seconds="TrainingTimeInSeconds",
    billed_seconds="BillableTimeInSeconds",
)

KINDS = (PROCESSING, TRAINING)
BY_RESOURCE_TYPE = {kind.resource_type: kind for kind in KINDS}


def of_event_detail(detail: dict[str, object]) -> JobKind:
    """The kind of a job state change event's detail: the one whose name field it carries."""
    return next(kind for kind in KINDS if kind.name_field in detail)


# The custom resource's properties, written by the construct and read by the handler.
PROP_REQUEST = "Request"  # the Create<Kind>Job request, less the job's name unless fixed
PROP_NAME_PREFIX = "JobNamePrefix"  # generated job names are <prefix>-<10 hex of the request id>
PROP_UPSTREAM = "Upstream"  # names of the runs of the jobs whose outputs this one reads
PROP_COMPLETION = "Completion"  # absent: the resource waits; COMPLETION_LONG or _START: it starts the job, returns
PROP_SIGNAL_HANDLE = "SignalHandle"  # the long wait's WaitCondition handle
COMPLETION_LONG = "long"  # a WaitCondition waits for the job's end
COMPLETION_START = "start"  # nothing waits (a kind with no native resource to render start-only)
# Members of the request (dotted paths) whose S3 URI the handler extends with "<job name>/" for each run, so that
# every run has a location of its own (a training job's checkpoints).
PROP_PER_RUN = "PerRunLocations"
# A quality gate: a list of {"MetricName", "Operator", "Threshold"}; a job that completed fails the deployment when
# a final metric misses its threshold or has no value.
PROP_QUALITY_GATE = "QualityGate"
GATE_OPERATORS = (">=", ">", "<=", "<", "==")
# The final metrics the template reads, by name: their values are the attribute FINAL_METRIC_VALUES, joined by
# FINAL_METRIC_SEPARATOR in that order (empty where the job reported none), so that the response fits its budget
# whatever the names, and for every metric of the job (CloudFormation splits it: Fn::Select of Fn::Split).
PROP_FINAL_METRICS = "FinalMetricNames"
FINAL_METRIC_VALUES = "FinalMetricValues"
FINAL_METRIC_SEPARATOR = "|"
# Derived from the billed and run seconds: the percentage of the run not billed (managed spot's savings).
SAVINGS_ATTRIBUTE = "SavingsPercent"
# The long wait's rule input, read by the signal function.
SIGNAL_DETAIL = "detail"
SIGNAL_HANDLE = "handle"
SIGNAL_GATE = "gate"
# The handler's environment, set by the construct.
ENV_WAIT_BUDGET = "WAIT_BUDGET_SECONDS"

# Tags the handler adds to every job: the CloudFormation request that created it (a redelivered event finds its
# own job), a digest of the request it runs (an update or a rollback back to that request keeps the job), the
# resource it belongs to (stack id and logical id: a job of another stack or team, whatever its name, is never
# stopped); on a job that replaced another in an update, that job's name (a rollback returns to it); in the long
# wait, a digest of the WaitCondition handle its run signals.
REQUEST_TAG = "cdk-processing:request-id"
DIGEST_TAG = "cdk-processing:request-digest"
RESOURCE_TAG = "cdk-processing:resource"
REPLACES_TAG = "cdk-processing:replaces"
HANDLE_TAG = "cdk-processing:wait-handle"
HANDLER_TAGS = (REQUEST_TAG, DIGEST_TAG, RESOURCE_TAG, REPLACES_TAG, HANDLE_TAG)
LIBRARY_TAG_PREFIX = "cdk-processing:"
# SageMaker takes at most 50 tags on a job (botocore: TagList max).
MAX_JOB_TAGS = 50


def without_updatable(kind: JobKind, request: dict[str, Any]) -> dict[str, Any]:
    """``request`` less the members an update changes in place (``kind.updatable``), for its digests: a change of
    those alone neither runs the job again nor moves its long wait. A copy where it differs; ``request`` is left as
    it is."""
    for path in kind.updatable:
        request = _without(request, path.split("."))
    return request


def _without(node: dict[str, Any], path: list[str]) -> dict[str, Any]:
    head, rest = path[0], path[1:]
    if head not in node:
        return node
    if not rest:
        return {k: v for k, v in node.items() if k != head}
    child = node[head]
    return {**node, head: _without(child, rest)} if isinstance(child, dict) else node


def resource_digest(stack_id: str, logical_id: str) -> str:
    """The value of ``RESOURCE_TAG``: the resource, the same for all its requests and for no other resource."""
    return hashlib.sha256(f"{stack_id}|{logical_id}".encode()).hexdigest()[:32]


def name_part(text: str, limit: int) -> str:
    """``text`` as part of a job name: lowercase letters and digits, runs of anything else as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "job"


def short_digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def stack_prefix(stack_name: str) -> str:
    """``<stack name>-<hash>``, at most 25 characters: the prefix of every job name the library generates in the
    stack ``stack_name``."""
    return f"{name_part(stack_name, 20)}-{short_digest(stack_name, 4)}"


def logs_url(kind: JobKind, name: str, region: str) -> str:
    """The CloudWatch console's view of a job's log streams (``<name>/algo-<n>-<epoch>``)."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logStream:group={quote(kind.log_group, safe='')};prefix={quote(name + '/', safe='')}"
    )

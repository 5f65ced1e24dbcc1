"""Pure decisions of the processing job custom resource: no AWS calls, no clock, no environment.

Shipped in the Lambda asset beside ``index.py``; unit-tested without AWS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

# CloudFormation rejects a custom resource response body over 4096 bytes. The Provider framework adds its own
# text around our message (an "Error: " prefix, the Lambda's log group and a Node stack trace of about 600 bytes)
# and the body carries the stack id, request id and logical id, so our part stays within these budgets.
REASON_BUDGET_BYTES = 2500
DATA_BUDGET_BYTES = 2500

RUNNING = frozenset({"InProgress", "Stopping"})
FAILED = frozenset({"Failed", "Stopped"})
# Tags the handler adds to every job: the CloudFormation request that created it (a redelivered event finds its
# own job) and a digest of the request it runs (an update or a rollback back to that request keeps the job).
REQUEST_TAG = "cdk-processing:request-id"
DIGEST_TAG = "cdk-processing:request-digest"
# ... and, on a job that replaced another in an update, that job's name (a rollback returns to it).
REPLACES_TAG = "cdk-processing:replaces"
# ... and, in the long wait, a digest of the WaitCondition handle its run signals.
HANDLE_TAG = "cdk-processing:wait-handle"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"


class JobFailedError(Exception):
    """The job ended in Failed or Stopped, or the request cannot be carried out: the deploy fails with this text."""


# ---------------------------------------------------------------------------------------------------------------
# Properties -> request
# ---------------------------------------------------------------------------------------------------------------


def coerce(shape: Any, value: Any) -> Any:
    """Give CloudFormation's strings back their types, following a botocore shape.

    CloudFormation delivers every scalar of a custom resource's properties as a string ("1", "true"); botocore
    wants integers and booleans where the service model says so.
    """
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: coerce(members[k], v) if k in members else v for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [coerce(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str):
        return int(value)
    if kind in ("float", "double") and isinstance(value, str):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    return value


def request_digest(request: dict[str, Any], upstream: Any = None) -> str:
    """What the job runs with, as a digest: the request as delivered, less its tags and name, and the runs of the
    jobs whose outputs it reads (``upstream``: their names).

    Two requests with the same digest run the same job; a change of tags alone re-tags the job instead.
    """
    essential = {k: v for k, v in request.items() if k not in ("Tags", "ProcessingJobName")}
    if upstream:
        essential = {"Request": essential, "Upstream": upstream}
    return hashlib.sha256(json.dumps(essential, sort_keys=True, default=str).encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------------


def job_name(prefix: str, request_id: str) -> str:
    """The job name for one Create (or replacing Update): the resource's prefix and a digest of the request id.

    CloudFormation gives each request a new id, so a redeploy after a destroy or a rollback never reuses a name,
    while a redelivered event (same id) names the same job and starts nothing new.
    """
    digest = hashlib.sha256(request_id.encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


def owns_name(name: str, prefix: str | None, fixed_name: str | None) -> bool:
    """Whether ``name`` is one this resource could have given a job."""
    if fixed_name:
        return name == fixed_name
    return bool(prefix) and name.startswith(f"{prefix}-") and len(name) == len(prefix) + 11


def is_not_found(code: str, message: str) -> bool:
    """Whether an error means the job does not exist (SageMaker answers ValidationException for a missing job)."""
    text = message.lower()
    return code == "ResourceNotFound" or (
        code == "ValidationException" and any(p in text for p in ("could not find", "not found", "does not exist"))
    )


def is_role_propagation_error(code: str, message: str) -> bool:
    """Whether CreateProcessingJob refused a role that IAM has not propagated yet (a just-created role)."""
    text = message.lower()
    return code == "ValidationException" and "assume" in text and "role" in text


# ---------------------------------------------------------------------------------------------------------------
# Status -> decision
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    outcome: str  # "complete", "wait", "fail" or "timeout"
    reason: str = ""


def decide(description: dict[str, Any], now: float, budget_seconds: float, region: str) -> Decision:
    """What is-complete does with a DescribeProcessingJob response at time ``now`` (epoch seconds)."""
    status = description["ProcessingJobStatus"]
    name = description["ProcessingJobName"]
    if status == "Completed":
        return Decision("complete")
    if status in FAILED:
        return Decision("fail", failure_reason(description, region))
    waited = now - _epoch(description["CreationTime"])
    if waited > budget_seconds:
        return Decision(
            "timeout",
            fit_reason(
                f"processing job {name} was still {status} after {int(waited)} s, beyond the {int(budget_seconds)} s "
                "a deployment can wait for it (CloudFormation gives a custom resource one hour): the job was stopped. "
                f"Lower max_runtime or speed the job up. {logs_hint(name, region)}"
            ),
        )
    return Decision("wait")


def failure_reason(description: dict[str, Any], region: str) -> str:
    """The text CloudFormation shows when a job failed or was stopped, within the response budget."""
    name = description["ProcessingJobName"]
    status = description["ProcessingJobStatus"]
    cause = description.get("FailureReason") or ""
    exit_message = description.get("ExitMessage") or ""
    if status == "Stopped":
        head = f"processing job {name} was stopped before it completed (someone or something called StopProcessingJob)"
    else:
        head = f"processing job {name} failed"
    tail = logs_hint(name, region)
    # Room for the two service texts; when both are long, FailureReason keeps at least half of it.
    room = REASON_BUDGET_BYTES - len(head.encode()) - len(tail.encode()) - 64
    cause = _truncate(cause, max(room // 2, room - len(exit_message.encode())))
    exit_message = _truncate(exit_message, room - len(cause.encode()))
    parts = [head]
    if cause:
        parts.append(f"FailureReason: {cause}")
    if exit_message:
        parts.append(f"ExitMessage: {exit_message}")
    return fit_reason("; ".join(parts) + ". " + tail)


def logs_hint(name: str, region: str) -> str:
    url = (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logStream:group={quote(LOG_GROUP, safe='')};prefix={quote(name + '/', safe='')}"
    )
    return f"Logs: log group {LOG_GROUP}, streams {name}/*: {url}"


def fit_reason(text: str) -> str:
    return _truncate(text, REASON_BUDGET_BYTES)


def _truncate(text: str, budget: int) -> str:
    raw = text.encode()
    if len(raw) <= budget:
        return text
    marker = "...[truncated]"
    return raw[: max(0, budget - len(marker))].decode(errors="ignore") + marker


# ---------------------------------------------------------------------------------------------------------------
# Description -> attributes
# ---------------------------------------------------------------------------------------------------------------

ATTRIBUTES = (
    "ProcessingJobName",
    "ProcessingJobArn",
    "ProcessingJobStatus",
    "ExitMessage",
    "FailureReason",
    "CreationTime",
    "ProcessingStartTime",
    "ProcessingEndTime",
)


def s3_outputs(description: dict[str, Any]) -> set[str]:
    """The S3 URIs a job writes its outputs to."""
    outputs = (description.get("ProcessingOutputConfig") or {}).get("Outputs", [])
    return {o["S3Output"]["S3Uri"].rstrip("/") for o in outputs if o.get("S3Output")}


def attributes(description: dict[str, Any]) -> dict[str, str]:
    """The custom resource's attributes (GetAtt): strings, within the response budget.

    Each S3 output's URI is ``OutputS3Uri.<OutputName>``.
    """
    data = {key: _text(description.get(key)) for key in ATTRIBUTES}
    for output in (description.get("ProcessingOutputConfig") or {}).get("Outputs", []):
        s3_output = output.get("S3Output")
        if s3_output:
            data[f"OutputS3Uri.{output['OutputName']}"] = s3_output["S3Uri"]
    size = len(json.dumps(data).encode())
    if size > DATA_BUDGET_BYTES:
        for key in ("ExitMessage", "FailureReason"):
            excess = len(json.dumps(data).encode()) - DATA_BUDGET_BYTES
            if excess > 0:
                data[key] = _truncate(data[key], max(0, len(data[key].encode()) - excess - 16))
    return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def handle_digest(handle_url: str) -> str:
    """A WaitCondition handle (a pre-signed URL, too long for a tag and not to be shown) as a tag value."""
    return hashlib.sha256(handle_url.encode()).hexdigest()[:32]


def wait_signal(detail: dict[str, Any], region: str) -> dict[str, str]:
    """The WaitCondition signal for a job's terminal state change event: SUCCESS for Completed, else FAILURE with
    the same reason text a waiting custom resource gives. UniqueId is the job name: a duplicate signals once."""
    name = detail["ProcessingJobName"]
    if detail["ProcessingJobStatus"] == "Completed":
        return {"Status": "SUCCESS", "UniqueId": name, "Reason": f"processing job {name} completed", "Data": name}
    return {"Status": "FAILURE", "UniqueId": name, "Reason": failure_reason(detail, region), "Data": name}

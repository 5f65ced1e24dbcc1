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

# CloudFormation rejects a custom resource response body over 4096 bytes. The Provider framework writes the body
# (JSON, UTF-8) with the stack id (up to about 230 bytes), the logical id (up to 255), the request id, the physical
# id and, on a failure, an "Error: " prefix, the handler's log group and a Node stack of about 350 bytes around our
# message, and the Data of onEvent. Our parts stay within these budgets, counted as the bytes they take in that JSON.
REASON_BUDGET_BYTES = 2300
DATA_BUDGET_BYTES = 2700
# What onEvent returns as Data (it is in every later response, failures included) stays within this.
EVENT_DATA_BUDGET_BYTES = 200

# Time. One attempt of a call takes at most CONNECT + READ seconds; each entry point works within a budget (no
# attempt starts and no backoff ends after it), so an invocation ends within its budget and one attempt, and the
# Lambda function's timeout is twice that (``lambda_timeout_seconds``): a timeout never cuts a flow short.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 20.0
# onEvent: CreateProcessingJob is retried for ROLE_PROPAGATION_SECONDS while SageMaker cannot assume a role IAM is
# still propagating, and any call for as long as the budget lasts while it gets no answer.
ON_EVENT_BUDGET_SECONDS = 120
ROLE_PROPAGATION_SECONDS = 90
# isComplete: a poll without an answer within its budget is no news, and the next poll comes 30 s later.
IS_COMPLETE_BUDGET_SECONDS = 20
# The long wait's signal: minutes of errors are ridden out in the function (and Lambda retries it twice more).
SIGNAL_BUDGET_SECONDS = 420
# A job may not be visible to Describe and List for a while after CreateProcessingJob returned (eventual
# consistency): not finding it within this time after its creation means "not visible yet".
VISIBILITY_SECONDS = 120


def lambda_timeout_seconds(budget_seconds: int) -> int:
    """The timeout of a function whose invocations work within ``budget_seconds``: twice the longest one."""
    return 2 * (budget_seconds + ATTEMPT_SECONDS)


# A Delete that cannot name the job (CloudFormation made its physical id up, or sent none) looks for this
# resource's jobs for as long as a Create still in flight could start one, and that job could stay invisible.
SWEEP_SECONDS = lambda_timeout_seconds(ON_EVENT_BUDGET_SECONDS) + VISIBILITY_SECONDS

RUNNING = frozenset({"InProgress", "Stopping"})
FAILED = frozenset({"Failed", "Stopped"})
# Tags the handler adds to every job: the CloudFormation request that created it (a redelivered event finds its
# own job), a digest of the request it runs (an update or a rollback back to that request keeps the job) and the
# resource it belongs to (stack id and logical id: a job of another stack or team, whatever its name, is never
# stopped).
REQUEST_TAG = "cdk-processing:request-id"
DIGEST_TAG = "cdk-processing:request-digest"
RESOURCE_TAG = "cdk-processing:resource"
# ... and, on a job that replaced another in an update, that job's name (a rollback returns to it).
REPLACES_TAG = "cdk-processing:replaces"
# ... and, in the long wait, a digest of the WaitCondition handle its run signals.
HANDLE_TAG = "cdk-processing:wait-handle"
LIBRARY_TAG_PREFIX = "cdk-processing:"
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


def resource_digest(stack_id: str, logical_id: str) -> str:
    """The value of ``RESOURCE_TAG``: the resource, the same for all its requests and for no other resource."""
    return hashlib.sha256(f"{stack_id}|{logical_id}".encode()).hexdigest()[:32]


def owned(name: str, tags: dict[str, str], resource: str, prefix: str | None, fixed_name: str | None) -> bool:
    """Whether the job ``name`` with ``tags`` is one this resource started.

    Its resource tag says so. A job without one was started by an earlier version of this handler (it has the
    request tag): it is this resource's when its name is one this resource generates; a fixed name could be
    another stack's, so such a job is this resource's only when CloudFormation named it (``owned_legacy``).
    """
    if not owns_name(name, prefix, fixed_name):
        return False
    if RESOURCE_TAG in tags:
        return tags[RESOURCE_TAG] == resource
    return not fixed_name and REQUEST_TAG in tags


def owned_legacy(name: str, tags: dict[str, str], resource: str, prefix: str | None, fixed_name: str | None) -> bool:
    """``owned`` for the job CloudFormation holds as this resource's physical id: a job of an earlier version
    of this handler under a fixed name is this resource's too."""
    if RESOURCE_TAG not in tags and REQUEST_TAG in tags:
        return owns_name(name, prefix, fixed_name)
    return owned(name, tags, resource, prefix, fixed_name)


def tag_changes(
    current: dict[str, str], wanted: list[dict[str, str]], before: list[dict[str, str]] | None
) -> tuple[list[dict[str, str]], list[str]]:
    """The tags to add (new or changed values) and the keys to remove (in the stack's tags before, not now).

    Only what the stack declared is removed: tags someone added to the job by hand, and the library's own, stay.
    """
    wanted_map = {t["Key"]: t["Value"] for t in wanted}
    add = [{"Key": k, "Value": v} for k, v in wanted_map.items() if current.get(k) != v]
    remove = sorted(
        {t["Key"] for t in before or []}
        - set(wanted_map)
        - {k for k in current if k.startswith(LIBRARY_TAG_PREFIX) or k.startswith("aws:")}
    )
    return add, [k for k in remove if k in current]


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
    room = REASON_BUDGET_BYTES - json_size(head) - json_size(tail) - 64
    cause = truncate(cause, max(room // 2, room - json_size(exit_message)))
    exit_message = truncate(exit_message, room - json_size(cause))
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
    return truncate(text, REASON_BUDGET_BYTES)


_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def _char_size(char: str) -> int:
    """The bytes a character takes in JSON as JavaScript's JSON.stringify writes it, encoded as UTF-8."""
    point = ord(char)
    if char in _SHORT_ESCAPES:
        return 2
    if point < 0x20 or 0xD800 <= point <= 0xDFFF:  # \u00XX, and a lone surrogate as \uXXXX
        return 6
    if point < 0x80:
        return 1
    if point < 0x800:
        return 2
    return 3 if point < 0x10000 else 4


def json_size(text: str) -> int:
    """The bytes ``text`` takes inside a JSON string in the framework's response body."""
    return sum(_char_size(c) for c in text)


def truncate(text: str, budget: int) -> str:
    """``text``, cut to take at most ``budget`` bytes in the response body (whole characters, a marker at the end)."""
    if json_size(text) <= budget:
        return text
    marker = "...[truncated]"
    room = max(0, budget - len(marker))
    used = 0
    for index, char in enumerate(text):
        used += _char_size(char)
        if used > room:
            return text[:index] + marker
    return text + marker


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
    """The custom resource's attributes (GetAtt): strings, within the response budget whatever the texts.

    Output locations are not among them: they are known from the request, and a consumer reads them from there
    (``ProcessingJob.output_uri``), so ten outputs of 1024 characters each still fit CloudFormation's 4096 bytes.
    """
    data = {key: _text(description.get(key)) for key in ATTRIBUTES}
    room = DATA_BUDGET_BYTES - EVENT_DATA_BUDGET_BYTES
    for key in ("ExitMessage", "FailureReason"):
        excess = len(json.dumps(data, ensure_ascii=False).encode()) - room
        if excess > 0:
            data[key] = truncate(data[key], max(0, json_size(data[key]) - excess))
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

"""Lambda entry points of the processing job custom resource, behind aws-cdk-lib's ``custom_resources.Provider``.

``on_event`` starts (Create, or an Update that changes the request) or stops (Delete) a SageMaker processing job;
``is_complete`` is polled by the Provider's waiter until the job completed (success), failed or was stopped
(failure with the job's reason), or ran past the wait budget (the job is stopped, then failure).

Returning data succeeds; raising fails the deploy with the exception's text (the Provider framework sends it to
CloudFormation). Depends on nothing the Lambda Python runtime does not ship.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import logic
from botocore.config import Config
from botocore.exceptions import ClientError

# Wait budget per job, from its creation: the construct sets it below the Provider's total timeout, so that this
# handler (not the framework's bare "Operation timed out") reports a job that runs too long, and stops it.
WAIT_BUDGET_SECONDS = float(os.environ.get("WAIT_BUDGET_SECONDS", "3000"))

_client: Any = None
clock = time.time  # the lifecycle tests replace it with a fake clock


def sagemaker() -> Any:
    """The SageMaker client, created once per Lambda container with bounded timeouts and adaptive retries."""
    global _client
    if _client is None:
        _client = boto3.client(
            "sagemaker",
            config=Config(
                retries={"mode": "adaptive", "max_attempts": 10},
                connect_timeout=5,
                read_timeout=30,
                user_agent_extra="cdk-processing",
            ),
        )
    return _client


def log(action: str, **fields: Any) -> None:
    """One JSON line per decision, so the Lambda's log group tells the story of a deploy."""
    print(json.dumps({"action": action, **fields}, default=str))


# ---------------------------------------------------------------------------------------------------------------
# on_event
# ---------------------------------------------------------------------------------------------------------------


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request_type = event["RequestType"]
    props = event["ResourceProperties"]
    log("event", request_type=request_type, physical_id=event.get("PhysicalResourceId"), request_id=event["RequestId"])
    if request_type == "Create":
        return _create(event, props)
    if request_type == "Update":
        return _update(event, props)
    if request_type == "Delete":
        return _delete(event, props)
    raise logic.JobFailedError(f"unknown request type {request_type!r}")


def _request(props: dict[str, Any]) -> dict[str, Any]:
    shape = sagemaker().meta.service_model.operation_model("CreateProcessingJob").input_shape
    return dict(logic.coerce(shape, props["Request"]))


def _create(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    request = _request(props)
    name = request.pop("ProcessingJobName", None) or logic.job_name(props["JobNamePrefix"], event["RequestId"])
    _start(name, request, event["RequestId"], logic.request_digest(props["Request"]))
    return {"PhysicalResourceId": name}


def _update(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    current = event["PhysicalResourceId"]
    request = _request(props)
    fixed_name = request.pop("ProcessingJobName", None)
    digest = logic.request_digest(props["Request"])
    found = _tags_of(current)
    # The job CloudFormation knows already runs this request: a new provider version, a change of tags only, or a
    # rollback back to the request of the job in place. Nothing runs again.
    if found is not None and found[1].get(logic.DIGEST_TAG) == digest and fixed_name in (None, current):
        arn, current_tags = found
        wanted = {t["Key"]: t["Value"] for t in request.get("Tags", [])}
        if any(current_tags.get(k) != v for k, v in wanted.items()):
            sagemaker().add_tags(ResourceArn=arn, Tags=request["Tags"])
            log("retagged", job=current)
        log("unchanged", job=current)
        _stop_others(props, keep={current})
        return {"PhysicalResourceId": current}
    name = fixed_name or logic.job_name(props["JobNamePrefix"], event["RequestId"])
    if name == current:
        raise logic.JobFailedError(
            f"processing_job_name {name!r} is fixed and SageMaker never reuses a job name, so the changed job cannot "
            "run under it: give a new processing_job_name, or leave it out to have one generated per change"
        )
    _start(name, request, event["RequestId"], digest)
    # The old job stays until CloudFormation deletes it after the update; any other job of this resource (left by
    # an update that failed) is stopped.
    _stop_others(props, keep={current, name})
    return {"PhysicalResourceId": name}


def _delete(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    physical_id = event["PhysicalResourceId"]
    fixed_name = props.get("Request", {}).get("ProcessingJobName")
    prefix = props.get("JobNamePrefix")
    try:
        if logic.owns_name(physical_id, prefix, fixed_name):
            _stop(physical_id)
        else:
            # CloudFormation invents a physical id when it gave up on a Create it never heard back from: any job
            # this resource started is found by its name prefix and stopped.
            log("unknown_physical_id", physical_id=physical_id)
            _stop_others(props, keep=set())
    except ClientError as error:
        # Delete never fails the stack: a stack that cannot be deleted is worse than a loud log line.
        log("delete_error", level="ERROR", physical_id=physical_id, error=str(error))
    return {"PhysicalResourceId": physical_id}


def _start(name: str, request: dict[str, Any], request_id: str, digest: str) -> None:
    existing = _describe(name)
    if existing is None:
        tags = [
            *request.pop("Tags", []),
            {"Key": logic.REQUEST_TAG, "Value": request_id},
            {"Key": logic.DIGEST_TAG, "Value": digest},
        ]
        try:
            sagemaker().create_processing_job(ProcessingJobName=name, Tags=tags, **request)
            log("created", job=name)
            return
        except ClientError as error:
            if not _already_exists(error):
                raise logic.JobFailedError(f"CreateProcessingJob {name} failed: {_message(error)}") from error
            existing = _describe(name)
    if existing is None or not _created_by(existing, request_id):
        raise logic.JobFailedError(
            f"a processing job named {name} already exists and this deployment did not create it: SageMaker job names "
            "are unique per account and region forever; choose another processing_job_name"
        )
    log("adopted", job=name, status=existing["ProcessingJobStatus"])


def _created_by(description: dict[str, Any], request_id: str) -> bool:
    tags = sagemaker().list_tags(ResourceArn=description["ProcessingJobArn"]).get("Tags", [])
    return {"Key": logic.REQUEST_TAG, "Value": request_id} in tags


def _tags_of(name: str) -> tuple[str, dict[str, str]] | None:
    """A job's ARN and tags, or None when there is no such job."""
    description = _describe(name)
    if description is None:
        return None
    arn = description["ProcessingJobArn"]
    return arn, {t["Key"]: t["Value"] for t in sagemaker().list_tags(ResourceArn=arn).get("Tags", [])}


def _stop(name: str) -> None:
    description = _describe(name)
    if description is None:
        log("gone", job=name)
        return
    status = description["ProcessingJobStatus"]
    if status != "InProgress":
        log("not_running", job=name, status=status)
        return
    try:
        sagemaker().stop_processing_job(ProcessingJobName=name)
        log("stopped", job=name)
    except ClientError as error:
        if _code(error) != "ValidationException":  # it ended between Describe and Stop
            raise


def _stop_others(props: dict[str, Any], keep: set[str]) -> None:
    prefix = props.get("JobNamePrefix")
    fixed_name = props.get("Request", {}).get("ProcessingJobName")
    for name in _running_jobs(fixed_name or prefix or ""):
        if name not in keep and logic.owns_name(name, prefix, fixed_name):
            _stop(name)


def _running_jobs(name_contains: str) -> Iterator[str]:
    if not name_contains:
        return
    paginator = sagemaker().get_paginator("list_processing_jobs")
    for page in paginator.paginate(NameContains=name_contains, StatusEquals="InProgress"):
        for summary in page.get("ProcessingJobSummaries", []):
            yield summary["ProcessingJobName"]


def _describe(name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker().describe_processing_job(ProcessingJobName=name))
    except ClientError as error:
        if _code(error) in ("ValidationException", "ResourceNotFound") and "not find" in _message(error).lower():
            return None
        raise


def _already_exists(error: ClientError) -> bool:
    return _code(error) == "ResourceInUse" or "already exist" in _message(error).lower()


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", str(error)))


# ---------------------------------------------------------------------------------------------------------------
# is_complete
# ---------------------------------------------------------------------------------------------------------------


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    name = event["PhysicalResourceId"]
    description = _describe(name)
    if description is None:
        raise logic.JobFailedError(
            f"processing job {name} no longer exists: it was deleted while the deployment waited"
        )
    region = sagemaker().meta.region_name
    decision = logic.decide(description, clock(), WAIT_BUDGET_SECONDS, region)
    status = description["ProcessingJobStatus"]
    if decision.outcome == "wait":
        log("waiting", job=name, status=status)
        return {"IsComplete": False}
    if decision.outcome == "complete":
        log("completed", job=name)
        return {"IsComplete": True, "Data": logic.attributes(description)}
    if decision.outcome == "timeout":
        _stop(name)
        log("timed_out", job=name, status=status)
    else:
        log("failed", job=name, status=status)
    raise logic.JobFailedError(decision.reason)

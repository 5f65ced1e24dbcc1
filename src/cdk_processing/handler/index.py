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
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import logic
from botocore.config import Config
from botocore.exceptions import ClientError

# Wait budget per job, from its creation: the construct sets it below the Provider's total timeout, so that this
# handler (not the framework's bare "Operation timed out") reports a job that runs too long, and stops it.
WAIT_BUDGET_SECONDS = float(os.environ.get("WAIT_BUDGET_SECONDS", "3000"))

# How long a Delete waits for a stopped job to reach Stopped (so that its role and security group outlive it), and
# how long a Create retries SageMaker's refusal to assume a role IAM has not yet propagated.
DELETE_WAIT_SECONDS = 900.0
# A job just submitted is not described before this: SageMaker takes minutes to provision instances.
FIRST_POLL_AFTER_SECONDS = 20.0
ROLE_PROPAGATION_SECONDS = 90.0

_client: Any = None
clock = time.time  # the lifecycle tests replace both with a fake clock
sleep = time.sleep


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
    digest = logic.request_digest(props["Request"], props.get("Upstream"))
    _start(name, request, event["RequestId"], digest, signal_handle=props.get("SignalHandle"))
    return _started(name)


def _started(name: str) -> dict[str, Any]:
    # The submission time lets is_complete skip the waiter's immediate first poll: no job completes that fast.
    return {"PhysicalResourceId": name, "Data": {"SubmittedAt": str(clock())}}


def _update(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    current = event["PhysicalResourceId"]
    request = _request(props)
    fixed_name = request.pop("ProcessingJobName", None)
    digest = logic.request_digest(props["Request"], props.get("Upstream"))
    found = _job(current)
    # The job CloudFormation knows already runs this request: a new provider version, a change of tags only, or a
    # rollback of a failed update to the request of the job in place. Nothing runs again.
    if found is not None and found[1].get(logic.DIGEST_TAG) == digest and fixed_name in (None, current):
        arn, current_tags = found[0]["ProcessingJobArn"], found[1]
        wanted = {t["Key"]: t["Value"] for t in request.get("Tags", [])}
        if any(current_tags.get(k) != v for k, v in wanted.items()):
            sagemaker().add_tags(ResourceArn=arn, Tags=request["Tags"])
            log("retagged", job=current)
        log("unchanged", job=current)
        _stop_others(props, keep={current})
        return {"PhysicalResourceId": current}
    # The request of the job the current one replaced: the rollback of an update that replaced this resource and
    # then failed elsewhere in the stack (or a revert of that change). Return to that job rather than re-run it, as
    # long as the current job did not write over its outputs; otherwise the old request runs again, so that the
    # data matches the request the stack declares.
    replaced = found[1].get(logic.REPLACES_TAG) if found is not None else None
    if found is not None and replaced and fixed_name in (None, replaced):
        previous = _job(replaced)
        if (
            previous is not None
            and previous[1].get(logic.DIGEST_TAG) == digest
            and previous[0]["ProcessingJobStatus"] not in logic.FAILED
        ):
            overwritten = logic.s3_outputs(found[0]) & logic.s3_outputs(previous[0])
            if not overwritten:
                log("returned", job=replaced, replacing=current)
                _stop_others(props, keep={replaced})
                return {"PhysicalResourceId": replaced}
            log("rerun", job=replaced, replacing=current, overwritten=sorted(overwritten))
    name = fixed_name or logic.job_name(props["JobNamePrefix"], event["RequestId"])
    if name == current:
        raise logic.JobFailedError(
            f"processing_job_name {name!r} is fixed and SageMaker never reuses a job name, so the changed job cannot "
            "run under it: give a new processing_job_name, or leave it out to have one generated per change"
        )
    _start(name, request, event["RequestId"], digest, replaces=current, signal_handle=props.get("SignalHandle"))
    # The old job stays until CloudFormation deletes it after the update; any other job of this resource (left by
    # an update that failed) is stopped.
    _stop_others(props, keep={current, name})
    return _started(name)


def _delete(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    physical_id = event["PhysicalResourceId"]
    stopped = 0
    try:
        if _owned(physical_id, props):
            stopped = int(_stop(physical_id))
        else:
            # CloudFormation invents a physical id when it gave up on a Create it never heard back from: any job
            # this resource started is found by its name prefix and stopped.
            log("unknown_physical_id", physical_id=physical_id)
            stopped = _stop_others(props, keep=set())
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        # A stack that cannot be deleted is worse than a loud log line.
        log("delete_error", level="ERROR", physical_id=physical_id, error=repr(error))
    # is_complete then waits for stopping jobs to reach Stopped; with none stopping, there is nothing to wait for.
    return {"PhysicalResourceId": physical_id, "Data": {"StopRequestedAt": str(clock()), "Stopped": str(stopped)}}


def _owned(name: str, props: dict[str, Any]) -> bool:
    return logic.owns_name(name, props.get("JobNamePrefix"), props.get("Request", {}).get("ProcessingJobName"))


def _start(
    name: str,
    request: dict[str, Any],
    request_id: str,
    digest: str,
    replaces: str | None = None,
    signal_handle: str | None = None,
) -> None:
    """Create the job; a job of that name that this same CloudFormation request created (a redelivered event) is
    adopted instead. No Describe beforehand: SageMaker's refusal of a name in use says it all."""
    tags = [
        *request.pop("Tags", []),
        {"Key": logic.REQUEST_TAG, "Value": request_id},
        {"Key": logic.DIGEST_TAG, "Value": digest},
    ]
    if replaces:
        tags.append({"Key": logic.REPLACES_TAG, "Value": replaces})
    if signal_handle:
        tags.append({"Key": logic.HANDLE_TAG, "Value": logic.handle_digest(signal_handle)})
    try:
        _create_job(name, request, tags)
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


def _create_job(name: str, request: dict[str, Any], tags: list[dict[str, str]]) -> None:
    """CreateProcessingJob, retrying while SageMaker cannot yet assume a role IAM is still propagating."""
    deadline = clock() + ROLE_PROPAGATION_SECONDS
    delay = 5.0
    while True:
        try:
            sagemaker().create_processing_job(ProcessingJobName=name, Tags=tags, **request)
            return
        except ClientError as error:
            if not logic.is_role_propagation_error(_code(error), _message(error)) or clock() + delay > deadline:
                raise
            log("role_not_assumable_yet", job=name, retry_in=delay, error=_message(error))
            sleep(delay)
            delay = min(delay * 2, 20.0)


def _created_by(description: dict[str, Any], request_id: str) -> bool:
    tags = sagemaker().list_tags(ResourceArn=description["ProcessingJobArn"]).get("Tags", [])
    return {"Key": logic.REQUEST_TAG, "Value": request_id} in tags


def _job(name: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A job's description and tags, or None when there is no such job."""
    description = _describe(name)
    if description is None:
        return None
    tags = sagemaker().list_tags(ResourceArn=description["ProcessingJobArn"]).get("Tags", [])
    return description, {t["Key"]: t["Value"] for t in tags}


def _status(name: str) -> str | None:
    description = _describe(name)
    return None if description is None else str(description["ProcessingJobStatus"])


def _stop(name: str) -> bool:
    """Stop the job if it is in progress; whether it is stopping now (stopped by this call or before)."""
    description = _describe(name)
    if description is None:
        log("gone", job=name)
        return False
    status = description["ProcessingJobStatus"]
    if status != "InProgress":
        log("not_running", job=name, status=status)
        return bool(status == "Stopping")
    try:
        sagemaker().stop_processing_job(ProcessingJobName=name)
        log("stopped", job=name)
        return True
    except ClientError as error:
        if _code(error) != "ValidationException":  # it ended between Describe and Stop
            raise
        return False


def _stop_others(props: dict[str, Any], keep: set[str]) -> int:
    """Stop this resource's jobs in progress but those in ``keep``; how many are stopping now."""
    stopping = [n for n in _others(props, "Stopping") if n not in keep]
    return sum(_stop(name) for name in list(_others(props, "InProgress")) if name not in keep) + len(stopping)


def _others(props: dict[str, Any], status: str) -> Iterator[str]:
    """This resource's jobs in ``status``, found by their name prefix."""
    fixed_name = props.get("Request", {}).get("ProcessingJobName")
    for name in _running_jobs(fixed_name or props.get("JobNamePrefix") or "", status):
        if _owned(name, props):
            yield name


def _running_jobs(name_contains: str, status: str = "InProgress") -> Iterator[str]:
    if not name_contains:
        return
    paginator = sagemaker().get_paginator("list_processing_jobs")
    for page in paginator.paginate(NameContains=name_contains, StatusEquals=status):
        for summary in page.get("ProcessingJobSummaries", []):
            yield summary["ProcessingJobName"]


def _describe(name: str) -> dict[str, Any] | None:
    try:
        return dict(sagemaker().describe_processing_job(ProcessingJobName=name))
    except ClientError as error:
        if logic.is_not_found(_code(error), _message(error)):
            return None
        raise


def _already_exists(error: ClientError) -> bool:
    """SageMaker's refusal of a job name in use (ResourceInUse, or a ValidationException saying so)."""
    code = _code(error)
    return code == "ResourceInUse" or (code == "ValidationException" and "already exist" in _message(error).lower())


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", str(error)))


# ---------------------------------------------------------------------------------------------------------------
# is_complete
# ---------------------------------------------------------------------------------------------------------------


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return _stopped(event)
    name = event["PhysicalResourceId"]
    submitted = (event.get("Data") or {}).get("SubmittedAt")
    waits = event["ResourceProperties"].get("Completion") != "long"
    if waits and submitted is not None and clock() - float(submitted) < FIRST_POLL_AFTER_SECONDS:
        log("waiting", job=name, status="Submitted")
        return {"IsComplete": False}
    description = _describe(name)
    if description is None:
        raise logic.JobFailedError(
            f"processing job {name} no longer exists: it was deleted while the deployment waited"
        )
    region = sagemaker().meta.region_name
    decision = logic.decide(description, clock(), WAIT_BUDGET_SECONDS, region)
    status = description["ProcessingJobStatus"]
    if decision.outcome in ("wait", "timeout") and event["ResourceProperties"].get("Completion") == "long":
        # The deployment does not wait here: the job runs on, and a WaitCondition waits for it.
        log("started", job=name, status=status)
        return {"IsComplete": True, "Data": logic.attributes(description)}
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


def _stopped(event: dict[str, Any]) -> dict[str, Any]:
    """A Delete is complete once no job of the resource is still stopping (its role and network must outlive it)."""
    physical_id = event["PhysicalResourceId"]
    props = event["ResourceProperties"]
    data = event.get("Data") or {}
    if data.get("Stopped", "0") == "0":
        return {"IsComplete": True}
    try:
        if _owned(physical_id, props):
            stopping = [physical_id] if _status(physical_id) in logic.RUNNING else []
        else:
            stopping = list(_others(props, "Stopping"))
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        log("delete_error", level="ERROR", physical_id=physical_id, error=repr(error))
        return {"IsComplete": True}
    requested = float(data.get("StopRequestedAt", clock()))
    if stopping and clock() - requested < DELETE_WAIT_SECONDS:
        log("stopping", jobs=stopping)
        return {"IsComplete": False}
    if stopping:
        log("still_stopping", level="WARNING", jobs=stopping, waited=clock() - requested)
    return {"IsComplete": True}


# ---------------------------------------------------------------------------------------------------------------
# on_state_change: the long wait's signal
# ---------------------------------------------------------------------------------------------------------------


def on_state_change(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """A job's terminal state change (EventBridge) signals the WaitCondition of the run that started it.

    The rule's input is ``{"detail": <the event's detail>, "handle": <the WaitCondition handle's URL>}``. Only the
    job tagged with this handle's digest signals it (an earlier run's job never does); the signal's UniqueId is the
    job name, so a duplicated event signals once.
    """
    detail = event["detail"]
    handle = event["handle"]
    name = detail["ProcessingJobName"]
    status = detail["ProcessingJobStatus"]
    if status not in ("Completed", "Failed", "Stopped"):
        return {"signalled": False}
    arn = detail.get("ProcessingJobArn") or _describe(name)["ProcessingJobArn"]  # type: ignore[index]
    tags = {t["Key"]: t["Value"] for t in sagemaker().list_tags(ResourceArn=arn).get("Tags", [])}
    if tags.get(logic.HANDLE_TAG) != logic.handle_digest(handle):
        log("not_this_run", job=name, status=status)
        return {"signalled": False}
    region = sagemaker().meta.region_name
    body = logic.wait_signal({**detail, "ProcessingJobName": name}, region)
    request = urllib.request.Request(handle, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the pre-signed handle URL
        log("signalled", job=name, status=body["Status"], http=response.status)
    return {"signalled": True}

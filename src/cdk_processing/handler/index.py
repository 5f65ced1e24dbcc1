"""Lambda entry points of the processing job custom resource, behind aws-cdk-lib's ``custom_resources.Provider``.

``on_event`` starts (Create, or an Update that changes the request) or stops (Delete) a SageMaker processing job;
``is_complete`` is polled by the Provider's waiter until the job completed (success), failed or was stopped
(failure with the job's reason), or ran past the wait budget (the job is stopped, then failure).

Returning data succeeds; raising fails the deploy with the exception's text (the Provider framework sends it to
CloudFormation). Two rules keep every job accounted for:
- once CreateProcessingJob may have created a job, ``on_event`` returns its name as the physical id, whatever
  happens next: the framework answers a Create that raised with a marker id whose Delete never reaches this handler;
- every invocation ends within its budget (``logic.*_BUDGET_SECONDS``), half its function's timeout.

Depends on nothing the Lambda Python runtime does not ship.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import calls
import logic
from botocore.exceptions import ClientError
from calls import Unanswered, log

# Wait budget per job, from its creation: the construct sets it below the Provider's total timeout, so that this
# handler (not the framework's bare "Operation timed out") reports a job that runs too long, and stops it.
WAIT_BUDGET_SECONDS = float(os.environ.get("WAIT_BUDGET_SECONDS", "3000"))
# How long a Delete waits for a stopped job to reach Stopped (so that its role and security group outlive it).
DELETE_WAIT_SECONDS = 900.0
# A job just submitted is not described before this: SageMaker takes minutes to provision instances.
FIRST_POLL_AFTER_SECONDS = 20.0


# ---------------------------------------------------------------------------------------------------------------
# on_event
# ---------------------------------------------------------------------------------------------------------------


def on_event(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request_type = event["RequestType"]
    props = event.get("ResourceProperties") or {}
    log("event", request_type=request_type, physical_id=event.get("PhysicalResourceId"), request_id=event["RequestId"])
    with calls.budget(logic.ON_EVENT_BUDGET_SECONDS):
        if request_type == "Create":
            return _create(event, props)
        if request_type == "Update":
            return _update(event, props)
        if request_type == "Delete":
            return _delete(event, props)
    raise logic.JobFailedError(f"unknown request type {request_type!r}")


def _request(props: dict[str, Any]) -> dict[str, Any]:
    shape = calls.client().meta.service_model.operation_model("CreateProcessingJob").input_shape
    return dict(logic.coerce(shape, props["Request"]))


def _resource(event: dict[str, Any]) -> str:
    return logic.resource_digest(event["StackId"], event["LogicalResourceId"])


def _create(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    request = _request(props)
    name = request.pop("ProcessingJobName", None) or logic.job_name(props["JobNamePrefix"], event["RequestId"])
    return _start(event, props, name, request)


def _update(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    current = event["PhysicalResourceId"]
    request = _request(props)
    fixed_name = request.pop("ProcessingJobName", None)
    digest = logic.request_digest(props["Request"], props.get("Upstream"))
    found = _job(current)
    # The job CloudFormation knows already runs this request: a new provider version, a change of tags only, or a
    # rollback of a failed update to the request of the job in place. Nothing runs again.
    if found is not None and found[1].get(logic.DIGEST_TAG) == digest and fixed_name in (None, current):
        _retag(found, request.get("Tags", []), (event.get("OldResourceProperties") or {}).get("Request", {}))
        log("unchanged", job=current)
        _tidy(event, props, keep={current})
        return _kept(current)
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
                _tidy(event, props, keep={replaced})
                return _kept(replaced)
            log("rerun", job=replaced, replacing=current, overwritten=sorted(overwritten))
    name = fixed_name or logic.job_name(props["JobNamePrefix"], event["RequestId"])
    if name == current:
        raise logic.JobFailedError(
            f"processing_job_name {name!r} is fixed and SageMaker never reuses a job name, so the changed job cannot "
            "run under it: give a new processing_job_name, or leave it out to have one generated per change"
        )
    started = _start(event, props, name, request, replaces=current)
    # The old job stays until CloudFormation deletes it after the update.
    _tidy(event, props, keep={current, name})
    return started


def _kept(name: str) -> dict[str, Any]:
    """The answer of an update that keeps a job: is_complete reads its attributes."""
    return {"PhysicalResourceId": name, "Data": {"RequestedAt": str(calls.clock())}}


def _tidy(event: dict[str, Any], props: dict[str, Any], keep: set[str]) -> None:
    """Stop any other job of this resource still running (left by an update that failed). Tidying only: the update
    has its answer whatever happens here, and the next update, rollback or delete stops what this one could not."""
    try:
        _stop_others(event, props, keep)
    except Exception as error:  # noqa: BLE001
        log("tidy_error", level="WARNING", error=repr(error))


def _retag(found: tuple[dict[str, Any], dict[str, str]], wanted: list[dict[str, str]], before: dict[str, Any]) -> None:
    """Bring the job's tags to the stack's: add new or changed ones, remove those the stack no longer declares."""
    add, remove = logic.tag_changes(found[1], wanted, before.get("Tags"))
    arn = found[0]["ProcessingJobArn"]
    if add:
        calls.call("add_tags", ResourceArn=arn, Tags=add)
    if remove:
        calls.call("delete_tags", ResourceArn=arn, TagKeys=remove)
    if add or remove:
        log("retagged", job=found[0]["ProcessingJobName"], added=[t["Key"] for t in add], removed=remove)


def _start(
    event: dict[str, Any], props: dict[str, Any], name: str, request: dict[str, Any], replaces: str | None = None
) -> dict[str, Any]:
    """Create the job and answer with its name as the physical id.

    A job of that name that this same CloudFormation request created (a redelivered event, or an attempt whose
    answer was lost) is adopted. When no answer says whether the job exists, the name is still the answer, marked
    unconfirmed: is_complete finds the job once SageMaker shows it, and a Delete under that name stops it.
    Raises only when SageMaker refused the job, which then does not exist.
    """
    tags = [
        *request.pop("Tags", []),
        {"Key": logic.REQUEST_TAG, "Value": event["RequestId"]},
        {"Key": logic.DIGEST_TAG, "Value": logic.request_digest(props["Request"], props.get("Upstream"))},
        {"Key": logic.RESOURCE_TAG, "Value": _resource(event)},
    ]
    if replaces:
        tags.append({"Key": logic.REPLACES_TAG, "Value": replaces})
    if props.get("SignalHandle"):
        tags.append({"Key": logic.HANDLE_TAG, "Value": logic.handle_digest(props["SignalHandle"])})
    try:
        outcome = _create_job(name, request, tags)
        if outcome == "exists":
            outcome = _adopt(name, event["RequestId"])
    except logic.JobFailedError:
        raise
    except Exception as error:  # noqa: BLE001 - the job may exist: CloudFormation must hold its name
        log("create_unconfirmed", level="WARNING", job=name, error=repr(error))
        outcome = "unconfirmed"
    log(outcome, job=name)
    data = {"SubmittedAt": str(calls.clock())}
    if outcome == "unconfirmed":
        data["Unconfirmed"] = "true"
    # The submission time lets is_complete skip the waiter's immediate first poll: no job completes that fast.
    return {"PhysicalResourceId": name, "Data": data}


def _create_job(name: str, request: dict[str, Any], tags: list[dict[str, str]]) -> str:
    """CreateProcessingJob: "created", "exists" (the name is in use) or "unconfirmed" (no answer said).

    Retried while it gets no answer, and for ``ROLE_PROPAGATION_SECONDS`` while SageMaker cannot yet assume a role
    IAM is still propagating. A refusal after an attempt whose answer was lost proves nothing: that attempt may
    have created the job.
    """
    role_deadline = calls.clock() + logic.ROLE_PROPAGATION_SECONDS
    uncertain = False
    tries = 0
    while True:
        tries += 1
        delay = min(logic.BACKOFF_CAP_SECONDS, 5.0 * 2 ** (tries - 1))
        try:
            calls.attempt("create_processing_job", ProcessingJobName=name, Tags=tags, **request)
            return "created"
        except Unanswered as error:
            uncertain = True
            log("create_unanswered", job=name, error=repr(error.last), retry_in=delay)
            if not calls.pause(delay):
                return "unconfirmed"
        except ClientError as error:
            code, message = calls.code_of(error), calls.message_of(error)
            if code == "ResourceInUse" or (code == "ValidationException" and "already exist" in message.lower()):
                return "exists"
            if logic.is_role_propagation_error(code, message) and calls.clock() + delay <= role_deadline:
                log("role_not_assumable_yet", job=name, retry_in=delay, error=message)
                if calls.pause(delay):
                    continue
            if uncertain:
                log("refused_after_lost_answer", level="WARNING", job=name, error=message)
                return "unconfirmed"
            raise logic.JobFailedError(logic.fit_reason(f"CreateProcessingJob {name} failed: {message}")) from error


def _adopt(name: str, request_id: str) -> str:
    """The name is in use: "adopted" when this request created that job, "unconfirmed" while it is not visible."""
    found = _visible_job(name)
    if found is None:
        return "unconfirmed"
    if found[1].get(logic.REQUEST_TAG) != request_id:
        raise logic.JobFailedError(
            f"a processing job named {name} already exists and this deployment did not create it: SageMaker job names "
            "are unique per account and region forever; choose another processing_job_name"
        )
    log("status", job=name, status=found[0]["ProcessingJobStatus"])
    return "adopted"


def _delete(event: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    physical_id = event.get("PhysicalResourceId") or ""
    stopped, sweep = 0, True
    try:
        if _names_a_job(physical_id, props):
            description = _describe(physical_id)
            if description is not None:
                sweep = False
                if description["ProcessingJobStatus"] != "InProgress":
                    stopped = int(_stop(description))  # nothing to stop: no need to ask whose it is
                elif _owned(physical_id, _tags(description["ProcessingJobArn"]), event, props, True):
                    stopped = int(_stop(description))
                else:
                    log("not_ours", job=physical_id)
        if sweep:
            # No job under that id (CloudFormation made the id up after giving up on a Create, sent none, or the
            # job is not visible yet): this resource's jobs are found by their name prefix and their tags, until
            # a Create still in flight can no longer start one.
            log("sweep", physical_id=physical_id)
            stopped = _stop_others(event, props, keep=set())
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        # A stack that cannot be deleted is worse than a loud log line.
        log("delete_error", level="ERROR", physical_id=physical_id, error=repr(error))
    # is_complete then waits for stopping jobs to reach Stopped; with none stopping, there is nothing to wait for.
    data = {"StopRequestedAt": str(calls.clock()), "Stopped": str(stopped), "Sweep": "true" if sweep else "false"}
    # The framework refuses a Delete whose answer changes the physical id, a missing one included.
    return {**({"PhysicalResourceId": physical_id} if physical_id else {}), "Data": data}


def _names_a_job(name: str, props: dict[str, Any]) -> bool:
    return logic.owns_name(name, props.get("JobNamePrefix"), props.get("Request", {}).get("ProcessingJobName"))


def _owned(
    name: str, tags: dict[str, str], event: dict[str, Any], props: dict[str, Any], named_by_cloudformation: bool
) -> bool:
    check = logic.owned_legacy if named_by_cloudformation else logic.owned
    fixed_name = props.get("Request", {}).get("ProcessingJobName")
    return check(name, tags, _resource(event), props.get("JobNamePrefix"), fixed_name)


def _job(name: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A job's description and tags, or None when there is no such job (or it is not visible yet)."""
    description = _describe(name)
    if description is None:
        return None
    return description, _tags(description["ProcessingJobArn"])


def _visible_job(name: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """``_job``, looked for again while the budget lasts: a job just created may not be visible yet."""
    delay = 2.0
    while True:
        found = _job(name)
        if found is not None or not calls.pause(delay):
            return found
        delay = min(delay * 2, logic.BACKOFF_CAP_SECONDS)


def _tags(arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in calls.pages("list_tags", "Tags", ResourceArn=arn)}


def _stop(description: dict[str, Any]) -> bool:
    """Stop the job if it is in progress; whether it is stopping now (stopped by this call or before)."""
    name, status = description["ProcessingJobName"], description["ProcessingJobStatus"]
    if status != "InProgress":
        log("not_running", job=name, status=status)
        return bool(status == "Stopping")
    try:
        calls.call("stop_processing_job", ProcessingJobName=name)
        log("stopped", job=name)
        return True
    except ClientError as error:
        if calls.code_of(error) != "ValidationException":  # it ended between Describe and Stop
            raise
        return False


def _stop_others(event: dict[str, Any], props: dict[str, Any], keep: set[str]) -> int:
    """Stop this resource's jobs in progress but those in ``keep``; how many are stopping now."""
    stopping = sum(1 for n, _ in _others(event, props, "Stopping") if n not in keep)
    running = [d for n, d in _others(event, props, "InProgress") if n not in keep]
    return stopping + sum(_stop(d) for d in running)


def _others(event: dict[str, Any], props: dict[str, Any], status: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """This resource's jobs in ``status`` (name, summary as a description), found by name prefix and tags."""
    fixed_name = props.get("Request", {}).get("ProcessingJobName")
    name_contains = fixed_name or props.get("JobNamePrefix") or ""
    if not name_contains:
        return
    summaries = calls.pages(
        "list_processing_jobs", "ProcessingJobSummaries", NameContains=name_contains, StatusEquals=status
    )
    for summary in summaries:
        name = summary["ProcessingJobName"]
        if _names_a_job(name, props) and _owned(name, _tags(summary["ProcessingJobArn"]), event, props, False):
            yield name, summary


def _describe(name: str) -> dict[str, Any] | None:
    try:
        return calls.call("describe_processing_job", ProcessingJobName=name)
    except ClientError as error:
        if logic.is_not_found(calls.code_of(error), calls.message_of(error)):
            return None
        raise


# ---------------------------------------------------------------------------------------------------------------
# is_complete
# ---------------------------------------------------------------------------------------------------------------


def is_complete(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    with calls.budget(logic.IS_COMPLETE_BUDGET_SECONDS):
        if event["RequestType"] == "Delete":
            return _stopped(event)
        return _progress(event)


def _progress(event: dict[str, Any]) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    data = event.get("Data") or {}
    # Since the job was submitted (a job of this request), or since the update that kept its job was asked for.
    submitted = "SubmittedAt" in data
    since = calls.clock() - float(data.get("SubmittedAt") or data.get("RequestedAt") or calls.clock())
    long_wait = event["ResourceProperties"].get("Completion") == "long"
    if submitted and not long_wait and since < FIRST_POLL_AFTER_SECONDS:
        log("waiting", job=name, status="Submitted")
        return {"IsComplete": False}
    try:
        description = _describe(name)
        if description is not None and data.get("Unconfirmed"):
            # The create's answer was lost: the job under this name must be the one this request created.
            _adopt(name, event["RequestId"])
    except Unanswered as error:
        if since <= WAIT_BUDGET_SECONDS:
            log("no_news", job=name, error=repr(error.last))
            return {"IsComplete": False}
        _stop_best_effort(name)
        raise logic.JobFailedError(
            logic.fit_reason(
                f"SageMaker gave no answer about processing job {name} for the last polls, and {int(since)} s "
                f"after its submission the deployment can wait no longer ({error.last!r}); it was asked to stop"
            )
        ) from error
    if description is None:
        if submitted and since < logic.VISIBILITY_SECONDS:
            log("not_visible_yet", job=name)
            return {"IsComplete": False}
        raise logic.JobFailedError(
            f"processing job {name} does not exist: it was not created, or it was deleted while the deployment waited"
        )
    decision = logic.decide(description, calls.clock(), WAIT_BUDGET_SECONDS, calls.region())
    status = description["ProcessingJobStatus"]
    if decision.outcome in ("wait", "timeout") and long_wait:
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
        _stop_best_effort(name, description)
        log("timed_out", job=name, status=status)
    else:
        log("failed", job=name, status=status)
    raise logic.JobFailedError(decision.reason)


def _stop_best_effort(name: str, description: dict[str, Any] | None = None) -> None:
    """Stop a job the deployment gives up on; if SageMaker does not answer, the rollback's Delete stops it."""
    try:
        found = description or _describe(name)
        if found is not None:
            _stop(found)
    except Exception as error:  # noqa: BLE001 - the failure reason matters more; the Delete stops it
        log("stop_error", level="WARNING", job=name, error=repr(error))


def _stopped(event: dict[str, Any]) -> dict[str, Any]:
    """A Delete is complete once no job of the resource is still stopping (its role and network must outlive it),
    and, when it looks for the jobs by prefix, once a Create still in flight can no longer start one."""
    physical_id = event.get("PhysicalResourceId") or ""
    props = event.get("ResourceProperties") or {}
    data = event.get("Data") or {}
    waited = calls.clock() - float(data.get("StopRequestedAt") or calls.clock())
    sweep = data.get("Sweep") == "true"
    if data.get("Stopped", "0") == "0" and not sweep:
        return {"IsComplete": True}
    try:
        # A sweep stops whatever job of this resource appeared since, and counts those still stopping.
        stopping = _stop_others(event, props, keep=set()) if sweep else int(_status(physical_id) in logic.RUNNING)
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        log("delete_error", level="ERROR", physical_id=physical_id, error=repr(error))
        stopping = 0
    if sweep and waited < logic.SWEEP_SECONDS or stopping and waited < DELETE_WAIT_SECONDS:
        log("stopping", jobs=stopping, sweep=sweep)
        return {"IsComplete": False}
    if stopping:
        log("still_stopping", level="WARNING", physical_id=physical_id, waited=waited)
    return {"IsComplete": True}


def _status(name: str) -> str | None:
    description = _describe(name)
    return None if description is None else str(description["ProcessingJobStatus"])


# ---------------------------------------------------------------------------------------------------------------
# on_state_change: the long wait's signal
# ---------------------------------------------------------------------------------------------------------------


def on_state_change(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """A job's terminal state change (EventBridge) signals the WaitCondition of the run that started it.

    The rule's input is ``{"detail": <the event's detail>, "handle": <the WaitCondition handle's URL>}``. Only the
    job tagged with this handle's digest signals it (an earlier run's job never does); the signal's UniqueId is the
    job name, so a duplicated event, or this function run again by Lambda after an error, signals once. Errors
    without an answer are retried for minutes; past that the function fails and Lambda runs it again.
    """
    with calls.budget(logic.SIGNAL_BUDGET_SECONDS):
        detail = event["detail"]
        handle = event["handle"]
        name = detail["ProcessingJobName"]
        status = detail["ProcessingJobStatus"]
        if status not in ("Completed", "Failed", "Stopped"):
            return {"signalled": False}
        arn = (
            detail.get("ProcessingJobArn")
            or calls.call("describe_processing_job", ProcessingJobName=name)["ProcessingJobArn"]
        )
        if _tags(arn).get(logic.HANDLE_TAG) != logic.handle_digest(handle):
            log("not_this_run", job=name, status=status)
            return {"signalled": False}
        body = logic.wait_signal({**detail, "ProcessingJobName": name}, calls.region())
        status_code = calls.retrying("signal", lambda: _put(handle, body), _transient_http)
        log("signalled", job=name, status=body["Status"], http=status_code)
        return {"signalled": True}


def _put(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=logic.ATTEMPT_SECONDS) as response:  # noqa: S310 - pre-signed
        return int(response.status)


def _transient_http(error: BaseException) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError))

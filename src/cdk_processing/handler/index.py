"""Lambda entry points of the job custom resource, behind aws-cdk-lib's ``custom_resources.Provider``.

``on_event`` starts (Create, or an Update that changes the request) or stops (Delete) a SageMaker job;
``is_complete`` is polled by the Provider's waiter until the job completed (success), failed or was stopped
(failure with the job's reason), or ran past the wait budget (the job is stopped, then failure). The job's kind
comes from the event's ``ResourceType`` (``kinds.BY_RESOURCE_TYPE``); nothing here names one.

Returning data succeeds; raising fails the deploy with the exception's text (the Provider framework sends it to
CloudFormation). Two rules keep every job accounted for:
- once a create may have created a job, ``on_event`` returns its name as the physical id, whatever happens next:
  the framework answers a Create that raised with a marker id whose Delete never reaches this handler;
- every invocation ends within its budget (``budgets.*_BUDGET_SECONDS``), half its function's timeout.

Depends on nothing the Lambda Python runtime does not ship.
"""

from __future__ import annotations

import os
from typing import Any

import budgets
import calls
import ended
import kinds
import logic
from botocore.exceptions import ClientError
from calls import Unanswered, log
from event_resource import Resource
from jobs import Jobs
from signal_handler import on_state_change

__all__ = ["is_complete", "on_event", "on_state_change"]

# Wait budget per job, from its creation: the construct sets it below the Provider's total timeout, so that this
# handler (not the framework's bare "Operation timed out") reports a job that runs too long, and stops it.
WAIT_BUDGET_SECONDS = float(os.environ.get(kinds.ENV_WAIT_BUDGET, "3000"))
# How long a Delete waits for a stopped job to reach Stopped (so that its role and security group outlive it).
DELETE_WAIT_SECONDS = 900.0
# A job just submitted is not described before this: SageMaker takes minutes to provision instances.
FIRST_POLL_AFTER_SECONDS = 20.0


def on_event(event: dict[str, Any], context: Any = None, jobs: Jobs | None = None) -> dict[str, Any]:
    jobs = jobs or Jobs(kinds.BY_RESOURCE_TYPE[event["ResourceType"]])
    request_type = event["RequestType"]
    log("event", request_type=request_type, physical_id=event.get("PhysicalResourceId"), request_id=event["RequestId"])
    with calls.budget(budgets.ON_EVENT_BUDGET_SECONDS):
        flow = {"Create": _create, "Update": _update, "Delete": _delete}.get(request_type)
        if flow is None:
            raise logic.JobFailedError(f"unknown request type {request_type!r}")
        return flow(Resource(event, jobs))


def is_complete(event: dict[str, Any], context: Any = None, jobs: Jobs | None = None) -> dict[str, Any]:
    jobs = jobs or Jobs(kinds.BY_RESOURCE_TYPE[event["ResourceType"]])
    with calls.budget(budgets.IS_COMPLETE_BUDGET_SECONDS):
        resource = Resource(event, jobs)
        return _stopped(resource) if event["RequestType"] == "Delete" else _progress(resource)


# ---------------------------------------------------------------------------------------------------------------
# on_event
# ---------------------------------------------------------------------------------------------------------------


def _create(resource: Resource) -> dict[str, Any]:
    return _start(resource, resource.new_name())


def _update(resource: Resource) -> dict[str, Any]:
    current = resource.physical_id
    found = resource.jobs.job(current)
    replaced = found[1].get(kinds.REPLACES_TAG) if found is not None else None
    previous = resource.jobs.job(replaced) if replaced and found[1].get(kinds.DIGEST_TAG) != resource.digest else None
    plan = logic.plan_update(
        resource.kind, current, found, previous, resource.digest, resource.fixed_name, resource.new_name()
    )
    if plan.action == "refuse":
        raise logic.JobFailedError(plan.reason)
    if plan.action == "keep":
        assert found is not None
        before = (resource.event.get("OldResourceProperties") or {}).get(kinds.PROP_REQUEST) or {}
        _retag(resource, found, before.get("Tags"))
        _update_in_place(resource, found[0])
        log("unchanged", job=current)
    elif plan.action == "return":
        assert previous is not None
        _update_in_place(resource, previous[0])
        log("returned", job=plan.job, replacing=current)
    else:
        if plan.overwritten:
            log("rerun", job=replaced, replacing=current, overwritten=plan.overwritten)
        started = _start(resource, plan.job, replaces=current)
        # The old job stays until CloudFormation deletes it after the update.
        _tidy(resource, keep={current, plan.job})
        return started
    _tidy(resource, keep={plan.job})
    # An update that keeps a job: is_complete reads its attributes.
    return {"PhysicalResourceId": plan.job, "Data": {"RequestedAt": str(calls.clock())}}


def _retag(resource: Resource, found: logic.Job, before: list[dict[str, str]] | None) -> None:
    """Bring the job's tags to the stack's: add new or changed ones, remove those the stack no longer declares."""
    add, remove = logic.tag_changes(found[1], resource.request.get("Tags", []), before)
    arn = resource.jobs.arn(found[0])
    if add:
        resource.jobs.add_tags(arn, add)
    if remove:
        resource.jobs.delete_tags(arn, remove)
    if add or remove:
        log("retagged", job=resource.jobs.name(found[0]), added=[t["Key"] for t in add], removed=remove)


def _update_in_place(resource: Resource, description: dict[str, Any]) -> None:
    """Bring what an update changes in place (a warm pool's length of stay) to the request's, without running the
    job again. Best effort: SageMaker refuses it once the job's pool ended or was reused, when nothing holds on."""
    if not resource.kind.updatable:
        return
    request = logic.coerce(resource.jobs.request_shape(), resource.request)
    changes = ended.in_place_changes(resource.kind, request, description)
    if changes:
        resource.jobs.update(resource.jobs.name(description), changes)


def _release(resource: Resource, description: dict[str, Any]) -> None:
    """Release what the ended job still holds (a warm pool, billed until then)."""
    if ended.retained(resource.kind, description):
        resource.jobs.update(resource.jobs.name(description), ended.release_request(resource.kind))


def _tidy(resource: Resource, keep: set[str]) -> None:
    """Stop any other job of this resource still running, and release what any other still holds (left by an
    update that failed, which CloudFormation never deletes: a rollback keeps the job it had). Tidying only: the
    update has its answer whatever happens here, and the next update, rollback or delete stops what this one could
    not."""
    try:
        _stop_others(resource, keep)
        _release_others(resource, keep)
    except Exception as error:  # noqa: BLE001
        log("tidy_error", level="WARNING", error=repr(error))


def _start(resource: Resource, name: str, replaces: str | None = None) -> dict[str, Any]:
    """Create the job and answer with its name as the physical id.

    A job of that name that this same CloudFormation request created (a redelivered event, or an attempt whose
    answer was lost) is adopted. When no answer says whether the job exists, the name is still the answer, marked
    unconfirmed: is_complete finds the job once SageMaker shows it, and a Delete under that name stops it.
    Raises only when SageMaker refused the job, which then does not exist.
    """
    request = dict(logic.coerce(resource.jobs.request_shape(), resource.request))
    request.pop(resource.kind.name_field, None)
    request = logic.per_run(request, resource.props.get(kinds.PROP_PER_RUN), name)
    tags = [
        *request.pop("Tags", []),
        {"Key": kinds.REQUEST_TAG, "Value": resource.event["RequestId"]},
        {"Key": kinds.DIGEST_TAG, "Value": resource.digest},
        {"Key": kinds.RESOURCE_TAG, "Value": resource.tag},
    ]
    if replaces:
        tags.append({"Key": kinds.REPLACES_TAG, "Value": replaces})
    if resource.props.get(kinds.PROP_SIGNAL_HANDLE):
        tags.append({"Key": kinds.HANDLE_TAG, "Value": logic.handle_digest(resource.props[kinds.PROP_SIGNAL_HANDLE])})
    try:
        outcome = _create_job(resource, name, request, tags)
        if outcome == "exists":
            outcome = _adopt(resource, name)
    except logic.JobFailedError:
        raise
    except Exception as error:  # noqa: BLE001 - the job may exist: CloudFormation must hold its name
        log("create_unconfirmed", level="WARNING", job=name, error=repr(error))
        outcome = "unconfirmed"
    log(outcome, job=name)
    # The submission time lets is_complete skip the waiter's immediate first poll: no job completes that fast.
    data = {"SubmittedAt": str(calls.clock())}
    if outcome == "unconfirmed":
        data["Unconfirmed"] = "true"
    return {"PhysicalResourceId": name, "Data": data}


def _create_job(resource: Resource, name: str, request: dict[str, Any], tags: list[dict[str, str]]) -> str:
    """The create: "created", "exists" (the name is in use) or "unconfirmed" (no answer said).

    Retried while it gets no answer, and for ``ROLE_PROPAGATION_SECONDS`` while SageMaker cannot yet assume a role
    IAM is still propagating. A refusal after an attempt whose answer was lost proves nothing: that attempt may
    have created the job.
    """
    role_deadline = calls.clock() + budgets.ROLE_PROPAGATION_SECONDS
    uncertain = False
    tries = 0
    while True:
        tries += 1
        delay = min(budgets.BACKOFF_CAP_SECONDS, 5.0 * 2 ** (tries - 1))
        try:
            resource.jobs.create_once(name, request, tags)
            return "created"
        except Unanswered as error:
            uncertain = True
            log("create_unanswered", job=name, error=repr(error.last), retry_in=delay)
            if not calls.pause(delay):
                return "unconfirmed"
        except ClientError as error:
            code, message = calls.code_of(error), calls.message_of(error)
            if logic.is_name_in_use(code, message):
                return "exists"
            if logic.is_role_propagation_error(code, message) and calls.clock() + delay <= role_deadline:
                log("role_not_assumable_yet", job=name, retry_in=delay, error=message)
                if calls.pause(delay):
                    continue
            if uncertain:
                log("refused_after_lost_answer", level="WARNING", job=name, error=message)
                return "unconfirmed"
            raise logic.JobFailedError(
                budgets.fit_reason(f"{resource.kind.create} {name} failed: {message}")
            ) from error


def _adopt(resource: Resource, name: str) -> str:
    """The name is in use: "adopted" when this request created that job, "unconfirmed" while it is not visible."""
    found = resource.jobs.visible_job(name)
    if found is None:
        return "unconfirmed"
    _check_created_by_request(resource, name, found[1])
    log("status", job=name, status=resource.jobs.status(found[0]))
    return "adopted"


def _check_created_by_request(resource: Resource, name: str, tags: dict[str, str]) -> None:
    """A job under the name this request chose that another request created is not this resource's."""
    if tags.get(kinds.REQUEST_TAG) != resource.event["RequestId"]:
        raise logic.JobFailedError(
            f"a {resource.kind.noun} named {name} already exists and this deployment did not create it: SageMaker "
            f"job names are unique per account and region forever; choose another {resource.kind.name_prop}"
        )


def _delete(resource: Resource) -> dict[str, Any]:
    physical_id = resource.physical_id
    stopped, sweep = 0, True
    try:
        if resource.names_a_job(physical_id):
            description = resource.jobs.describe(physical_id)
            if description is not None:
                sweep = False
                holds = resource.jobs.status(description) == "InProgress" or ended.retained(resource.kind, description)
                if not holds:
                    stopped = int(resource.jobs.stop(description))  # nothing to stop: no need to ask whose it is
                elif resource.owns(physical_id, resource.jobs.tags(resource.jobs.arn(description)), True):
                    stopped = int(resource.jobs.stop(description))
                    _release(resource, description)
                else:
                    log("not_ours", job=physical_id)
        if sweep:
            # No job under that id (CloudFormation made the id up after giving up on a Create, sent none, or the
            # job is not visible yet): this resource's jobs are found by their name prefix and their tags, until
            # a Create still in flight can no longer start one.
            log("sweep", physical_id=physical_id)
            stopped = _stop_others(resource, keep=set())
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        # A stack that cannot be deleted is worse than a loud log line.
        log("delete_error", level="ERROR", physical_id=physical_id, error=repr(error))
    # is_complete then waits for stopping jobs to reach Stopped; with none stopping, there is nothing to wait for.
    data = {"StopRequestedAt": str(calls.clock()), "Stopped": str(stopped), "Sweep": "true" if sweep else "false"}
    # The framework refuses a Delete whose answer changes the physical id, a missing one included.
    return {**({"PhysicalResourceId": physical_id} if physical_id else {}), "Data": data}


def _stop_others(resource: Resource, keep: set[str]) -> int:
    """Stop this resource's jobs in progress but those in ``keep``; how many are stopping now."""
    stopping = sum(1 for job in _others(resource, "Stopping") if resource.jobs.name(job) not in keep)
    running = [job for job in _others(resource, "InProgress") if resource.jobs.name(job) not in keep]
    return stopping + sum(resource.jobs.stop(job) for job in running)


def _release_others(resource: Resource, keep: set[str]) -> None:
    """Release what this resource's ended jobs but those in ``keep`` still hold (a warm pool, billed)."""
    kind = resource.kind
    if not kind.retained_filter:
        return
    for summary in _others(resource, "Completed", **{kind.retained_filter: kind.retained_while}):
        name = resource.jobs.name(summary)
        description = resource.jobs.describe(name) if name not in keep else None
        if description is not None:
            _release(resource, description)


def _others(resource: Resource, status: str, **filters: str) -> list[dict[str, Any]]:
    """This resource's jobs in ``status`` (summaries, matching the list's ``filters``), found by their name prefix
    and tags."""
    name_contains = resource.fixed_name or resource.prefix or ""
    if not name_contains:
        return []
    jobs = resource.jobs
    return [
        summary
        for summary in jobs.summaries(name_contains, status, **filters)
        if resource.names_a_job(jobs.name(summary))
        and resource.owns(jobs.name(summary), jobs.tags(jobs.arn(summary)), False)
    ]


# ---------------------------------------------------------------------------------------------------------------
# is_complete
# ---------------------------------------------------------------------------------------------------------------


def _progress(resource: Resource) -> dict[str, Any]:
    name, data, kind = resource.physical_id, resource.data, resource.kind
    # Since the job was submitted (a job of this request), or since the update that kept its job was asked for.
    submitted = "SubmittedAt" in data
    since = calls.clock() - float(data.get("SubmittedAt") or data.get("RequestedAt") or calls.clock())
    # Nothing waits here when a WaitCondition waits for the job, or nothing at all does.
    long_wait = resource.props.get(kinds.PROP_COMPLETION) in (kinds.COMPLETION_LONG, kinds.COMPLETION_START)
    if submitted and not long_wait and since < FIRST_POLL_AFTER_SECONDS:
        log("waiting", job=name, status="Submitted")
        return {"IsComplete": False}
    try:
        description = resource.jobs.describe(name)
        if description is not None and data.get("Unconfirmed"):
            # The create's answer was lost: the job under this name must be the one this request created.
            _check_created_by_request(resource, name, resource.jobs.tags(resource.jobs.arn(description)))
    except Unanswered as error:
        if since <= WAIT_BUDGET_SECONDS:
            log("no_news", job=name, error=repr(error.last))
            return {"IsComplete": False}
        _stop_best_effort(resource, name)
        raise logic.JobFailedError(
            budgets.fit_reason(
                f"SageMaker gave no answer about {kind.noun} {name} for the last polls, and {int(since)} s after its "
                f"submission the deployment can wait no longer ({error.last!r}); it was asked to stop"
            )
        ) from error
    if description is None:
        if submitted and since < budgets.VISIBILITY_SECONDS:
            log("not_visible_yet", job=name)
            return {"IsComplete": False}
        raise logic.JobFailedError(
            f"{kind.noun} {name} does not exist: it was not created, or it was deleted while the deployment waited"
        )
    decision = logic.decide(kind, description, calls.clock(), WAIT_BUDGET_SECONDS, calls.region())
    status = resource.jobs.status(description)
    metrics = resource.props.get(kinds.PROP_FINAL_METRICS)
    if decision.outcome in ("wait", "timeout") and long_wait:
        # The deployment does not wait here: the job runs on (and a WaitCondition waits for it, in the long wait).
        log("started", job=name, status=status)
        return {"IsComplete": True, "Data": ended.attributes(kind, description, metrics)}
    if decision.outcome == "wait":
        log("waiting", job=name, status=status)
        return {"IsComplete": False}
    if decision.outcome == "complete":
        missed = ended.gate_failure(kind, description, resource.props.get(kinds.PROP_QUALITY_GATE), calls.region())
        if missed:
            log("gate_missed", job=name, final_metrics=ended.final_values(kind, description))
            raise logic.JobFailedError(missed)
        log("completed", job=name, **ended.cost(kind, description))
        return {"IsComplete": True, "Data": ended.attributes(kind, description, metrics)}
    if decision.outcome == "timeout":
        _stop_best_effort(resource, name, description)
        log("timed_out", job=name, status=status)
    else:
        log("failed", job=name, status=status)
    raise logic.JobFailedError(decision.reason)


def _stop_best_effort(resource: Resource, name: str, description: dict[str, Any] | None = None) -> None:
    """Stop a job the deployment gives up on; if SageMaker does not answer, the rollback's Delete stops it."""
    try:
        found = description or resource.jobs.describe(name)
        if found is not None:
            resource.jobs.stop(found)
    except Exception as error:  # noqa: BLE001 - the failure reason matters more; the Delete stops it
        log("stop_error", level="WARNING", job=name, error=repr(error))


def _stopped(resource: Resource) -> dict[str, Any]:
    """A Delete is complete once no job of the resource is still stopping (its role and network must outlive it),
    and, when it looks for the jobs by prefix, once a Create still in flight can no longer start one."""
    data = resource.data
    waited = calls.clock() - float(data.get("StopRequestedAt") or calls.clock())
    sweep = data.get("Sweep") == "true"
    if data.get("Stopped", "0") == "0" and not sweep:
        return {"IsComplete": True}
    try:
        # A sweep stops whatever job of this resource appeared since, and counts those still stopping.
        if sweep:
            stopping = _stop_others(resource, keep=set())
        else:
            description = resource.jobs.describe(resource.physical_id)
            stopping = int(description is not None and resource.jobs.status(description) in resource.kind.running)
    except Exception as error:  # noqa: BLE001 - Delete never fails the stack
        log("delete_error", level="ERROR", physical_id=resource.physical_id, error=repr(error))
        stopping = 0
    if sweep and waited < budgets.SWEEP_SECONDS or stopping and waited < DELETE_WAIT_SECONDS:
        log("stopping", jobs=stopping, sweep=sweep)
        return {"IsComplete": False}
    if stopping:
        log("still_stopping", level="WARNING", physical_id=resource.physical_id, waited=waited)
    return {"IsComplete": True}

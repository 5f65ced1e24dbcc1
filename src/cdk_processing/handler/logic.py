"""Pure decisions of the job custom resource, for any job kind: no AWS calls, no clock, no environment.

Each takes the kind (``kinds.JobKind``) for the names that differ. Shipped in the Lambda asset beside ``index.py``;
unit-tested without AWS.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kinds
from budgets import REASON_BUDGET_BYTES, fit_reason, json_size, truncate
from kinds import JobKind


class JobFailedError(Exception):
    """The job ended in a failed status, or the request cannot be carried out: the deploy fails with this text."""


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


def request_digest(kind: JobKind, request: dict[str, Any], upstream: Any = None) -> str:
    """What the job runs with, as a digest: the request as delivered, less its tags and name, and the runs of the
    jobs whose outputs it reads (``upstream``: their names).

    Two requests with the same digest run the same job; a change of tags alone re-tags the job instead, and a change
    of what an update changes in place (``kind.updatable``) updates it.
    """
    essential = kinds.without_updatable(kind, {k: v for k, v in request.items() if k not in ("Tags", kind.name_field)})
    if upstream:
        essential = {"Request": essential, "Upstream": upstream}
    return hashlib.sha256(json.dumps(essential, sort_keys=True, default=str).encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------------------------
# Names and ownership
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


def owned(name: str, tags: dict[str, str], resource: str, prefix: str | None, fixed_name: str | None) -> bool:
    """Whether the job ``name`` with ``tags`` is one this resource started.

    Its resource tag says so. A job without one was started by an earlier version of this handler (it has the
    request tag): it is this resource's when its name is one this resource generates; a fixed name could be
    another stack's, so such a job is this resource's only when CloudFormation named it (``owned_legacy``).
    """
    if not owns_name(name, prefix, fixed_name):
        return False
    if kinds.RESOURCE_TAG in tags:
        return tags[kinds.RESOURCE_TAG] == resource
    return not fixed_name and kinds.REQUEST_TAG in tags


def owned_legacy(name: str, tags: dict[str, str], resource: str, prefix: str | None, fixed_name: str | None) -> bool:
    """``owned`` for the job CloudFormation holds as this resource's physical id: a job of an earlier version
    of this handler under a fixed name is this resource's too."""
    if kinds.RESOURCE_TAG not in tags and kinds.REQUEST_TAG in tags:
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
        - {k for k in current if k.startswith(kinds.LIBRARY_TAG_PREFIX) or k.startswith("aws:")}
    )
    return add, [k for k in remove if k in current]


def is_not_found(code: str, message: str) -> bool:
    """Whether an error means the job does not exist (SageMaker answers ValidationException for a missing job)."""
    text = message.lower()
    return code == "ResourceNotFound" or (
        code == "ValidationException" and any(p in text for p in ("could not find", "not found", "does not exist"))
    )


def is_name_in_use(code: str, message: str) -> bool:
    """SageMaker's refusal of a job name in use (ResourceInUse, or a ValidationException saying so)."""
    return code == "ResourceInUse" or (code == "ValidationException" and "already exist" in message.lower())


def is_role_propagation_error(code: str, message: str) -> bool:
    """Whether a create refused a role that IAM has not propagated yet (a just-created role)."""
    text = message.lower()
    return code == "ValidationException" and "assume" in text and "role" in text


# ---------------------------------------------------------------------------------------------------------------
# Update -> plan
# ---------------------------------------------------------------------------------------------------------------

Job = tuple[dict[str, Any], dict[str, str]]  # a description and its tags


@dataclass(frozen=True)
class UpdatePlan:
    """What an Update does: "keep" the job in place (re-tag it), "return" to the job it replaced, "start" a new
    job, or "refuse" (a fixed name that a changed job cannot reuse)."""

    action: str
    job: str
    overwritten: list[str] = field(default_factory=list)  # why a return became a start (logged)
    reason: str = ""


def plan_update(
    kind: JobKind,
    current: str,
    found: Job | None,
    previous: Job | None,
    digest: str,
    fixed_name: str | None,
    new_name: str,
) -> UpdatePlan:
    """The plan for an Update of the resource whose job is ``current`` (``found``: its description and tags).

    - The job in place already runs this request (a new provider version, a change of tags only, or the rollback of
      a failed update to the request of the job in place): keep it, nothing runs again.
    - The request is the one of the job the current one replaced (``previous``: the rollback of an update that
      replaced this resource and then failed elsewhere, or a revert of that change): return to that job, as long as
      the current job did not write over its outputs; otherwise the old request runs again, so that the data
      matches the request the stack declares.
    - Otherwise a new job starts, under ``new_name`` or the fixed name, which SageMaker never reuses.
    """
    if found is not None and found[1].get(kinds.DIGEST_TAG) == digest and fixed_name in (None, current):
        return UpdatePlan("keep", current)
    overwritten: list[str] = []
    replaced = found[1].get(kinds.REPLACES_TAG) if found is not None else None
    if found is not None and replaced and fixed_name in (None, replaced) and previous is not None:
        description, tags = previous
        if tags.get(kinds.DIGEST_TAG) == digest and description[kind.status_field] not in kind.failed:
            overwritten = sorted(written_locations(kind, found[0]) & written_locations(kind, description))
            if not overwritten:
                return UpdatePlan("return", replaced)
    name = fixed_name or new_name
    if name == current:
        return UpdatePlan(
            "refuse",
            name,
            reason=f"{kind.name_prop} {name!r} is fixed and SageMaker never reuses a job name, so the changed "
            f"{kind.noun} cannot run under it: give a new {kind.name_prop}, or leave it out to have one generated per "
            "change",
        )
    return UpdatePlan("start", name, overwritten)


def written_locations(kind: JobKind, description: dict[str, Any]) -> set[str]:
    """The S3 locations a job writes its outputs to (``kind.output_locations`` in its description)."""
    values: list[Any] = [description]
    for member in kind.output_locations:
        if member == "*":
            values = [item for value in values if isinstance(value, list) for item in value]
        else:
            values = [value[member] for value in values if isinstance(value, dict) and value.get(member)]
    return {str(v).rstrip("/") for v in values}


# ---------------------------------------------------------------------------------------------------------------
# Status -> decision
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    outcome: str  # "complete", "wait", "fail" or "timeout"
    reason: str = ""


def decide(kind: JobKind, description: dict[str, Any], now: float, budget_seconds: float, region: str) -> Decision:
    """What is-complete does with a job's description at time ``now`` (epoch seconds)."""
    status = description[kind.status_field]
    name = description[kind.name_field]
    if status in kind.failed:
        return Decision("fail", failure_reason(kind, description, region))
    if status not in kind.running:
        return Decision("complete")
    waited = now - _epoch(description["CreationTime"])
    if waited > budget_seconds:
        return Decision(
            "timeout",
            fit_reason(
                f"{kind.noun} {name} was still {status} after {int(waited)} s, beyond the {int(budget_seconds)} s "
                "a deployment can wait for it (CloudFormation gives a custom resource one hour): the job was stopped. "
                f"Lower max_runtime or speed the job up. {logs_hint(kind, name, region)}"
            ),
        )
    return Decision("wait")


def failure_reason(kind: JobKind, description: dict[str, Any], region: str) -> str:
    """The text CloudFormation shows when a job failed or was stopped, within the response budget."""
    name = description[kind.name_field]
    cause = description.get("FailureReason") or ""
    exit_message = (description.get(kind.exit_message_field) if kind.exit_message_field else None) or ""
    last = last_transition(kind, description)
    if description[kind.status_field] == "Stopped":
        head = f"{kind.noun} {name} was stopped before it completed (someone or something called {kind.stop})"
    else:
        head = f"{kind.noun} {name} failed"
    tail = logs_hint(kind, name, region)
    # Room for the two service texts; when both are long, FailureReason keeps at least half of it.
    room = REASON_BUDGET_BYTES - json_size(head) - json_size(tail) - 64
    # The container's message, or else the last status message (capacity retries, ...), shares the room with it.
    second = exit_message or last
    cause = truncate(cause, max(room // 2, room - json_size(second)))
    second = truncate(second, room - json_size(cause))
    parts = [head]
    if cause:
        parts.append(f"FailureReason: {cause}")
    if second:
        parts.append(f"{kind.exit_message_field}: {second}" if exit_message else f"last status: {second}")
    return fit_reason("; ".join(parts) + ". " + tail)


def last_transition(kind: JobKind, description: dict[str, Any]) -> str:
    """The last status transition before the job's end, with its message (``"Starting: Insufficient capacity
    ..."``), where the kind keeps them; empty otherwise. SageMaker closes a job with a transition named for its end
    (status "Failed", "... job failed"), which says nothing the status does not: the one before it explains."""
    transitions = description.get(kind.transitions_field) if kind.transitions_field else None
    ends = kind.failed | {"Completed"}
    told = [t for t in transitions or [] if isinstance(t, dict) and t.get("Status") not in ends]
    if not told:
        return ""
    last = told[-1]
    return ": ".join(str(part) for part in (last.get("Status"), last.get("StatusMessage")) if part)


def logs_hint(kind: JobKind, name: str, region: str) -> str:
    return f"Logs: log group {kind.log_group}, streams {name}/*: {kinds.logs_url(kind, name, region)}"


# ---------------------------------------------------------------------------------------------------------------
# Descriptions and requests
# ---------------------------------------------------------------------------------------------------------------


def member(description: dict[str, Any], path: str) -> Any:
    """The member of ``description`` at a dotted ``path`` (``"ModelArtifacts.S3ModelArtifacts"``), or None."""
    value: Any = description
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def per_run(request: dict[str, Any], paths: list[str] | None, name: str) -> dict[str, Any]:
    """The request with the S3 URI at each dotted path of ``paths`` extended by ``<name>/``: a location of this run's
    own (its checkpoints), not shared with the runs before."""
    if not paths:
        return request
    request = json.loads(json.dumps(request))
    for path in paths:
        parent, _, last = path.rpartition(".")
        node = member(request, parent) if parent else request
        if isinstance(node, dict) and isinstance(node.get(last), str):
            node[last] = node[last].rstrip("/") + f"/{name}/"
    return request


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


# ---------------------------------------------------------------------------------------------------------------
# The long wait's signal
# ---------------------------------------------------------------------------------------------------------------


def handle_digest(handle_url: str) -> str:
    """A WaitCondition handle (a pre-signed URL, too long for a tag and not to be shown) as a tag value."""
    return hashlib.sha256(handle_url.encode()).hexdigest()[:32]

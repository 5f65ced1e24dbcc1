"""Pure decisions of the job custom resource, for any job kind: no AWS calls, no clock, no environment.

Each takes the kind (``kinds.JobKind``) for the names that differ. Shipped in the Lambda asset beside ``index.py``;
unit-tested without AWS.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import kinds
from budgets import DATA_BUDGET_BYTES, EVENT_DATA_BUDGET_BYTES, REASON_BUDGET_BYTES, fit_reason, json_size, truncate
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
# Description -> attributes
# ---------------------------------------------------------------------------------------------------------------


def attributes(kind: JobKind, description: dict[str, Any], metrics: list[str] | None = None) -> dict[str, str]:
    """The custom resource's attributes (GetAtt): strings, within the response budget whatever the texts.

    Output locations are not among them: they are known from the request, and a consumer reads them from there
    (the job's ``output_uri``), so ten outputs of 1024 characters each still fit CloudFormation's 4096 bytes. The
    final values of ``metrics`` (the names the template reads) are one attribute, in that order (``kinds``): the
    names stay out of the response, so that it fits whatever they are, with all 40 a job can have.
    """
    data = {key: _text(member(description, key)) for key in kind.attributes}
    if kind.run_seconds and kind.billed_seconds:
        data[kinds.SAVINGS_ATTRIBUTE] = savings_percent(kind, description)
    if metrics:
        values = final_values(kind, description)
        texts = ("" if values.get(name) is None else number_text(values[name]) for name in metrics)
        data[kinds.FINAL_METRIC_VALUES] = kinds.FINAL_METRIC_SEPARATOR.join(texts)
    room = DATA_BUDGET_BYTES - EVENT_DATA_BUDGET_BYTES
    for key in (kind.exit_message_field, "FailureReason"):
        excess = len(json.dumps(data, ensure_ascii=False).encode()) - room
        if key in data and excess > 0:
            data[key] = truncate(data[key], max(0, json_size(data[key]) - excess))
    return data


def savings_percent(kind: JobKind, description: dict[str, Any]) -> str:
    """The percentage of the run's seconds not billed (managed spot's savings: ``(1 - billed / run) * 100``, one
    decimal), or empty while the job has not ended."""
    run = member(description, kind.run_seconds or "")
    billed = member(description, kind.billed_seconds or "")
    if not run or billed is None:
        return ""
    return f"{max(0.0, (1 - float(billed) / float(run)) * 100):.1f}"


def cost(kind: JobKind, description: dict[str, Any]) -> dict[str, Any]:
    """The seconds a job ran and was billed for, and the savings, for its completion's log line."""
    if not (kind.run_seconds and kind.billed_seconds):
        return {}
    return {
        "run_seconds": member(description, kind.run_seconds),
        "billed_seconds": member(description, kind.billed_seconds),
        "savings_percent": savings_percent(kind, description),
    }


def final_values(kind: JobKind, description: dict[str, Any]) -> dict[str, float]:
    """The job's final metric values by name (the last one given for a name)."""
    found = member(description, kind.final_metrics) if kind.final_metrics else None
    return {
        str(item["MetricName"]): float(item["Value"])
        for item in found or []
        if isinstance(item, dict) and "MetricName" in item and item.get("Value") is not None
    }


def _single(value: float) -> float | None:
    """``value`` in single precision, or None beyond its range."""
    if not math.isfinite(value) or abs(value) >= 3e38:
        return None
    return float(struct.unpack("f", struct.pack("f", value))[0])


def _as_precise_as(value: float, limit: float) -> float:
    """A threshold at a single-precision value's precision: a loss reported as 0.5 passes ``<= 0.5`` although
    single precision keeps 0.5 as 0.50000000..."""
    return (_single(limit) or limit) if _single(value) == value else limit


def number_text(value: float) -> str:
    """A metric value as text, at most 9 significant digits, as SageMaker keeps them (single precision): as short
    as says it exactly (0.85 comes back as 0.8500000238418579, written "0.85"; 100.0 as "100")."""
    text = f"{value:.9g}"
    if _single(value) == value:
        text = next(t for t in (f"{value:.{d}g}" for d in range(1, 10)) if _single(float(t)) == value)
    shown = repr(float(text))
    return shown[:-2] if shown.endswith(".0") else shown


# ---------------------------------------------------------------------------------------------------------------
# Quality gate
# ---------------------------------------------------------------------------------------------------------------

_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def gate_failure(kind: JobKind, description: dict[str, Any], gate: list[dict[str, str]] | None, region: str) -> str:
    """Why a job that completed fails its quality gate (``kinds.PROP_QUALITY_GATE``), or empty when it passes.

    Every threshold is checked: a final value that misses its threshold, or a metric with no final value, fails
    the gate; the reason names each, with the value, the threshold and the job, and, for a metric without a
    value, the metric definitions (a regex that matched nothing in the job's logs gives none)."""
    if not gate:
        return ""
    name = description[kind.name_field]
    values = final_values(kind, description)
    missed: list[str] = []
    absent: list[str] = []
    for threshold in gate:
        metric, op, limit = threshold["MetricName"], threshold["Operator"], str(threshold["Threshold"])
        value = values.get(metric)
        if value is None:
            absent.append(f"{metric} {op} {limit}")
        elif not _COMPARE[op](value, _as_precise_as(value, float(limit))):
            missed.append(f"{metric} is {number_text(value)}, the gate {metric} {op} {limit}")
    if not missed and not absent:
        return ""
    if absent:
        definitions = member(description, kind.metric_definitions) if kind.metric_definitions else None
        defined = ", ".join(
            f"{d.get('Name')} (regex {d.get('Regex')})" for d in definitions or [] if isinstance(d, dict)
        )
        reported = ", ".join(f"{k}={number_text(v)}" for k, v in values.items()) or "none"
        missed.append(
            f"no final value for {', '.join(absent)}: the job reported {reported}; its metric definitions are "
            f"{defined or 'none'}, and a metric has a value only when its regex matches a line of the job's logs"
        )
    return fit_reason(
        f"{kind.noun} {name} completed but failed its quality gate: {'; '.join(missed)}. Nothing that reads its "
        f"outputs is deployed with it. {logs_hint(kind, name, region)}"
    )


# ---------------------------------------------------------------------------------------------------------------
# Resources an ended job holds, and in-place updates
# ---------------------------------------------------------------------------------------------------------------


def retained(kind: JobKind, description: dict[str, Any]) -> bool:
    """Whether the ended job still holds resources (a warm pool that is Available, billed until released)."""
    return bool(kind.retained_status) and member(description, kind.retained_status or "") == kind.retained_while


def release_request(kind: JobKind) -> dict[str, Any]:
    """The update that releases what an ended job holds."""
    assert kind.release is not None
    path, value = kind.release
    return nested(path, value)


def in_place_changes(kind: JobKind, request: dict[str, Any], description: dict[str, Any]) -> dict[str, Any]:
    """The update that brings the job's updatable members (``kind.updatable``) to the request's, or an empty dict
    when they already are. A member left out is its released value (no warm pool), on either side."""
    released = dict([kind.release]) if kind.release else {}
    changes: dict[str, Any] = {}
    for path in kind.updatable:
        wanted = member(request, path)
        wanted = released.get(path) if wanted is None else wanted
        current = member(description, path)
        current = released.get(path) if current is None else current
        if wanted is not None and wanted != current:
            _merge(changes, nested(path, wanted))
    return changes


def nested(path: str, value: Any) -> dict[str, Any]:
    """``{"A": {"B": value}}`` for the dotted path ``"A.B"``."""
    *parents, last = path.split(".")
    node: dict[str, Any] = {last: value}
    for part in reversed(parents):
        node = {part: node}
    return node


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


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


# ---------------------------------------------------------------------------------------------------------------
# The long wait's signal
# ---------------------------------------------------------------------------------------------------------------


def handle_digest(handle_url: str) -> str:
    """A WaitCondition handle (a pre-signed URL, too long for a tag and not to be shown) as a tag value."""
    return hashlib.sha256(handle_url.encode()).hexdigest()[:32]


def wait_signal(
    kind: JobKind, detail: dict[str, Any], region: str, gate: list[dict[str, str]] | None = None
) -> dict[str, str]:
    """The WaitCondition signal for a job's terminal state change event (or its description): SUCCESS for a
    completed job that passes its quality gate, else FAILURE with the same reason text a waiting custom resource
    gives. UniqueId is the job name: a duplicate signals once."""
    name = detail[kind.name_field]
    if detail[kind.status_field] in kind.failed:
        reason = failure_reason(kind, detail, region)
    else:
        reason = gate_failure(kind, detail, gate, region)
        if not reason:
            return {"Status": "SUCCESS", "UniqueId": name, "Reason": f"{kind.noun} {name} completed", "Data": name}
    return {"Status": "FAILURE", "UniqueId": name, "Reason": reason, "Data": name}

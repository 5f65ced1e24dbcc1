"""What a job that ended gives and still holds, for any job kind: the custom resource's attributes (final metric
values among them), the quality gate on those metrics, the cost of the run, the resources it holds (a warm pool)
and their release or update in place, and the long wait's signal. Pure, like ``logic``: no AWS calls, no clock.
"""

from __future__ import annotations

import json
import math
import operator
import struct
from datetime import datetime
from typing import Any

import kinds
from budgets import DATA_BUDGET_BYTES, EVENT_DATA_BUDGET_BYTES, fit_reason, json_size, truncate
from kinds import JobKind
from logic import failure_reason, logs_hint, member


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------------------------------------------
# The long wait's signal
# ---------------------------------------------------------------------------------------------------------------


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
            data = signal_data(kind, detail)
            return {"Status": "SUCCESS", "UniqueId": name, "Reason": f"{kind.noun} {name} completed", "Data": data}
    return {"Status": "FAILURE", "UniqueId": name, "Reason": reason, "Data": name}


def signal_data(kind: JobKind, description: dict[str, Any]) -> str:
    """The WaitCondition's data for a job that completed: its name and, where the request defines metrics, the
    final value of each in the definitions' order, each followed by the separator (``"<name>|0.91||0.25|"``, empty
    where the job reported none). CloudFormation's ``Data`` attribute is ``{"<name>":"<data>"}``: split at the
    separator, its part ``i + 1`` is the i-th value whatever surrounds it."""
    name = str(description[kind.name_field])
    definitions = member(description, kind.metric_definitions) if kind.metric_definitions else None
    if not definitions:
        return name
    values = final_values(kind, description)
    texts = [
        "" if values.get(d.get("Name")) is None else number_text(values[d["Name"]])
        for d in definitions
        if isinstance(d, dict)
    ]
    return kinds.FINAL_METRIC_SEPARATOR.join([name, *texts, ""])

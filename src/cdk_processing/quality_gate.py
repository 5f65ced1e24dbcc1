"""A training job's quality gate: thresholds on its final metrics that a deployment must meet.

The handler checks them when the job completed (the waiting custom resource, or the long wait's signal): a final
value that misses its threshold, or a metric that has no final value, fails the deployment with the metric, its
value, the threshold and the job's name, and nothing that reads the job's outputs is deployed with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._validation import check_list_of, fail
from .completion import Completion
from .handler import kinds

__all__ = ["MetricThreshold"]


@dataclass(frozen=True)
class MetricThreshold:
    """A final metric's threshold: ``MetricThreshold("validation:auc", ">=", 0.85)``.

    :param metric_name: the name of one of the job's ``metric_definitions``.
    :param operator: how the final value compares to ``threshold``: ``">="``, ``">"``, ``"<="``, ``"<"`` or
        ``"=="``.
    :param threshold: a number (or a number token, such as a ``CfnParameter``'s ``value_as_number``).
    """

    metric_name: str
    operator: str
    threshold: float

    @staticmethod
    def at_least(metric_name: str, threshold: float) -> MetricThreshold:
        """The final value must be at least ``threshold`` (an accuracy, an AUC)."""
        return MetricThreshold(metric_name, ">=", threshold)

    @staticmethod
    def at_most(metric_name: str, threshold: float) -> MetricThreshold:
        """The final value must be at most ``threshold`` (a loss, an error rate)."""
        return MetricThreshold(metric_name, "<=", threshold)


def render_gate(
    gate: Sequence[MetricThreshold] | None, metric_names: Sequence[str], completion: Completion
) -> list[dict[str, Any]] | None:
    """The gate as the handler reads it (``kinds.PROP_QUALITY_GATE``), each threshold checked against the job's
    metric definitions (``metric_names``) and its completion mode."""
    thresholds = check_list_of("quality_gate", gate, MetricThreshold, '[MetricThreshold("validation:auc", ">=", 0.85)]')
    if not thresholds:
        return None
    if completion.kind in (Completion.START, Completion.NEVER):
        raise fail(
            "quality_gate",
            [t.metric_name for t in thresholds],
            "needs a deployment that waits for the job's end: Completion.start_only() and never() do not; use "
            "Completion.wait() or Completion.wait_long() (a workflow's task ends on the job's status alone)",
        )
    rendered = []
    for index, threshold in enumerate(thresholds):
        prop = f"quality_gate[{index}]"
        if threshold.metric_name not in metric_names:
            raise fail(
                f"{prop}.metric_name",
                threshold.metric_name,
                "must name one of the job's metric_definitions, whose final values the job reports: "
                + (", ".join(repr(n) for n in metric_names) or "the job has none; add a MetricDefinition"),
            )
        if threshold.operator not in kinds.GATE_OPERATORS:
            raise fail(f"{prop}.operator", threshold.operator, f"must be one of {', '.join(kinds.GATE_OPERATORS)}")
        value = threshold.threshold
        # A number token is a finite float (NaN and infinity never are): nothing to ask jsii.
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise fail(f"{prop}.threshold", value, "must be a finite number, such as 0.85")
        rendered.append({"MetricName": threshold.metric_name, "Operator": threshold.operator, "Threshold": value})
    return rendered

"""Synth-time checks of a training job's props that the processing job does not have: spot, its wait and its
checkpoints, metric definitions, retries, the time a job may wait for capacity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration

from . import _memo, _model
from ._validation import check_bool, check_integer, check_model_range, check_unique, fail, seconds_text
from .completion import Completion
from .s3_data import InputMode, check_enum
from .training_attributes import Checkpoints, MetricDefinition

# SageMaker's longest training job (StoppingCondition.MaxRuntimeInSeconds: "The maximum value is 28 days").
MAX_TRAINING_RUNTIME = Duration.days(28)
# Built-in algorithms without checkpoints are capped at an hour of MaxWait; a longer spot job without checkpoints
# restarts from the beginning after each interruption.
SPOT_WITHOUT_CHECKPOINTS = Duration.hours(1)


def check_training_props(
    *,
    use_spot_instances: Any,
    allow_spot_without_checkpoints: Any,
    enable_remote_debug: Any,
    enable_infra_check: Any,
    input_mode: Any,
    checkpoints: Any,
    metrics: Sequence[MetricDefinition] | None,
    retry_attempts: Any,
) -> None:
    """Each training prop is of its type and within SageMaker's model."""
    for flag, value in (
        ("use_spot_instances", use_spot_instances),
        ("allow_spot_without_checkpoints", allow_spot_without_checkpoints),
        ("enable_remote_debug", enable_remote_debug),
        ("enable_infra_check", enable_infra_check),
    ):
        check_bool(flag, value)
    check_enum("input_mode", input_mode, InputMode)
    if checkpoints is not None and not isinstance(checkpoints, Checkpoints):
        raise fail("checkpoints", checkpoints, "must be Checkpoints.per_run() or Checkpoints.shared(bucket, prefix)")
    if metrics:
        high = _model.bounds("MetricDefinitionList")[1]
        if len(metrics) > high:
            raise fail("metric_definitions", f"{len(metrics)} items", f"SageMaker takes at most {high}")
        check_unique("metric_definitions[].name", [m.name for m in metrics])
    if retry_attempts is not None:
        check_integer("retry_attempts", retry_attempts)
        check_model_range("retry_attempts", retry_attempts, "MaximumRetryAttempts")


def stop_times(
    max_runtime: Duration | None,
    spot: bool,
    max_wait: Duration | None,
    completion: Completion | None,
    checkpoints: Checkpoints | None,
    allow_spot_without_checkpoints: bool,
) -> tuple[Duration, Duration, Completion]:
    """``max_runtime``, ``max_wait`` (the job's longest time: ``max_runtime`` without spot) and the completion mode,
    which the longest time bounds; a long spot job without checkpoints is refused."""
    if max_wait is not None and not spot:
        raise fail("max_wait", max_wait, "is the longest a spot job may wait and run: set use_spot_instances=True")
    prop = "max_wait" if spot else "max_runtime"
    bound = max_wait or max_runtime
    completion = completion or Completion.for_max_runtime(bound, prop)
    max_runtime = max_runtime or bound or completion.default_max_runtime
    max_wait = max_wait or max_runtime
    completion.check(max_runtime, "max_runtime", MAX_TRAINING_RUNTIME, "28 days for a training job")
    completion.check(max_wait, prop, MAX_TRAINING_RUNTIME, "28 days for a training job")
    if _memo.duration_unresolved(max_wait) or _memo.duration_unresolved(max_runtime):
        return max_runtime, max_wait, completion
    if _memo.seconds(max_wait) < _memo.seconds(max_runtime):
        raise fail(
            "max_wait",
            seconds_text(_memo.seconds(max_wait)),
            f"must be at least max_runtime ({seconds_text(_memo.seconds(max_runtime))})",
        )
    if (
        spot
        and checkpoints is None
        and not allow_spot_without_checkpoints
        and _memo.seconds(max_wait) > _memo.seconds(SPOT_WITHOUT_CHECKPOINTS)
    ):
        raise fail(
            "checkpoints",
            "not set",
            f"a spot job that may take {seconds_text(_memo.seconds(max_wait))} (max_wait) restarts from the beginning "
            "after each interruption without checkpoints: give checkpoints=Checkpoints.per_run(), or "
            "allow_spot_without_checkpoints=True",
        )
    return max_runtime, max_wait, completion


def pending_seconds(duration: Duration) -> Any:
    """``MaxPendingTimeInSeconds``: within the model's range, in whole seconds."""
    if duration.is_unresolved():
        return duration.to_seconds()
    seconds = int(duration.to_seconds())
    check_model_range("max_pending_time", seconds, "MaxPendingTimeInSeconds", "s", as_written=duration)
    return seconds


def keep_alive_seconds(duration: Duration) -> Any:
    """``KeepAlivePeriodInSeconds``: a ``Duration`` within the model's range, in whole seconds."""
    if not isinstance(duration, Duration):
        raise fail("keep_alive", duration, "must be a Duration, such as Duration.minutes(30)")
    if duration.is_unresolved():
        return duration.to_seconds()
    seconds = duration.to_seconds(integral=False)
    if not float(seconds).is_integer():
        raise fail("keep_alive", seconds_text(seconds), "must be whole seconds", as_written=duration)
    check_model_range("keep_alive", int(seconds), "KeepAlivePeriodInSeconds", "s", as_written=duration)
    return int(seconds)

"""The quality gate, final metrics, warm pool and cost attributes of TrainingJob in the template (the TrainingGate
test stack, synthesized once), and the bad input they refuse at synth with the library's error."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest

from cases import assert_refused, synthesized_with
from cdk_processing import (
    Completion,
    ContainerImage,
    MetricDefinition,
    MetricThreshold,
    TrainingJob,
)
from cdk_processing.handler import kinds
from cfn import ACCOUNT, REGION, role_grants
from stacks import TRAIN_IMAGE_URI

AUC = MetricDefinition("validation:auc", r"auc=([0-9\.]+)")


def resource(template: dict[str, Any], path: str) -> dict[str, Any]:
    [found] = [r for r in template["Resources"].values() if r.get("Metadata", {}).get("aws:cdk:path") == path]
    return dict(found)


def test_the_gate_and_the_metrics_read_are_properties_outside_the_request(synthesized) -> None:
    template = synthesized.templates["training_gate"]
    train = resource(template, "TrainingGate/Train/Resource/Default")["Properties"]
    assert train[kinds.PROP_QUALITY_GATE] == [
        {"MetricName": "validation:auc", "Operator": ">=", "Threshold": 0.85},
        {"MetricName": "validation:loss", "Operator": "<", "Threshold": 0.5},
    ]
    # Only the metrics the template reads come back, by position: Evaluate reads validation:auc.
    assert train[kinds.PROP_FINAL_METRICS] == ["validation:auc"]
    assert train["Request"]["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600
    evaluate = resource(template, "TrainingGate/Evaluate/Resource/Default")["Properties"]
    train_id = next(k for k, r in template["Resources"].items() if r is not None and r.get("Properties") == train)
    assert evaluate["Request"]["Environment"]["TRAINED_AUC"] == {
        "Fn::Select": [0, {"Fn::Split": ["|", {"Fn::GetAtt": [train_id, "FinalMetricValues"]}]}]
    }


def test_the_long_wait_s_signal_gets_the_gate_in_its_rule_input(synthesized) -> None:
    template = synthesized.templates["training_gate"]
    rule = resource(template, "TrainingGate/TrainLong/CompletionEvents/Resource")
    text = json.dumps(rule["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"])
    assert '\\"gate\\":[{\\"MetricName\\":\\"validation:auc\\",\\"Operator\\":\\">=\\",\\"Threshold\\":0.85}' in text
    long = resource(template, "TrainingGate/TrainLong/Resource/Default")["Properties"]
    assert kinds.PROP_FINAL_METRICS not in long


def test_the_handler_may_update_only_the_stack_s_training_jobs_and_only_with_a_warm_pool(synthesized) -> None:
    template = synthesized.templates["training_gate"]
    handler = role_grants(template, "CdkProcessingJobProviderHandlerRole")
    updates = [json.loads(r) for a, r, _ in handler if a == "sagemaker:UpdateTrainingJob"]
    assert updates == [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/traininggate-e0a0-*"]
    for name in ("training", "training_full"):  # no warm pool: no update
        handler = role_grants(synthesized.templates[name], "CdkProcessingJobProviderHandlerRole")
        assert not [a for a, _, _ in handler if a == "sagemaker:UpdateTrainingJob"]


def test_cost_attributes_are_getatt_tokens_of_the_resource() -> None:
    stack = cdk.Stack(cdk.App(), "Cost")
    train = job(stack, metric_definitions=[AUC])
    resolved = [stack.resolve(v) for v in (train.spot_savings_percent, train.training_time_in_seconds)]
    assert [r["Fn::GetAtt"][1] for r in resolved] == ["SavingsPercent", "TrainingTimeInSeconds"]
    assert stack.resolve(train.billable_time_in_seconds)["Fn::GetAtt"][1] == "BillableTimeInSeconds"
    # Reading a metric twice reads one value.
    assert stack.resolve(train.metric_value("validation:auc")) == stack.resolve(train.metric_value("validation:auc"))


def test_in_the_long_wait_a_metric_value_is_read_from_the_wait_condition_s_data() -> None:
    """The signal's data is ``<name>|<value of each definition>|``; CloudFormation's Data attribute wraps it in
    ``{"<unique id>":"<data>"}``: split at "|", part i + 1 is the i-th definition's value."""
    stack = cdk.Stack(cdk.App(), "Long")
    loss = MetricDefinition("validation:loss", r"loss=([0-9\.]+)")
    train = job(stack, metric_definitions=[AUC, loss], completion=Completion.wait_long())
    value = stack.resolve(train.metric_value("validation:loss"))
    index, (split, (separator, data)) = value["Fn::Select"][0], next(iter(value["Fn::Select"][1].items()))
    assert (index, split, separator) == (2, "Fn::Split", "|")
    [condition] = [c for c in train.node.children if isinstance(c, cdk.CfnWaitCondition)]
    assert data == {"Fn::GetAtt": [stack.get_logical_id(condition), "Data"]}
    attribute = json.dumps({"job-1": "job-1|0.91|0.25|"})  # as CloudFormation gives the condition's Data
    assert attribute.split(separator)[index] == "0.25"
    assert attribute.split(separator)[1] == "0.91"


def test_a_warm_pool_of_a_job_no_deployment_runs_brings_no_handler() -> None:
    """Only the deployment's handler releases pools: a job run by workflows alone keeps its pool for their next run."""
    template = synthesized_with(lambda s: job(s, keep_alive=cdk.Duration.minutes(10), completion=Completion.never()))
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]


def job(stack: cdk.Stack, **props: Any) -> TrainingJob:
    return TrainingJob(stack, "Train", image=ContainerImage.from_registry(TRAIN_IMAGE_URI), **props)


BAD: list[tuple[str, Callable[[cdk.Stack], Any], list[str]]] = [
    (
        "a gate on an undefined metric",
        lambda s: job(s, metric_definitions=[AUC], quality_gate=[MetricThreshold.at_least("auc", 0.9)]),
        ["Bad/Train: quality_gate[0].metric_name is 'auc'", "one of the job's metric_definitions", "'validation:auc'"],
    ),
    (
        "a gate without definitions",
        lambda s: job(s, quality_gate=[MetricThreshold.at_most("loss", 0.1)]),
        ["quality_gate[0].metric_name is 'loss'", "the job has none; add a MetricDefinition"],
    ),
    (
        "an unknown operator",
        lambda s: job(s, metric_definitions=[AUC], quality_gate=[MetricThreshold("validation:auc", "=>", 0.9)]),
        ["quality_gate[0].operator is '=>'", "must be one of >=, >, <=, <, =="],
    ),
    (
        "a threshold as text",
        lambda s: job(s, metric_definitions=[AUC], quality_gate=[MetricThreshold("validation:auc", ">=", "0.9")]),
        ["quality_gate[0].threshold is '0.9'", "must be a finite number"],
    ),
    (
        "a threshold that is no number",
        lambda s: job(
            s, metric_definitions=[AUC], quality_gate=[MetricThreshold("validation:auc", ">=", float("nan"))]
        ),
        ["quality_gate[0].threshold is nan", "must be a finite number"],
    ),
    (
        "a gate of one threshold, not a list",
        lambda s: job(s, metric_definitions=[AUC], quality_gate=MetricThreshold.at_least("validation:auc", 0.9)),
        ["quality_gate is", "must be a list"],
    ),
    (
        "a gate on a job only started",
        lambda s: job(
            s,
            metric_definitions=[AUC],
            quality_gate=[MetricThreshold.at_least("validation:auc", 0.9)],
            completion=Completion.start_only(),
        ),
        ["quality_gate is ['validation:auc']", "Completion.start_only() and never() do not"],
    ),
    (
        "a gate on a job no deployment runs",
        lambda s: job(
            s,
            metric_definitions=[AUC],
            quality_gate=[MetricThreshold.at_least("validation:auc", 0.9)],
            completion=Completion.never(),
        ),
        ["quality_gate is ['validation:auc']", "a workflow's task ends on the job's status alone"],
    ),
    (
        "a metric value of a job no deployment runs",
        lambda s: job(s, metric_definitions=[AUC], completion=Completion.never()).metric_value("validation:auc"),
        ["metric_value is 'validation:auc'", "never() no deployment waits for it"],
    ),
    (
        "a metric value of an undefined metric",
        lambda s: job(s, metric_definitions=[AUC]).metric_value("validation:f1"),
        ["Bad/Train: metric_name is 'validation:f1'", "'validation:auc'"],
    ),
    (
        "a metric value of a job only started",
        lambda s: job(s, metric_definitions=[AUC], completion=Completion.start_only()).metric_value("validation:auc"),
        ["metric_value is 'validation:auc'", "with start_only() or never() no deployment waits"],
    ),
    (
        "a keep-alive past the model's maximum",
        lambda s: job(s, keep_alive=cdk.Duration.hours(7)),
        ["Bad/Train: keep_alive is 25200 (Duration.hours(7)): must be between 0 and 21600 s"],
    ),
    (
        "a keep-alive in fractions of a second",
        lambda s: job(s, keep_alive=cdk.Duration.millis(1500)),
        ["keep_alive is '1.5 s'", "whole seconds"],
    ),
    (
        "a keep-alive as a number",
        lambda s: job(s, keep_alive=600),
        ["keep_alive is 600", "must be a Duration"],
    ),
]


@pytest.mark.parametrize("case,make,expected", BAD, ids=[c[0] for c in BAD])
def test_fails_at_synth_with_the_library_error(
    case: str, make: Callable[[cdk.Stack], Any], expected: list[str]
) -> None:
    assert_refused(case, make, expected)


GOOD: list[tuple[str, Callable[[cdk.Stack], Any]]] = [
    ("no warm pool at all (0 s)", lambda s: job(s, keep_alive=cdk.Duration.seconds(0))),
    ("the longest warm pool", lambda s: job(s, keep_alive=cdk.Duration.hours(6))),
    (
        "a threshold from a parameter",
        lambda s: job(
            s,
            metric_definitions=[AUC],
            quality_gate=[
                MetricThreshold.at_least("validation:auc", cdk.CfnParameter(s, "Min", type="Number").value_as_number)
            ],
        ),
    ),
    (
        "an integer threshold, a gate in the long wait",
        lambda s: job(
            s,
            metric_definitions=[AUC],
            quality_gate=[MetricThreshold("validation:auc", "==", 1)],
            completion=Completion.wait_long(),
            max_runtime=cdk.Duration.hours(2),
        ),
    ),
]


@pytest.mark.parametrize("case,make", GOOD, ids=[c[0] for c in GOOD])
def test_valid_values_synthesize(case: str, make: Callable[[cdk.Stack], Any]) -> None:
    synthesized_with(make)

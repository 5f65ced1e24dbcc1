"""The handler's pure decisions, without any AWS, for each job kind: status -> outcome, properties -> request,
request -> name, update -> plan, texts -> response budget."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from types import ModuleType
from typing import Any

import pytest

from conftest import PackagedHandler
from model import _MODEL

NOW = 1_800_000_000.0
NAME = "stack-abcd-prep-123456-0123456789"


@pytest.fixture
def logic(packaged_handler: PackagedHandler) -> ModuleType:
    return packaged_handler.module.logic


@pytest.fixture
def ended(packaged_handler: PackagedHandler) -> ModuleType:
    return sys.modules["ended"]


@pytest.fixture
def budgets(packaged_handler: PackagedHandler) -> ModuleType:
    return sys.modules["budgets"]


def description(kind: Any, status: str, name: str = NAME, **extra: object) -> dict[str, Any]:
    return {
        kind.name_field: name,
        kind.arn_field: f"arn:aws:sagemaker:us-east-1:123456789012:{kind.arn_resource}/{name}",
        kind.status_field: status,
        "CreationTime": datetime.fromtimestamp(NOW - 60, timezone.utc),
        **extra,
    }


def second_text(kind: Any, text: str) -> tuple[dict[str, Any], str]:
    """A description's members holding the text a failure reason carries besides FailureReason (a processing job's
    ExitMessage, a training job's last status message), and how the reason labels it."""
    if kind.exit_message_field:
        return {kind.exit_message_field: text}, f"{kind.exit_message_field}: "
    # SageMaker ends with a transition named for the end; the one before it explains.
    transitions = [
        {"Status": "Starting", "StatusMessage": "Preparing the instances for training"},
        {"Status": "Training", "StatusMessage": text},
        {"Status": "Failed", "StatusMessage": "Training job failed"},
    ]
    return {kind.transitions_field: transitions}, "last status: Training: "


def written_at(kind: Any, uri: str) -> dict[str, Any]:
    """A description's members saying the job wrote to ``uri`` (at ``kind.output_locations``)."""
    value: Any = uri
    for member in reversed(kind.output_locations):
        value = [value] if member == "*" else {member: value}
    return dict(value)


def statuses(kind: Any) -> list[str]:
    """Every status of the kind's jobs, from botocore's model of its Describe operation."""
    return list(_MODEL.operation_model(kind.describe).output_shape.members[kind.status_field].enum)


def test_each_status_of_the_model_has_one_outcome(logic, kind) -> None:
    outcomes = {s: logic.decide(kind, description(kind, s), NOW, 3000, "us-east-1").outcome for s in statuses(kind)}
    assert {s for s, o in outcomes.items() if o == "wait"} == kind.running == {"InProgress", "Stopping"}
    assert {s for s, o in outcomes.items() if o == "fail"} == kind.failed
    assert {s for s, o in outcomes.items() if o == "complete"} == {"Completed"}


def test_a_job_running_past_the_budget_times_out(logic, kind) -> None:
    decision = logic.decide(kind, description(kind, "InProgress"), NOW + 3000, 3000, "us-east-1")
    assert decision.outcome == "timeout"
    assert "after 3060 s" in decision.reason and "beyond the 3000 s" in decision.reason


def test_a_completed_job_is_complete_even_past_the_budget(logic, kind) -> None:
    assert logic.decide(kind, description(kind, "Completed"), NOW + 10**6, 3000, "us-east-1").outcome == "complete"


def test_failure_reason_names_the_job_its_texts_and_its_logs(logic, kind) -> None:
    members, label = second_text(kind, "exit 1")
    failed = description(kind, "Failed", FailureReason="AlgorithmError: OOM", **members)
    reason = logic.failure_reason(kind, failed, "eu-west-1")
    assert reason.startswith(f"{kind.noun} {NAME} failed; FailureReason: AlgorithmError: OOM")
    assert f"{label}exit 1" in reason
    assert f"Logs: log group {kind.log_group}" in reason and "region=eu-west-1" in reason
    stopped = logic.failure_reason(kind, description(kind, "Stopped"), "eu-west-1")
    assert f"was stopped before it completed (someone or something called {kind.stop})" in stopped


def test_failure_reason_keeps_both_texts_within_budget_when_both_are_long(logic, budgets, kind) -> None:
    failed = description(kind, "Failed", FailureReason="F" * 5000, **second_text(kind, "E" * 5000)[0])
    reason = logic.failure_reason(kind, failed, "eu-west-1")
    assert budgets.json_size(reason) <= budgets.REASON_BUDGET_BYTES
    assert reason.count("F") > 500 and reason.count("E") > 500


def test_failure_reason_gives_a_short_exit_message_room_to_a_long_failure_reason(logic, kind) -> None:
    failed = description(kind, "Failed", FailureReason="F" * 5000, **second_text(kind, "exit 1")[0])
    reason = logic.failure_reason(kind, failed, "us-east-1")
    assert "exit 1" in reason and reason.count("F") > 1500


@pytest.mark.parametrize("text", ["é" * 3000, "😀" * 3000, '"\\\n' * 3000, "\x01" * 3000], ids=["2", "4", "esc", "ctl"])
def test_failure_reason_is_cut_on_a_character_boundary_counting_json_bytes(logic, budgets, kind, text) -> None:
    reason = logic.failure_reason(kind, description(kind, "Failed", FailureReason=text), "us-east-1")
    body = json.dumps(reason, ensure_ascii=False).encode()  # as JSON.stringify writes it
    assert len(body) - 2 == budgets.json_size(reason) <= budgets.REASON_BUDGET_BYTES
    body.decode("utf-8")


def test_attributes_are_the_kinds_strings_and_carry_no_output_locations(logic, ended, kind) -> None:
    data = ended.attributes(
        kind,
        description(
            kind,
            "Completed",
            ProcessingEndTime=datetime.fromtimestamp(NOW, timezone.utc),
            ProcessingOutputConfig={"Outputs": [{"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train/"}}]},
        ),
    )
    # Consumers read an output's location from the request (the job's output_uri), not from the response; a kind
    # billed for less than it ran (managed spot) has its savings too.
    assert list(data) == [*kind.attributes, *(["SavingsPercent"] if kind.billed_seconds else [])]
    assert data["FailureReason"] == ""
    assert all(isinstance(v, str) for v in data.values())


def test_attributes_fit_the_response_even_with_long_multibyte_texts(logic, ended, budgets, kind) -> None:
    data = ended.attributes(
        kind,
        description(
            kind,
            "Completed",
            FailureReason="界" * 1024,
            **({kind.exit_message_field: "😀" * 1024} if kind.exit_message_field else {}),
            ModelArtifacts={"S3ModelArtifacts": "s3://" + "m" * 1020},
        ),
    )
    size = len(json.dumps(data, ensure_ascii=False).encode())
    assert size <= budgets.DATA_BUDGET_BYTES - budgets.EVENT_DATA_BUDGET_BYTES


def test_attributes_fit_the_response_with_every_final_metric_read_whatever_the_names(logic, ended, budgets) -> None:
    """40 metric definitions (the model's most) with 255-character names, all read by the template, the longest
    model URI and failure texts, values as long as Python writes doubles: the names stay out of the response."""
    kind = training_kind(logic)
    names = [f"{i:02d}" + "界" * 253 for i in range(40)]
    data = ended.attributes(
        kind,
        description(
            kind,
            "Completed",
            "n" * 63,
            FailureReason="界" * 1024,
            SecondaryStatus="MaxWaitTimeExceeded",
            TrainingStartTime=datetime.fromtimestamp(NOW, timezone.utc),
            TrainingEndTime=datetime.fromtimestamp(NOW, timezone.utc),
            ModelArtifacts={"S3ModelArtifacts": "s3://" + "m" * 1019},
            BillableTimeInSeconds=2_419_200,
            TrainingTimeInSeconds=2_419_200,
            FinalMetricDataList=[{"MetricName": n, "Value": -1.2345678901234567e-300} for n in names],
        ),
        names,
    )
    assert data["FinalMetricValues"].split("|") == ["-1.23456789e-300"] * 40
    assert data["FailureReason"].startswith("界")  # cut, but there
    size = len(json.dumps(data, ensure_ascii=False).encode())
    assert size <= budgets.DATA_BUDGET_BYTES - budgets.EVENT_DATA_BUDGET_BYTES


def training_kind(logic: ModuleType) -> Any:
    return next(k for k in sys.modules["kinds"].KINDS if k.final_metrics)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.8500000238418579, "0.85"),
        (0.5, "0.5"),
        (1e-3, "0.001"),
        (123456.0, "123456"),
        (1 / 3, "0.333333333"),
        (100.0, "100"),
        (1e-300, "1e-300"),
    ],
)
def test_metric_values_are_written_as_short_as_says_them_exactly(logic, ended, value, text) -> None:
    assert ended.number_text(value) == text
    assert ended.number_text(float("nan")) == "nan"


def gate(*thresholds: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"MetricName": m, "Operator": o, "Threshold": t} for m, o, t in thresholds]


def test_a_quality_gate_passes_when_every_final_value_meets_its_threshold(logic, ended) -> None:
    kind = training_kind(logic)
    job = description(
        kind,
        "Completed",
        FinalMetricDataList=[
            {"MetricName": "validation:auc", "Value": 0.8500000238418579},  # 0.85 in single precision
            {"MetricName": "validation:loss", "Value": 0.5},
        ],
    )
    passing = gate(("validation:auc", ">=", "0.85"), ("validation:loss", "<=", "0.5"), ("validation:auc", "==", "0.85"))
    assert ended.gate_failure(kind, job, passing, "us-east-1") == ""
    assert ended.gate_failure(kind, job, None, "us-east-1") == ""
    missed = ended.gate_failure(kind, job, gate(("validation:auc", ">", "0.85"), ("validation:loss", "<", "0.4")), "r")
    assert missed.startswith(f"training job {NAME} completed but failed its quality gate: ")
    assert "validation:auc is 0.85, the gate validation:auc > 0.85; validation:loss is 0.5, the gate " in missed
    assert "Nothing that reads its outputs is deployed with it" in missed


def test_a_quality_gate_fails_on_a_metric_without_a_final_value_and_names_the_definitions(logic, ended) -> None:
    kind = training_kind(logic)
    job = description(
        kind,
        "Completed",
        AlgorithmSpecification={"MetricDefinitions": [{"Name": "validation:auc", "Regex": "auc=([0-9.]+)"}]},
        FinalMetricDataList=[{"MetricName": "train:loss", "Value": 0.25}],
    )
    reason = ended.gate_failure(kind, job, gate(("validation:auc", ">=", "0.9")), "us-east-1")
    assert "no final value for validation:auc >= 0.9: the job reported train:loss=0.25" in reason
    assert "its metric definitions are validation:auc (regex auc=([0-9.]+))" in reason
    assert NAME in reason and "Logs: log group /aws/sagemaker/TrainingJobs" in reason


def test_a_quality_gate_reason_fits_the_response_whatever_the_names(logic, ended, budgets) -> None:
    kind = training_kind(logic)
    long = ["界" * 255 + str(i) for i in range(40)]
    job = description(
        kind, "Completed", AlgorithmSpecification={"MetricDefinitions": [{"Name": n, "Regex": "x" * 500} for n in long]}
    )
    reason = ended.gate_failure(kind, job, gate(*((n, ">=", "1") for n in long)), "us-east-1")
    assert budgets.json_size(reason) <= budgets.REASON_BUDGET_BYTES


def test_the_wait_signal_fails_a_completed_job_that_misses_its_gate(logic, ended) -> None:
    kind = training_kind(logic)
    job = description(kind, "Completed", FinalMetricDataList=[{"MetricName": "auc", "Value": 0.5}])
    assert ended.wait_signal(kind, job, "us-east-1", gate(("auc", ">=", "0.5")))["Status"] == "SUCCESS"
    signal = ended.wait_signal(kind, job, "us-east-1", gate(("auc", ">=", "0.75")))
    assert signal["Status"] == "FAILURE" and "auc is 0.5, the gate auc >= 0.75" in signal["Reason"]
    assert signal["UniqueId"] == NAME


def test_savings_are_the_share_of_the_run_not_billed(logic, ended) -> None:
    kind = training_kind(logic)
    spot = description(kind, "Completed", TrainingTimeInSeconds=1000, BillableTimeInSeconds=368)
    assert ended.savings_percent(kind, spot) == "63.2"
    assert ended.cost(kind, spot) == {"run_seconds": 1000, "billed_seconds": 368, "savings_percent": "63.2"}
    assert ended.savings_percent(kind, description(kind, "InProgress")) == ""


def test_a_warm_pool_is_released_only_while_it_is_available(logic, ended) -> None:
    kind = training_kind(logic)
    for status, held in (("Available", True), ("InUse", False), ("Reused", False), ("Terminated", False)):
        job = description(kind, "Completed", WarmPoolStatus={"Status": status})
        assert ended.retained(kind, job) is held
    assert not ended.retained(kind, description(kind, "Completed"))
    assert ended.release_request(kind) == {"ResourceConfig": {"KeepAlivePeriodInSeconds": 0}}


def test_a_change_of_keep_alive_alone_is_an_update_in_place_not_a_new_digest(logic, ended) -> None:
    kind = training_kind(logic)
    request = {"ResourceConfig": {"InstanceCount": 1, "KeepAlivePeriodInSeconds": 600}, "RoleArn": "r"}
    longer = {"ResourceConfig": {"InstanceCount": 1, "KeepAlivePeriodInSeconds": 1800}, "RoleArn": "r"}
    without = {"ResourceConfig": {"InstanceCount": 1}, "RoleArn": "r"}
    assert (
        logic.request_digest(kind, request) == logic.request_digest(kind, longer) == logic.request_digest(kind, without)
    )
    assert request["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 600  # the request itself is left as it is
    job = description(kind, "Completed", ResourceConfig={"InstanceCount": 1, "KeepAlivePeriodInSeconds": 600})
    assert ended.in_place_changes(kind, request, job) == {}
    assert ended.in_place_changes(kind, longer, job) == {"ResourceConfig": {"KeepAlivePeriodInSeconds": 1800}}
    assert ended.in_place_changes(kind, without, job) == {"ResourceConfig": {"KeepAlivePeriodInSeconds": 0}}
    assert ended.in_place_changes(kind, without, description(kind, "Completed", ResourceConfig={})) == {}
    changed = {"ResourceConfig": {"InstanceCount": 2, "KeepAlivePeriodInSeconds": 600}, "RoleArn": "r"}
    assert logic.request_digest(kind, changed) != logic.request_digest(kind, request)


def test_coerce_gives_cloudformation_strings_their_model_types(logic) -> None:
    shape = _MODEL.operation_model("CreateProcessingJob").input_shape
    request = logic.coerce(
        shape,
        {
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": "2", "VolumeSizeInGB": "30", "InstanceType": "ml.m5.large"}
            },
            "NetworkConfig": {"EnableNetworkIsolation": "true", "EnableInterContainerTrafficEncryption": "false"},
            "ProcessingInputs": [{"InputName": "a", "AppManaged": "True"}],
            "Environment": {"N": "1"},
        },
    )
    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 2,
        "VolumeSizeInGB": 30,
        "InstanceType": "ml.m5.large",
    }
    assert request["NetworkConfig"] == {"EnableNetworkIsolation": True, "EnableInterContainerTrafficEncryption": False}
    assert request["ProcessingInputs"][0]["AppManaged"] is True
    assert request["Environment"] == {"N": "1"}  # strings stay strings


def test_job_names_are_valid_unique_per_request_and_stable_for_a_redelivery(logic, kind) -> None:
    prefix = "a" * 20 + "-abcd-" + "b" * 18 + "-123456"
    first = logic.job_name(prefix, "request-1")
    assert first == logic.job_name(prefix, "request-1")
    assert first != logic.job_name(prefix, "request-2")
    pattern = _MODEL.operation_model(kind.create).input_shape.members[kind.name_field].metadata["pattern"]
    assert len(first) <= 63 and re.fullmatch(pattern, first)
    assert logic.owns_name(first, prefix, None)
    assert not logic.owns_name(prefix + "-other", prefix, None)
    assert logic.owns_name("fixed", prefix, "fixed") and not logic.owns_name(first, prefix, "fixed")


def test_request_digest_ignores_tags_and_the_name_only(logic, kind) -> None:
    base = {"AppSpecification": {"ImageUri": "i"}, "Tags": [{"Key": "a", "Value": "1"}]}
    digest = logic.request_digest(kind, base)
    assert logic.request_digest(kind, {**base, "Tags": []}) == digest
    assert logic.request_digest(kind, {**base, kind.name_field: "x"}) == digest
    assert logic.request_digest(kind, {**base, "AppSpecification": {"ImageUri": "j"}}) != digest
    assert logic.request_digest(kind, dict(reversed(list(base.items())))) == digest
    assert logic.request_digest(kind, base, ["upstream-run"]) != digest


# -- Ownership --------------------------------------------------------------------------------------------------

PREFIX = "stack-abcd-prep-123456"
OURS = "a" * 32


@pytest.mark.parametrize(
    "name,tags,fixed,owned,owned_when_named",
    [
        (f"{PREFIX}-0123456789", {"cdk-processing:resource": OURS}, None, True, True),
        (f"{PREFIX}-0123456789", {"cdk-processing:resource": "b" * 32}, None, False, False),  # another resource's
        (f"{PREFIX}-0123456789", {"cdk-processing:request-id": "r"}, None, True, True),  # an earlier handler's
        (f"{PREFIX}-0123456789", {}, None, False, False),  # nobody's we know
        ("nightly", {"cdk-processing:resource": OURS}, "nightly", True, True),
        ("nightly", {"cdk-processing:request-id": "r"}, "nightly", False, True),  # fixed: only when CFN named it
        ("nightly", {"team": "theirs"}, "nightly", False, False),
        ("nightly-2", {"cdk-processing:resource": OURS}, "nightly", False, False),  # not the fixed name
    ],
)
def test_a_job_is_the_resources_only_when_its_name_and_tags_say_so(
    logic, name, tags, fixed, owned, owned_when_named
) -> None:
    assert logic.owned(name, tags, OURS, PREFIX, fixed) is owned
    assert logic.owned_legacy(name, tags, OURS, PREFIX, fixed) is owned_when_named


def test_tag_changes_add_change_and_remove_only_what_the_stack_declared(logic) -> None:
    current = {"team": "a", "owner": "x", "by-hand": "1", "cdk-processing:resource": OURS}
    add, remove = logic.tag_changes(
        current,
        [{"Key": "owner", "Value": "y"}, {"Key": "new", "Value": "1"}],
        [{"Key": "team", "Value": "a"}, {"Key": "owner", "Value": "x"}, {"Key": "gone-already", "Value": "1"}],
    )
    assert add == [{"Key": "owner", "Value": "y"}, {"Key": "new", "Value": "1"}]
    assert remove == ["team"]


# -- Update -> plan ---------------------------------------------------------------------------------------------

CURRENT, OLD, NEW = f"{PREFIX}-cccccccccc", f"{PREFIX}-oooooooooo", f"{PREFIX}-nnnnnnnnnn"


def job(kind: Any, name: str, digest: str, status: str = "Completed", replaces: str | None = None, out: str = "a"):
    tags = {"cdk-processing:request-digest": digest, **({"cdk-processing:replaces": replaces} if replaces else {})}
    return description(kind, status, name, **written_at(kind, f"s3://b/{out}/")), tags


@pytest.mark.parametrize(
    "case,found,previous,fixed,action,target",
    [
        ("same request: keep", ("D", None, "a"), None, None, "keep", CURRENT),
        ("new request: start", ("X", None, "a"), None, None, "start", NEW),
        ("current vanished: start", None, None, None, "start", NEW),
        (
            "back to the replaced job's request, written elsewhere: return",
            ("X", OLD, "b"),
            ("D", "a"),
            None,
            "return",
            OLD,
        ),
        ("back, but written over its outputs: start again", ("X", OLD, "a"), ("D", "a"), None, "start", NEW),
        ("back to a replaced job that failed: start again", ("X", OLD, "b"), ("D", "a", "Failed"), None, "start", NEW),
        ("fixed name, same request: keep", ("D", None, "a"), None, CURRENT, "keep", CURRENT),
        ("fixed name, new request: refuse", ("X", None, "a"), None, CURRENT, "refuse", CURRENT),
        ("new fixed name: start under it", ("X", None, "a"), None, "renamed", "start", "renamed"),
    ],
)
def test_plan_update(logic, kind, case, found, previous, fixed, action, target) -> None:
    found_job = None if found is None else job(kind, CURRENT, found[0], replaces=found[1], out=found[2])
    previous_job = None
    if previous is not None:
        previous_job = job(kind, OLD, previous[0], *(previous[2:] or ["Completed"]), out=previous[1])
    plan = logic.plan_update(kind, CURRENT, found_job, previous_job, "D", fixed, NEW)
    assert (plan.action, plan.job) == (action, target), case
    if action == "refuse":
        assert "never reuses a job name" in plan.reason
    if case.startswith("back, but written over"):
        assert plan.overwritten == ["s3://b/a"]

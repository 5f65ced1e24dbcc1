"""The handler's pure decisions, without any AWS: status -> outcome, properties -> request, request -> name."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import PackagedHandler
from model import input_shape

NOW = 1_800_000_000.0


@pytest.fixture
def logic(packaged_handler: PackagedHandler):
    return packaged_handler.module.logic


def description(status: str, **extra: object) -> dict:
    return {
        "ProcessingJobName": "stack-abcd-prep-123456-0123456789",
        "ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/stack-abcd-prep-123456-0123456789",
        "ProcessingJobStatus": status,
        "CreationTime": datetime.fromtimestamp(NOW - 60, timezone.utc),
        **extra,
    }


@pytest.mark.parametrize(
    "status,outcome",
    [("InProgress", "wait"), ("Stopping", "wait"), ("Completed", "complete"), ("Failed", "fail"), ("Stopped", "fail")],
)
def test_each_status_has_one_outcome(logic, status: str, outcome: str) -> None:
    assert logic.decide(description(status), NOW, 3000, "us-east-1").outcome == outcome


def test_a_job_running_past_the_budget_times_out(logic) -> None:
    decision = logic.decide(description("InProgress"), NOW + 3000, 3000, "us-east-1")
    assert decision.outcome == "timeout"
    assert "after 3060 s, beyond the 3000 s" in decision.reason


def test_a_completed_job_is_complete_even_past_the_budget(logic) -> None:
    assert logic.decide(description("Completed"), NOW + 10**6, 3000, "us-east-1").outcome == "complete"


def test_failure_reason_keeps_both_texts_within_budget_when_both_are_long(logic) -> None:
    reason = logic.failure_reason(description("Failed", FailureReason="F" * 5000, ExitMessage="E" * 5000), "eu-west-1")
    assert len(reason.encode()) <= logic.REASON_BUDGET_BYTES
    assert reason.count("F") > 500 and reason.count("E") > 500
    assert "region=eu-west-1" in reason and "stack-abcd-prep-123456-0123456789" in reason


def test_failure_reason_gives_a_short_exit_message_room_to_a_long_failure_reason(logic) -> None:
    reason = logic.failure_reason(description("Failed", FailureReason="F" * 5000, ExitMessage="exit 1"), "us-east-1")
    assert "ExitMessage: exit 1" in reason
    assert reason.count("F") > 1800


def test_failure_reason_truncates_multibyte_text_on_a_character_boundary(logic) -> None:
    reason = logic.failure_reason(description("Failed", FailureReason="é" * 3000), "us-east-1")
    reason.encode().decode()  # valid UTF-8
    assert len(reason.encode()) <= logic.REASON_BUDGET_BYTES


def test_attributes_are_strings_and_carry_no_output_locations(logic) -> None:
    data = logic.attributes(
        description(
            "Completed",
            ProcessingEndTime=datetime.fromtimestamp(NOW, timezone.utc),
            ProcessingOutputConfig={
                "Outputs": [
                    {"OutputName": "train", "S3Output": {"S3Uri": "s3://b/train/"}},
                    {"OutputName": "store", "FeatureStoreOutput": {"FeatureGroupName": "g"}},
                ]
            },
        )
    )
    # Consumers read an output's location from the request (ProcessingJob.output_uri), not from the response.
    assert set(data) == set(logic.ATTRIBUTES)
    assert data["FailureReason"] == "" and data["ProcessingEndTime"].startswith("2027-01-15T08:00:00")
    assert all(isinstance(v, str) for v in data.values())


def test_attributes_fit_the_response_even_with_a_long_exit_message(logic) -> None:
    data = logic.attributes(description("Completed", ExitMessage="x" * 5000))
    assert len(json.dumps(data).encode()) <= logic.DATA_BUDGET_BYTES


def test_coerce_gives_cloudformation_strings_their_model_types(logic) -> None:
    request = logic.coerce(
        input_shape(),
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


def test_job_names_are_valid_unique_per_request_and_stable_for_a_redelivery(logic) -> None:
    prefix = "a" * 20 + "-abcd-" + "b" * 18 + "-123456"
    first = logic.job_name(prefix, "request-1")
    assert first == logic.job_name(prefix, "request-1")
    assert first != logic.job_name(prefix, "request-2")
    assert len(first) <= 63
    shape = input_shape().members["ProcessingJobName"]
    import re

    assert re.fullmatch(shape.metadata["pattern"], first)
    assert logic.owns_name(first, prefix, None)
    assert not logic.owns_name(prefix + "-other", prefix, None)
    assert logic.owns_name("fixed", prefix, "fixed") and not logic.owns_name(first, prefix, "fixed")


def test_request_digest_ignores_tags_and_name_only(logic) -> None:
    base = {"AppSpecification": {"ImageUri": "i"}, "Tags": [{"Key": "a", "Value": "1"}]}
    digest = logic.request_digest(base)
    assert logic.request_digest({**base, "Tags": []}) == digest
    assert logic.request_digest({**base, "ProcessingJobName": "x"}) == digest
    assert logic.request_digest({**base, "AppSpecification": {"ImageUri": "j"}}) != digest
    assert logic.request_digest(dict(reversed(list(base.items())))) == digest

"""Every request the construct produces, exactly as the handler sends it, conforms to botocore's SageMaker model.

Each stack is deployed through the lifecycle harness; the CreateProcessingJob parameters are read off the handler's
own boto3 client as it sends them (an observer on its event hooks; nothing is replaced), then validated against
the model: shapes, required members, enums, lengths, ranges and patterns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from cdk_processing.handler import kinds as source_kinds
from cfn import Provider
from emulator import Outcome, SageMakerEmulator
from harness import DeployedStack
from model import input_shape, validate


@pytest.fixture
def sent(packaged_handler, provider: Provider, emulator: SageMakerEmulator) -> Iterator[list[dict[str, Any]]]:
    """The CreateProcessingJob parameters the handler's client sends, in order."""
    requests: list[dict[str, Any]] = []

    def observe(params: dict[str, Any], **_: Any) -> None:
        requests.append(json.loads(json.dumps(params, default=str)))

    events = sys.modules["calls"].client().meta.events
    for operation in OPERATIONS:
        events.register(
            f"provide-client-params.sagemaker.{operation}",
            lambda params, _operation=operation, **_: observe({**params, "_operation": _operation}),
            unique_id=f"request-model-{operation}",
        )
    # Training jobs report the final metrics the test stacks' quality gates read (TrainingGate), passing.
    emulator.plan(
        Outcome("Completed", after_describes=1, final_metrics={"validation:auc": 0.9, "validation:loss": 0.25})
    )
    yield requests
    for operation in OPERATIONS:
        events.unregister(f"provide-client-params.sagemaker.{operation}", unique_id=f"request-model-{operation}")


# Every kind's create operation (kinds.py): each request is validated against its own operation's input shape.
OPERATIONS = tuple(k.create for k in source_kinds.KINDS)


def _deploy_and_validate(provider: Provider, template: dict[str, Any], sent: list[dict[str, Any]], jobs: int) -> None:
    outcome = DeployedStack(provider, template).deploy()
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert len(sent) == jobs
    for request in sent:
        operation = request.pop("_operation")
        assert validate(request, input_shape(operation)) == [], (operation, request)


@pytest.mark.parametrize(
    "stack,jobs",
    [
        ("minimal", 1),
        ("full", 1),
        ("pipeline", 2),
        ("training", 2),
        ("training_full", 2),
        ("training_gate", 3),
        ("training_cluster", 3),
        ("workflow", 2),
    ],
)
def test_requests_of_test_stacks_conform_to_the_service_model(synthesized, provider, sent, stack, jobs) -> None:
    _deploy_and_validate(provider, synthesized.templates[stack], sent, jobs)


def test_requests_of_the_example_app_conform_to_the_service_model(provider, sent, example_template) -> None:
    _deploy_and_validate(provider, example_template, sent, 3)


def test_the_handler_adds_its_tags_within_the_models_fifty(synthesized, provider, sent) -> None:
    _deploy_and_validate(provider, synthesized.templates["full"], sent, 1)
    keys = [t["Key"] for t in sent[0]["Tags"]]
    assert keys == [
        "owner",
        "team",
        "cdk-processing:request-id",
        "cdk-processing:request-digest",
        "cdk-processing:resource",
    ]


def test_the_validator_rejects_what_the_model_forbids() -> None:
    bad = {
        "ProcessingJobName": "bad name",
        "AppSpecification": {"ImageUri": "x", "ContainerArguments": []},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 101, "InstanceType": "ml.nope", "VolumeSizeInGB": "30"}
        },
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "Tags": [{"Key": "k", "Value": "two\nlines"}],
        "Unknown": 1,
    }
    errors = "\n".join(validate(bad))
    assert "ProcessingJobName: 'bad name' does not match" in errors
    assert "ContainerArguments: 0 items" in errors
    assert "InstanceCount: 101 outside 1..100" in errors
    assert "InstanceType: 'ml.nope' is not one of" in errors
    assert "VolumeSizeInGB: expected an integer" in errors
    assert "Tags[0].Value: 'two\\nlines' does not match" in errors
    assert "unknown member Unknown" in errors

"""Handler paths beyond the stack-level scenarios: types, tags, fixed names, logs (moto over HTTP)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cfn import CREATE_FAILED_MARKER, Provider, delivered_properties, event, job_resources
from conftest import PackagedHandler
from emulator import SageMakerEmulator


@pytest.fixture
def job(packaged_handler: PackagedHandler) -> tuple[str, dict[str, Any]]:
    """The logical id and delivered properties of the packaged stack's processing job."""
    logical_id = next(iter(job_resources(packaged_handler.template)))
    return logical_id, delivered_properties(packaged_handler.template, logical_id)


def finish_after(emulator: SageMakerEmulator, polls: int, status: str, **texts: str):
    def on_poll(n: int, name: str) -> None:
        if n == polls:
            emulator.finish(name, status, **texts)

    return on_poll


def test_create_sends_the_request_with_cloudformation_strings_turned_back_into_types(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    assert props["Request"]["StoppingCondition"]["MaxRuntimeInSeconds"] == "2700"  # as CloudFormation delivers it
    response = provider.send(event("Create", logical_id, props), finish_after(emulator, 1, "Completed"))
    created = emulator.jobs[response.physical_resource_id]
    assert created.stopping_condition == {"MaxRuntimeInSeconds": 2700}
    assert created.network_config["EnableNetworkIsolation"] is False
    assert created.role_arn == props["Request"]["RoleArn"]


def test_delete_after_a_failed_create_calls_nothing(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=CREATE_FAILED_MARKER))
    assert response.status == "SUCCESS"
    assert sum(emulator.calls.values()) == 0


def test_update_that_only_changes_tags_retags_the_job(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    name = provider.send(
        event("Create", logical_id, props), finish_after(emulator, 1, "Completed")
    ).physical_resource_id
    tagged = copy.deepcopy(props)
    tagged["Request"]["Tags"] = [{"Key": "team", "Value": "forecasting"}]
    response = provider.send(event("Update", logical_id, tagged, physical_resource_id=name, old_properties=props))
    assert response.physical_resource_id == name
    assert emulator.tags(name)["team"] == "forecasting"
    assert emulator.calls["CreateProcessingJob"] == 1


def test_update_of_a_fixed_name_job_that_changes_the_request_fails_with_a_clear_reason(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    fixed = copy.deepcopy(props)
    fixed["Request"]["ProcessingJobName"] = "nightly-features"
    created = provider.send(event("Create", logical_id, fixed), finish_after(emulator, 1, "Completed"))
    assert created.physical_resource_id == "nightly-features"
    changed = copy.deepcopy(fixed)
    changed["Request"]["Environment"] = {"MODE": "full"}
    response = provider.send(
        event("Update", logical_id, changed, physical_resource_id="nightly-features", old_properties=fixed)
    )
    assert response.status == "FAILED"
    assert "processing_job_name 'nightly-features' is fixed" in response.reason


def test_create_with_a_fixed_name_taken_by_another_job_fails_with_a_clear_reason(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    fixed = copy.deepcopy(props)
    fixed["Request"]["ProcessingJobName"] = "nightly-features"
    provider.send(event("Create", logical_id, fixed), finish_after(emulator, 1, "Completed"))
    response = provider.send(event("Create", logical_id, fixed))  # a new deployment: a new request id
    assert response.status == "FAILED"
    assert "already exists and this deployment did not create it" in response.reason
    assert response.physical_resource_id == CREATE_FAILED_MARKER


def test_is_complete_logs_one_json_line_per_decision(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    logical_id, props = job
    provider.send(event("Create", logical_id, props), finish_after(emulator, 3, "Completed"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    actions = [line["action"] for line in lines]
    assert actions == ["event", "created", "waiting", "waiting", "completed"]
    assert all("job" in line for line in lines[1:])

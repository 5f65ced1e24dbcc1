"""The packaged handler, driven by CloudFormation events through the Provider framework, against moto over HTTP."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from cfn import CREATE_FAILED_MARKER, FakeClock, Provider, delivered_properties, event, job_resources
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


def test_create_waits_until_the_job_completed_and_returns_its_attributes(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    response = provider.send(event("Create", logical_id, props), finish_after(emulator, 4, "Completed"))

    assert response.status == "SUCCESS", response.reason
    assert response.polls == 4
    assert list(emulator.jobs) == [response.physical_resource_id]
    described = boto3.client("sagemaker").describe_processing_job(ProcessingJobName=response.physical_resource_id)
    assert response.data["ProcessingJobName"] == described["ProcessingJobName"]
    assert response.data["ProcessingJobArn"] == described["ProcessingJobArn"]
    assert response.data["ProcessingJobStatus"] == "Completed"
    assert response.data["CreationTime"] == described["CreationTime"].isoformat()
    assert response.data["OutputS3Uri.train"] == described["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert response.physical_resource_id.startswith(props["JobNamePrefix"] + "-")


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


def test_create_fails_with_the_jobs_failure_reason_exit_message_name_and_logs_within_4096_bytes(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    request = event("Create", logical_id, props)
    failure = "AlgorithmError: " + "x" * 1024
    exit_message = "Traceback: ValueError: " + "y" * 1000
    response = provider.send(
        request, finish_after(emulator, 2, "Failed", failure_reason=failure, exit_message=exit_message)
    )

    assert response.status == "FAILED"
    name = response.physical_resource_id
    assert f"processing job {name} failed" in response.reason
    assert "FailureReason: AlgorithmError: xxx" in response.reason
    assert "ExitMessage: Traceback: ValueError: yyy" in response.reason
    assert "#logStream:group=%2Faws%2Fsagemaker%2FProcessingJobs;prefix=" + name in response.reason
    assert len(response.body(request)) < 4096


def test_create_fails_when_someone_else_stopped_the_job(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    response = provider.send(event("Create", logical_id, props), finish_after(emulator, 3, "Stopped"))
    assert response.status == "FAILED"
    assert "was stopped before it completed" in response.reason


def test_create_stops_the_job_and_fails_when_the_wait_budget_runs_out(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]], packaged_handler: PackagedHandler
) -> None:
    logical_id, props = job
    response = provider.send(event("Create", logical_id, props))
    assert response.status == "FAILED"
    assert "was still InProgress after" in response.reason and "the job was stopped" in response.reason
    assert emulator.jobs[response.physical_resource_id].processing_job_status == "Stopping"
    assert emulator.calls["StopProcessingJob"] == 1
    # The handler acts before the framework's bare "Operation timed out".
    assert packaged_handler.wait_budget < packaged_handler.total_timeout


def test_a_redelivered_create_starts_no_second_job(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    request = event("Create", logical_id, props)
    first = provider.send(request, finish_after(emulator, 1, "Completed"))
    second = provider.send(request)
    assert first.status == second.status == "SUCCESS"
    assert first.physical_resource_id == second.physical_resource_id
    assert len(emulator.jobs) == 1
    assert emulator.calls["CreateProcessingJob"] == 1


def test_a_create_never_reuses_the_name_of_an_earlier_deployment(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    first = provider.send(event("Create", logical_id, props), finish_after(emulator, 1, "Completed"))
    provider.send(event("Delete", logical_id, props, physical_resource_id=first.physical_resource_id))
    second = provider.send(event("Create", logical_id, props), finish_after(emulator, 1, "Completed"))
    assert second.status == "SUCCESS", second.reason
    assert second.physical_resource_id != first.physical_resource_id
    assert len(emulator.jobs) == 2


def test_delete_stops_a_running_job(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    created = provider.handler.on_event(event("Create", logical_id, props))
    name = created["PhysicalResourceId"]
    assert emulator.running() == [name]
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=name))
    assert response.status == "SUCCESS"
    assert emulator.jobs[name].processing_job_status == "Stopped"


def test_delete_of_a_completed_job_only_describes_it(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    name = provider.send(
        event("Create", logical_id, props), finish_after(emulator, 1, "Completed")
    ).physical_resource_id
    emulator.calls.clear()
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=name))
    assert response.status == "SUCCESS"
    assert dict(emulator.calls) == {"DescribeProcessingJob": 1}
    assert emulator.jobs[name].processing_job_status == "Completed"


def test_delete_of_a_job_that_no_longer_exists_succeeds(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    missing = props["JobNamePrefix"] + "-0123456789"
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=missing))
    assert response.status == "SUCCESS"


def test_delete_with_a_physical_id_cloudformation_invented_still_stops_the_job_the_resource_started(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    name = provider.handler.on_event(event("Create", logical_id, props))["PhysicalResourceId"]
    invented = f"TestStack-{logical_id}-1A2B3C4D5E6F"
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=invented))
    assert response.status == "SUCCESS"
    assert emulator.jobs[name].processing_job_status == "Stopped"


def test_delete_after_a_failed_create_calls_nothing(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=CREATE_FAILED_MARKER))
    assert response.status == "SUCCESS"
    assert sum(emulator.calls.values()) == 0


def test_update_that_changes_the_request_runs_a_new_job_and_the_old_ones_delete_stops_it_if_running(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    old = provider.handler.on_event(event("Create", logical_id, props))["PhysicalResourceId"]  # still running
    changed = copy.deepcopy(props)
    changed["Request"]["AppSpecification"]["ContainerArguments"] = ["--epochs", "3"]
    update = event("Update", logical_id, changed, physical_resource_id=old, old_properties=props)
    response = provider.send(update, finish_after(emulator, 2, "Completed"))
    assert response.status == "SUCCESS", response.reason
    new = response.physical_resource_id
    assert new != old
    assert emulator.jobs[new].app_specification["ContainerArguments"] == ["--epochs", "3"]
    assert emulator.jobs[old].processing_job_status == "InProgress"  # CloudFormation deletes it after the update
    provider.send(event("Delete", logical_id, props, physical_resource_id=old))
    assert emulator.jobs[old].processing_job_status == "Stopped"
    assert emulator.jobs[new].processing_job_status == "Completed"


def test_update_that_leaves_the_request_unchanged_starts_nothing(
    provider: Provider, emulator: SageMakerEmulator, job: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = job
    name = provider.send(
        event("Create", logical_id, props), finish_after(emulator, 1, "Completed")
    ).physical_resource_id
    new_provider = {**props, "ServiceToken": props["ServiceToken"] + "-v2"}
    response = provider.send(event("Update", logical_id, new_provider, physical_resource_id=name, old_properties=props))
    assert response.status == "SUCCESS"
    assert response.physical_resource_id == name
    assert response.data["ProcessingJobStatus"] == "Completed"
    assert emulator.calls["CreateProcessingJob"] == 1


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


def test_the_fake_clock_keeps_a_simulated_hour_fast(clock: FakeClock) -> None:
    start = clock()
    clock.advance(3600)
    assert clock() - start == 3600

"""The deploy lifecycle, offline: synthesized stacks replayed as CloudFormation would, with faults.

Each scenario deploys a synthesized template through the lifecycle harness (CloudFormation rules, the Provider
framework's waiter on a fake clock, the packaged handler) into moto over HTTP, and asserts what SageMaker and
CloudFormation end up with.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from datetime import datetime
from typing import Any

import pytest

from cfn import Provider, delivered_properties, event, job_resources
from emulator import Outcome, SageMakerEmulator
from harness import (
    SCENARIOS,
    DeployedStack,
    consumer,
    describe,
    member,
    prefix_of,
    producer,
    waves,
    with_arguments,
    with_output_suffix,
)


def _deployed(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> tuple[DeployedStack, dict[str, str]]:
    """The stack created, every job completing at its first Describe; and its physical ids then."""
    emulator.plan(Outcome("Completed", after_describes=1))
    stack = DeployedStack(provider, template)
    assert stack.deploy().ok
    return stack, dict(stack.physical)


@pytest.fixture
def pipeline(synthesized, kind) -> dict[str, Any]:
    """The kind's chain of two jobs: a producer, and a consumer of its output."""
    return synthesized.templates[SCENARIOS[kind.resource_type].chain]


def test_01_create_completes_with_attributes_matching_describe_and_one_job_per_resource(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    emulator.plan(Outcome("Completed", after_describes=3))
    stack = DeployedStack(provider, pipeline)
    outcome = stack.deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert [len(w) for w in waves(pipeline)] == [1, 1]  # the consumer waits for the producer
    assert len(emulator.jobs) == 2
    for logical_id, data in stack.attributes.items():
        described = describe(kind, stack.physical[logical_id])
        assert described[kind.status_field] == "Completed"
        # Every attribute is the description's member (nested ones by their dotted path), as a string.
        assert set(kind.attributes) <= set(data)
        for key in kind.attributes:
            value = member(described, tuple(key.split(".")), None)
            expected = value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)
            assert data[key] == expected, key
    # The consumer received the location the producer wrote to, once the producer had completed.
    scenario = SCENARIOS[kind.resource_type]
    prep, evaluate = producer(pipeline), consumer(pipeline)
    consumed = member(describe(kind, stack.physical[evaluate]), scenario.consumed)
    assert consumed == member(describe(kind, stack.physical[prep]), scenario.produced)
    assert consumed.startswith("s3://")


def test_02_a_create_event_delivered_twice_still_makes_one_job(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    emulator.plan(Outcome("Completed", after_describes=2))
    logical_id = producer(pipeline)
    request = event("Create", logical_id, delivered_properties(pipeline, logical_id))
    first = provider.send(request)
    retried = provider.send(request)  # Lambda's retry of the same asynchronous invocation
    assert first.status == retried.status == "SUCCESS"
    assert first.physical_resource_id == retried.physical_resource_id
    assert len(emulator.jobs) == 1  # the retry's CreateProcessingJob was refused (name in use) and the job adopted


def test_03_a_failed_job_fails_the_deploy_with_its_reason_within_4096_bytes_and_rolls_back(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    failure = "ClientError: " + "f" * (1024 - len("ClientError: "))
    scenario = SCENARIOS[kind.resource_type]
    emulator.plan(Outcome("Failed", after_describes=2, failure_reason=failure, **scenario.detail))
    stack = DeployedStack(provider, pipeline)
    outcome = stack.deploy()

    assert outcome.status == "ROLLBACK_COMPLETE"
    prep = producer(pipeline)
    name = outcome.responses[prep][0].physical_resource_id
    assert f"{kind.noun} {name} failed" in outcome.reason
    assert failure in outcome.reason and scenario.detail_text in outcome.reason
    assert "console.aws.amazon.com/cloudwatch" in outcome.reason
    request = event("Create", prep, stack.properties[prep])
    assert len(outcome.responses[prep][0].body(request)) < 4096
    assert consumer(pipeline) not in outcome.responses  # never started
    assert emulator.running() == []


def test_04_a_job_stopped_by_someone_else_fails_the_deploy_saying_so(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    emulator.plan(Outcome("Stopped", after_describes=4))
    outcome = DeployedStack(provider, pipeline).deploy()
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert "was stopped before it completed" in outcome.reason


def test_05_when_the_wait_budget_runs_out_the_deploy_fails_clearly_and_the_job_is_stopped(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], packaged_handler, kind
) -> None:
    outcome = DeployedStack(provider, pipeline).deploy()  # no plan: the job never ends

    assert outcome.status == "ROLLBACK_COMPLETE"
    assert "was still InProgress after 30" in outcome.reason and "the job was stopped" in outcome.reason
    assert "Operation timed out" not in outcome.reason
    assert emulator.running() == []
    [name] = emulator.jobs
    described = describe(kind, name)
    assert described[kind.status_field] == "Stopped"
    ran = emulator.ended_at(name).timestamp() - described["CreationTime"].timestamp()
    assert ran <= packaged_handler.total_timeout


def test_06_delete_stops_a_running_job_and_only_describes_a_finished_one(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    prep = producer(pipeline)
    props = delivered_properties(pipeline, prep)
    running = provider.handler.on_event(event("Create", prep, props))["PhysicalResourceId"]
    assert provider.send(event("Delete", prep, props, physical_resource_id=running)).status == "SUCCESS"
    assert emulator.status(running) == "Stopped"

    emulator.plan(Outcome("Completed", after_describes=1))
    finished = provider.send(event("Create", prep, props)).physical_resource_id
    emulator.calls.clear()
    assert provider.send(event("Delete", prep, props, physical_resource_id=finished)).status == "SUCCESS"
    assert dict(emulator.calls) == {kind.describe: 1}


def test_06b_delete_waits_until_a_stopped_job_has_stopped_so_its_role_and_network_outlive_it(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    prep = producer(pipeline)
    props = delivered_properties(pipeline, prep)
    running = provider.handler.on_event(event("Create", prep, props))["PhysicalResourceId"]
    emulator.stop_takes = 150
    response = provider.send(event("Delete", prep, props, physical_resource_id=running))
    assert response.status == "SUCCESS"
    assert response.polls >= 6  # 150 s of Stopping at one poll every 30 s
    assert emulator.status(running) == "Stopped"


def test_06c_delete_succeeds_even_when_sagemaker_cannot_be_reached(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    prep = producer(pipeline)
    props = delivered_properties(pipeline, prep)
    running = provider.handler.on_event(event("Create", prep, props))["PhysicalResourceId"]
    emulator.fail_next(kind.describe, "InternalFailure", "We encountered an internal error", times=50)
    response = provider.send(event("Delete", prep, props, physical_resource_id=running))
    assert response.status == "SUCCESS"


def test_07_delete_with_an_invented_physical_id_still_stops_the_job_the_resource_started(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    prep = producer(pipeline)
    props = delivered_properties(pipeline, prep)
    # CloudFormation gave up on the create while it waited (stack cancelled, or its own timeout) ...
    waiter = provider.start(event("Create", prep, props))
    waiter.poll()
    started = waiter.physical
    # ... and deletes the resource under a physical id it made up.
    response = provider.send(event("Delete", prep, props, physical_resource_id=f"{prep}-{'X' * 12}"))
    assert response.status == "SUCCESS"
    assert emulator.status(started) == "Stopped"
    assert emulator.running() == []


def test_08_delete_of_a_job_that_no_longer_exists_succeeds(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    prep = producer(pipeline)
    props = delivered_properties(pipeline, prep)
    gone = prefix_of(pipeline, producer(pipeline)) + "-0123456789"
    assert provider.send(event("Delete", prep, props, physical_resource_id=gone)).status == "SUCCESS"


def test_09_an_update_that_changes_the_request_runs_a_new_job_and_cleanup_stops_the_old_one_if_running(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    stack, _ = _deployed(provider, emulator, pipeline)
    prep = producer(pipeline)
    old = stack.physical[prep]
    # The old job still runs when CloudFormation deletes it (as with a job the deploy does not wait for).
    emulator.set_status(old, "InProgress")
    emulator.plan(Outcome("Completed", runs_for=10**9), name_contains=old)

    outcome = stack.update(with_arguments(pipeline, producer(pipeline), ["--fold", "2"]))

    assert outcome.status == "UPDATE_COMPLETE", outcome.reason
    new = stack.physical[prep]
    assert new != old
    assert member(describe(kind, new), SCENARIOS[kind.resource_type].arguments) == ["--fold", "2"]
    assert emulator.status(old) == "Stopped"
    # The evaluation reads the preprocessing output: its upstream ran again, so it ran again too.
    evaluate = consumer(pipeline)
    assert [r.status for r in outcome.responses[evaluate]] == ["SUCCESS", "SUCCESS"]  # its update, then cleanup
    assert emulator.calls[kind.create] == 4


def test_10_an_update_that_leaves_the_request_unchanged_runs_nothing(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    stack, before = _deployed(provider, emulator, pipeline)
    new_provider = copy.deepcopy(pipeline)
    for resource in job_resources(new_provider).values():
        resource["Properties"]["ServiceToken"] = {"Fn::GetAtt": ["NewProviderOnEvent", "Arn"]}
    new_provider["Resources"]["NewProviderOnEvent"] = {"Type": "AWS::Lambda::Function", "Properties": {}}

    outcome = stack.update(new_provider)

    assert outcome.status == "UPDATE_COMPLETE"
    assert set(outcome.responses) == set(before)  # every resource received an Update ...
    assert stack.physical == before  # ... and kept its job
    assert emulator.calls[kind.create] == 2


def _as_join(value: Any) -> Any:
    """``value`` with each ``Fn::Sub`` string written as the ``Fn::Join`` it stands for (the form of templates
    before the library wrote ``Fn::Sub``)."""
    if isinstance(value, list):
        return [_as_join(v) for v in value]
    if not isinstance(value, dict):
        return value
    if list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
        parts: list[Any] = []
        for text, name in re.findall(r"([^$]*(?:\$(?!\{)[^$]*)*)(?:\$\{([^}]*)\})?", value["Fn::Sub"]):
            parts += [text] if text else []
            if name:
                logical, _, attribute = name.partition(".")
                ref = {"Fn::GetAtt": [logical, attribute]} if attribute and "::" not in name else {"Ref": name}
                parts.append(ref)
        return {"Fn::Join": ["", parts]}
    return {k: _as_join(v) for k, v in value.items()}


def test_10b_an_upgrade_from_requests_written_with_joins_runs_nothing(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    """A stack deployed by a version of the library that wrote the request's S3 URIs as Fn::Join, updated to
    Fn::Sub: the same resolved request, so each job stays what it is."""
    assert "Fn::Sub" in json.dumps([r["Properties"]["Request"] for r in job_resources(pipeline).values()])
    joined = copy.deepcopy(pipeline)
    for resource in job_resources(joined).values():
        resource["Properties"]["Request"] = _as_join(resource["Properties"]["Request"])
    assert "Fn::Sub" not in json.dumps([r["Properties"]["Request"] for r in job_resources(joined).values()])
    stack, before = _deployed(provider, emulator, joined)

    outcome = stack.update(pipeline)

    assert outcome.status == "UPDATE_COMPLETE"
    assert stack.physical == before
    assert emulator.calls[kind.create] == 2


def test_11_the_rollback_of_a_failed_update_ends_consistent_with_no_job_running(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    stack, before = _deployed(provider, emulator, pipeline)
    emulator.plan(Outcome("Failed", after_describes=2, failure_reason="OOM"), name_contains="")

    outcome = stack.update(with_arguments(pipeline, producer(pipeline), ["--bad"]))

    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "FailureReason: OOM" in outcome.reason
    prep = producer(pipeline)
    rollback = outcome.responses[prep][-1]
    assert rollback.status == "SUCCESS" and rollback.physical_resource_id == before[prep]
    assert stack.physical == before
    assert emulator.running() == []
    assert emulator.calls[kind.create] == 3  # the failed update's job only: the rollback re-ran nothing


def _replace_then_fail_elsewhere(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], changed: dict[str, Any]
) -> tuple[dict[str, str], Any, DeployedStack]:
    """Deploy, then an update that replaces the preprocessing job (it completes) and fails on the evaluation."""
    stack, before = _deployed(provider, emulator, pipeline)
    emulator.plan(Outcome("Failed", after_describes=1, failure_reason="bad"), prefix_of(pipeline, consumer(pipeline)))
    outcome = stack.update(with_arguments(changed, consumer(pipeline), ["--v2"]))
    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    return before, outcome, stack


def test_11c_the_rollback_of_a_replacement_that_wrote_elsewhere_returns_to_the_old_job(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    changed = with_output_suffix(pipeline, producer(pipeline), "/prepared/v2/train/")
    before, outcome, stack = _replace_then_fail_elsewhere(provider, emulator, pipeline, changed)

    prep = producer(pipeline)
    assert outcome.responses[prep][0].physical_resource_id != before[prep]  # the update replaced the job ...
    assert outcome.responses[prep][1].physical_resource_id == before[prep]  # ... and the rollback returned to it
    assert stack.physical == before
    assert emulator.calls[kind.create] == 4  # two deployed, two updated: the rollback re-ran nothing
    assert emulator.running() == []


def test_11d_the_rollback_of_a_replacement_that_wrote_over_the_old_outputs_runs_the_old_request_again(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    changed = with_arguments(pipeline, producer(pipeline), ["--v2"])  # same output location as before
    before, outcome, stack = _replace_then_fail_elsewhere(provider, emulator, pipeline, changed)

    prep = producer(pipeline)
    rerun = outcome.responses[prep][1]
    replacing = outcome.responses[prep][0].physical_resource_id
    assert rerun.status == "SUCCESS" and rerun.physical_resource_id not in (before[prep], replacing)
    # The old request, run again: the same digest of the request and the same arguments as the old job.
    digest = "cdk-processing:request-digest"
    assert emulator.tags(rerun.physical_resource_id)[digest] == emulator.tags(before[prep])[digest]
    arguments = SCENARIOS[kind.resource_type].arguments
    rerun_arguments = member(describe(kind, rerun.physical_resource_id), arguments, None)
    assert rerun_arguments == member(describe(kind, before[prep]), arguments, None) != ["--v2"]
    assert stack.physical[prep] == rerun.physical_resource_id
    assert emulator.running() == []


def test_11b_the_rollback_of_an_update_that_timed_out_stops_the_new_job(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    stack, _ = _deployed(provider, emulator, pipeline)
    prep = producer(pipeline)
    emulator.plan(Outcome("Completed", runs_for=10**6), name_contains=prefix_of(pipeline, producer(pipeline)))

    outcome = stack.update(with_arguments(pipeline, producer(pipeline), ["--slow"]))

    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert emulator.running() == []
    assert emulator.status(stack.physical[prep]) == "Completed"


@pytest.mark.parametrize("call", ["create", "describe"])
def test_12_throttling_several_times_in_a_row_is_ridden_out(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], call: str, kind
) -> None:
    operation = getattr(kind, call)
    emulator.plan(Outcome("Completed", after_describes=2))
    emulator.fail_next(operation, "ThrottlingException", "Rate exceeded", times=4)
    outcome = DeployedStack(provider, pipeline).deploy()
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert len(emulator.jobs) == 2
    assert emulator.calls[operation] >= 4 + (2 if call == "create" else 4)


@pytest.mark.parametrize(
    "code,message",
    [
        ("ResourceLimitExceeded", "The account-level service limit 'ml.m5.xlarge for processing job usage' is 4"),
        ("ValidationException", "Instance type ml.m5.xlarge is not supported in this region"),
    ],
)
def test_13_a_create_the_service_refuses_fails_the_deploy_at_once_with_its_message(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], code: str, message: str, kind
) -> None:
    emulator.fail_next(kind.create, code, message)
    outcome = DeployedStack(provider, pipeline).deploy()
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert message in outcome.reason
    assert emulator.calls[kind.create] == 1  # no retry of a refusal
    assert emulator.jobs == {}


def test_13b_a_role_iam_has_not_propagated_yet_is_retried_until_sagemaker_can_assume_it(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], kind
) -> None:
    emulator.plan(Outcome("Completed", after_describes=1))
    message = "Could not assume role arn:aws:iam::123456789012:role/cdk-processing/pipeline-37e1/PrepRole"
    emulator.fail_next(kind.create, "ValidationException", message, times=3)
    outcome = DeployedStack(provider, pipeline).deploy()
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert emulator.calls[kind.create] == 5  # three refusals, then the two jobs


def test_13c_a_role_that_never_becomes_assumable_fails_the_deploy_with_the_services_message(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any], packaged_handler, kind
) -> None:
    message = "Could not assume role arn:aws:iam::123456789012:role/ml-eval"
    emulator.fail_next(kind.create, "ValidationException", message, times=100)
    start = provider.clock()
    outcome = DeployedStack(provider, pipeline).deploy()
    assert outcome.status == "ROLLBACK_COMPLETE"
    assert message in outcome.reason
    assert provider.clock() - start <= sys.modules["budgets"].ROLE_PROPAGATION_SECONDS


def test_14_fifty_jobs_run_concurrently_and_all_complete(
    provider: Provider, emulator: SageMakerEmulator, many_jobs_template: dict[str, Any], packaged_handler
) -> None:
    template = many_jobs_template
    for i, resource in enumerate(job_resources(template).values()):
        emulator.plan(
            Outcome("Completed", runs_for=120 + 40 * i), name_contains=resource["Properties"]["JobNamePrefix"]
        )
    start = provider.clock()
    stack = DeployedStack(provider, template)
    outcome = stack.deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert len(waves(template)) == 1
    jobs = emulator.jobs.values()
    assert len(jobs) == 50 and all(j.processing_job_status == "Completed" for j in jobs)
    job_hours = sum(j.processing_end_time.timestamp() - j.creation_time.timestamp() for j in jobs) / 3600
    describes = emulator.calls["DescribeProcessingJob"]
    per_job_hour = describes / job_hours
    seconds = provider.clock() - start
    print(
        f"\nscenario 14: {describes} DescribeProcessingJob calls for 50 jobs, {job_hours:.1f} job-hours waited, "
        f"{per_job_hour:.0f} calls per job-hour, {describes / seconds:.2f} calls/s at the peak, "
        f"{seconds / 60:.0f} simulated minutes"
    )
    # One call per query interval while a job runs, and at most three more per job: the existence check before
    # CreateProcessingJob, the immediate first poll and the poll that sees it finished.
    assert describes <= job_hours * 3600 / packaged_handler.query_interval + 3 * 50
    assert describes / seconds < 2.0  # well under SageMaker's Describe* rate


def test_15_destroy_and_redeploy_does_not_collide_with_the_old_jobs_names(
    provider: Provider, emulator: SageMakerEmulator, pipeline: dict[str, Any]
) -> None:
    stack, _ = _deployed(provider, emulator, pipeline)
    first = set(stack.physical.values())
    assert stack.destroy().status == "DELETE_COMPLETE"
    again = DeployedStack(provider, pipeline)
    outcome = again.deploy()
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert not first & set(again.physical.values())
    assert len(emulator.jobs) == 4


def test_the_harness_delivers_properties_as_cloudformation_does(pipeline: dict[str, Any], kind) -> None:
    props = delivered_properties(pipeline, producer(pipeline))
    text = json.dumps(props)
    assert all(scalar in text for scalar in SCENARIOS[kind.resource_type].delivered), text
    assert "Fn::" not in text and '"Ref"' not in text

"""Faults of the deploy lifecycle, as an adversary would bring them: each scenario runs the packaged handler behind
the Provider framework's port (its markers, response bodies and Lambda timeouts) against moto over HTTP, with the
emulator's fault layers (lost answers, outages, resets, hangs, eventual consistency), and asserts that nothing is
lost and nothing orphaned: every job this resource may have started is known to CloudFormation or stopped, no job
of anyone else is touched, and every response fits CloudFormation's 4096 bytes.

The numbers refer to the faults of issue 12.
"""

from __future__ import annotations

import copy
import sys
import types
import uuid
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from botocore import xform_name

from cdk_processing import ContainerImage, ProcessingJob, ProcessingOutput
from cdk_processing.handler import kinds
from cfn import (
    CREATE_FAILED_MARKER,
    FakeClock,
    Provider,
    Waiter,
    delivered_properties,
    drive,
    event,
    job_resources,
)
from emulator import ACCOUNT, Outcome, SageMakerEmulator
from harness import SCENARIOS, DeployedStack, fixed_name_job, producer

# The longest ids CloudFormation sends: a 128-character stack name in the longest partition and Region names, and
# a 255-character logical id.
LONG_STACK_ID = (
    f"arn:aws-us-gov:cloudformation:us-gov-west-1:{ACCOUNT}:stack/{'S' * 128}/{uuid.UUID(int=9)}"  # 228 characters
)
LONG_LOGICAL_ID = "L" * 255
ROLE_NOT_ASSUMABLE = "Could not assume role arn:aws:iam::123456789012:role/cdk-processing/pipeline-37e1/PrepRole"


@pytest.fixture
def pipeline(synthesized, kind) -> dict[str, Any]:
    """The kind's chain of two jobs: a producer, and a consumer of its output."""
    return synthesized.templates[SCENARIOS[kind.resource_type].chain]


@pytest.fixture
def prep(pipeline) -> tuple[str, dict[str, Any]]:
    """The producer of the chain: its logical id and delivered properties."""
    logical_id = producer(pipeline)
    return logical_id, delivered_properties(pipeline, logical_id)


def sagemaker() -> Any:
    return boto3.client("sagemaker")


def calls_module() -> types.ModuleType:
    return sys.modules["calls"]


# -- 1. onEvent fails or times out after CreateProcessingJob succeeded -----------------------------------------


def test_1a_a_create_whose_answer_was_lost_finds_its_job_by_name_and_runs_one_job(
    provider: Provider, emulator: SageMakerEmulator, prep, kind
) -> None:
    logical_id, props = prep
    emulator.plan(Outcome("Completed", after_describes=2))
    emulator.lose_answers(kind.create)  # the job is created; the answer is an HTTP 500
    emulator.visible_after = 30  # ... and the job shows only half a minute later

    response = provider.send(event("Create", logical_id, props))

    assert response.status == "SUCCESS", response.reason
    [name] = emulator.jobs
    assert response.physical_resource_id == name
    assert emulator.calls[kind.create] == 2  # the retry met the name in use, and adopted the job
    assert emulator.status(name) == "Completed"


def test_1b_when_sagemaker_stops_answering_after_the_create_cloudformation_still_gets_the_jobs_name(
    provider: Provider, emulator: SageMakerEmulator, prep, kind
) -> None:
    logical_id, props = prep
    emulator.plan(Outcome("Completed", after_describes=2))
    emulator.lose_answers(kind.create)
    start = provider.clock()
    emulator.outage("unavailable", start, start + 600)  # every call, for ten minutes: longer than onEvent may run

    response = provider.send(event("Create", logical_id, props))

    [name] = emulator.jobs
    assert response.physical_resource_id == name != CREATE_FAILED_MARKER
    assert response.status == "SUCCESS", response.reason  # the polls found the job once SageMaker answered again
    assert emulator.faulted[kind.create] >= 2


def test_1c_a_create_refused_after_an_attempt_whose_answer_was_lost_keeps_the_job_the_attempt_made(
    provider: Provider, emulator: SageMakerEmulator, prep, kind
) -> None:
    logical_id, props = prep
    emulator.plan(Outcome("Completed", after_describes=2))
    emulator.lose_answers(kind.create)
    emulator.visible_after = 60
    # The job the lost attempt made counts against the account's limit: the retry is refused for that.
    emulator.fail_next(kind.create, "ResourceLimitExceeded", "The account-level service limit is 1")

    response = provider.send(event("Create", logical_id, props))

    [name] = emulator.jobs
    assert response.physical_resource_id == name  # not the marker whose Delete never reaches the handler
    assert response.status == "SUCCESS", response.reason


def test_1d_a_create_that_would_outlast_its_lambda_never_leaves_a_job_behind_a_marker(
    provider: Provider, emulator: SageMakerEmulator, pipeline, packaged_handler, kind
) -> None:
    """Every attempt hangs for a read timeout and is reset, for longer than the function may run."""
    emulator.plan(Outcome("Completed", after_describes=1))
    emulator.lose_answers(kind.create)
    start = provider.clock()
    emulator.hang_seconds = sys.modules["budgets"].ATTEMPT_SECONDS
    emulator.outage("hang", start, start + 2 * packaged_handler.timeouts["OnEvent"])

    outcome = DeployedStack(provider, pipeline).deploy()

    on_event = [seconds for function, seconds in provider.invocations if function == "OnEvent"]
    assert max(on_event) <= packaged_handler.timeouts["OnEvent"] / 2
    prep = producer(pipeline)
    assert all(r.physical_resource_id != CREATE_FAILED_MARKER for r in outcome.responses[prep])
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert emulator.running() == []


def test_1e_the_harness_ends_a_function_at_its_timeout_as_lambda_does(prep) -> None:
    """The check behind 1d: a handler that outlasts its timeout gets the framework's CREATE_FAILED marker."""
    logical_id, props = prep
    clock = FakeClock()
    slow = types.SimpleNamespace(on_event=lambda event, context: clock.sleep(281), is_complete=None)
    response = Provider(slow, clock, 30, 3300, {"OnEvent": 280}).send(event("Create", logical_id, props))
    assert response.status == "FAILED"
    assert response.physical_resource_id == CREATE_FAILED_MARKER
    assert "Task timed out after 280.00 seconds" in response.reason


# -- 2. Eventual consistency ------------------------------------------------------------------------------------


def test_2_a_job_not_visible_yet_after_its_creation_is_waited_for(
    provider: Provider, emulator: SageMakerEmulator, pipeline
) -> None:
    emulator.plan(Outcome("Completed", runs_for=300))
    emulator.visible_after = 90  # three polls answer "not found"

    outcome = DeployedStack(provider, pipeline).deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert len(emulator.jobs) == 2 and emulator.running() == []


def test_2b_a_job_that_never_appears_fails_the_deploy_after_the_visibility_window(
    provider: Provider, emulator: SageMakerEmulator, prep, packaged_handler
) -> None:
    logical_id, props = prep
    emulator.visible_after = 10**6
    response = provider.send(event("Create", logical_id, props))
    assert response.status == "FAILED"
    assert "does not exist" in response.reason
    assert response.polls * provider.query_interval >= sys.modules["budgets"].VISIBILITY_SECONDS


# -- 3. Delete racing a create ---------------------------------------------------------------------------------


def test_3_a_delete_that_answers_while_the_create_is_still_retrying_stops_the_job_it_then_starts(
    provider: Provider, emulator: SageMakerEmulator, prep, clock: FakeClock, monkeypatch, kind
) -> None:
    logical_id, props = prep
    emulator.fail_next(kind.create, "ValidationException", ROLE_NOT_ASSUMABLE, times=2)
    seen: dict[str, Any] = {}

    def sleep(seconds: float) -> None:
        if "delete" not in seen:
            # CloudFormation gave up on the create and deletes the resource under an id it made up, while onEvent
            # waits to retry the role.
            invented = f"{logical_id}-{'X' * 12}"
            seen["delete"] = provider.start(event("Delete", logical_id, props, physical_resource_id=invented))
            seen["jobs_when_deleted"] = len(emulator.jobs)
        clock.sleep(seconds)

    monkeypatch.setattr(calls_module(), "sleep", sleep)
    create = provider.start(event("Create", logical_id, props))
    delete: Waiter = seen["delete"]
    assert seen["jobs_when_deleted"] == 0 and len(emulator.jobs) == 1  # the job started after the delete began

    drive(provider, [create, delete])

    assert delete.response is not None and delete.response.status == "SUCCESS"
    assert emulator.running() == []
    [job] = emulator.jobs
    assert emulator.status(job) == "Stopped"


# -- 4. Tags removed on update ---------------------------------------------------------------------------------


def test_4_an_update_that_removes_changes_and_adds_tags_brings_the_job_to_them_without_a_new_run(
    provider: Provider, emulator: SageMakerEmulator, synthesized, kind
) -> None:
    template = synthesized.templates[SCENARIOS[kind.resource_type].fixed]
    emulator.plan(Outcome("Completed", after_describes=1))
    stack = DeployedStack(provider, template)
    assert stack.deploy().ok
    name = template["Resources"][fixed_name_job(template)]["Properties"]["Request"][kind.name_field]
    deployed = set(emulator.jobs)
    arn = emulator.jobs[name].arn
    sagemaker().add_tags(ResourceArn=arn, Tags=[{"Key": "added-by-hand", "Value": "yes"}])
    changed = copy.deepcopy(template)
    request = changed["Resources"][fixed_name_job(template)]["Properties"]["Request"]
    before = {t["Key"]: t["Value"] for t in request["Tags"]}
    assert {"team", "owner"} <= set(before)
    request["Tags"] = [{"Key": "owner", "Value": "platform"}, {"Key": "cost-center", "Value": "42"}]

    outcome = stack.update(changed)

    assert outcome.status == "UPDATE_COMPLETE", outcome.reason
    assert set(emulator.jobs) == deployed  # re-tagged, not re-run
    tags = emulator.tags(name)
    assert "team" not in tags  # removed from the stack: removed from the job
    assert tags["owner"] == "platform" and tags["cost-center"] == "42"
    assert tags["added-by-hand"] == "yes"  # never the stack's: left alone
    assert {"cdk-processing:request-id", "cdk-processing:request-digest", "cdk-processing:resource"} <= set(tags)


# -- 5. Ownership ----------------------------------------------------------------------------------------------


def _someone_elses_job(kind: Any, name: str, tags: list[dict[str, str]]) -> None:
    create = getattr(sagemaker(), xform_name(kind.create))
    request = SCENARIOS[kind.resource_type].someone_elses
    create(**{kind.name_field: name}, **request, Tags=tags or [{"Key": "team", "Value": "theirs"}])


OTHER_CDK_PROCESSING_JOB = [
    {"Key": "cdk-processing:request-id", "Value": str(uuid.uuid4())},
    {"Key": "cdk-processing:request-digest", "Value": "0" * 32},
    {"Key": "cdk-processing:resource", "Value": "f" * 32},
]


@pytest.mark.parametrize("their_tags", [[], OTHER_CDK_PROCESSING_JOB], ids=["another-team", "another-stack"])
@pytest.mark.parametrize("physical_id", ["invented", "the-fixed-name"])
def test_5_a_delete_never_stops_a_job_of_the_same_fixed_name_that_this_resource_did_not_create(
    provider: Provider, emulator: SageMakerEmulator, synthesized, their_tags, physical_id, kind
) -> None:
    template = synthesized.templates[SCENARIOS[kind.resource_type].fixed]
    logical_id = fixed_name_job(template)
    props = delivered_properties(template, logical_id)
    fixed = props["Request"][kind.name_field]
    _someone_elses_job(kind, fixed, their_tags)

    created = provider.send(event("Create", logical_id, props))
    assert created.status == "FAILED" and "did not create it" in created.reason
    named = fixed if physical_id == "the-fixed-name" else f"{logical_id}-{'X' * 12}"
    deleted = provider.send(event("Delete", logical_id, props, physical_resource_id=named))

    assert deleted.status == "SUCCESS"
    assert emulator.status(fixed) == "InProgress"
    assert emulator.calls[kind.stop] == 0


# -- 6. Delete without a physical id ---------------------------------------------------------------------------


@pytest.mark.parametrize("physical_id", [None, ""], ids=["absent", "empty"])
def test_6_a_delete_without_a_physical_id_succeeds_and_stops_the_resources_job(
    provider: Provider, emulator: SageMakerEmulator, prep, physical_id
) -> None:
    logical_id, props = prep
    started = provider.handler.on_event(event("Create", logical_id, props))["PhysicalResourceId"]
    response = provider.send(event("Delete", logical_id, props, physical_resource_id=physical_id))
    assert response.status == "SUCCESS", response.reason
    assert emulator.status(started) == "Stopped"


# -- 7. Response size ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ten_long_outputs() -> dict[str, Any]:
    """A job with ten outputs whose S3 URIs are 1024 characters long (the model's longest)."""
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Wide")
    outputs = []
    for i in range(10):
        uri = f"s3://wide-output-bucket/{i}/"
        outputs.append(ProcessingOutput.to_s3_uri(f"out{i}", uri + "k" * (1023 - len(uri)) + "/"))
    job = ProcessingJob(
        stack,
        "Wide",
        image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"),
        outputs=outputs,
    )
    cdk.CfnOutput(stack, "Last", value=job.output_uri("out9"))
    return dict(app.synth().get_stack_by_name("Wide").template)


def _long_event(request_type: str, properties: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return event(request_type, LONG_LOGICAL_ID, properties, stack_id=LONG_STACK_ID, **kwargs)


def test_7a_a_success_with_ten_1024_character_output_uris_fits_4096_bytes(
    provider: Provider, emulator: SageMakerEmulator, ten_long_outputs
) -> None:
    template = ten_long_outputs
    (logical_id,) = job_resources(template)
    props = delivered_properties(template, logical_id)
    assert all(len(o["S3Output"]["S3Uri"]) == 1024 for o in props["Request"]["ProcessingOutputConfig"]["Outputs"])
    emulator.plan(Outcome("Completed", after_describes=1, exit_message="😀" * 1024))
    request = _long_event("Create", props)

    response = provider.send(request)

    assert response.status == "SUCCESS"
    body = response.body(request)
    assert len(body) <= 4096, len(body)
    body.decode("utf-8")


def test_7b_a_create_refused_with_a_4_kb_validation_message_fails_within_4096_bytes(
    provider: Provider, emulator: SageMakerEmulator, prep, kind
) -> None:
    _, props = prep
    message = "1 validation error detected: Value '" + "x" * 3900 + "' at 'appSpecification' failed to satisfy"
    emulator.fail_next(kind.create, "ValidationException", message)
    request = _long_event("Create", props)

    response = provider.send(request)

    assert response.status == "FAILED"
    assert response.physical_resource_id == CREATE_FAILED_MARKER  # a refused create made no job
    assert kind.create in response.reason and message[:200] in response.reason
    assert len(response.body(request)) <= 4096


@pytest.mark.parametrize(
    "failure_reason,exit_message",
    [
        ("界" * 1024, "😀" * 1024),
        ('"\n\\' * 341, "\x01" * 1024),  # escapes: two bytes for a quote, six for a control character
        ("é" * 1024, ""),
    ],
    ids=["cjk-and-emoji", "json-escapes", "latin"],
)
def test_7c_a_failure_with_multibyte_texts_fits_4096_bytes(
    provider: Provider, emulator: SageMakerEmulator, prep, failure_reason, exit_message
) -> None:
    _, props = prep
    emulator.plan(
        Outcome("Failed", after_describes=1, failure_reason=failure_reason, exit_message=exit_message or None)
    )
    request = _long_event("Create", props)

    response = provider.send(request)

    assert response.status == "FAILED"
    body = response.body(request)
    assert len(body) <= 4096, len(body)
    body.decode("utf-8")
    assert f"FailureReason: {failure_reason[:100]}" in response.reason


def test_7d_every_attribute_a_template_references_is_in_the_response(
    provider: Provider, emulator: SageMakerEmulator, synthesized, example_template, prep, kind
) -> None:
    referenced: set[str] = set()

    def visit(value: Any, jobs: set[str]) -> None:
        if isinstance(value, dict):
            get_att = value.get("Fn::GetAtt")
            if isinstance(get_att, list) and get_att[0] in jobs:
                referenced.add(get_att[1])
            for item in value.values():
                visit(item, jobs)
        elif isinstance(value, list):
            for item in value:
                visit(item, jobs)

    metrics_read: list[str] = []
    for template in [*synthesized.templates.values(), example_template]:
        jobs = {k: r for k, r in job_resources(template).items() if r["Type"] == kind.resource_type}
        visit(template, set(jobs))
        metrics_read += [n for r in jobs.values() for n in r["Properties"].get(kinds.PROP_FINAL_METRICS, [])]
    logical_id, props = prep
    if metrics_read:  # a job whose final metrics the template reads says which (TrainingJob.metric_value)
        props = copy.copy(props)  # still delivered for its resource type
        props[kinds.PROP_FINAL_METRICS] = metrics_read
    emulator.plan(Outcome("Completed", after_describes=1))
    response = provider.send(event("Create", logical_id, props))
    assert referenced and response.data is not None
    assert referenced <= set(response.data), referenced - set(response.data)


# -- 8. Transient errors while waiting -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["unavailable", "reset", "hang", "throttling"])
def test_8_minutes_of_errors_on_describe_neither_fail_the_deploy_nor_stop_the_job(
    provider: Provider, emulator: SageMakerEmulator, pipeline, fault, kind
) -> None:
    emulator.plan(Outcome("Completed", runs_for=20 * 60))
    start = provider.clock()
    if fault == "throttling":
        emulator.fail_next(kind.describe, "ThrottlingException", "Rate exceeded", times=60)
    else:
        emulator.outage(fault, start + 60, start + 10 * 60, operation=kind.describe)

    outcome = DeployedStack(provider, pipeline).deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    assert emulator.calls[kind.stop] == 0
    assert all(emulator.status(job) == "Completed" for job in emulator.jobs)
    if fault == "throttling":  # all 60 refusals were met, and ridden out
        assert emulator.calls[kind.describe] > 60
    else:
        assert emulator.faulted[kind.describe] > 0


def test_8b_only_the_wait_budget_ends_a_wait_without_answers_and_the_rollback_stops_the_job(
    provider: Provider, emulator: SageMakerEmulator, prep, packaged_handler
) -> None:
    logical_id, props = prep
    start = provider.clock()
    emulator.outage("unavailable", start + 60, start + packaged_handler.wait_budget + 120)

    response = provider.send(event("Create", logical_id, props))

    assert response.status == "FAILED"
    assert "gave no answer" in response.reason and "Operation timed out" not in response.reason
    [name] = emulator.jobs
    assert response.physical_resource_id == name
    # The rollback deletes the resource under the job's name; the outage may still be on.
    deleted = provider.send(event("Delete", logical_id, props, physical_resource_id=name))
    assert deleted.status == "SUCCESS"
    assert emulator.running() == []

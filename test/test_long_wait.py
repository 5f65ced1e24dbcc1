"""The long wait and start-only modes, offline: the custom resource starts the job, EventBridge delivers the job's
state change through the rule's real input transformer to the packaged signal handler, which PUTs the signal over
HTTP to a local server standing in for the WaitCondition handle's pre-signed URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aws_cdk as cdk
import pytest

import cfn
from cdk_processing import Checkpoints, Completion, ContainerImage, ProcessingJob, ProcessingOutput, TrainingJob
from cdk_processing.handler import kinds
from cfn import Provider, cfn_lint, resolve
from emulator import Outcome, SageMakerEmulator
from harness import DeployedStack, describe

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1"


class WaitConditionEndpoint:
    """A WaitCondition's handle URL: records every signal PUT to it."""

    def __init__(self) -> None:
        signals: list[tuple[str, dict[str, Any]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signals.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.signals = signals
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[WaitConditionEndpoint]:
    server = WaitConditionEndpoint()
    saved, cfn.WAIT_HANDLE_BASE = cfn.WAIT_HANDLE_BASE, server.url
    yield server
    cfn.WAIT_HANDLE_BASE = saved
    server.stop()


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Long")
    image = ContainerImage.from_registry(IMAGE)
    ProcessingJob(
        stack, "Train", image=image, max_runtime=cdk.Duration.hours(6), outputs=[ProcessingOutput.to_bucket("m")]
    )
    ProcessingJob(stack, "Backfill", image=image, max_runtime=cdk.Duration.days(3), completion=Completion.start_only())
    return dict(app.synth().get_stack_by_name("Long").template)


def _of(template: dict[str, Any], kind: str, path: str) -> tuple[str, dict[str, Any]]:
    return next(
        (k, r)
        for k, r in template["Resources"].items()
        if r["Type"] == kind and r.get("Metadata", {}).get("aws:cdk:path", "").startswith(path)
    )


class LongWait:
    """CloudFormation's WaitCondition for the Train job of the stack ``stack`` (of ``kind``), fed by EventBridge
    through the rule's input transformer."""

    def __init__(
        self,
        template: dict[str, Any],
        provider: Provider,
        endpoint: WaitConditionEndpoint,
        stack: str = "Long",
        kind: kinds.JobKind = kinds.PROCESSING,
        job: str = "Train",
    ) -> None:
        self.template = template
        self.provider = provider
        self.endpoint = endpoint
        self.kind = kind
        handle_id, _ = _of(template, "AWS::CloudFormation::WaitConditionHandle", f"{stack}/{job}/WaitHandle")
        self.handle = resolve({"Ref": handle_id}, template)
        _, condition = _of(template, "AWS::CloudFormation::WaitCondition", f"{stack}/{job}/WaitCondition")
        self.timeout = int(condition["Properties"]["Timeout"])
        _, rule = _of(template, "AWS::Events::Rule", f"{stack}/{job}/CompletionEvents")
        self.transformer = rule["Properties"]["Targets"][0]["InputTransformer"]
        _, signal = _of(template, "AWS::Lambda::Function", f"{stack}/CdkProcessingJobProvider/Signal")
        provider.timeouts["Signal"] = float(signal["Properties"]["Timeout"])

    def deliver(self, job_name: str) -> None:
        """EventBridge: the job's state change event, through the rule's input transformer, to the signal handler."""
        detail = describe(self.kind, job_name)
        detail.pop("ResponseMetadata")
        detail = json.loads(json.dumps(detail, default=lambda v: v.isoformat() if isinstance(v, datetime) else v))
        assert self.transformer["InputPathsMap"] == {"detail": "$.detail"}
        text = resolve(self.transformer["InputTemplate"], self.template).replace("<detail>", json.dumps(detail))
        # Lambda runs the function (asynchronously for EventBridge) within its timeout.
        self.provider.invoke("Signal", self.provider.handler.on_state_change, json.loads(text))

    def signals(self) -> list[dict[str, Any]]:
        path = self.handle[len(self.endpoint.url) :]
        return [body for p, body in self.endpoint.signals if p == path]

    def outcome(self) -> str:
        """SUCCESS or FAILURE once signalled (one unique id is all Count 1 needs), else TIMEOUT."""
        unique = {s["UniqueId"]: s for s in self.signals()}
        return next(iter(unique.values()))["Status"] if unique else "TIMEOUT"


@pytest.fixture
def long_wait(template, provider, endpoint) -> LongWait:
    endpoint.signals.clear()
    return LongWait(template, provider, endpoint)


def _deploy(
    provider: Provider, template: dict[str, Any], stack_name: str = "Long", kind: kinds.JobKind = kinds.PROCESSING
) -> tuple[DeployedStack, str]:
    stack = DeployedStack(provider, template)
    outcome = stack.deploy()
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    train, _ = _of(template, kind.resource_type, f"{stack_name}/Train/")
    return stack, stack.physical[train]


def test_the_long_wait_renders_a_wait_condition_sized_from_max_runtime(long_wait: LongWait, template) -> None:
    assert long_wait.timeout == 6 * 3600 + 15 * 60
    _, train = _of(template, "Custom::SageMakerProcessingJob", "Long/Train/")
    assert train["Properties"]["Completion"] == "long"
    _of(template, "AWS::SageMaker::ProcessingJob", "Long/Backfill/")  # start-only: the native resource
    waits = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudFormation::WaitCondition"]
    assert len(waits) == 1  # start-only waits for nothing


def test_a_job_that_completes_after_five_hours_signals_success_once(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    emulator.plan(Outcome("Completed", runs_for=5 * 3600))
    _, name = _deploy(provider, template)
    assert emulator.status(name) == "InProgress"  # the custom resource did not wait
    provider.clock.advance(5 * 3600)
    long_wait.deliver(name)
    long_wait.deliver(name)  # EventBridge delivers at least once: a duplicate
    assert long_wait.outcome() == "SUCCESS"
    assert [s["UniqueId"] for s in long_wait.signals()] == [name, name]  # one unique id: signalled once


def test_a_failed_job_signals_failure_with_the_same_reason_as_a_short_job(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    emulator.plan(Outcome("Failed", runs_for=3600, failure_reason="AlgorithmError: OOM", exit_message="killed"))
    _, name = _deploy(provider, template)
    provider.clock.advance(3600)
    long_wait.deliver(name)
    [signal] = long_wait.signals()
    assert signal["Status"] == "FAILURE"
    assert f"processing job {name} failed" in signal["Reason"]
    assert "FailureReason: AlgorithmError: OOM" in signal["Reason"] and "ExitMessage: killed" in signal["Reason"]
    assert "#logStream:group=%2Faws%2Fsagemaker%2FProcessingJobs" in signal["Reason"]


def test_a_missed_event_ends_in_the_timeout_and_the_rollback_stops_the_job(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    stack, name = _deploy(provider, template)
    provider.clock.advance(long_wait.timeout)
    assert long_wait.outcome() == "TIMEOUT"  # no event came: CloudFormation fails the WaitCondition and rolls back
    stack.destroy()
    assert emulator.status(name) == "Stopped"
    assert emulator.running() == []


def test_an_event_of_another_run_does_not_signal_this_one(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    emulator.plan(Outcome("Completed", after_describes=2))
    _, name = _deploy(provider, template)
    emulator.jobs[name].tags = [t for t in emulator.jobs[name].tags if t["Key"] != "cdk-processing:wait-handle"]
    long_wait.deliver(name)
    assert long_wait.signals() == []


def test_start_only_renders_the_native_resource_from_the_same_request_with_no_lambda() -> None:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Backfills")
    job = ProcessingJob(
        stack,
        "Backfill",
        image=ContainerImage.from_registry(IMAGE),
        max_runtime=cdk.Duration.days(3),
        completion=Completion.start_only(),
        outputs=[ProcessingOutput.to_bucket("out")],
    )
    cdk.Tags.of(job).add("team", "data")
    template = app.synth().get_stack_by_name("Backfills").template
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::SageMaker::ProcessingJob") == 1
    assert "AWS::Lambda::Function" not in types and "Custom::SageMakerProcessingJob" not in types
    logical_id, native = _of(template, "AWS::SageMaker::ProcessingJob", "Backfills/Backfill/")
    properties = native["Properties"]
    assert properties["StoppingCondition"] == {"MaxRuntimeInSeconds": 3 * 86400}
    assert properties["Tags"] == [{"Key": "team", "Value": "data"}]
    assert "ProcessingJobName" not in properties  # CloudFormation names it
    assert stack.resolve(job.processing_job_status) == {"Fn::GetAtt": [logical_id, "ProcessingJobStatus"]}
    assert stack.resolve(job.processing_job_arn) == {"Fn::GetAtt": [logical_id, "ProcessingJobArn"]}
    assert cfn_lint(dict(template)) == []


def test_a_changed_request_gets_a_new_wait_condition_and_an_unchanged_one_keeps_it() -> None:
    def ids(arguments: list[str], tag: str) -> set[str]:
        app = cdk.App()
        stack = cdk.Stack(app, "Long")
        job = ProcessingJob(
            stack,
            "Train",
            image=ContainerImage.from_registry(IMAGE),
            max_runtime=cdk.Duration.hours(2),
            arguments=arguments,
        )
        cdk.Tags.of(job).add("team", tag)
        template = app.synth().get_stack_by_name("Long").template
        return {k for k, r in template["Resources"].items() if r["Type"].startswith("AWS::CloudFormation::Wait")}

    first = ids(["--a"], "x")
    assert ids(["--a"], "y") == first  # tags aside, the same request: the same (already satisfied) condition
    assert not ids(["--b"], "x") & first  # a new run: a new handle and condition, which wait again
    assert len(first) == 2


def test_the_long_wait_template_has_no_cfn_lint_errors_or_warnings(template) -> None:
    assert cfn_lint(template) == []


def test_the_native_resource_stops_its_job_on_delete_per_its_schema() -> None:
    """Start-only relies on CloudFormation's own handler to stop a running job on delete and rollback."""
    from test_cfn_lint import _processing_job_schema

    delete = _processing_job_schema()["handlers"]["delete"]["permissions"]
    assert "sagemaker:StopProcessingJob" in delete


def test_minutes_of_errors_while_signalling_are_ridden_out_and_the_condition_is_signalled_once(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    emulator.plan(Outcome("Completed", runs_for=3600))
    _, name = _deploy(provider, template)
    provider.clock.advance(3600)
    now = provider.clock()
    emulator.outage("unavailable", now, now + 5 * 60, operation="ListTags")  # five minutes of HTTP 503
    long_wait.deliver(name)
    assert emulator.faulted["ListTags"] > 3
    assert long_wait.outcome() == "SUCCESS"
    assert len(long_wait.signals()) == 1


def test_a_long_job_not_visible_yet_is_waited_for_before_the_resource_reports_it_started(
    long_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, template
) -> None:
    emulator.plan(Outcome("Completed", runs_for=3600))
    emulator.visible_after = 75
    _, name = _deploy(provider, template)
    assert emulator.status(name) == "InProgress"
    provider.clock.advance(3600)
    long_wait.deliver(name)
    assert long_wait.outcome() == "SUCCESS"


# -- Training: the long wait bounded by max_wait, and start-only through the custom resource ---------------------


@pytest.fixture(scope="module")
def training_template() -> dict[str, Any]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "LongTraining")
    image = ContainerImage.from_registry(IMAGE)
    TrainingJob(
        stack,
        "Train",
        image=image,
        max_runtime=cdk.Duration.hours(3),
        use_spot_instances=True,
        max_wait=cdk.Duration.hours(5),
        checkpoints=Checkpoints.per_run(),
    )
    TrainingJob(stack, "Backfill", image=image, max_runtime=cdk.Duration.days(3), completion=Completion.start_only())
    return dict(app.synth().get_stack_by_name("LongTraining").template)


@pytest.fixture
def training_wait(training_template, provider, endpoint) -> LongWait:
    endpoint.signals.clear()
    return LongWait(training_template, provider, endpoint, "LongTraining", kinds.TRAINING)


def test_a_spot_training_job_waits_on_a_condition_sized_from_max_wait(training_wait: LongWait, training_template):
    assert training_wait.timeout == 5 * 3600 + 15 * 60  # max_wait, not max_runtime, bounds a spot job
    _, train = _of(training_template, kinds.TRAINING.resource_type, "LongTraining/Train/")
    assert train["Properties"]["Completion"] == "long"
    # No CloudFormation type provisions a training job: start-only is the custom resource, told not to wait.
    _, backfill = _of(training_template, kinds.TRAINING.resource_type, "LongTraining/Backfill/")
    assert backfill["Properties"]["Completion"] == "start"
    assert not any(r["Type"] == "AWS::SageMaker::TrainingJob" for r in training_template["Resources"].values())


def test_a_long_training_job_signals_success_and_its_run_has_checkpoints_of_its_own(
    training_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, training_template
) -> None:
    emulator.plan(Outcome("Completed", runs_for=4 * 3600))
    _, name = _deploy(provider, training_template, "LongTraining", kinds.TRAINING)
    assert emulator.status(name) == "InProgress"  # the custom resource did not wait
    checkpoints = describe(kinds.TRAINING, name)["CheckpointConfig"]["S3Uri"]
    assert checkpoints.endswith(f"/checkpoints/{name}/")  # a prefix per run, added by the handler
    provider.clock.advance(4 * 3600)
    training_wait.deliver(name)
    training_wait.deliver(name)  # a duplicate event signals the same unique id
    assert training_wait.outcome() == "SUCCESS"
    assert {s["UniqueId"] for s in training_wait.signals()} == {name}


def test_a_failed_long_training_job_signals_failure_with_its_last_status_message(
    training_wait: LongWait, provider: Provider, emulator: SageMakerEmulator, training_template
) -> None:
    capacity = "Insufficient capacity error from EC2 while launching instances, retrying!"
    emulator.plan(
        Outcome(
            "Failed",
            runs_for=3600,
            failure_reason="CapacityError: no spot capacity",
            progress=(("Starting", capacity),),
        )
    )
    _, name = _deploy(provider, training_template, "LongTraining", kinds.TRAINING)
    provider.clock.advance(3600)
    training_wait.deliver(name)
    [signal] = training_wait.signals()
    assert signal["Status"] == "FAILURE"
    assert f"training job {name} failed" in signal["Reason"]
    assert "FailureReason: CapacityError: no spot capacity" in signal["Reason"]
    assert f"last status: Starting: {capacity}" in signal["Reason"]
    assert "#logStream:group=%2Faws%2Fsagemaker%2FTrainingJobs" in signal["Reason"]


def test_a_start_only_training_job_is_left_running_by_the_deploy_and_stopped_by_the_delete(
    provider: Provider, emulator: SageMakerEmulator, training_template
) -> None:
    stack = DeployedStack(provider, training_template)
    outcome = stack.deploy()  # no plan: the jobs run on
    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    backfill, _ = _of(training_template, kinds.TRAINING.resource_type, "LongTraining/Backfill/")
    name = stack.physical[backfill]
    assert emulator.status(name) == "InProgress"
    assert stack.attributes[backfill]["TrainingJobStatus"] == "InProgress"
    assert stack.destroy().status == "DELETE_COMPLETE"
    assert emulator.status(name) == "Stopped"
    assert emulator.running() == []


# -- A quality gate in the long wait: the signal checks the final metrics of a job that completed ---------------


@pytest.mark.parametrize(
    ("metrics", "status", "text"),
    [
        ({"validation:auc": 0.875, "validation:loss": 0.25}, "SUCCESS", "completed"),
        ({"validation:auc": 0.75, "validation:loss": 0.25}, "FAILURE", "validation:auc is 0.75, the gate "),
        ({"validation:auc": 0.875}, "FAILURE", "no final value for validation:loss < 0.5: the job reported "),
    ],
    ids=["gate met", "gate missed", "metric missing"],
)
def test_a_long_training_job_s_signal_checks_its_quality_gate(
    provider: Provider, emulator: SageMakerEmulator, endpoint, synthesized, metrics, status, text
) -> None:
    endpoint.signals.clear()
    template = synthesized.templates["training_gate"]
    gated = LongWait(template, provider, endpoint, "TrainingGate", kinds.TRAINING, job="TrainLong")
    emulator.plan(
        Outcome("Completed", after_describes=1, final_metrics={"validation:auc": 0.9, "validation:loss": 0.1})
    )
    emulator.plan(Outcome("Completed", runs_for=3600, final_metrics=metrics), name_contains="-trainlong-")
    stack = DeployedStack(provider, template)
    assert stack.deploy().ok
    long_id, _ = _of(template, kinds.TRAINING.resource_type, "TrainingGate/TrainLong/")
    name = stack.physical[long_id]
    assert emulator.status(name) == "InProgress"  # the custom resource did not wait
    provider.clock.advance(3600)
    gated.deliver(name)
    assert gated.outcome() == status
    [signal] = gated.signals()
    assert text in signal["Reason"] and name in signal["Reason"]
    # A job that completed gives each metric definition's final value (auc, loss) after its name, for metric_value.
    values = [str(metrics[m]) if m in metrics else "" for m in ("validation:auc", "validation:loss")]
    assert signal["Data"] == ("|".join([name, *values, ""]) if status == "SUCCESS" else name)

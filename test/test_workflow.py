"""Workflows (``job.as_task``, ``JobWorkflow``, ``job.schedule``, ``Completion.never()``) on the test stack "Workflow".

Each state machine of the synthesized template is executed the way Step Functions would run it, state by state: the
task's JSONata ``Arguments`` evaluated (jsonata-python, with Step Functions' ``$hash``) against an execution's input
and context, the request checked against botocore's model and created with real boto3 in the SageMaker emulator
(moto over HTTP), the job ended, its description read back as the ``.sync`` result, and the task's ``Assign``
evaluated on it for the states after it. The requests of jobs the deployment runs too are compared field by field
with their custom resource's ``Request``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import jsonata
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn

import cdk_processing
from cdk_processing import (
    Completion,
    ContainerImage,
    JobValidationError,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingInput,
    TrainingJob,
)
from cfn import resolve, role_grants
from emulator import REGION, SageMakerEmulator
from model import input_shape, validate
from stacks import IMAGE_URI, TRAIN_IMAGE_URI

STACK = "workflow"
DAY = sfn.JsonPath.string_at("$.day")
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Nightly:2026-06-01T02-00"
NAME = re.compile(r"^(?P<prefix>[a-z0-9-]+)-(?P<digest>[0-9a-f]{10})$")


def evaluate(value: Any, bindings: dict[str, Any]) -> Any:
    """``value`` with every ``{% ... %}`` string evaluated as Step Functions does, ``$hash`` included."""
    if isinstance(value, dict):
        return {k: evaluate(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, bindings) for v in value]
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        expression = jsonata.Jsonata(value[2:-2].strip())
        expression.register_lambda("hash", lambda text, algorithm: _hash(text, algorithm))
        result = expression.evaluate(None, bindings)
        assert result is not None, f"{value} is undefined"
        return result
    return value


def _hash(text: str, algorithm: str) -> str:
    assert algorithm == "SHA-256"
    return hashlib.sha256(text.encode()).hexdigest()


def machines(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's state machines' definitions, by logical id."""
    return {
        logical_id: json.loads(resolve(resource["Properties"]["DefinitionString"], template))
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine" and "waiter" not in logical_id
    }


def machine(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(d for logical_id, d in machines(template).items() if logical_id.startswith(prefix))


class Execution:
    """One execution of a state machine of job tasks, run state by state against the emulator."""

    def __init__(self, emulator: SageMakerEmulator, definition: dict[str, Any], input: dict[str, Any], id: str):
        self.emulator = emulator
        self.definition = definition
        self.input = input
        self.id = id
        self.variables: dict[str, Any] = {}
        self.arguments: dict[str, dict[str, Any]] = {}  # each state's evaluated request
        self.client = boto3.client("sagemaker", region_name=REGION, endpoint_url=emulator.endpoint)

    def context(self, state: str, retry: int = 0) -> dict[str, Any]:
        return {
            "Execution": {"Id": self.id, "Name": self.id.rsplit(":", 1)[1], "RedriveCount": 0},
            "State": {"Name": state, "EnteredTime": "2026-06-01T02:00:00.123Z", "RetryCount": retry},
        }

    def run(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each state's request, in order; each state's input is the output of the state before it."""
        name, data = self.definition["StartAt"], self.input
        while name is not None:
            state = self.definition["States"][name]
            request, data = self.run_state(name, state, data)
            yield name, request
            name = state.get("Next")

    def run_state(self, name: str, state: dict[str, Any], data: Any) -> tuple[dict[str, Any], Any]:
        assert state["QueryLanguage"] == "JSONata" and state["Type"] == "Task"
        operation = state["Resource"].rsplit(":", 1)[1].removesuffix(".sync")
        operation = operation[0].upper() + operation[1:]
        bindings = {"states": {"input": data, "context": self.context(name)}, **self.variables}
        request = evaluate(state["Arguments"], bindings)
        assert validate(request, input_shape(operation)) == [], (name, request)
        self.arguments[name] = request
        getattr(self.client, _snake(operation))(**request)
        job_name = request[operation.removeprefix("Create") + "Name"]
        self.emulator.finish(job_name, "Completed")
        result = getattr(self.client, _snake(operation.replace("Create", "Describe")))(
            **{operation.removeprefix("Create") + "Name": job_name}
        )
        result = json.loads(json.dumps(result, default=str))
        after = {"states": {"input": data, "result": result, "context": self.context(name)}, **self.variables}
        self.variables.update(evaluate(state["Assign"], after))
        return request, evaluate(state.get("Output", "{% $states.result %}"), after)


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


@pytest.fixture
def sagemaker(emulator: SageMakerEmulator) -> SageMakerEmulator:
    emulator.reset()
    return emulator


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every member where ``actual`` differs from ``expected``, by path."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            found += differences(expected.get(key), actual.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [
            d for i, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]


def deployed_request(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """The Request of a job's custom resource as CloudFormation delivers it (jobs it reads: their output's location)."""
    upstream = {
        k: {"ProcessingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/deployed"}
        for k, r in template["Resources"].items()
        if r["Type"] == "Custom::SageMakerProcessingJob"
    }
    request = resolve(template["Resources"][logical_id]["Properties"]["Request"], template, upstream)
    return json.loads(json.dumps(request))


def logical_id(template: dict[str, Any], prefix: str, resource_type: str) -> str:
    return next(k for k, r in template["Resources"].items() if k.startswith(prefix) and r["Type"] == resource_type)


# -- the same request ------------------------------------------------------------------------------------------


def test_a_task_runs_the_deploy_time_request_field_by_field(synthesized, sagemaker) -> None:
    """Refresh runs Features then Baseline: each state's request is its resource's Request, member by member, but for
    the run's own name, its own output and checkpoint folders, the output of the run before it and the arguments
    the task gives."""
    template = synthesized.templates[STACK]
    execution = Execution(sagemaker, machine(template, "RefreshStateMachine"), {}, EXECUTION)
    runs = dict(execution.run())

    features = deployed_request(template, logical_id(template, "Features", "Custom::SageMakerProcessingJob"))
    run = runs["FeaturesRun"]
    name = run["ProcessingJobName"]
    expected = copy.deepcopy(features)
    expected["ProcessingJobName"] = name
    output = expected["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    output["S3Uri"] = output["S3Uri"] + name + "/"
    assert differences(expected, run) == []
    assert run["Tags"] == [{"Key": "owner", "Value": "ml-platform"}, {"Key": "team", "Value": "forecasting"}]

    baseline = deployed_request(template, logical_id(template, "Baseline", "Custom::SageMakerTrainingJob"))
    run = runs["BaselineRun"]
    name = run["TrainingJobName"]
    assert baseline["TrainingJobName"] == "baseline-2024-06-01"  # the deployment's fixed name; each run has its own
    expected = copy.deepcopy(baseline)
    expected["TrainingJobName"] = name
    expected["CheckpointConfig"]["S3Uri"] = baseline["CheckpointConfig"]["S3Uri"] + name + "/"
    expected["AlgorithmSpecification"]["ContainerArguments"] = ["2026-06-01T02-00"]  # the execution's name
    expected["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] = output["S3Uri"]  # Features' run's
    assert differences(expected, run) == []  # both ways: no member of either is missing from the other


def test_a_jobs_schedule_runs_its_request_as_it_is(synthesized, sagemaker) -> None:
    template = synthesized.templates[STACK]
    execution = Execution(sagemaker, machine(template, "FeaturesWeeklyStateMachine"), {}, EXECUTION)
    ((state, run),) = list(execution.run())
    assert state == "WeeklyRun"
    features = deployed_request(template, logical_id(template, "Features", "Custom::SageMakerProcessingJob"))
    assert differences(features, run) == [
        f"ProcessingJobName: None != {run['ProcessingJobName']!r}",
        "ProcessingOutputConfig.Outputs[0].S3Output.S3Uri: "
        f"{features['ProcessingOutputConfig']['Outputs'][0]['S3Output']['S3Uri']!r} != "
        f"{features['ProcessingOutputConfig']['Outputs'][0]['S3Output']['S3Uri'] + run['ProcessingJobName'] + '/'!r}",
    ]


# -- the nightly pipeline: jobs no deployment runs, chained, with the state's input -------------------------------


def test_the_nightly_pipeline_chains_its_runs_within_the_execution(synthesized, sagemaker) -> None:
    template = synthesized.templates[STACK]
    execution = Execution(
        sagemaker, machine(template, "NightlyStateMachine"), {"day": "2026-06-01", "epochs": "20"}, EXECUTION
    )
    runs = dict(execution.run())
    assert list(runs) == ["PrepareRun", "TrainRun", "EvaluateRun"]
    prepare, train, evaluate_run = runs.values()
    prepared = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in prepare["ProcessingOutputConfig"]["Outputs"]}
    name = prepare["ProcessingJobName"]
    assert prepared["train"] == f"s3://{_bucket(template, 'Lake')}/prepared/train/{name}/"
    assert prepare["AppSpecification"]["ContainerArguments"] == ["--day", "2026-06-01"]
    raw = next(i for i in prepare["ProcessingInputs"] if i["InputName"] == "raw")
    assert raw["S3Input"]["S3Uri"] == f"s3://{_bucket(template, 'Lake')}/raw/2026-06-01/"
    # Train reads what this execution's Prepare wrote, and keeps its checkpoints per run.
    channel = train["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == prepared["train"]
    assert train["HyperParameters"] == {"epochs": "20", "lr": "0.1"}
    assert train["CheckpointConfig"]["S3Uri"].endswith(f"/checkpoints/{train['TrainingJobName']}/")
    # Evaluate reads this execution's model and Prepare's test output, and writes its report under the day's folder.
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluate_run["ProcessingInputs"]}
    model = train["OutputDataConfig"]["S3OutputPath"] + train["TrainingJobName"] + "/output/model.tar.gz"
    assert sagemaker.backend.training_jobs[train["TrainingJobName"]].model_artifacts["S3ModelArtifacts"] == model
    assert inputs == {"model": model, "test": prepared["test"]}
    report = evaluate_run["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert report == f"s3://{_bucket(template, 'Lake')}/reports/2026-06-01/"
    # The runs' folders are within the roles' prefix-scoped grants, which are the deployment's.
    reads = _objects(template, "TrainRoleManagedPolicy", "s3:GetObject")
    granted = f"arn:aws:s3:::{_bucket(template, 'Lake')}/prepared/train/*"
    assert granted in reads
    assert channel.startswith(granted.replace("arn:aws:s3:::", "s3://").rstrip("*"))
    writes = _objects(template, "PrepareRoleManagedPolicy", "s3:PutObject")
    assert f"arn:aws:s3:::{_bucket(template, 'Lake')}/prepared/train/*" in writes


def _objects(template: dict[str, Any], policy: str, action: str) -> list[str]:
    document = template["Resources"][logical_id(template, policy, "AWS::IAM::ManagedPolicy")]["Properties"]
    statements = resolve(document["PolicyDocument"], template)["Statement"]
    return [r for s in statements if action in _list(s["Action"]) for r in _list(s["Resource"])]


def _bucket(template: dict[str, Any], prefix: str) -> str:
    return resolve({"Ref": logical_id(template, prefix, "AWS::S3::Bucket")}, template)  # type: ignore[no-any-return]


def test_every_task_request_conforms_to_the_service_model(synthesized, sagemaker) -> None:
    """Every task state of the stack, evaluated and validated strictly (Execution.run_state), and accepted by the
    emulator."""
    template = synthesized.templates[STACK]
    ran = 0
    for definition in machines(template).values():
        input = {"day": "2026-06-01", "epochs": "20"}
        ran += len(list(Execution(sagemaker, definition, input, EXECUTION + str(ran)).run()))
    assert ran == 6  # Nightly 3, Refresh 2, Weekly 1


# -- names ------------------------------------------------------------------------------------------------------


def test_each_run_has_a_name_of_its_own_within_sagemakers_63_characters(synthesized) -> None:
    template = synthesized.templates[STACK]
    state = machine(template, "NightlyStateMachine")["States"]["PrepareRun"]
    expression = state["Arguments"]["ProcessingJobName"]

    def name(execution: str = EXECUTION, state_name: str = "PrepareRun", retry: int = 0, entered: str = "") -> str:
        context = {
            "Execution": {"Id": execution, "RedriveCount": 0},
            "State": {"Name": state_name, "EnteredTime": entered or "2026-06-01T02:00:00.123Z", "RetryCount": retry},
        }
        return evaluate(expression, {"states": {"context": context}})  # type: ignore[no-any-return]

    first = name()
    match = NAME.match(first)
    assert match and len(first) <= 63
    assert match["prefix"] == synthesized.jobs["wf_prepare"]._name_prefix  # the job's prefix: its grants' pattern
    seed = f"{EXECUTION}/PrepareRun/2026-06-01T02:00:00.123Z/0/0"
    assert match["digest"] == hashlib.sha256(seed.encode()).hexdigest()[:10]
    assert name() == first  # one name throughout the state's request
    others = {name(EXECUTION + "x"), name(retry=1), name(state_name="Again"), name(entered="2026-06-02T02:00:00Z")}
    assert first not in others and len(others) == 4
    # The longest prefix the library makes (51 characters) still fits.
    long_prefix = "x" * 51
    assert len(f"{long_prefix}-{match['digest']}") <= 63


# -- least privilege ---------------------------------------------------------------------------------------------


def _statements(template: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    policy = template["Resources"][logical_id(template, prefix, "AWS::IAM::Policy")]
    return resolve(policy["Properties"]["PolicyDocument"], template)["Statement"]  # type: ignore[no-any-return]


def test_the_state_machine_role_reaches_its_jobs_runs_only(synthesized) -> None:
    template = synthesized.templates[STACK]
    statements = _statements(template, "NightlyStateMachineRoleDefaultPolicy")
    jobs = {k: synthesized.jobs[f"wf_{k}"] for k in ("prepare", "train", "evaluate")}
    sagemaker = [s for s in statements if any(a.startswith("sagemaker:") for a in _list(s["Action"]))]
    assert [(_list(s["Action"]), s["Resource"]) for s in sagemaker] == [
        (
            [f"sagemaker:{verb}{kind}Job" for verb in ("Create", "Describe", "Stop")]
            + ["sagemaker:AddTags", "sagemaker:ListTags"],
            f"arn:aws:sagemaker:{REGION}:123456789012:{kind.lower()}-job/{job._name_prefix}-*",
        )
        for kind, job in zip(("Processing", "Training", "Processing"), jobs.values(), strict=True)
    ]
    roles = {
        resolve({"Fn::GetAtt": [logical_id(template, f"{k.title()}Role", "AWS::IAM::Role"), "Arn"]}, template)
        for k in jobs
    }
    passes = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert {s["Resource"] for s in passes} == roles
    assert all(s["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}} for s in passes)
    rules = {s["Resource"] for s in statements if "events:PutRule" in _list(s["Action"])}
    assert rules == {
        f"arn:aws:events:{REGION}:123456789012:rule/StepFunctionsGetEventsForSageMaker{k}JobsRule"
        for k in ("Processing", "Training")
    }
    (grant,) = [s for s in statements if "kms:CreateGrant" in _list(s["Action"])]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}
    assert grant["Resource"] == resolve({"Fn::GetAtt": [logical_id(template, "Key", "AWS::KMS::Key"), "Arn"]}, template)
    wildcards = [s for s in statements if s["Resource"] == "*"]
    assert {a for s in wildcards for a in _list(s["Action"])} <= {
        "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
        "xray:GetSamplingRules", "xray:GetSamplingTargets",
    }  # fmt: skip


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_a_fixed_name_jobs_role_may_write_the_logs_of_its_workflow_runs(synthesized) -> None:
    template = synthesized.templates[STACK]
    baseline = synthesized.jobs["wf_baseline"]
    streams = {json.loads(r) for a, r, _ in role_grants(template, "BaselineRole") if a == "logs:PutLogEvents"}
    group = f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/sagemaker/TrainingJobs:log-stream:"
    assert streams == {group + "baseline-2024-06-01/*", group + f"{baseline._name_prefix}-*"}


# -- schedule, failures, no deployment run ----------------------------------------------------------------------


def test_the_schedule_starts_the_state_machine_as_scheduler_offers(synthesized) -> None:
    template = synthesized.templates[STACK]
    schedule = template["Resources"][logical_id(template, "NightlySchedule", "AWS::Scheduler::Schedule")]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30}
    target = schedule["Target"]
    assert target["Arn"] == {"Ref": logical_id(template, "NightlyStateMachine", "AWS::StepFunctions::StateMachine")}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200}
    assert json.loads(resolve(target["Input"], template)) == {"day": "<aws.scheduler.scheduled-time>", "epochs": "20"}
    (start,) = _statements(template, "NightlyScheduleRoleDefaultPolicy")
    assert start["Action"] == "states:StartExecution"
    assert start["Resource"] == resolve(target["Arn"], template)
    weekly = template["Resources"][logical_id(template, "FeaturesWeeklySchedule", "AWS::Scheduler::Schedule")]
    assert weekly["Properties"]["ScheduleExpression"] == "rate(7 days)"


def test_failed_executions_have_a_rule_and_a_metric(synthesized) -> None:
    template = synthesized.templates[STACK]
    rule = template["Resources"][logical_id(template, "NightlyFailures", "AWS::Events::Rule")]["Properties"]
    machine_ref = {"Ref": logical_id(template, "NightlyStateMachine", "AWS::StepFunctions::StateMachine")}
    assert rule["EventPattern"] == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [machine_ref]},
    }
    alarm = template["Resources"][logical_id(template, "FailedRuns", "AWS::CloudWatch::Alarm")]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/States", "ExecutionsFailed", "Sum")
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine_ref}]


def test_a_job_no_deployment_runs_has_a_role_and_no_resource(synthesized) -> None:
    template = synthesized.templates[STACK]
    custom = [k for k, r in template["Resources"].items() if r["Type"].startswith("Custom::SageMaker")]
    assert sorted(custom) == sorted(
        [
            logical_id(template, "Features", "Custom::SageMakerProcessingJob"),
            logical_id(template, "Baseline", "Custom::SageMakerTrainingJob"),
        ]
    )
    for job in ("Prepare", "Train", "Evaluate"):
        assert logical_id(template, f"{job}Role", "AWS::IAM::Role")
        assert logical_id(template, f"{job}RoleManagedPolicy", "AWS::IAM::ManagedPolicy")
    # Its runs' schedule waits for its role's policies.
    depends = template["Resources"][logical_id(template, "NightlySchedule", "AWS::Scheduler::Schedule")]
    assert {
        logical_id(template, f"{j}RoleManagedPolicy", "AWS::IAM::ManagedPolicy")
        for j in ("Prepare", "Train", "Evaluate")
    } <= set(depends["DependsOn"])
    prepare = synthesized.jobs["wf_prepare"]
    for read in (
        lambda: prepare.processing_job_name,
        lambda: prepare.output_uri("train"),
        lambda: synthesized.jobs["wf_train"].model_data,
    ):
        with pytest.raises(JobValidationError, match=r"Workflow/(Prepare|Train): .*Completion.never\(\)"):
            read()


# -- bad input ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scope() -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Bad")
    bucket = s3.Bucket(stack, "Data")
    image = ContainerImage.from_registry(IMAGE_URI)
    prep = ProcessingJob(
        stack,
        "Prep",
        image=image,
        inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", bucket, "train/")],
        completion=Completion.never(),
    )
    train = TrainingJob(
        stack,
        "Train",
        image=ContainerImage.from_registry(TRAIN_IMAGE_URI),
        inputs=[TrainingInput.from_bucket("train", bucket, "t/")],
    )
    return {"stack": stack, "prep": prep, "train": train, "bucket": bucket}


@pytest.mark.parametrize(
    "job,options,message",
    [
        ("prep", {"hyperparameters": {"epochs": 1}}, r"hyperparameters is \{'epochs': 1\}: a processing job has none"),
        ("train", {"output_paths": {"model": "x/"}}, r"output_paths is \{'model': 'x/'\}: a training job writes"),
        ("prep", {"input_paths": {"nope": "x/"}}, r"input_paths key is 'nope': must name one of .* inputs: \['raw'\]"),
        ("prep", {"output_paths": {"train": "/abs/"}}, r"output_paths\[train\] is '/abs/': must be a path under"),
        ("prep", {"input_paths": {"raw": "s3://other/x/"}}, r"input_paths\[raw\] is 's3://other/x/': must be a path"),
        ("prep", {"arguments": ["x" * 300]}, r"arguments\[\] is 'xxx.*: must be 0 to 256 characters long \(got 300\)"),
        ("prep", {"arguments": "--day"}, r"arguments is '--day': must be a list of strings"),
        ("prep", {"environment": {"1BAD": "x"}}, r"environment key is '1BAD'"),
        ("prep", {"arguments": [sfn.JsonPath.format("d={}", DAY)]}, r"\"States.Format.*references only"),
        ("prep", {"environment": {"X": sfn.JsonPath.string_at("$.items[*].id")}}, r"no wildcards"),
        ("train", {"hyperparameters": {"lr": sfn.JsonPath.number_at("$.lr")}}, r"is 'a number token': .*strings"),
        ("train", {"task_timeout": 60}, r"task_timeout is 60: must be a Duration"),
    ],
)  # fmt: skip
def test_bad_task_options_are_refused_naming_the_task(scope, job, options, message) -> None:
    with pytest.raises(JobValidationError, match=message) as raised:
        scope[job].as_task(scope["stack"], f"T{abs(hash(message))}", **options)
    assert str(raised.value).startswith("Bad/")


def test_a_job_the_deployment_runs_cannot_read_a_workflow_only_jobs_output(scope) -> None:
    with pytest.raises(
        JobValidationError,
        match=r"Bad/Reader: inputs\[train\] is \"the output 'train' of Bad/Prep\": no deployment runs that job",
    ):
        ProcessingJob(
            scope["stack"],
            "Reader",
            image=ContainerImage.from_registry(IMAGE_URI),
            inputs=[ProcessingInput.from_output("train", scope["prep"], "train")],
        )


def test_a_task_reading_a_workflow_only_job_needs_its_run_before_it() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Order")
    bucket = s3.Bucket(stack, "Data")
    image = ContainerImage.from_registry(IMAGE_URI)
    prep = ProcessingJob(
        stack,
        "Prep",
        image=image,
        outputs=[ProcessingOutput.to_bucket("train", bucket, "t/")],
        completion=Completion.never(),
    )
    reader = ProcessingJob(
        stack,
        "Reader",
        image=image,
        inputs=[ProcessingInput.from_output("train", prep, "train")],
        completion=Completion.never(),
    )
    read = reader.as_task(stack, "ReadFirst")
    sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(read.next(prep.as_task(stack, "PrepAfter")))
    )
    with pytest.raises(
        Exception,
        match=r"Order/ReadFirst.*inputs\[train\] reads the output 'train' of Order/Prep, which no deployment runs",
    ):
        app.synth()


def test_a_workflow_only_jobs_events_match_all_its_runs_by_its_prefix(scope) -> None:
    rule = scope["prep"].on_state_change("Events", statuses=["Failed"])
    pattern = scope["stack"].resolve(rule.node.default_child.event_pattern)
    assert pattern["detail"] == {
        "ProcessingJobName": [{"prefix": scope["prep"]._name_prefix + "-"}],
        "ProcessingJobStatus": ["Failed"],
    }


def test_the_readme_nightly_pipeline_synthesizes(tmp_path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    code = readme.split("## Workflows and schedules")[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 13
    script = tmp_path / "prepare.py"
    script.write_text("print('prepare')\n")
    code = code.replace('"prepare.py"', repr(str(script)))
    app = cdk.App()
    stack = cdk.Stack(app, "Readme")
    names = {
        "self": stack,
        "bucket": s3.Bucket(stack, "Data"),
        "image": ContainerImage.from_registry(IMAGE_URI),
        "train_image": ContainerImage.from_registry(TRAIN_IMAGE_URI),
        **{name: getattr(cdk_processing, name) for name in cdk_processing.__all__},
        "sfn": sfn,
        "scheduler": scheduler,
        "cloudwatch": cloudwatch,
        "TimeZone": cdk.TimeZone,
        "Duration": cdk.Duration,
    }
    exec(code, names)
    template = app.synth().get_stack_by_name("Readme").template
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::Scheduler::Schedule") == 1 and types.count("AWS::CloudWatch::Alarm") == 1
    assert not [t for t in types if t.startswith("Custom::")]  # both jobs run in the workflow only
    definition = machines(template)
    (states,) = [d["States"] for d in definition.values()]
    assert list(states) == ["PrepareRun", "TrainRun"]


def test_a_location_ending_in_a_token_gets_its_run_folder_at_run_time(sagemaker) -> None:
    """An output to a bucket's root (``s3://<bucket token>``): whether it ends with '/' is known only at run time."""
    app = cdk.App()
    stack = cdk.Stack(app, "Root")
    bucket = s3.Bucket(stack, "Data")
    job = ProcessingJob(
        stack,
        "Job",
        image=ContainerImage.from_registry(IMAGE_URI),
        inputs=[ProcessingInput.from_bucket("raw", bucket, "")],
        outputs=[ProcessingOutput.to_bucket("all", bucket, "")],
        completion=Completion.never(),
    )
    task = job.as_task(stack, "Run", input_paths={"raw": DAY}, comment="the job", task_timeout=cdk.Duration.hours(2))
    sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(task))
    template = app.synth().get_stack_by_name("Root").template
    definition = machine(template, "Machine")
    state = definition["States"]["Run"]
    assert (state["Comment"], state["TimeoutSeconds"]) == ("the job", 7200)
    ((_, run),) = list(Execution(sagemaker, definition, {"day": "2026-06-01"}, EXECUTION).run())
    bucket_name = _bucket(template, "Data")
    assert run["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        f"s3://{bucket_name}/{run['ProcessingJobName']}/"
    )
    assert run["ProcessingInputs"][0]["S3Input"]["S3Uri"] == f"s3://{bucket_name}/2026-06-01"


def test_a_tasks_run_outputs_are_offered_to_later_jsonata_states(scope) -> None:
    task = scope["train"].as_task(scope["stack"], "Offered")
    variable = re.fullmatch(r"\{% \$(cdkProcessing_train_[0-9a-f]{6})\.name %\}", task.job_name)
    assert variable is not None
    assert task.output_uri("model") == "{% $" + variable[1] + ".outputs.`model` %}"
    with pytest.raises(
        JobValidationError, match=r"output_name is 'nope': must name one of the job's outputs: \['model'\]"
    ):
        task.output_uri("nope")

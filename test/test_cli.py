"""The jobs CLI (``cdk-processing``) end to end: its ``main(argv)`` and its console script, with real boto3 clients,
against moto's server over HTTP (CloudFormation, SageMaker, CloudWatch Logs).

The stack is made with CloudFormation's own API: ``CreateStack`` with a template holding a bucket and three
``Custom::SageMakerProcessingJob`` resources whose service token is a Lambda function. moto cannot run the
library's handler (its Lambda needs Docker), so the test plays the provider: it creates each job with SageMaker's
API, under the name and with the tags the handler gives it, and answers CloudFormation's custom-resource request
over HTTP (moto's ``cfnresponse`` endpoint), which completes the stack. Two things moto drops are written into its
backend, as AWS would have them: a custom resource's physical id (moto keeps a name of its own and ignores the
response's ``PhysicalResourceId``) and the job's times, instance count and texts (moto's job has no
``ProcessingResources``; the suite's emulator ends jobs with ``finish``).

The suite's emulator (``emulator.py``) is that server: moto's backends are one per process, and its layer makes
SageMaker's behave as SageMaker does (a job runs until it ends, a stopped job is ``Stopping``), whatever ran before.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.cloudformation.models import cloudformation_backends

from cdk_processing.cli import main
from cdk_processing.cli.kinds import (
    KINDS,
    PROCESSING,
    RESOURCE_TAG,
    TRAINING,
    job_name_of,
    kind_of_arn,
    kind_of_type,
    logs_url,
    resource_digest,
    stack_prefix,
)
from emulator import ACCOUNT, REGION, SageMakerEmulator

STACK = "Pipeline-Dev"
T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=timezone.utc)
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class World:
    emulator: SageMakerEmulator
    stack_id: str
    prepare: str  # Completed, one instance
    evaluate: str  # Failed, two instances
    earlier: str  # an earlier run of Prepare, replaced by an update
    namesake: str  # the library's prefix, tagged by a deleted stack of the same name
    broken: str  # the physical id of a resource whose create failed: no job has it
    base_ms: int = int(time.time() * 1000)  # log events are this many ms after their start

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.emulator.endpoint)

    def new_job(self, name: str, tags: dict[str, str] | None = None, instances: int = 1) -> str:
        """A job as the handler creates it (with the library's tags unless ``tags`` says otherwise): running."""
        default = {
            "cdk-processing:request-id": f"request-{name}",
            "cdk-processing:request-digest": "0" * 32,
            RESOURCE_TAG: "f" * 32,
        }
        self.client("sagemaker").create_processing_job(
            ProcessingJobName=name,
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/cdk-processing/pipeline/JobRole",
            AppSpecification={
                "ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/prep:1.0",
                "ContainerEntrypoint": ["python3", "/app/run.py"],
            },
            ProcessingResources={
                "ClusterConfig": {"InstanceCount": instances, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            ProcessingInputs=[
                {"InputName": "raw", "S3Input": _s3_input("s3://data-bucket/raw/")},
                {"InputName": "lookup", "S3Input": _s3_input("s3://data-bucket/lookup/")},
            ],
            ProcessingOutputConfig={
                "Outputs": [
                    {
                        "OutputName": "train",
                        "S3Output": {
                            "S3Uri": "s3://data-bucket/prepared/train/",
                            "LocalPath": "/opt/ml/processing/output/train",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            StoppingCondition={"MaxRuntimeInSeconds": 2700},
            Tags=[{"Key": k, "Value": v} for k, v in (default if tags is None else tags).items()],
        )
        job = self.emulator.backend.processing_jobs[name]
        job.processing_resources = {  # moto's job drops it; SageMaker describes it
            "ClusterConfig": {"InstanceCount": instances, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        }
        return name

    def times(self, name: str, created: datetime, started: datetime, ended: datetime | None) -> None:
        job = self.emulator.backend.processing_jobs[name]
        job.creation_time, job.processing_start_time, job.processing_end_time = created, started, ended
        job.last_modified_time = ended or started

    def log(self, name: str, stream: str, *lines: tuple[int, str]) -> None:
        """Events (milliseconds after ``base_ms``, message) in the job's stream ``<job>/<stream>``."""
        logs = self.client("logs")
        try:
            logs.create_log_group(logGroupName=LOG_GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        try:
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"{name}/{stream}")
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        events = [{"timestamp": self.base_ms + at, "message": message} for at, message in lines]
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=f"{name}/{stream}", logEvents=events)


def _s3_input(uri: str) -> dict[str, str]:
    return {"S3Uri": uri, "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix", "S3InputMode": "File"}


def _moto_config(emulator: SageMakerEmulator, config: dict[str, Any]) -> None:
    request = urllib.request.Request(
        emulator.endpoint + "/moto-api/config", data=json.dumps(config).encode(), method="POST"
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 201


def _respond(emulator: SageMakerEmulator, stack_id: str, logical_id: str, physical_id: str) -> None:
    """The provider's answer to CloudFormation's Create request, over HTTP to moto's response endpoint."""
    body = {
        "Status": "SUCCESS",
        "StackId": stack_id,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": physical_id,
        "RequestId": f"request-{logical_id}",
        "Data": {"ProcessingJobName": physical_id},
    }
    request = urllib.request.Request(
        f"{emulator.endpoint}/cloudformation_{REGION}/cfnresponse?stack={stack_id}",
        data=json.dumps(body).encode(),
        method="PUT",
        headers={
            "Content-Type": "application/json",
            # moto's server picks the service by the signature's scope, as a presigned URL would carry it
            "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260601/{REGION}/cloudformation/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    # moto ignores PhysicalResourceId and keeps a name of its own: record the id CloudFormation would have
    stack = cloudformation_backends[ACCOUNT][REGION].get_stack(stack_id)
    stack.custom_resources[logical_id].resource_name = physical_id


@pytest.fixture(scope="module")
def world(emulator: SageMakerEmulator) -> Iterator[World]:
    emulator.reset()
    emulator.clock = time.time  # jobs are made now, on the real clock
    _moto_config(emulator, {"lambda": {"use_docker": False}})  # the provider function is never run
    try:
        yield _deploy(emulator)
    finally:
        _moto_config(emulator, {"lambda": {"use_docker": True}})
        emulator.reset()


def _deploy(emulator: SageMakerEmulator) -> World:
    session = {"region_name": REGION, "endpoint_url": emulator.endpoint}
    role = boto3.client("iam", **session).create_role(RoleName="provider", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def on_event(event, context):\n    pass\n")
    function = boto3.client("lambda", **session).create_function(
        FunctionName="provider-onevent",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="index.on_event",
        Code={"ZipFile": code.getvalue()},
    )
    job = {"Type": "Custom::SageMakerProcessingJob", "Properties": {"ServiceToken": function["FunctionArn"]}}
    template = {"Resources": {"Data": {"Type": "AWS::S3::Bucket"}, "Prepare": job, "Evaluate": job, "Broken": job}}
    cfn = boto3.client("cloudformation", **session)
    stack_id = cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(template))["StackId"]
    cfn.create_stack(StackName="Other", TemplateBody=json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket"}}}))

    prefix = stack_prefix(STACK)
    w = World(emulator, stack_id, "", "", "", "", f"{STACK}-Broken-1A2B3C4D5E6F")

    def tags(logical_id: str, stack: str = stack_id) -> dict[str, str]:
        return {
            "cdk-processing:request-id": f"request-{logical_id}",
            "cdk-processing:request-digest": "1" * 32,
            RESOURCE_TAG: resource_digest(stack, logical_id),
        }

    w.earlier = w.new_job(f"{prefix}-prepare-a1b2c3-0000000001", tags("Prepare"))
    w.times(w.earlier, T0 - timedelta(days=1), T0 - timedelta(days=1), T0 - timedelta(days=1, seconds=-30))
    emulator.finish(w.earlier, "Completed")
    w.times(w.earlier, T0 - timedelta(days=1), T0 - timedelta(days=1), T0 - timedelta(days=1, seconds=-30))
    deleted = stack_id.rpartition("/")[0] + "/00000000-dead-stack-0000-000000000000"
    w.namesake = w.new_job(f"{prefix}-prepare-a1b2c3-0000000002", tags("Prepare", deleted))

    w.prepare = w.new_job(f"{prefix}-prepare-a1b2c3-5f0e1d2c3b", tags("Prepare"))
    emulator.finish(w.prepare, "Completed")
    w.times(w.prepare, T0, T0 + timedelta(seconds=10), T0 + timedelta(minutes=4, seconds=15))
    w.evaluate = w.new_job(f"{prefix}-evaluate-d4e5f6-9a8b7c6d5e", tags("Evaluate"), instances=2)
    emulator.finish(w.evaluate, "Failed", "AlgorithmError: ValueError: no rows in test", "Traceback: ValueError")
    w.times(w.evaluate, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6), T0 + timedelta(hours=1, minutes=8))

    _respond(emulator, stack_id, "Prepare", w.prepare)
    _respond(emulator, stack_id, "Evaluate", w.evaluate)
    _respond(emulator, stack_id, "Broken", w.broken)
    assert cfn.describe_stacks(StackName=STACK)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"

    w.log(w.prepare, "algo-1-1780300800", (0, "reading s3://data-bucket/raw/"), (5, "wrote 1200 rows\n"))
    w.log(w.earlier, "algo-1-1780214400", (0, "an earlier run's line"))
    w.log(w.evaluate, "algo-1-1780301100", (0, "loading"), (20, "ValueError: no rows in test"))
    w.log(w.evaluate, "algo-2-1780301100", (10, "loading shard 2"))
    return w


def run(capsys: pytest.CaptureFixture[str], *argv: str, sleep: Callable[[float], None] = time.sleep) -> Any:
    code = main(list(argv), sleep=sleep)
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> list[dict[str, str]]:
    """A text table as dicts, by header (the last column may hold spaces)."""
    header, *lines = out.rstrip("\n").split("\n")
    names = header.split()
    names = [*names[:-2], "FAILURE REASON"] if header.endswith("FAILURE REASON") else names
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    return [{n: line[s:e].strip() for n, s, e in zip(names, starts, ends, strict=True)} for line in lines]


# -- jobs -------------------------------------------------------------------------------------------------------


def test_jobs_lists_the_stacks_current_jobs_oldest_first(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "jobs", "--stack", STACK)
    assert (code, err) == (0, "")
    assert out.split("\n")[0].split() == [
        *("NAME", "KIND", "RESOURCE", "STATUS", "CREATED", "ENDED", "DURATION", "FAILURE", "REASON"),
    ]
    table = rows(out)
    assert [(r["NAME"], r["RESOURCE"], r["STATUS"]) for r in table] == [
        (world.prepare, "Prepare", "Completed"),
        (world.evaluate, "Evaluate", "Failed"),
        (world.broken, "Broken", "(not found)"),  # a create that failed: its physical id names no job
    ]
    prepare, evaluate, _ = table
    assert prepare["KIND"] == "processing"
    assert (prepare["CREATED"], prepare["ENDED"]) == ("2026-06-01T08:00:00Z", "2026-06-01T08:04:15Z")
    assert (prepare["DURATION"], prepare["FAILURE REASON"]) == ("4m05s", "-")
    assert (evaluate["DURATION"], evaluate["FAILURE REASON"]) == (
        "1h02m00s",
        "AlgorithmError: ValueError: no rows in test",
    )


def test_jobs_all_adds_the_earlier_runs_of_the_stacks_resources(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "jobs", "--stack", STACK, "--all")
    assert code == 0
    table = {r["NAME"]: r for r in rows(out)}
    assert set(table) == {world.earlier, world.prepare, world.evaluate, world.broken}  # not the namesake's job
    assert (table[world.earlier]["RUN"], table[world.earlier]["RESOURCE"]) == ("earlier", "Prepare")
    assert table[world.prepare]["RUN"] == "current"
    assert next(iter(table)) == world.earlier  # the oldest first


def test_jobs_json_has_the_fields_for_scripts(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs", "--stack", world.stack_id, "--json")  # a stack id serves as well
    assert code == 0
    by_name = {job["Name"]: job for job in json.loads(out)}
    assert by_name[world.evaluate] == {
        "Name": world.evaluate,
        "Kind": "processing",
        "Arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{world.evaluate}",
        "Stack": STACK,
        "Resource": "Evaluate",
        "Current": True,
        "Status": "Failed",
        "CreationTime": "2026-06-01T08:05:00Z",
        "StartTime": "2026-06-01T08:06:00Z",
        "EndTime": "2026-06-01T09:08:00Z",
        "DurationSeconds": 3720.0,
        "FailureReason": "AlgorithmError: ValueError: no rows in test",
    }
    assert by_name[world.broken]["Status"] == "(not found)"


def test_jobs_without_a_stack_lists_every_stack_of_the_region(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "jobs")
    assert code == 0
    table = rows(out)
    assert {(r["STACK"], r["NAME"]) for r in table} == {
        (STACK, world.prepare),
        (STACK, world.evaluate),
        (STACK, world.broken),
    }  # the stack Other has no job


def test_fails_for_a_stack_not_in_the_region(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "jobs", "--stack", "Nope") == (1, "", "cdk-processing: error: no stack Nope in us-east-1\n")
    code, _, err = run(capsys, "jobs", "--stack", STACK, "--region", "eu-west-1")
    assert (code, err) == (1, f"cdk-processing: error: no stack {STACK} in eu-west-1\n")


# -- describe ---------------------------------------------------------------------------------------------------


def test_describe_shows_the_job_with_its_log_link(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "describe", world.evaluate)
    assert (code, err) == (0, "")
    lines = out.rstrip("\n").split("\n")
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines if not line.startswith(" ")}
    assert fields["Name"] == world.evaluate
    assert fields["Status"] == "Failed"
    assert fields["Failure reason"] == "AlgorithmError: ValueError: no rows in test"
    assert fields["Exit message"] == "Traceback: ValueError"
    assert (fields["Started"], fields["Ended"], fields["Duration"]) == (
        "2026-06-01T08:06:00Z",
        "2026-06-01T09:08:00Z",
        "1h02m00s",
    )
    assert fields["Entrypoint"] == "python3 /app/run.py"
    assert (fields["Instance type"], fields["Instance count"]) == ("ml.m5.xlarge", "2")
    at = lines.index(next(line for line in lines if line.startswith("Inputs:")))
    assert [line.split()[-1] for line in lines[at : at + 2]] == ["s3://data-bucket/raw/", "s3://data-bucket/lookup/"]
    at = lines.index(next(line for line in lines if line.startswith("Tags:")))
    assert [line.split()[-1] for line in lines[at : at + 3]] == [  # one a line, by key
        "cdk-processing:request-digest=" + "1" * 32,
        "cdk-processing:request-id=request-Evaluate",
        f"{RESOURCE_TAG}={resource_digest(world.stack_id, 'Evaluate')}",
    ]
    assert fields["Log group"] == LOG_GROUP
    assert fields["Log streams"] == f"{world.evaluate}/*"
    assert fields["Logs"] == logs_url(PROCESSING.job, world.evaluate, REGION)
    assert f"prefix={world.evaluate}%2F" in fields["Logs"]


def test_describe_takes_an_arn_or_a_stacks_logical_id(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    by_name = run(capsys, "describe", world.prepare)[1]
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{world.prepare}"
    assert run(capsys, "describe", arn)[1] == by_name
    code, out, _ = run(capsys, "describe", "Prepare", "--stack", STACK)
    assert code == 0
    assert "Stack:           Pipeline-Dev\nResource:        Prepare\n" in out
    assert f"Name:            {world.prepare}\n" in out


def test_describe_json_is_sagemakers_answer_with_the_log_location(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "describe", world.prepare, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["ProcessingJobStatus"] == "Completed"
    assert document["ProcessingEndTime"] == "2026-06-01T08:04:15Z"
    assert document["AppSpecification"]["ImageUri"].endswith("/prep:1.0")
    assert document["LogGroup"] == LOG_GROUP
    assert document["LogStreamPrefix"] == world.prepare + "/"
    assert document["Tags"][RESOURCE_TAG] == resource_digest(world.stack_id, "Prepare")


def test_fails_for_a_job_sagemaker_does_not_have(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "describe", "nope") == (1, "", "cdk-processing: error: no job nope in us-east-1\n")
    code, _, err = run(capsys, "logs", "Nope", "--stack", STACK)
    assert (code, err) == (
        1,
        f"cdk-processing: error: no job Nope in us-east-1 (nor a job resource of stack {STACK})\n",
    )
    code, _, err = run(capsys, "stop", "Broken", "--stack", STACK)  # the resource's physical id names no job
    assert code == 1 and "no job Broken" in err


# -- logs -------------------------------------------------------------------------------------------------------


def test_logs_prints_the_jobs_events_and_no_other_jobs(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "logs", world.prepare)
    assert (code, err) == (0, "")
    assert out == "reading s3://data-bucket/raw/\nwrote 1200 rows\n"  # not the earlier run's, whose name is longer


def test_logs_of_several_instances_name_the_instance_in_time_order(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "logs", "Evaluate", "--stack", STACK)
    assert code == 0
    assert out == "[algo-1] loading\n[algo-2] loading shard 2\n[algo-1] ValueError: no rows in test\n"


def test_logs_says_so_when_there_are_none_yet(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    name = world.new_job("quiet-job-0001")
    code, out, err = run(capsys, "logs", name)
    assert (code, out) == (0, "")
    assert err == f"no log events yet for job {name} ({LOG_GROUP}, streams {name}/*)\n"


def test_logs_follow_prints_new_events_until_the_job_ends(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    name = world.new_job("follow-job-0001")
    world.log(name, "algo-1-1780300800", (0, "step 1"))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:  # between polls, the job goes on writing, then ends
        sleeps.append(seconds)
        if len(sleeps) == 1:
            world.log(name, "algo-1-1780300800", (1, "step 2"), (2, "step 3"))
        elif len(sleeps) == 2:
            world.log(name, "algo-1-1780300800", (3, "done"))
            world.emulator.finish(name, "Completed")

    code, out, err = run(capsys, "logs", name, "--follow", "--interval", "0.5", sleep=sleep)
    assert code == 0
    assert out == "step 1\nstep 2\nstep 3\ndone\n"  # each once, though every poll reads from the latest time
    assert sleeps == [0.5, 0.5]
    assert err == f"job {name} ended: Completed\n"


# -- stop -------------------------------------------------------------------------------------------------------


def status(world: World, name: str) -> str:
    return str(world.client("sagemaker").describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"])


def test_stop_stops_a_running_job_of_the_library(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    name = world.new_job("running-job-0001")
    code, out, _ = run(capsys, "stop", name)
    assert (code, out) == (0, f"stopping job {name} (was InProgress, now Stopping)\n")
    assert status(world, name) == "Stopping"


def test_stop_refuses_a_job_without_the_librarys_tags_unless_forced(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    name = world.new_job("adhoc-analysis", tags={"team": "forecasting"})
    code, out, err = run(capsys, "stop", name)
    assert (code, out) == (1, "")
    assert err == (
        f"cdk-processing: error: job {name} has no cdk-processing:* tags: cdk-processing did not start it; "
        "--force stops it anyway\n"
    )
    assert status(world, name) == "InProgress"
    code, out, _ = run(capsys, "stop", name, "--force", "--json")
    assert code == 0
    assert json.loads(out) == {"Name": name, "PreviousStatus": "InProgress", "Status": "Stopping", "Stopped": True}
    assert status(world, name) == "Stopping"


def test_stop_of_a_job_that_has_ended_is_nothing_to_do(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "stop", "Prepare", "--stack", STACK) == (
        0,
        f"job {world.prepare} is Completed: nothing to stop\n",
        "",
    )
    assert status(world, world.prepare) == "Completed"


# -- the command line -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [[], ["jobs", "--bogus"], ["describe"], ["logs", "job", "--interval", "soon"], ["restart", "job"]]
)
def test_fails_with_status_2_for_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("usage: cdk-processing")


def test_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert all(command in out for command in ("jobs", "describe", "logs", "stop"))


def test_fails_with_status_1_for_a_profile_that_does_not_exist(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "jobs", "--profile", "no-such-profile-here")
    assert code == 1
    assert "no-such-profile-here" in err


def test_the_console_script_runs_the_cli(world: World) -> None:
    """The script pip writes for ``[project.scripts]``, run as a process of its own."""
    scripts = (ROOT / "pyproject.toml").read_text().split("[project.scripts]\n", 1)[1]
    entry = re.match(r'cdk-processing = "([\w.]+):(\w+)"\n', scripts)
    assert entry is not None, scripts
    module, function = entry.groups()
    script = f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", script, *argv]
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)

    listed = cli("jobs", "--stack", STACK, "--json", "--endpoint-url", world.emulator.endpoint)
    assert listed.returncode == 0, listed.stderr
    assert [job["Name"] for job in json.loads(listed.stdout)] == [world.prepare, world.evaluate, world.broken]


def _imported(stderr: str) -> set[str]:
    """The modules a process imported, from the lines ``-X importtime`` writes (``import time: ... | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_the_cli_starts_without_aws_cdk_or_jsii() -> None:
    """The CLI needs boto3 only: neither ``import cdk_processing.cli`` nor ``--help`` loads aws-cdk-lib or jsii
    (about 3 s, and a Node.js runtime), in a Python of its own and through the installed console script."""
    script = (
        "import json, sys\n"
        "import cdk_processing.cli\n"
        "try:\n"
        "    cdk_processing.cli.main(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "tops = ('aws_cdk', 'jsii', 'constructs', 'cdk_processing')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in tops)))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])  # the script's last line
    assert "cdk_processing.cli.main" in loaded and "cdk_processing.cli.aws" in loaded
    assert [m for m in loaded if not m.startswith("cdk_processing")] == []
    # The same for the console script pip wrote (the dev install's), its imports listed by -X importtime.
    console = Path(sys.executable).parent / "cdk-processing"
    assert console.exists(), "the console script is missing: make install"
    environment["PYTHONPROFILEIMPORTTIME"] = "1"
    done = subprocess.run([str(console), "--help"], env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "describe" in done.stdout, done.stderr[-2000:]
    imported = _imported(done.stderr)
    assert {"cdk_processing", "cdk_processing.cli.main", "botocore.exceptions"} <= imported
    assert sorted(m for m in imported if m.split(".")[0] in ("aws_cdk", "jsii", "constructs")) == []


def test_the_package_imports_a_public_name_on_first_use() -> None:
    """``import cdk_processing`` alone loads no aws-cdk-lib; a public name imports its module, once."""
    script = (
        "import sys\n"
        "import cdk_processing\n"
        "before = 'aws_cdk' in sys.modules or 'jsii' in sys.modules\n"
        "from cdk_processing import ProcessingJob, JobValidationError, ProcessingJobValidationError\n"
        "from cdk_processing.processing_job import ProcessingJob as defined\n"
        "assert ProcessingJob is defined and JobValidationError is ProcessingJobValidationError\n"
        "assert vars(cdk_processing)['ProcessingJob'] is defined  # kept: the next access is a plain lookup\n"
        "assert set(cdk_processing.__all__) <= set(dir(cdk_processing))\n"
        "try:\n"
        "    cdk_processing.NoSuchName\n"
        "except AttributeError as error:\n"
        "    assert 'NoSuchName' in str(error), error\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
        "print(before, 'aws_cdk' in sys.modules)\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True"]


# -- what the CLI shares with the constructs and the handler ----------------------------------------------------


def test_the_cli_finds_the_jobs_the_constructs_name_on_the_handlers_kind_table() -> None:
    import aws_cdk as cdk
    from constructs import Construct

    from cdk_processing import _naming
    from cdk_processing.handler import kinds as handler_kinds

    assert [k.job for k in KINDS] == list(handler_kinds.KINDS)  # one row per kind of the handler's table
    for name in (STACK, "MyStack", "A" * 30 + "-Long-Stack-Name", "x--1"):  # cut, lowered, dashes squeezed
        job = Construct(cdk.Stack(cdk.App(), name), "Prep")
        assert _naming.job_name_prefix(job).startswith(stack_prefix(name) + "-")


def test_a_kind_is_found_by_resource_type_and_arn() -> None:
    assert kind_of_type("Custom::SageMakerProcessingJob") is PROCESSING
    assert kind_of_type("AWS::SageMaker::ProcessingJob") is PROCESSING  # a start-only job: its Ref is the ARN
    assert kind_of_type("AWS::S3::Bucket") is None
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/pipeline-1a2b-nightly"
    assert (kind_of_arn(arn), job_name_of(arn)) == (PROCESSING, "pipeline-1a2b-nightly")
    assert kind_of_type("Custom::SageMakerTrainingJob") is TRAINING
    assert kind_of_arn(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/x") is TRAINING
    assert kind_of_arn(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/x") is None
    assert job_name_of("pipeline-1a2b-prep-a1b2c3-0123456789") == "pipeline-1a2b-prep-a1b2c3-0123456789"


# -- training jobs ----------------------------------------------------------------------------------------------


def test_a_training_job_of_a_stack_is_listed_described_and_stopped(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    session = {"region_name": REGION, "endpoint_url": world.emulator.endpoint}
    function = boto3.client("lambda", **session).get_function(FunctionName="provider-onevent")
    resource = {
        "Type": "Custom::SageMakerTrainingJob",
        "Properties": {"ServiceToken": function["Configuration"]["FunctionArn"]},
    }
    cfn = boto3.client("cloudformation", **session)
    stack_id = cfn.create_stack(StackName="Training-Dev", TemplateBody=json.dumps({"Resources": {"Train": resource}}))[
        "StackId"
    ]
    name = f"{stack_prefix('Training-Dev')}-train-a1b2c3-0123456789"
    world.client("sagemaker").create_training_job(
        TrainingJobName=name,
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/cdk-processing/training/JobRole",
        AlgorithmSpecification={
            "TrainingImage": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/train:1.0",
            "TrainingInputMode": "File",
        },
        OutputDataConfig={"S3OutputPath": "s3://models-bucket/churn/"},
        ResourceConfig={
            "InstanceGroups": [
                {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
                {"InstanceGroupName": "gpu", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
            ],
            "VolumeSizeInGB": 30,
            "KeepAlivePeriodInSeconds": 600,
        },
        StoppingCondition={"MaxRuntimeInSeconds": 2700},
        Tags=[
            {"Key": "cdk-processing:request-id", "Value": "request-Train"},
            {"Key": "cdk-processing:request-digest", "Value": "2" * 32},
            {"Key": RESOURCE_TAG, "Value": resource_digest(stack_id, "Train")},
        ],
    )
    _respond(world.emulator, stack_id, "Train", name)
    world.emulator.progress(name, "Training")

    code, out, _ = run(capsys, "jobs", "--stack", "Training-Dev")
    assert code == 0
    [row] = rows(out)
    assert (row["NAME"], row["KIND"], row["RESOURCE"], row["STATUS"]) == (name, "training", "Train", "InProgress")

    code, out, _ = run(capsys, "describe", name)
    assert code == 0
    fields = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines() if ":" in line}
    assert (fields["Name"], fields["Kind"], fields["Secondary status"]) == (name, "training", "Training")
    assert fields["Model"] == "-"  # no artifact before the job completed
    assert "group=%2Faws%2Fsagemaker%2FTrainingJobs" in out
    # A heterogeneous cluster shows its groups, one per line; a warm pool's status shows once the job holds one.
    assert (fields["Instance groups"], fields["Instance type"], fields["Warm pool"]) == ("cpu", "-", "-")
    assert "\nInstance groups:  cpu\n                  gpu\n" in out

    code, out, _ = run(capsys, "stop", name)
    assert (code, out) == (0, f"stopping job {name} (was InProgress, now Stopping)\n")
    assert world.emulator.status(name) == "Stopping"

"""What the benchmark scripts share: the environment, the subjects compared, synthesis and markdown helpers."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
TEST_DIR = ROOT / "test"
HANDLER_DIR = ROOT / "src" / "cdk_processing" / "handler"
STACK_NAME = "Bench"

import aws_cdk as cdk  # noqa: E402
from aws_cdk import aws_ec2 as ec2  # noqa: E402
from aws_cdk import aws_kms as kms  # noqa: E402
from aws_cdk import aws_s3 as s3  # noqa: E402

from baselines import aws_custom_resource, cfn_processing_job, provider_baseline  # noqa: E402
from cdk_processing import (  # noqa: E402
    Checkpoints,
    Code,
    Completion,
    ContainerImage,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingInput,
    TrainingJob,
)

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"

AddJobs = Callable[[cdk.Stack, int], None]


def library_mode(completion: Any = None, max_runtime: Any = None) -> AddJobs:
    """This library: ``n`` jobs on one shared bucket, as the baselines build them, in a completion mode (default:
    the one ``max_runtime`` chooses; with neither given, "wait" with all defaults: ``ml.m5.xlarge``, 30 GiB,
    45 minutes)."""

    def add_jobs(stack: cdk.Stack, n: int) -> None:
        bucket = s3.Bucket(stack, "Data")
        for i in range(n):
            ProcessingJob(
                stack,
                f"Job{i}",
                image=ContainerImage.from_registry(IMAGE),
                inputs=[ProcessingInput.from_bucket("raw", bucket, f"raw/{i}/")],
                outputs=[ProcessingOutput.to_bucket("out", bucket, f"out/{i}/")],
                completion=completion,
                max_runtime=max_runtime,
            )

    return add_jobs


library_add_jobs = library_mode()


def library_default(stack: cdk.Stack, n: int) -> None:
    """This library with every default: an image and nothing else (the round-trip target's subject)."""
    for i in range(n):
        ProcessingJob(stack, f"Job{i}", image=ContainerImage.from_registry(IMAGE))


SCRIPT = BENCH_DIR / "baselines" / "job_script.py"


def realistic_shared(stack: cdk.Stack) -> tuple[kms.Key, s3.Bucket, ec2.Vpc]:
    """What the realistic jobs share: a KMS key, a bucket encrypted with it, a VPC."""
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Data", encryption_key=key)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    return key, bucket, vpc


def library_realistic(stack: cdk.Stack, n: int) -> None:
    """This library as a real pipeline step uses it: its own script, arguments, an input, an output, a VPC, a
    volume key and an output key."""
    key, bucket, vpc = realistic_shared(stack)
    for i in range(n):
        ProcessingJob(
            stack,
            f"Job{i}",
            image=ContainerImage.from_registry(IMAGE),
            code=Code.from_asset(str(SCRIPT)),
            arguments=["--train-ratio", "0.8"],
            inputs=[ProcessingInput.from_bucket("raw", bucket, f"raw/{i}/")],
            outputs=[ProcessingOutput.to_bucket("out", bucket, f"out/{i}/")],
            vpc=vpc,
            volume_encryption_key=key,
            output_encryption_key=key,
        )


def training_default(stack: cdk.Stack, n: int) -> None:
    """A training job with every default: an image and nothing else."""
    for i in range(n):
        TrainingJob(stack, f"Job{i}", image=ContainerImage.from_registry(IMAGE))


def training_realistic(stack: cdk.Stack, n: int) -> None:
    """A training job as a pipeline's training step: its own script, hyperparameters, two channels, per-run
    checkpoints, a VPC, a volume key and a model key."""
    key, bucket, vpc = realistic_shared(stack)
    for i in range(n):
        TrainingJob(
            stack,
            f"Job{i}",
            image=ContainerImage.from_registry(IMAGE),
            code=Code.from_asset(str(SCRIPT)),
            hyperparameters={"epochs": 10, "learning_rate": 0.01},
            inputs=[
                TrainingInput.from_bucket("train", bucket, f"train/{i}/"),
                TrainingInput.from_bucket("validation", bucket, f"validation/{i}/"),
            ],
            checkpoints=Checkpoints.per_run(),
            output_bucket=bucket,
            vpc=vpc,
            volume_encryption_key=key,
            output_encryption_key=key,
        )


DATA_FOLDER = ROOT / "examples" / "evaluate"  # a small folder of the repository, as the test stacks use


def data_folder_jobs(entrypoint: list[str] | None) -> AddJobs:
    """``n`` jobs, each reading a local data folder as its input ``lookup`` and writing one output, with
    ``entrypoint`` (``None``: the image's own)."""

    def add_jobs(stack: cdk.Stack, n: int) -> None:
        bucket = s3.Bucket(stack, "Data")
        for i in range(n):
            ProcessingJob(
                stack,
                f"Job{i}",
                image=ContainerImage.from_registry(IMAGE),
                entrypoint=entrypoint,
                inputs=[ProcessingInput.from_asset("lookup", str(DATA_FOLDER))],
                outputs=[ProcessingOutput.to_bucket("out", bucket, f"out/{i}/")],
            )

    return add_jobs


# A job with a local data folder (issue 16): its entrypoint given (the folder is the asset zip the library's wrapper
# unpacks), or the image's own (the folder is copied by a BucketDeployment).
DATA_FOLDER_SUBJECTS: dict[str, AddJobs] = {
    "entrypoint given: asset zip, unpacked by the wrapper": data_folder_jobs(["python3", "/opt/program/run.py"]),
    "image's own entrypoint: BucketDeployment copy": data_folder_jobs(None),
}

LIBRARY = "cdk-processing (wait)"
LIBRARY_LONG = "cdk-processing (wait_long)"
LIBRARY_START = "cdk-processing (start_only)"
PROVIDER = "Provider + isComplete (hand-rolled)"
AWS_CUSTOM_RESOURCE = "AwsCustomResource"
CFN = "CfnProcessingJob"
LIBRARY_DEFAULT = "cdk-processing (defaults)"
LIBRARY_REALISTIC = "cdk-processing (realistic)"
CFN_REALISTIC = "CfnProcessingJob (realistic)"

# Every subject of the comparison, by the name the tables show. A new completion mode of the library (issue 5) is
# one more entry here.
SUBJECTS: dict[str, AddJobs] = {
    LIBRARY: library_add_jobs,
    LIBRARY_LONG: library_mode(Completion.wait_long(), cdk.Duration.hours(6)),
    LIBRARY_START: library_mode(Completion.start_only(), cdk.Duration.days(1)),
    PROVIDER: provider_baseline.add_jobs,
    AWS_CUSTOM_RESOURCE: aws_custom_resource.add_jobs,
    CFN: cfn_processing_job.add_jobs,
}


def realistic_subjects() -> dict[str, AddJobs]:
    """The realistic job of this library and its hand-written L1 equivalent."""
    return {
        LIBRARY_REALISTIC: library_realistic,
        CFN_REALISTIC: lambda stack, n: cfn_processing_job.add_realistic_jobs(stack, n, *realistic_shared(stack)),
    }


# The context the cdk CLI gives an app by default (cdk synth without --no-path-metadata, --no-asset-metadata): every
# resource's Metadata names its construct path, and asset-bearing resources their asset. Version reporting (one
# AWS::CDK::Metadata resource per stack, the same for every subject) is left out.
CLI_CONTEXT = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}


def synth(add_jobs: AddJobs, n: int, outdir: str | None = None, *, as_cli: bool = False) -> dict[str, Any]:
    """Synthesize a stack of ``n`` jobs (into ``outdir``, or a directory removed afterwards); its template. ``as_cli``:
    with the cdk CLI's default context (``CLI_CONTEXT``), for the bytes the CLI writes and uploads."""
    if outdir is None:
        with tempfile.TemporaryDirectory(prefix="bench-cdk.out-") as scratch:
            return synth(add_jobs, n, scratch, as_cli=as_cli)
    # Count past CloudFormation's 500 resources rather than fail: the tables report where each subject stops.
    context: dict[str, Any] = {"@aws-cdk/core:stackResourceLimit": 0, **(CLI_CONTEXT if as_cli else {})}
    app = cdk.App(outdir=outdir, context=context)
    stack = cdk.Stack(app, STACK_NAME)
    add_jobs(stack, n)
    return dict(app.synth().get_stack_by_name(STACK_NAME).template)


def template_bytes(template: dict[str, Any]) -> int:
    """The template's size as compact JSON (no indentation, no spaces)."""
    return len(json.dumps(template, separators=(",", ":")).encode())


def written_bytes(template: dict[str, Any]) -> int:
    """The template's size as the cdk CLI writes it to cdk.out (``JSON.stringify(template, undefined, 1)``)."""
    return len(json.dumps(template, indent=1, ensure_ascii=False).encode())


def without_cli_metadata(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` less what ``CLI_CONTEXT`` adds to its resources' Metadata (construct paths, asset metadata): the
    template of ``synth(..., as_cli=False)``."""
    resources = {}
    for logical_id, resource in template["Resources"].items():
        metadata = {
            k: v
            for k, v in resource.get("Metadata", {}).items()
            if k != "aws:cdk:path" and not k.startswith("aws:asset:")
        }
        resources[logical_id] = {k: v for k, v in resource.items() if k != "Metadata"} | (
            {"Metadata": metadata} if metadata else {}
        )
    return {**template, "Resources": resources}


def use_test_harness() -> None:
    """Make ``test/`` (the lifecycle harness: cfn, emulator, harness) importable, writing nothing into it."""
    sys.dont_write_bytecode = True
    if str(TEST_DIR) not in sys.path:
        sys.path.insert(0, str(TEST_DIR))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A markdown table; numbers right-aligned."""

    def numeric(cell: Any) -> bool:
        return isinstance(cell, (int, float)) or (
            isinstance(cell, str) and cell.replace(",", "").replace(".", "").isdigit()
        )

    align = ["---:" if rows and all(numeric(r[i]) for r in rows) else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

"""Shared fixtures: the SageMaker emulator, the packaged handler and a fake clock."""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from cdk_processing.handler import kinds as source_kinds  # noqa: E402
from cfn import FakeClock, Provider, resolve  # noqa: E402
from emulator import SageMakerEmulator, environment  # noqa: E402


@pytest.fixture(params=[k.resource_type for k in source_kinds.KINDS], ids=[k.noun for k in source_kinds.KINDS])
def kind(request: pytest.FixtureRequest, packaged_handler: PackagedHandler) -> Any:
    """Each job kind, as the packaged handler's table has it: shared behaviour is tested once per kind."""
    return sys.modules["kinds"].BY_RESOURCE_TYPE[request.param]


@pytest.fixture(scope="session")
def emulator() -> Iterator[SageMakerEmulator]:
    emu = SageMakerEmulator()
    with environment(emu.environment()):
        yield emu
    emu.stop()


@dataclass
class PackagedHandler:
    """The handler as the Lambda asset ships it, with the Provider settings from the synthesized template."""

    module: ModuleType
    asset_dir: Path
    template: dict[str, Any]
    query_interval: float
    total_timeout: float
    wait_budget: float
    timeouts: dict[str, float]  # each user function's Lambda timeout, by the framework's name for it


def _synth_minimal(outdir: Path) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from cdk_processing import ContainerImage, ProcessingInput, ProcessingJob, ProcessingOutput

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "HandlerAsset")
    bucket = s3.Bucket(stack, "Data")
    ProcessingJob(
        stack,
        "Job",
        image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"),
        inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
        outputs=[ProcessingOutput.to_bucket("train", bucket, "train/")],
    )
    app.synth()
    return json.loads((outdir / "HandlerAsset.template.json").read_text())


@pytest.fixture(scope="session")
def packaged_handler(tmp_path_factory: pytest.TempPathFactory, emulator: SageMakerEmulator) -> PackagedHandler:
    outdir = tmp_path_factory.mktemp("cdk.out")
    template = _synth_minimal(outdir)
    functions = {
        r["Properties"]["Handler"]: r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler", "").startswith("index.")
    }
    on_event = functions["index.on_event"]
    timeouts = {
        "OnEvent": float(on_event["Properties"]["Timeout"]),
        "IsComplete": float(functions["index.is_complete"]["Properties"]["Timeout"]),
    }
    asset_hash = on_event["Properties"]["Code"]["S3Key"].removesuffix(".zip")
    assert functions["index.is_complete"]["Properties"]["Code"]["S3Key"] == on_event["Properties"]["Code"]["S3Key"]
    manifest = json.loads((outdir / "HandlerAsset.assets.json").read_text())
    asset_dir = outdir / manifest["files"][asset_hash]["source"]["path"]
    os.environ.update(on_event["Properties"]["Environment"]["Variables"])
    state_machine = next(r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine")
    definition = json.loads(resolve(state_machine["Properties"]["DefinitionString"], template))
    retry = definition["States"]["framework-isComplete-task"]["Retry"][0]
    sys.path.insert(0, str(asset_dir))
    # The asset's modules, imported as the Lambda imports them (top-level names): fresh from this asset.
    for name in (p.stem for p in asset_dir.glob("*.py")):
        sys.modules.pop(name, None)
    module = importlib.import_module("index")
    assert Path(module.__file__).parent == asset_dir  # type: ignore[arg-type]
    return PackagedHandler(
        module=module,
        asset_dir=asset_dir,
        template=template,
        query_interval=retry["IntervalSeconds"],
        total_timeout=retry["IntervalSeconds"] * retry["MaxAttempts"],
        wait_budget=float(on_event["Properties"]["Environment"]["Variables"]["WAIT_BUDGET_SECONDS"]),
        timeouts=timeouts,
    )


@pytest.fixture
def clock(emulator: SageMakerEmulator, packaged_handler: PackagedHandler) -> FakeClock:
    fake = FakeClock()
    emulator.reset()
    emulator.clock = fake
    calls = sys.modules["calls"]  # the packaged handler's call layer: its waits are on the fake clock
    calls.clock = fake
    calls.sleep = fake.sleep
    return fake


@pytest.fixture
def provider(packaged_handler: PackagedHandler, clock: FakeClock) -> Iterator[Provider]:
    framework = Provider(
        packaged_handler.module,
        clock,
        packaged_handler.query_interval,
        packaged_handler.total_timeout,
        packaged_handler.timeouts,
    )
    yield framework
    # Whatever the scenario did, no invocation took more than half its function's timeout.
    for function, seconds in framework.invocations:
        assert seconds <= packaged_handler.timeouts[function] / 2, (function, seconds)


@pytest.fixture(scope="session")
def synthesized() -> Any:
    """The test stacks of ``stacks.py``, synthesized once."""
    from stacks import build

    return build()


@pytest.fixture(scope="session")
def many_jobs_template() -> dict[str, Any]:
    """A stack with fifty independent processing jobs."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from cdk_processing import ContainerImage, ProcessingInput, ProcessingJob, ProcessingOutput

    app = cdk.App()
    stack = cdk.Stack(app, "Fifty")
    bucket = s3.Bucket(stack, "Data")
    for i in range(50):
        ProcessingJob(
            stack,
            f"Job{i}",
            image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"),
            inputs=[ProcessingInput.from_bucket("raw", bucket, f"raw/{i}/")],
            outputs=[ProcessingOutput.to_bucket("out", bucket, f"out/{i}/")],
        )
    return dict(app.synth().get_stack_by_name("Fifty").template)


@pytest.fixture(scope="session")
def example_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """examples/app.py, synthesized once by running it as the cdk CLI would (CDK_OUTDIR, cdk.json's context)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    outdir = tmp_path_factory.mktemp("example")
    context = json.loads((root / "cdk.json").read_text())["context"]
    env = {**os.environ, "CDK_OUTDIR": str(outdir), "CDK_CONTEXT_JSON": json.dumps(context)}
    subprocess.run([sys.executable, str(root / "examples" / "app.py")], check=True, env=env, cwd=root)
    return dict(json.loads((outdir / "ChurnPipeline.template.json").read_text()))

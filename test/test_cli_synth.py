"""The README's first command synthesizes examples/app.py into cdk.out/ with the real, pinned cdk CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_synth_produces_the_example_stack_with_the_pinned_cli() -> None:
    result = subprocess.run(["make", "synth"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((ROOT / "cdk.out" / "ChurnPipeline.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("Custom::SageMakerProcessingJob") == 2
    assert types.count("AWS::StepFunctions::StateMachine") == 1
    manifest = json.loads((ROOT / "cdk.out" / "manifest.json").read_text())
    assert "ChurnPipeline" in manifest["artifacts"]
    pinned = json.loads((ROOT / "package.json").read_text())["devDependencies"]["aws-cdk"]
    installed = json.loads((ROOT / "node_modules" / "aws-cdk" / "package.json").read_text())["version"]
    assert installed == pinned

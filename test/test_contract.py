"""The contract deployed stacks depend on: logical ids, and the templates as a whole.

A deployed stack updates in place only if every resource keeps its logical id: a custom resource's ServiceToken
cannot change on update, a retained bucket under a new id is orphaned, a new role id replaces the role under a
running job. ``test_logical_ids_are_pinned`` holds the ids of the example app and of every test stack, with their
types (``snapshots/<stack>.ids.json``). ``test_templates_match_their_snapshots`` holds the whole templates, asset
hashes aside (``snapshots/<stack>.template.json``), so that a refactoring proves it changed nothing.

When a change to a template is intended, run ``CDK_PROCESSING_UPDATE_SNAPSHOTS=1 pytest test/test_contract.py`` and
review the diff of ``test/snapshots/`` like code: a changed id there breaks every stack deployed before it.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CDK_PROCESSING_UPDATE_SNAPSHOTS") == "1"
STACKS = [
    "example",
    "minimal",
    "full",
    "pipeline",
    "modes",
    "training",
    "training_full",
    "training_gate",
    "training_cluster",
    "workflow",
]
# Asset hashes (the handler's code among them) change with any byte of the asset; nothing else does.
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture(scope="module")
def templates(synthesized, example_template) -> dict[str, dict[str, Any]]:
    return {"example": example_template, **synthesized.templates}


def _compare(path: Path, actual: Any) -> None:
    text = json.dumps(actual, indent=1, sort_keys=True) + "\n"
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run with CDK_PROCESSING_UPDATE_SNAPSHOTS=1 and review it"
    assert json.loads(path.read_text()) == actual, f"{path.name} differs; see the module docstring"


@pytest.mark.parametrize("stack", STACKS)
def test_logical_ids_are_pinned(templates, stack: str) -> None:
    ids = {logical_id: resource["Type"] for logical_id, resource in templates[stack]["Resources"].items()}
    _compare(SNAPSHOTS / f"{stack}.ids.json", ids)


@pytest.mark.parametrize("stack", STACKS)
def test_templates_match_their_snapshots(templates, stack: str) -> None:
    normalized = json.loads(_ASSET_HASH.sub("<asset hash>", json.dumps(templates[stack])))
    _compare(SNAPSHOTS / f"{stack}.template.json", normalized)


def test_the_pinned_ids_cover_what_deployed_stacks_depend_on() -> None:
    """Jobs, roles, policies, security groups, buckets, keys and the provider's functions are all pinned."""
    pinned = {t for stack in STACKS for t in json.loads((SNAPSHOTS / f"{stack}.ids.json").read_text()).values()}
    assert {
        "Custom::SageMakerProcessingJob",
        "AWS::SageMaker::ProcessingJob",
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::EC2::SecurityGroup",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Lambda::Function",
        "AWS::StepFunctions::StateMachine",
    } <= pinned

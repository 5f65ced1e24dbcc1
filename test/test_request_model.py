"""Every request the construct produces, as the handler sends it, conforms to botocore's SageMaker model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cfn import delivered_properties, job_resources
from conftest import PackagedHandler
from model import input_shape, validate

ROOT = Path(__file__).resolve().parent.parent


def _requests(template: dict, handler: PackagedHandler) -> list[tuple[str, dict]]:
    out = []
    for logical_id in job_resources(template):
        props = delivered_properties(template, logical_id, outputs=_fake_outputs(template))
        request = handler.module.logic.coerce(input_shape(), props["Request"])
        request.setdefault("ProcessingJobName", handler.module.logic.job_name(props["JobNamePrefix"], "request-1"))
        request["Tags"] = [*request.get("Tags", []), {"Key": handler.module.logic.REQUEST_TAG, "Value": "request-1"}]
        out.append((logical_id, request))
    return out


def _fake_outputs(template: dict) -> dict[str, dict[str, str]]:
    """Attributes of processing jobs earlier in the deployment (a chained job reads another's output URI)."""
    return {
        logical_id: _AnyAttribute(f"s3://{logical_id.lower()}-output/prefix/") for logical_id in job_resources(template)
    }


class _AnyAttribute(dict):  # type: ignore[type-arg]
    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, key: str) -> str:
        return self.value


@pytest.mark.parametrize("stack", ["minimal", "full", "pipeline"])
def test_requests_of_test_stacks_conform_to_the_service_model(synthesized, packaged_handler, stack: str) -> None:
    requests = _requests(synthesized.templates[stack], packaged_handler)
    assert requests
    for logical_id, request in requests:
        assert validate(request) == [], logical_id


def test_request_of_the_example_app_conforms_to_the_service_model(packaged_handler, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "app.py")],
        check=True,
        env={**__import__("os").environ, "CDK_OUTDIR": str(tmp_path)},
        cwd=ROOT,
    )
    template = json.loads((tmp_path / "ChurnPipeline.template.json").read_text())
    requests = _requests(template, packaged_handler)
    assert len(requests) == 2
    for logical_id, request in requests:
        assert validate(request) == [], logical_id


def test_the_validator_rejects_what_the_model_forbids() -> None:
    bad = {
        "ProcessingJobName": "bad name",
        "AppSpecification": {"ImageUri": "x", "ContainerArguments": []},
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 101, "InstanceType": "ml.nope", "VolumeSizeInGB": "30"}
        },
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "Unknown": 1,
    }
    errors = "\n".join(validate(bad))
    assert "ProcessingJobName: 'bad name' does not match" in errors
    assert "ContainerArguments: 0 items" in errors
    assert "InstanceCount: 101 outside 1..100" in errors
    assert "InstanceType: 'ml.nope' is not one of" in errors
    assert "VolumeSizeInGB: expected an integer" in errors
    assert "unknown member Unknown" in errors

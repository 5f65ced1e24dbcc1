"""cfn-lint on every template the suite synthesizes, and each job request against the resource schema cfn-lint ships
for ``AWS::SageMaker::ProcessingJob`` (the same shape as the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cfnlint
import jsonschema
import pytest

from cfn import cfn_lint, job_resources, resolve
from model import python_pattern

SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"


@pytest.mark.parametrize(
    "stack",
    ["minimal", "full", "pipeline", "training", "training_full", "training_gate", "training_cluster", "workflow"],
)
def test_test_stacks_have_no_cfn_lint_errors_or_warnings(synthesized, stack: str) -> None:
    assert cfn_lint(synthesized.templates[stack]) == []


def test_example_app_has_no_cfn_lint_errors_or_warnings(example_template: dict[str, Any]) -> None:
    assert cfn_lint(example_template) == []


def test_fifty_job_stack_has_no_cfn_lint_errors_or_warnings(many_jobs_template: dict[str, Any]) -> None:
    assert cfn_lint(many_jobs_template) == []


def _processing_job_schema() -> dict[str, Any]:
    providers = json.loads((SCHEMAS / "providers" / "us-east-1.json").read_text())
    schema = json.loads((SCHEMAS / "resources" / f"{providers['AWS::SageMaker::ProcessingJob']}.json").read_text())
    return dict(_python_patterns(schema))


def _python_patterns(node: Any) -> Any:
    """The schema's patterns are Java's (\\p{L} ...): give them to Python's re as the model check does."""
    if isinstance(node, dict):
        return {k: python_pattern(v) if k == "pattern" else _python_patterns(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


def test_every_job_request_matches_the_processing_job_resource_schema(synthesized, example_template) -> None:
    schema = _processing_job_schema()
    validator = jsonschema.Draft7Validator(schema)
    templates = [*synthesized.templates.values(), example_template]
    checked = 0
    for template in templates:
        fake_outputs = {k: _Attributes() for k in job_resources(template)}
        for logical_id, resource in job_resources(template).items():
            if resource["Type"] != "Custom::SageMakerProcessingJob":
                continue  # a training request has no CloudFormation schema: test_request_model checks it (botocore)
            request = resolve(resource["Properties"]["Request"], template, fake_outputs)
            request.setdefault("ProcessingJobName", resource["Properties"]["JobNamePrefix"] + "-0123456789")
            errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(request)]
            assert errors == [], logical_id
            checked += 1
    # minimal 1, full 1, pipeline 2, modes 1 (the start-only job is native), example 2, training_full 1 (Prepare),
    # training_gate 1 (Evaluate),
    # workflow 1 (Features; its jobs that run in workflows only have no resource)
    assert checked == 10


def test_the_schema_check_rejects_what_the_resource_schema_forbids() -> None:
    validator = jsonschema.Draft7Validator(_processing_job_schema())
    bad = {"AppSpecification": {"ImageUri": "x"}, "RoleArn": "arn:aws:iam::123456789012:role/r", "Nope": 1}
    messages = " ".join(e.message for e in validator.iter_errors(bad))
    assert "'ProcessingResources' is a required property" in messages
    assert "Additional properties are not allowed ('Nope' was unexpected)" in messages


class _Attributes(dict):  # type: ignore[type-arg]
    """Attributes of a job earlier in the deployment: an S3 URI for any output."""

    def __missing__(self, key: str) -> str:
        return "s3://upstream-bucket/prefix/"

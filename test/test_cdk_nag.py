"""cdk-nag's AwsSolutions, NIST 800-53 R5 and HIPAA Security packs on the example app and on stacks covering every
prop group and completion mode: no finding on anything the library creates or grants, and the example app clean.

Acknowledgements are the library's own (placed with aws-cdk-lib's ``Validations.of(...).acknowledge``, each with its
reason), except for the example app's own resources, acknowledged in examples/app.py. The packs run through
``NagPack.validate_scope``, cdk-nag v3's entry point for checking a synthesized construct tree.
"""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks
from constructs import IConstruct

from cdk_processing import (
    Completion,
    ContainerImage,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
)
from cfn import resolve

ROOT = Path(__file__).resolve().parent.parent
PACKS = (AwsSolutionsChecks, NIST80053R5Checks, HIPAASecurityChecks)

# Resources of the test stacks that stand for the user's own (buckets, VPC, key, repository, roles): their findings
# are the user's to settle. Anything else in these stacks the library created or granted.
FIXTURES = {
    "Minimal": ["Data"],
    "Full": ["Key", "Data", "Results", "Vpc", "JobGroup", "Repo", "RedshiftRole"],
    "Pipeline": ["Lake", "Vpc"],
    "Modes": ["Data"],
    "Training": ["Models"],
    "TrainingFull": ["Key", "Data", "Vpc"],
    "TrainingGate": [],
    "TrainingCluster": ["Vpc", "Efs", "Lustre", "Corpus"],
    "Workflow": ["Lake", "Key", "FailedRuns"],
}


def findings(scope: IConstruct) -> list[str]:
    """Every unacknowledged finding of the three packs under ``scope``: "<rule id> <construct path>"."""
    found = []
    for pack in PACKS:
        report = pack().validate_scope(scope)
        for violation in report.violations:
            found += [f"{violation.rule_name} {r.construct_path}" for r in violation.violating_resources]
    return sorted(found)


def library_findings(stack: cdk.Stack) -> list[str]:
    fixtures = [f"{stack.stack_name}/{f}/" for f in FIXTURES[stack.stack_name]]
    kept = []
    for finding in findings(stack):
        path = finding.rsplit(" ", 1)[1]
        if not any(path.startswith(f) for f in fixtures):
            kept.append(finding)
    return kept


@pytest.fixture(scope="module")
def example_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[cdk.App, str | None]]:
    """examples/app.py run in this process, as a user runs cdk-nag v3: the three packs added as validation plugins of
    the app (``Validations.of(app).add_plugins``), which fail the synth on any finding. Gives the app, for a detailed
    listing, and the synth's failure, if any."""
    outdir = tmp_path_factory.mktemp("example-nag")
    apps: list[cdk.App] = []

    class CheckedApp(cdk.App):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            cdk.Validations.of(self).add_plugins(*(pack(self) for pack in PACKS))
            apps.append(self)

    saved = os.environ.get("CDK_OUTDIR")
    os.environ["CDK_OUTDIR"] = str(outdir)
    error = None
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cdk, "App", CheckedApp)
            runpy.run_path(str(ROOT / "examples" / "app.py"), run_name="__main__")
    except Exception as failure:  # the plugins' ValidationFailed
        error = str(failure)
    finally:
        if saved is None:
            os.environ.pop("CDK_OUTDIR")
        else:
            os.environ["CDK_OUTDIR"] = saved
    yield apps[0], error


@pytest.fixture(scope="module")
def modes(synthesized) -> tuple[cdk.Stack, dict[str, Any]]:
    """The stack with what the other test stacks leave out (stacks.py): long waits, start-only jobs, code and data
    folders, a framework image and a key on the default bucket's outputs."""
    return synthesized.stacks["modes"], synthesized.templates["modes"]


def test_example_app_has_no_findings_in_any_pack(example_app: tuple[cdk.App, str | None]) -> None:
    app, error = example_app
    assert findings(app) == []
    assert error is None


@pytest.mark.parametrize(
    "name",
    ["minimal", "full", "pipeline", "training", "training_full", "training_gate", "training_cluster", "workflow"],
)
def test_the_library_has_no_findings_in_the_test_stacks(synthesized, name: str) -> None:
    assert library_findings(synthesized.stacks[name]) == []


def test_the_library_has_no_findings_with_long_waits_start_only_jobs_and_folders(modes) -> None:
    assert library_findings(modes[0]) == []


def test_library_functions_carry_no_secret_and_every_log_group_has_a_retention(synthesized, modes) -> None:
    """The functions' environments hold numbers and references to resources, no literal text; logs expire."""
    functions = groups = 0
    for template in [*synthesized.templates.values(), modes[1]]:
        for resource in template["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                functions += 1
                variables = resource["Properties"].get("Environment", {}).get("Variables", {})
                literal = {k: v for k, v in variables.items() if isinstance(v, str) and not v.isdigit()}
                # BucketDeployment's function names the image's CA bundle file.
                assert literal in ({}, {"AWS_CA_BUNDLE": "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"})
            if resource["Type"] == "AWS::Logs::LogGroup":
                groups += 1
                assert resource["Properties"]["RetentionInDays"] == 30
    assert functions >= 16 and groups >= 16


def test_the_gate_reports_what_it_should(synthesized) -> None:
    """The packs run and see the test stacks: the fixtures' own findings are reported (a bucket without access logs),
    and so is any wildcard the library did not grant, on the job's role or on a role passed in, "*" included."""
    full = findings(synthesized.stacks["full"])
    assert "AwsSolutions-S1 Full/Results/Resource" in full
    app = cdk.App()
    stack = cdk.Stack(app, "Extra")
    image = ContainerImage.from_registry("python:3.12")
    job = ProcessingJob(stack, "Job", image=image)
    job.add_to_role_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::mine/*"]))
    job.add_to_role_policy(iam.PolicyStatement(actions=["s3:DeleteObject"], resources=["*"]))
    mine = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    mine.add_to_policy(iam.PolicyStatement(actions=["s3:DeleteObject"], resources=["*"]))
    ProcessingJob(stack, "Passed", image=image, role=mine)
    app.synth()
    assert findings(stack) == [
        "AwsSolutions-IAM5[Resource::*] Extra/Job/Role/GrantsPolicy/Resource",
        "AwsSolutions-IAM5[Resource::*] Extra/Mine/DefaultPolicy/Resource",
        "AwsSolutions-IAM5[Resource::arn:aws:s3:::mine/*] Extra/Job/Role/GrantsPolicy/Resource",
        "HIPAA.Security-IAMNoInlinePolicy Extra/Mine/DefaultPolicy/Resource",
        "NIST.800.53.R5-IAMNoInlinePolicy Extra/Mine/DefaultPolicy/Resource",
    ]


def test_a_job_task_in_a_state_machine_of_yours_is_acknowledged_for_its_runs_only() -> None:
    """The runs' ARN pattern a task grants is acknowledged for exactly its text: a wildcard of yours on the same role
    is reported, and so is the inline default policy aws-cdk-lib gives your state machine's role."""
    app = cdk.App()
    stack = cdk.Stack(app, "Yours")
    job = ProcessingJob(stack, "Job", image=ContainerImage.from_registry("python:3.12"), completion=Completion.never())
    machine = sfn.StateMachine(
        stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(job.as_task(stack, "Run"))
    )
    machine.add_to_role_policy(
        iam.PolicyStatement(actions=["sagemaker:DescribeModel"], resources=["arn:aws:sagemaker:*"])
    )
    app.synth()
    assert [f for f in findings(stack) if "/Machine/" in f] == [
        "AwsSolutions-IAM5[Resource::arn:aws:sagemaker:*] Yours/Machine/Role/DefaultPolicy/Resource",
        "AwsSolutions-SF1 Yours/Machine/Resource",
        "AwsSolutions-SF2 Yours/Machine/Resource",
        "HIPAA.Security-IAMNoInlinePolicy Yours/Machine/Role/DefaultPolicy/Resource",
        "NIST.800.53.R5-IAMNoInlinePolicy Yours/Machine/Role/DefaultPolicy/Resource",
    ]


def _acknowledgements(scope: IConstruct) -> dict[str, str]:
    acknowledged: dict[str, str] = {}
    for construct in scope.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                for rule, reason in entry.data.items():
                    acknowledged[f"{construct.node.path} {rule.split('::', 1)[-1]}"] = reason
    return acknowledged


def test_acknowledgements_near_a_job_role_are_on_the_librarys_own_policies_each_with_its_reason(synthesized) -> None:
    """Nothing is acknowledged on a job's role itself nor on the policy of others' grants: only the wildcards of the
    library's own managed policies (and, for a role passed in, the library's inline policy attached to it)."""
    checked = 0
    for stack in synthesized.stacks.values():
        for place, reason in _acknowledgements(stack).items():
            path, rule = place.split(" ", 1)
            assert len(reason) > 40, place
            parts = path.split("/")
            if len(parts) < 3 or parts[1] not in ("Prep", "Features", "Evaluate") or not parts[2].startswith("Role"):
                continue
            checked += 1
            if parts[2] == "Role":
                assert len(parts) == 4 and parts[3].startswith("ManagedPolicy"), place
                assert rule.startswith("AwsSolutions-IAM5[Resource::"), place
            else:
                assert parts[2] == "RolePolicy" and len(parts) == 3, place
                assert rule.startswith("AwsSolutions-IAM5[Resource::") or rule.endswith("-IAMNoInlinePolicy"), place
    assert checked >= 20


def test_a_wildcard_the_library_grants_needs_a_reason() -> None:
    from cdk_processing._policy import allow

    app = cdk.App()
    role = iam.Role(cdk.Stack(app, "S"), "R", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    with pytest.raises(ValueError, match="needs the AWS-documented reason"):
        allow(role, ["s3:GetObject"], ["arn:aws:s3:::b/*"])
    with pytest.raises(ValueError, match="name their actions"):
        allow(role, ["s3:Get*"], ["arn:aws:s3:::b"])


def test_a_wildcard_on_a_bucket_of_another_stack_is_acknowledged_as_cdk_nag_names_it() -> None:
    """cdk-nag names such a resource by its export (``Fn::ImportValue``), known only once the app is prepared."""
    app = cdk.App()
    lake = s3.Bucket(cdk.Stack(app, "Data"), "Lake")
    jobs = cdk.Stack(app, "Jobs")
    ProcessingJob(
        jobs,
        "Job",
        image=ContainerImage.from_registry("python:3.12"),
        inputs=[ProcessingInput.from_bucket("raw", lake, "raw/")],
        outputs=[ProcessingOutput.to_bucket("out", lake, "out/")],
    )
    app.synth()
    policy = jobs.node.find_child("Job").node.find_child("Role").node.find_child("ManagedPolicy")
    assert isinstance(policy, iam.ManagedPolicy)
    # The library renders its statements into the policy's resource (its own document holds the first one only).
    resource = policy.node.default_child
    assert isinstance(resource, iam.CfnManagedPolicy)
    assert "Fn::ImportValue" in json.dumps(jobs.resolve(resource.policy_document))
    assert [f for f in findings(jobs) if "/Job/" in f] == []


def test_statements_added_after_the_job_is_made_join_its_policy_and_its_acknowledgement() -> None:
    """The job's own statements are made into its policy once the job is made; those added later go to that policy,
    and their wildcards are acknowledged with the others: one reason per finding, naming each statement's."""
    from cdk_processing._policy import allow

    app = cdk.App()
    stack = cdk.Stack(app, "Later")
    bucket = s3.Bucket(stack, "Data")
    job = ProcessingJob(stack, "Job", image=ContainerImage.from_registry("python:3.12"))
    job.add_input(ProcessingInput.from_bucket("raw", bucket, "raw/"))
    # A statement with the same finding as one of the job's (the objects under raw/), once the job was made.
    allow(job, ["s3:GetObjectVersion"], [bucket.bucket_arn + "/raw/*"], why="a statement added once the job was made")
    app.synth()
    policy = job.node.find_child("Role").node.find_child("ManagedPolicy")
    rules = [
        rule.split("::", 1)[-1]
        for entry in policy.node.metadata
        if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
        for rule in entry.data
    ]
    assert len(rules) == len(set(rules)), rules
    assert any("log-stream" in r for r in rules) and any("/raw/*" in r for r in rules), rules
    [objects] = [r for r in _acknowledgements(stack) if r.startswith("Later/Job/Role/ManagedPolicy ") and "/raw/*" in r]
    reason = _acknowledgements(stack)[objects]
    assert "S3 authorizes object actions" in reason and "added once the job was made" in reason
    assert job.node.find_child("Role").node.try_find_child("ManagedPolicy2") is None
    assert [f for f in findings(stack) if "/Job/" in f] == []


def test_one_finding_for_several_statements_carries_the_reason_of_each(synthesized) -> None:
    """``Resource::*`` stands for every statement on "*" of the policy: ECR's token, metrics, EC2's Describe*, which
    every VPC job of the stack has alike (the stack's shared policy for them)."""
    acknowledged = _acknowledgements(synthesized.stacks["pipeline"])
    reason = acknowledged["Pipeline/CdkProcessingJobPolicyEcrLoginProcessingJobsLogsVpc AwsSolutions-IAM5[Resource::*]"]
    assert "Actions defined by Amazon ECR" in reason
    assert "Actions defined by Amazon CloudWatch" in reason
    assert "Actions defined by Amazon EC2" in reason


def test_a_deployment_function_the_stack_made_for_someone_else_gets_no_acknowledgement_of_the_library() -> None:
    from aws_cdk import aws_s3_deployment as s3_deployment
    from aws_cdk.assertions import Annotations, Match

    from cdk_processing.assets import DEPLOYMENT_MEMORY_MIB

    app = cdk.App()
    stack = cdk.Stack(app, "Shared")
    site = s3.Bucket(stack, "Site")
    s3_deployment.BucketDeployment(
        stack,
        "Mine",
        destination_bucket=site,
        sources=[s3_deployment.Source.asset(str(ROOT / "examples" / "evaluate"))],
        memory_limit=DEPLOYMENT_MEMORY_MIB,
    )
    ProcessingJob(
        stack,
        "Job",
        image=ContainerImage.from_registry("python:3.12"),
        inputs=[ProcessingInput.from_asset("lookup", str(ROOT / "examples" / "preprocess"))],  # a folder: copied
    )
    app.synth()
    Annotations.from_stack(stack).has_warning("/Shared/Job", Match.string_like_regexp("run under its role"))
    function = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
    assert len(function) == 1 and _acknowledgements(function[0]) == {}


def test_a_log_key_configured_for_the_stack_encrypts_every_library_log_group_with_nothing_acknowledged() -> None:
    from cdk_processing import ProcessingJobProvider

    app = cdk.App()
    stack = cdk.Stack(app, "Keyed")
    key = kms.Key(stack, "LogKey", enable_key_rotation=True)
    ProcessingJobProvider.configure(stack, log_encryption_key=key)
    ProcessingJob(
        stack,
        "Train",
        image=ContainerImage.from_registry("python:3.12"),  # its own entrypoint: the folder is copied
        inputs=[ProcessingInput.from_asset("lookup", str(ROOT / "examples" / "evaluate"))],
        max_runtime=cdk.Duration.hours(2),
    )
    template = dict(app.synth().get_stack_by_name("Keyed").template)
    groups = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    key_id = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key"][0]
    assert len(groups) == 6  # OnEvent, IsComplete, Provider, Waiter, Signal (long wait), folder copies
    assert all(g["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]} for g in groups)
    statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    logs_statement = [s for s in statements if "logs" in json.dumps(s.get("Principal"))]
    assert len(logs_statement) == 1 and "kms:GenerateDataKey" in logs_statement[0]["Action"]
    assert not [p for p in _acknowledgements(stack) if "CloudWatchLogGroupEncrypted" in p]
    assert [f for f in findings(stack) if "/LogKey/" not in f] == []


def test_configure_comes_before_the_first_job() -> None:
    from cdk_processing import ProcessingJobProvider
    from cdk_processing._validation import ProcessingJobValidationError

    stack = cdk.Stack(cdk.App(), "Late")
    ProcessingJob(stack, "Job", image=ContainerImage.from_registry("python:3.12"))
    with pytest.raises(ProcessingJobValidationError, match="call it before the stack's first processing job"):
        ProcessingJobProvider.configure(stack, log_encryption_key=kms.Key(stack, "Key"))


@jsii.implements(cdk.IAspect)
class _ResolvesEverything:
    """What cdk-nag's checks do when run as an aspect: resolve each resource's properties, before the app is
    prepared (before references across stacks become exports)."""

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, iam.CfnManagedPolicy):
            cdk.Stack.of(node).resolve(node.policy_document)
        elif isinstance(node, cdk.CfnResource) and node.cfn_resource_type.startswith("Custom::"):
            cdk.Stack.of(node).resolve(node._cfn_properties)


def _job_on(scope: IConstruct, bucket: s3.IBucket, *, writes: bool = False) -> None:
    """A job reading ``raw/`` of ``bucket`` (and writing ``out/``)."""
    ProcessingJob(
        scope,
        "Job",
        image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"),
        inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
        outputs=[ProcessingOutput.to_bucket("out", bucket, "out/")] if writes else None,
    )


def test_references_across_stacks_stay_imports_after_an_aspect_resolved_the_templates_early() -> None:
    """The library writes its policies and requests with Fn::Sub from their resolution at synth; an earlier
    resolution (an aspect's) must not leave a reference to the other stack's resource in the template."""
    app = cdk.App()
    data = cdk.Stack(app, "Data")
    lake = s3.Bucket(data, "Lake")
    jobs = cdk.Stack(app, "Jobs")
    _job_on(jobs, lake, writes=True)
    cdk.Aspects.of(app).add(_ResolvesEverything())
    template = app.synth().get_stack_by_name("Jobs").template
    lake_id = data.resolve(data.get_logical_id(lake.node.default_child))
    text = json.dumps(template)
    # No Ref or GetAtt of the other stack's bucket, as an intrinsic or in an Fn::Sub: its exports only.
    assert not [f for f in (f'"Ref": "{lake_id}"', f'["{lake_id}", ', "${" + lake_id) if f in text]
    assert f"Data:ExportsOutputRef{lake_id}" in text
    policy = next(r for k, r in template["Resources"].items() if k.startswith("JobRoleManagedPolicy"))
    assert "Fn::ImportValue" in json.dumps(policy)
    job = next(r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob")
    assert "Fn::ImportValue" in json.dumps(job["Properties"]["Request"])


def test_a_synthesis_that_skips_validation_writes_the_same_values_as_joins() -> None:
    """The library writes Fn::Sub once the stack is validated (the app prepared); without validation its values are
    written as they are, which resolve to the same."""
    templates = []
    for skip in (False, True):
        app = cdk.App()
        stack = cdk.Stack(app, "Jobs")
        _job_on(stack, s3.Bucket(stack, "Data"))
        templates.append(app.synth(skip_validation=skip).get_stack_by_name("Jobs").template)
    written, as_is = templates
    assert "Fn::Sub" in json.dumps(written) and "Fn::Join" in json.dumps(as_is)
    assert len(json.dumps(written)) < len(json.dumps(as_is))
    assert resolve(written["Resources"], written) == resolve(as_is["Resources"], as_is)


def test_a_nested_stacks_values_are_written_as_they_are_so_its_asset_hash_is_its_files() -> None:
    """aws-cdk-lib hashes a nested stack's template for its asset while preparing the app, before the library
    writes Fn::Sub: a nested stack's values stay as they are, and the file is the one hashed."""
    import hashlib

    app = cdk.App()
    parent = cdk.Stack(app, "Parent")
    nested = cdk.NestedStack(parent, "Nested")
    _job_on(nested, s3.Bucket(nested, "Data"))
    assembly = app.synth()
    [file] = Path(assembly.directory).glob("*Nested*.nested.template.json")
    assert "Fn::Sub" not in file.read_text().replace('"Fn::Sub": "cdk-', "")  # the bootstrap bucket's own
    # aws-cdk-lib's hash: of the template's JSON (JSON.stringify, no spaces), which the file is, indented.
    compact = json.dumps(json.loads(file.read_text()), separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(compact.encode()).hexdigest()
    assets = json.loads(Path(assembly.directory, "Parent.assets.json").read_text())["files"]
    assert digest in assets, sorted(assets)

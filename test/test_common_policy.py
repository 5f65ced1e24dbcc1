"""What alike jobs use alike (a key, an image's repository, a bucket, their code asset, subnets) in one managed policy
of the stack instead of a copy in each job's policy: the same grants for every role, the first job's resource
unchanged when others join, and nothing of one job in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_processing import Code, ContainerImage, ProcessingInput, ProcessingJob, ProcessingOutput, TrainingJob
from cdk_processing._common_policy import _same
from cdk_processing._principal import LibraryDocument
from cfn import VOLUME_KEY_ACTIONS, attached_policies, cfn_lint, job_resources, resolve, role_grants, waits_for
from emulator import Outcome
from harness import DeployedStack, prefix_of

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"
ENV = cdk.Environment(account="123456789012", region="us-east-1")
SCRIPT = Path(__file__).parent.parent / "examples" / "evaluate" / "evaluate.py"
COMMON = "CdkProcessingJobCommonPolicy"


def _stack(jobs: list[int], *, odd: bool = False) -> dict[str, Any]:
    """Stack ``Loop`` with the jobs ``Job<i>`` for ``i`` in ``jobs``, alike but for their prefixes (a job of a loop):
    one code asset, image, key, bucket and VPC; ``odd``: and a job ``Odd`` with a volume key of its own."""
    app = cdk.App()
    stack = cdk.Stack(app, "Loop")
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Data", encryption_key=key)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)

    def job(id: str, volume_key: kms.IKey) -> None:
        code = Code.from_asset(str(SCRIPT))
        _job_on(stack, id, bucket, code=code, vpc=vpc, volume_encryption_key=volume_key, output_encryption_key=key)

    for i in jobs:
        job(f"Job{i}", key)
    if odd:
        job("Odd", kms.Key(stack, "OddKey", enable_key_rotation=True))
    return dict(app.synth().get_stack_by_name("Loop").template)


def _job_on(scope: Construct, id: str, bucket: s3.IBucket, **props: Any) -> None:
    """A processing job reading ``raw/<id>/`` and writing ``out/<id>/`` of ``bucket``, with ``props``."""
    inputs = [ProcessingInput.from_bucket("raw", bucket, f"raw/{id}/")]
    outputs = [ProcessingOutput.to_bucket("out", bucket, f"out/{id}/")]
    ProcessingJob(scope, id, image=ContainerImage.from_registry(IMAGE), inputs=inputs, outputs=outputs, **props)


@pytest.fixture(scope="module")
def loop() -> dict[str, Any]:
    return _stack([0, 1, 2, 3], odd=True)


@pytest.fixture(scope="module")
def alone() -> dict[int | str, dict[str, Any]]:
    """Job 0, job 3 and the odd job of the loop, each the only job of its stack."""
    return {0: _stack([0]), 3: _stack([3]), "Odd": _stack([], odd=True)}


def _role(template: dict[str, Any], job: str) -> str:
    [role] = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k[:-8] == f"{job}Role"]
    return role


def _job(template: dict[str, Any], job: str) -> tuple[str, dict[str, Any]]:
    [found] = [(k, r) for k, r in job_resources(template).items() if k[:-8] == job]
    return found


def test_alike_jobs_hold_what_they_use_alike_in_one_policy_attached_to_each_and_waited_for(loop) -> None:
    [(id, policy)] = [(k, r) for k, r in loop["Resources"].items() if k.startswith(COMMON)]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    # Attached by each role (not by the policy's Roles: it depends on no job's role).
    assert "Roles" not in policy["Properties"]
    attached = [k for k, r in loop["Resources"].items() if {"Ref": id} in r["Properties"].get("ManagedPolicyArns", [])]
    assert attached == [_role(loop, f"Job{i}") for i in range(4)]
    for i in range(4):  # the job waits for it through its role (its RoleArn), which attaches it
        assert waits_for(loop, _job(loop, f"Job{i}")[0], id)
    assert id not in json.dumps([r for k, r in loop["Resources"].items() if k.startswith("Odd")])
    actions = {a for s in policy["Properties"]["PolicyDocument"]["Statement"] for a in _list(s["Action"])}
    assert {"kms:Decrypt", "kms:CreateGrant", "ecr:BatchGetImage", "ec2:CreateNetworkInterface", "s3:GetObject"} <= (
        actions
    )
    # Nothing of one job: no job's name prefix, security group, role or output.
    text = json.dumps(policy)
    for i in range(4):
        prefix = _job(loop, f"Job{i}")[1]["Properties"]["JobNamePrefix"]
        assert prefix not in text and f"Job{i}" not in text.replace(_role(loop, f"Job{i}"), "")
    assert "*" not in json.dumps(policy["Properties"]["PolicyDocument"])


def test_every_role_has_exactly_the_grants_it_has_as_the_only_job_of_its_stack(loop, alone) -> None:
    for job, template in alone.items():
        role = f"Job{job}Role" if isinstance(job, int) else f"{job}Role"
        assert not [k for k in template["Resources"] if k.startswith(COMMON)]
        assert role_grants(loop, role) == role_grants(template, role)


def test_a_job_that_differs_in_one_key_keeps_its_statements_and_gets_nothing_of_the_others(loop) -> None:
    odd = role_grants(loop, "OddRole")
    shared_key = json.dumps(resolve({"Fn::GetAtt": [_key(loop, "Key"), "Arn"]}, loop))
    odd_key = json.dumps(resolve({"Fn::GetAtt": [_key(loop, "OddKey"), "Arn"]}, loop))
    assert {a for a, r, _ in odd if r == odd_key} == VOLUME_KEY_ACTIONS
    # The output key is the loop's: what it writes with it, no more (no volume actions, no grants).
    assert {a for a, r, _ in odd if r == shared_key} == {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"}


def test_the_first_jobs_resource_role_and_policy_are_unchanged_when_alike_jobs_join(loop, alone) -> None:
    # An update adding jobs to a deployed stack of one: the first job's resource is the same (no update reaches the
    # handler, nothing reruns); its role and policy keep their logical ids (updated in place).
    id, first = _job(alone[0], "Job0")
    assert _job(loop, "Job0") == (id, first)
    own = [k for k, r in alone[0]["Resources"].items() if k.startswith("Job0") and r["Type"].startswith("AWS::IAM")]
    assert len(own) == 2 and all(k in loop["Resources"] for k in own)


def test_two_jobs_alike_in_a_few_statements_keep_them_in_their_own_policies(synthesized) -> None:
    # Two training jobs of one image and bucket: a policy of the stack would be more template than the two copies.
    template = synthesized.templates["training"]
    assert len(job_resources(template)) == 2
    assert not [k for k in template["Resources"] if k.startswith(COMMON)]
    assert [k for k in synthesized.templates["training_cluster"]["Resources"] if k.startswith(COMMON)]


def test_jobs_alike_but_for_the_stack_of_their_key_and_bucket_share_only_with_the_jobs_of_that_stack() -> None:
    # Two instances of one stack class: their key and bucket have the same logical ids, which the jobs' statements
    # name until the app is prepared (then as imports of each stack's exports).
    app = cdk.App()
    data = {}
    for name in ("DatasetA", "DatasetB"):
        stack = cdk.Stack(app, name, env=ENV)
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        data[name] = s3.Bucket(stack, "Bucket", encryption_key=key, enforce_ssl=True)
    jobs = cdk.Stack(app, "Jobs", env=ENV)
    for name, bucket in data.items():
        for i in range(3):
            _job_on(jobs, f"{name}{i}", bucket)
    template = app.synth().get_stack_by_name("Jobs").template
    common = {k: r for k, r in template["Resources"].items() if k.startswith(COMMON)}
    assert len(common) == 2
    for name, other in (("DatasetA", "DatasetB"), ("DatasetB", "DatasetA")):
        roles = [_role(template, f"{name}{i}") for i in range(3)]
        [policy] = [common[k] for k in common if all(set(attached_policies(template, r)) >= {k} for r in roles)]
        assert f'"{name}:' in json.dumps(policy) and f'"{other}:' not in json.dumps(policy)
        for role in roles:
            # Everything the role holds names its own dataset's key and bucket, none of the other's.
            text = json.dumps(attached_policies(template, role))
            assert f'"{name}:ExportsOutputFnGetAttKey' in text and f'"{other}:' not in text
    # Named by the stacks they reference, not by which group was made first.
    assert len({k[: len(COMMON) + 8] for k in common}) == 2


def test_a_job_made_to_wait_for_another_of_the_same_common_policy_closes_no_dependency_cycle() -> None:
    # train.node.add_dependency(prep): every resource of the training job depends on every one of the processing job.
    app = cdk.App()
    stack = cdk.Stack(app, "Chain", env=ENV)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    bucket = s3.Bucket(stack, "Data", encryption_key=key, enforce_ssl=True)
    alike: dict[str, Any] = {
        "image": ContainerImage.from_registry(IMAGE),
        "volume_encryption_key": key,
        "output_encryption_key": key,
        "output_bucket": bucket,
    }
    prep = ProcessingJob(stack, "Prep", outputs=[ProcessingOutput.to_bucket("out", bucket, "prep/")], **alike)
    train = TrainingJob(stack, "Train", **alike)
    train.node.add_dependency(prep)
    template = app.synth().get_stack_by_name("Chain").template
    assert [k for k in template["Resources"] if k.startswith(COMMON)]
    assert cfn_lint(template) == []


def test_a_job_made_to_wait_for_another_of_the_same_kind_closes_no_cycle_through_their_shared_policy() -> None:
    # Their kind's log group and metrics, ECR's login: one policy of the stack (CdkProcessingJobPolicy<needs>).
    app = cdk.App()
    stack = cdk.Stack(app, "Same")
    first = ProcessingJob(stack, "First", image=ContainerImage.from_registry(IMAGE))
    second = ProcessingJob(stack, "Second", image=ContainerImage.from_registry(IMAGE))
    second.node.add_dependency(first)
    template = app.synth().get_stack_by_name("Same").template
    assert [k for k in template["Resources"] if k.startswith("CdkProcessingJobPolicy")]
    assert cfn_lint(template) == []


def test_the_loops_template_is_clean_for_cfn_lint(loop) -> None:
    assert cfn_lint(loop) == []


def test_a_jobs_own_policies_lose_the_common_statements_only_after_its_role_attaches_the_common_policy(loop) -> None:
    # On the update that makes the common policy, CloudFormation updates the role (attaching it) before the role's own
    # policies (which reference the role): a job still running keeps its grants throughout.
    [id] = [k for k in loop["Resources"] if k.startswith(COMMON)]
    for i in range(4):
        [own] = [k for k in loop["Resources"] if k[:-8] == f"Job{i}RoleManagedPolicy"]
        assert waits_for(loop, own, _role(loop, f"Job{i}")) and waits_for(loop, _role(loop, f"Job{i}"), id)
        assert not waits_for(loop, id, own)


def test_taking_statements_out_of_a_policy_never_leaves_it_without_one() -> None:
    stack = cdk.Stack(cdk.App(), "Document")
    a = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::a/*"]}
    b = {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]}
    document = LibraryDocument(stack, [a, b])
    document.remove({id(a), id(b)})
    assert document.statement_count == 2
    document.remove({id(a)})
    assert stack.resolve(document)["Statement"] == [
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": "arn:aws:s3:::b/*"}
    ]


def _key(template: dict[str, Any], id: str) -> str:
    [key] = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::KMS::Key" and k[:-8] == id]
    return key


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _deployed_alone(provider: Any, emulator: Any, template: dict[str, Any]) -> tuple[DeployedStack, str]:
    """The stack of job 0 alone deployed, its job completing at its first Describe; and the job's logical id."""
    emulator.plan(Outcome("Completed", after_describes=1))
    stack = DeployedStack(provider, template)
    assert stack.deploy().ok
    return stack, _job(template, "Job0")[0]


def test_alike_jobs_added_to_a_deployed_stack_of_one_run_alone_and_removed_again_are_deleted_alone(
    provider, emulator, loop, alone
) -> None:
    # Through the packaged handler into the emulator: the update that makes the common policy reaches no deployed job.
    stack, first = _deployed_alone(provider, emulator, alone[0])
    before = stack.physical[first]
    created = emulator.calls["CreateProcessingJob"]

    outcome = stack.update(loop)

    assert outcome.status == "UPDATE_COMPLETE"
    assert stack.physical[first] == before
    after = set(stack.physical.values())
    assert emulator.calls["CreateProcessingJob"] - created == 4  # Job1, Job2, Job3 and Odd
    assert first not in outcome.responses  # no event for it reached the handler
    assert len(outcome.responses) == 4

    # And back: the jobs the update removes are deleted (completed: nothing to stop), the first is not touched.
    outcome = stack.update(alone[0])

    assert outcome.status == "UPDATE_COMPLETE"
    assert first not in outcome.responses and stack.physical == {first: before}
    assert sorted(r[0].status for r in outcome.responses.values()) == ["SUCCESS"] * 4
    assert {r[0].physical_resource_id for r in outcome.responses.values()} == set(after) - {before}
    assert emulator.calls["CreateProcessingJob"] - created == 4


def test_a_failed_update_adding_alike_jobs_deletes_them_and_leaves_the_first_as_it_was(
    provider, emulator, loop, alone
) -> None:
    stack, first = _deployed_alone(provider, emulator, alone[0])
    before = dict(stack.physical)
    emulator.plan(
        Outcome("Failed", after_describes=1, failure_reason="bad data"), prefix_of(loop, _job(loop, "Job2")[0])
    )

    outcome = stack.update(loop)

    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE" and "bad data" in outcome.reason
    assert first not in outcome.responses
    # What the update created is deleted again: the stack is the stack of one job it was.
    assert stack.physical == before and stack.template is alone[0]
    deleted = [r for k, rs in outcome.responses.items() for r in rs[1:]]
    assert len(deleted) == len(outcome.responses) == 4 and all(r.status == "SUCCESS" for r in deleted)
    assert emulator.running() == []
    assert stack.destroy().status == "DELETE_COMPLETE"


@pytest.mark.parametrize(
    ("value", "compared_by_value"),
    [
        ({"Ref": "AWS::Partition"}, True),
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::cdk-assets-${AWS::AccountId}-${AWS::Region}/a.py"}, True),
        ({"Fn::Sub": "${!Literal}-${AWS::URLSuffix}"}, True),
        ({"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "account"]}, True),
        ({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::b"]]}, True),
        # A stack's own pseudo parameters are another stack's imports once the app is prepared.
        ({"Ref": "AWS::StackName"}, False),
        ({"Fn::Sub": "${AWS::StackId}/x"}, False),
        ({"Fn::GetAtt": ["Key961B73FD", "Arn"]}, False),
        ({"Fn::Sub": "${Data666C94C7.Arn}/raw/*"}, False),
        ({"Fn::Sub": ["${X}", {"X": "y"}]}, False),
        ({"Fn::Join": ["", [{"Ref": "BucketName"}, "/a"]]}, False),
        ({"Fn::ImportValue": "Other:Export"}, False),
        ({"Fn::If": ["C", "a", "b"]}, False),
    ],
)
def test_only_values_of_literals_and_the_environments_pseudo_parameters_are_compared_by_value(
    value: Any, compared_by_value: bool
) -> None:
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["${Token[TOKEN.1]}"]}
    resolved = {**statement, "Resource": value}
    assert _same(statement, resolved).startswith("value ") is compared_by_value

"""Least privilege, as exact policy statements: two jobs reading and writing different prefixes of one bucket, each
with an output key of its own, reach only their own prefixes and keys."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from cdk_processing import ContainerImage, ProcessingInput, ProcessingJob, ProcessingOutput
from cfn import attached_to, grants, resolve, role_grants, waits_for

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"
ENV = cdk.Environment(account="123456789012", region="us-east-1")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = cdk.App()
    stack = cdk.Stack(app, "Shared", env=ENV)
    data_key = kms.Key(stack, "DataKey")
    bucket = s3.Bucket(stack, "Data", encryption=s3.BucketEncryption.KMS, encryption_key=data_key)
    for name in ("A", "B"):
        ProcessingJob(
            stack,
            f"Job{name}",
            image=ContainerImage.from_registry(IMAGE),
            inputs=[ProcessingInput.from_bucket("raw", bucket, f"raw/{name.lower()}/")],
            outputs=[ProcessingOutput.to_bucket("out", bucket, f"out/{name.lower()}/")],
            output_encryption_key=kms.Key(stack, f"Key{name}"),
        )
    return dict(app.synth().get_stack_by_name("Shared").template)


def _logical_id(template: dict[str, Any], prefix: str) -> str:
    [found] = [k for k in template["Resources"] if k.startswith(prefix) and len(k) == len(prefix) + 8]
    return found


def _statements(template: dict[str, Any], job: str) -> set[tuple[str, str, str]]:
    """What the job's role may do (``cfn.role_grants``)."""
    assert _logical_id(template, f"{job}RoleManagedPolicy")  # the job's own policy is there
    return role_grants(template, f"{job}Role")


def _needs(*statements: tuple[tuple[str, ...], tuple[str, ...], Any]) -> set[tuple[str, str, str]]:
    """The grants of statements given as (actions, resources, condition or None)."""
    return grants(
        [
            {"Effect": "Allow", "Action": list(a), "Resource": list(r), **({"Condition": c} if c else {})}
            for a, r, c in statements
        ]
    )


def _arn(template: dict[str, Any], prefix: str) -> str:
    return str(resolve({"Fn::GetAtt": [_logical_id(template, prefix), "Arn"]}, template))


@pytest.mark.parametrize("job", ["A", "B"])
def test_each_job_role_reaches_only_its_own_prefixes_and_keys(template: dict[str, Any], job: str) -> None:
    bucket = _arn(template, "Data")
    data_key, own_key = _arn(template, "DataKey"), _arn(template, f"Key{job}")
    low = job.lower()
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs"
    prefix = resolve(template["Resources"][_logical_id(template, f"Job{job}")]["Properties"]["JobNamePrefix"], template)
    expected = _needs(
        (("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"), (own_key,), None),
        (("logs:CreateLogGroup", "logs:DescribeLogStreams"), (f"{logs}:*",), None),
        (("logs:CreateLogStream", "logs:PutLogEvents"), (f"{logs}:log-stream:{prefix}-*",), None),
        (
            ("cloudwatch:PutMetricData",),
            ("*",),
            {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}},
        ),
        (
            ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
            ("arn:aws:ecr:us-east-1:123456789012:repository/prep",),
            None,
        ),
        (("ecr:GetAuthorizationToken",), ("*",), None),
        (("s3:GetObject",), (f"{bucket}/raw/{low}/*",), None),
        (("s3:GetBucketLocation",), (bucket,), None),
        (("s3:ListBucket",), (bucket,), {"StringLike": {"s3:prefix": [f"raw/{low}/", f"raw/{low}/*"]}}),
        (("kms:Decrypt",), (data_key,), None),
        (
            ("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"),
            (f"{bucket}/out/{low}/*",),
            None,
        ),
        (("s3:ListBucket",), (bucket,), {"StringLike": {"s3:prefix": [f"out/{low}/", f"out/{low}/*"]}}),
        (("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"), (data_key,), None),
    )
    assert _statements(template, f"Job{job}") == expected


def test_neither_job_role_names_the_other_jobs_prefixes_key_or_log_streams(template: dict[str, Any]) -> None:
    a, b = str(_statements(template, "JobA")), str(_statements(template, "JobB"))
    assert "/raw/b/" not in a and "/out/b/" not in a and _arn(template, "KeyB") not in a
    assert "/raw/a/" not in b and "/out/a/" not in b and _arn(template, "KeyA") not in b
    assert "-joba-" in a and "-jobb-" not in a


def test_no_statement_of_a_job_role_deletes_or_administers(template: dict[str, Any]) -> None:
    for job in ("JobA", "JobB"):
        actions = {action for action, _, _ in _statements(template, job)}
        assert not {a for a in actions if "Delete" in a or "Put" in a and "Policy" in a or a.startswith("iam:")}
        assert not {a for a in actions if "*" in a}


def _wide_template(name: str, deep: str, **bucket_props: Any) -> dict[str, Any]:
    """The template of a stack ``name`` with one job of ten inputs and ten outputs under the prefixes ``deep``."""
    app = cdk.App()
    stack = cdk.Stack(app, name, env=ENV)
    bucket = s3.Bucket(stack, "Data", **bucket_props)
    ProcessingJob(
        stack,
        "Job",
        image=ContainerImage.from_registry(IMAGE),
        inputs=[ProcessingInput.from_bucket(f"in{i}", bucket, f"raw/{deep}/{i}/") for i in range(10)],
        outputs=[ProcessingOutput.to_bucket(f"out{i}", bucket, f"out/{deep}/{i}/") for i in range(10)],
    )
    return dict(app.synth().get_stack_by_name(name).template)


def test_a_wide_job_spreads_its_statements_over_managed_policies_within_iams_size_limit() -> None:
    """IAM refuses a managed policy over 6,144 characters at deploy time: a job with ten inputs and ten outputs on
    long prefixes gets as many policies as it needs, each within the limit once deployed, all waited for."""
    deep = "/".join(["partition-of-a-long-dataset-name"] * 5)
    template = _wide_template("Wide", deep, encryption=s3.BucketEncryption.KMS)
    policies = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    sizes = [
        len(json.dumps(resolve(r["Properties"]["PolicyDocument"], template), separators=(",", ":")))
        for r in policies.values()
    ]
    assert 2 <= len(policies) <= 10 and max(sizes) <= 6144, sizes
    assert sum(sizes) > 6144
    job = next(k for k, r in template["Resources"].items() if r["Type"] == "Custom::SageMakerProcessingJob")
    assert all(waits_for(template, job, policy) for policy in policies)
    statements = [
        s for r in policies.values() for s in resolve(r["Properties"]["PolicyDocument"]["Statement"], template)
    ]
    reads = {resource for action, resource, _ in grants(statements) if action == "s3:GetObject"}
    assert len(reads) == 10


def test_the_job_waits_for_every_policy_of_its_role_grants_made_after_it_included() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Later", env=ENV)
    bucket, other = s3.Bucket(stack, "Data"), s3.Bucket(stack, "Other")
    job = ProcessingJob(stack, "Job", image=ContainerImage.from_registry(IMAGE))
    bucket.grant_read(job)  # to the job: a customer managed policy for others' grants
    other.grant_read(job.role)  # to its role: the role's inline default policy
    immutable = iam.Role.from_role_arn(stack, "Fixed", "arn:aws:iam::123456789012:role/fixed", mutable=False)
    ProcessingJob(stack, "Untouched", image=ContainerImage.from_registry(IMAGE), role=immutable)
    template = dict(app.synth().get_stack_by_name("Later").template)
    policies = {k for k, r in template["Resources"].items() if r["Type"].startswith("AWS::IAM::") and "Policy" in k}
    job_resource = template["Resources"][_logical_id(template, "Job")]
    assert {p for p in policies if p.startswith("JobRole")} <= set(job_resource["DependsOn"])
    assert {p[:-8] for p in policies if p.startswith("JobRole")} == {
        "JobRoleManagedPolicy",
        "JobRoleGrantsPolicy",
        "JobRoleDefaultPolicy",
    }
    # A role imported as immutable is left as it is: no policy of the library's is attached to it.
    assert not [p for p in policies if p.startswith("Untouched") or p.startswith("Fixed")]


def test_statements_every_job_has_alike_are_in_one_shared_policy_holding_nothing_of_any_job(template) -> None:
    """The two jobs' log group and metrics statements and ECR's token are one policy of the stack, attached to both
    roles and waited for by both jobs; it names no prefix, key, log stream or bucket of either job."""
    [shared] = [k for k in template["Resources"] if k.startswith("CdkProcessingJobPolicy")]
    assert shared.startswith("CdkProcessingJobPolicyEcrLoginProcessingJobsLogs")
    policy = template["Resources"][shared]
    roles = [_logical_id(template, f"Job{name}Role") for name in ("A", "B")]
    assert attached_to(template, shared) == roles
    actions = {a for a, _, _ in grants(resolve(policy["Properties"]["PolicyDocument"]["Statement"], template))}
    assert actions == {
        "ecr:GetAuthorizationToken",
        "logs:CreateLogGroup",
        "logs:DescribeLogStreams",
        "cloudwatch:PutMetricData",
    }
    text = json.dumps(policy["Properties"]["PolicyDocument"])
    own = [_logical_id(template, p) for p in ("Data", "DataKey", "KeyA", "KeyB")]
    assert not [word for word in ("raw/", "out/", "log-stream", "joba", "jobb", *own) if word in text]
    for name in ("A", "B"):
        # By its role, which attaches it (ManagedPolicyArns), and which the job references (RoleArn).
        assert waits_for(template, _logical_id(template, f"Job{name}"), shared)
        assert shared not in template["Resources"][_logical_id(template, f"Job{name}")]["DependsOn"]
        own = template["Resources"][_logical_id(template, f"Job{name}RoleManagedPolicy")]
        assert "logs:CreateLogGroup" not in json.dumps(own) and "ecr:GetAuthorizationToken" not in json.dumps(own)


def test_a_vpc_job_and_a_job_without_share_nothing_they_do_not_both_need() -> None:
    from aws_cdk import aws_ec2 as ec2

    app = cdk.App()
    stack = cdk.Stack(app, "Mixed", env=ENV)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[ec2.SubnetConfiguration(
        name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])  # fmt: skip
    ProcessingJob(stack, "Inside", image=ContainerImage.from_registry(IMAGE), vpc=vpc)
    ProcessingJob(stack, "Outside", image=ContainerImage.from_registry(IMAGE))
    template = dict(app.synth().get_stack_by_name("Mixed").template)
    shared = {k: r for k, r in template["Resources"].items() if k.startswith("CdkProcessingJobPolicy")}
    assert len(shared) == 2
    inside, outside = (role_grants(template, f"{name}Role") for name in ("Inside", "Outside"))
    assert {a for a, _, _ in inside if a.startswith("ec2:")} == {
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
    assert not [a for a, _, _ in outside if a.startswith("ec2:")]
    assert inside - outside and {g for g in outside if "log-stream" not in g[1]} <= inside


def test_statements_that_fit_one_policy_once_merged_make_one_policy() -> None:
    """Each statement is counted at its longest when added (a token as 100 characters); ten inputs on one bucket are
    more than one policy's 6,144 characters so counted, and well within them merged (three statements for the ten
    prefixes): one policy, all ten prefixes granted."""
    from cdk_processing._principal import MANAGED_POLICY_CHARACTERS, estimate

    app = cdk.App()
    stack = cdk.Stack(app, "Merged", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    prefixes = [f"datasets/partition-of-a-long-name-{i:02d}/" for i in range(10)]
    ProcessingJob(
        stack,
        "Job",
        image=ContainerImage.from_registry(IMAGE),
        inputs=[ProcessingInput.from_bucket(f"in{i}", bucket, p) for i, p in enumerate(prefixes)],
    )
    arn = "${Token[TOKEN.1]}"  # the bucket's ARN, as the estimate counts it
    per_input = [
        estimate(["s3:GetObject"], [f"{arn}/{p}*"], None)
        + estimate(["s3:ListBucket"], [arn], {"StringLike": {"s3:prefix": [p, p + "*"]}})
        + estimate(["s3:GetBucketLocation"], [arn], None)
        for p in prefixes
    ]
    assert sum(per_input) > MANAGED_POLICY_CHARACTERS
    template = dict(app.synth().get_stack_by_name("Merged").template)
    own = [k for k in template["Resources"] if k.startswith("JobRoleManagedPolicy")]
    assert len(own) == 1
    reads = {json.loads(r) for a, r, _ in role_grants(template, "JobRole") if a == "s3:GetObject"}
    assert len(reads) == 10


def test_an_image_that_pulls_twice_shares_one_login_token_with_the_other_jobs() -> None:
    """A user's image of two ECR images (a sidecar's, say) asks for the login token twice: one statement, the same
    shared policy as a job of one image."""
    from cdk_processing import ContainerImageConfig

    main_image = ContainerImage.from_registry(IMAGE)
    sidecar = ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/sidecar:1")

    class TwoImages(ContainerImage):
        def bind(self, scope: Any, grantee: iam.IGrantable) -> ContainerImageConfig:
            sidecar.bind(scope, grantee)
            return main_image.bind(scope, grantee)

    app = cdk.App()
    stack = cdk.Stack(app, "Two", env=ENV)
    ProcessingJob(stack, "Both", image=TwoImages())
    ProcessingJob(stack, "One", image=main_image)
    template = dict(app.synth().get_stack_by_name("Two").template)
    [shared] = [k for k in template["Resources"] if k.startswith("CdkProcessingJobPolicy")]
    assert attached_to(template, shared) == [_logical_id(template, "BothRole"), _logical_id(template, "OneRole")]
    pulls = {json.loads(r) for a, r, _ in role_grants(template, "BothRole") if a == "ecr:BatchGetImage"}
    assert pulls == {
        "arn:aws:ecr:us-east-1:123456789012:repository/prep",
        "arn:aws:ecr:us-east-1:123456789012:repository/sidecar",
    }


def test_a_role_near_iams_ten_managed_policies_keeps_its_shared_statements_in_its_own() -> None:
    """IAM attaches at most 10 managed policies to a role: a job whose own statements already take more than six
    policies gets no shared policy; its statements hold what it would have had from it."""
    from cdk_processing._policy import SHARING_POLICIES

    template = _wide_template("Huge", "/".join(["partition-of-a-very-long-dataset-name-for-a-test"] * 14))
    own = [k for k in template["Resources"] if k.startswith("JobRoleManagedPolicy")]
    assert len(own) > SHARING_POLICIES
    assert not [k for k in template["Resources"] if k.startswith("CdkProcessingJobPolicy")]
    actions = {a for a, _, _ in role_grants(template, "JobRole")}
    assert {"ecr:GetAuthorizationToken", "logs:CreateLogGroup", "cloudwatch:PutMetricData"} <= actions


def test_others_statements_given_through_the_job_are_validated_at_synth() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Checked", env=ENV)
    job = ProcessingJob(stack, "Job", image=ContainerImage.from_registry(IMAGE))
    job.add_to_role_policy(
        iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"], principals=[iam.AnyPrincipal()])
    )
    with pytest.raises(RuntimeError, match="cannot specify any IAM principals"):
        app.synth()


def test_a_statement_changed_after_its_policy_was_rendered_fails_instead_of_going_unseen() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Frozen", env=ENV)
    job = ProcessingJob(stack, "Job", image=ContainerImage.from_registry(IMAGE))
    statement = iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/x"])
    job.add_to_role_policy(statement)
    app.synth()
    with pytest.raises(RuntimeError, match=r"freeze\(\) has been called"):
        statement.add_actions("s3:PutObject")

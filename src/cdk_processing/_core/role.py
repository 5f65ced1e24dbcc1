"""The job's IAM role: created with exactly the job's grants, or passed in; and the grants every job needs (its
logs and metrics)."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import _model
from .._common_policy import attach_common
from .._memo import made, once, path_of, stack_of
from .._naming import role_path
from .._policy import allow, attach_shared
from .._principal import LibraryRole, ManagedPolicyPrincipal
from .._validation import fail, is_unresolved
from ..handler.kinds import JobKind

SERVICE = "sagemaker.amazonaws.com"


class JobRole:
    """The role SageMaker assumes for a job (``Role`` under the job, or the role passed in) and its principals.

    A role the library creates holds customer managed policies (NIST 800-53 and HIPAA rule packs ask for no inline
    policies): the library's statements in policies of their own (``ManagedPolicy``), others' grants to the job in
    others (``GrantsPolicy``). A role passed in gets others' grants as it takes any grant, and the library's in a
    policy of their own.
    """

    def __init__(self, job: Construct, kind: JobKind, role: iam.IRole | None) -> None:
        self.principal: iam.IPrincipal
        self.library_principal: iam.IPrincipal | None = None
        self.passed_in = role is not None
        if role is None:
            created = LibraryRole(
                job,
                "Role",
                assumed_by=_sagemaker(),
                description=f"Runs the SageMaker {kind.noun} {path_of(job)}",
                path=role_path(stack_of(job)),
            )
            made(created, job, "Role")
            self.role: iam.IRole = created
            self.library_principal = ManagedPolicyPrincipal(created, "ManagedPolicy", deferred=True)
            self.principal = ManagedPolicyPrincipal(created, "GrantsPolicy", checked=True)
        else:
            check_role("role", role)
            self.role = self.principal = role

    def flush(self) -> None:
        """The job is made: its role's policies for the library's statements so far are made, each in one call."""
        if isinstance(self.library_principal, ManagedPolicyPrincipal):
            self.library_principal.flush()
            attach_shared(self.library_principal)
            attach_common(self.library_principal)


def _sagemaker() -> iam.ServicePrincipal:
    """SageMaker's service principal: one object for every job role (it holds nothing of a stack; each role renders
    it in its own)."""
    if not _SAGEMAKER:
        _SAGEMAKER.append(iam.ServicePrincipal(SERVICE))
    return _SAGEMAKER[0]


_SAGEMAKER: list[iam.ServicePrincipal] = []


def grant_logs_and_metrics(job: Construct, grantee: iam.IGrantable, kind: JobKind, streams: str) -> None:
    """Let the job (``grantee``) write its log streams (``streams``: a name pattern) and put metrics in its kind's
    namespace."""
    log_group_arn = _log_group_arn(stack_of(job), kind)
    # The same for every job of the kind: in the stack's shared policy when the library made the role.
    shared = kind.log_group.rsplit("/", 1)[-1] + "Logs"
    allow(
        grantee,
        ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
        [log_group_arn + ":*"],
        why="CloudWatch Logs authorizes these on the log group's ARN with the ':*' suffix (CloudWatch Logs "
        f"permissions reference); the group, {kind.log_group}, is SageMaker's and shared by every job",
        shared=shared,
    )
    grant_log_streams(job, grantee, kind, streams)
    allow(
        grantee,
        ["cloudwatch:PutMetricData"],
        ["*"],
        {"StringEquals": {"cloudwatch:namespace": kind.metrics_namespace}},
        why="PutMetricData supports no resource-level permissions (Service Authorization Reference, Actions "
        f"defined by Amazon CloudWatch); the condition limits it to the {kind.noun}s' namespace",
        shared=shared,
    )


def grant_log_streams(job: Construct, grantee: iam.IGrantable, kind: JobKind, streams: str) -> None:
    """Let the job (``grantee``) write the log streams of its runs (``streams``: a name pattern)."""
    allow(
        grantee,
        ["logs:CreateLogStream", "logs:PutLogEvents"],
        [f"{_log_group_arn(stack_of(job), kind)}:log-stream:{streams}"],
        why="SageMaker names a job's log streams <job name>/algo-<n>-<epoch>; the job name ends in the "
        "deployment's request id, so the streams are named by this job's name prefix",
    )


def _log_group_arn(stack: Stack, kind: JobKind) -> str:
    return once(
        stack,
        f"log group {kind.log_group}",
        lambda: stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=kind.log_group,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
    )


def check_role(prop: str, role: iam.IRole) -> None:
    """An IAM role's ARN that SageMaker takes (RoleArn in botocore's model), and a trust SageMaker can assume.

    The trust policy is that of a role made in this app (``iam.Role``) as it is when the job is given it; an imported
    role's trust is not known at synth.
    """
    arn = role.role_arn
    if not is_unresolved(arn) and not _model.matches("RoleArn", arn):
        raise fail(
            prop,
            arn,
            f"must be an IAM role ARN matching {_model.pattern('RoleArn')}, such as "
            "arn:aws:iam::123456789012:role/ml-processing (not a user, a policy or another service's ARN)",
        )
    document = getattr(role, "assume_role_policy", None)  # a role made in the app has one; an imported one not
    if document is None:
        return
    trust = Stack.of(role).resolve(document.to_json())
    if not _trusts_sagemaker(trust):
        raise fail(
            prop,
            role,
            f"its trust policy does not let {SERVICE} assume it: create it with "
            f"assumed_by=iam.ServicePrincipal('{SERVICE}') (or add that principal with a CompositePrincipal) "
            "before giving it to the job",
        )


def _trusts_sagemaker(trust: Any) -> bool:
    statements = trust.get("Statement", []) if isinstance(trust, dict) else []
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        principal = statement.get("Principal", {})
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            return True
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if any(is_unresolved(s) or s == SERVICE for s in services):
            return True
    return False

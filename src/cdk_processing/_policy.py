"""Every permission the library grants goes through ``allow``: explicit actions, named resources, and, where a
resource cannot be named without a wildcard, the AWS-documented reason why, next to the statement.

That reason also becomes the acknowledgement of the finding rule packs report for the wildcard (cdk-nag's
``AwsSolutions-IAM5``, which asks for "a suppression with evidence"), placed through aws-cdk-lib's
``Validations.of(...).acknowledge`` on the library's own policy that holds the statement, for exactly that resource
string: a wildcard anyone else grants the same role is still reported. The library does not depend on cdk-nag.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import jsii
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, Dependable, DependencyGroup, IConstruct, IDependable, IValidation

from ._acknowledge import acknowledge, as_list, flatten_reference
from ._core.context import LibraryGrantee
from ._memo import made, once, ref, stack_of
from ._principal import LibraryDocument, LibraryRole, ManagedPolicyPrincipal, PolicySlot, estimate

LOG_GROUP_REASON = (
    "The log group holds the library's function logs (job names, statuses, SageMaker's failure reasons), no job "
    "data; CloudWatch Logs encrypts it at rest with its own keys"
)

KMS_READ = ("kms:Decrypt",)
# Writing with a key: S3 asks for GenerateDataKey, multipart uploads also for Decrypt, SageMaker's output encryption
# for Encrypt ("the SageMaker execution role must include permissions to call kms:Encrypt", KmsKeyId of
# OutputDataConfig).
KMS_WRITE = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
# A volume key: EBS creates and attaches the encrypted volume with data keys without plaintext and re-encryption
# (the key policy SageMaker's developer guide gives for volume keys has kms:GenerateDataKey* and kms:ReEncrypt*:
# here by name).
KMS_VOLUME = (*KMS_WRITE, "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo")


def allow(
    grantee: iam.IGrantable,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Mapping[str, Any] | None = None,
    *,
    why: str | None = None,
    shared: str | None = None,
    common: bool = False,
) -> None:
    """Add one Allow statement to the library's own policy of ``grantee``'s role.

    A resource with a wildcard needs ``why``: the AWS-documented reason it cannot be named otherwise. Actions never
    carry a wildcard. The statement goes to a policy that holds the library's statements only (``library_principal``:
    a ``ManagedPolicyPrincipal``, or for a role passed in, an inline policy of the library's attached to it) and the
    acknowledgement of its wildcards is placed on that policy, so that a wildcard anyone else grants the same role
    is still reported.

    ``shared``: the statement names nothing of one job (the same for every job that has it), and ``shared`` names
    what it is for; the statements of a role the library made for a job go, by the set of such names the job has, to
    one managed policy of the stack attached to every job role with that same set (``attach_shared``), instead of
    being repeated in each job's policy. A role has exactly the statements it would have had.

    ``common``: the statement names nothing the job owns (a key, an image's repository, a bucket, a content-addressed
    asset, subnets), so that jobs alike in every such statement (the jobs of a loop) hold them in one managed policy
    of the stack instead of one copy each (``attach_common``). A statement with a wildcard is never common: its
    acknowledgement stays with the job's policy.
    """
    wild_actions = [a for a in actions if "*" in a]
    if wild_actions:
        raise ValueError(f"library statements name their actions; got {wild_actions}")
    # A token is "${Token[...]}" in Python: a "*" in the text is one of the literal parts.
    wildcard = any("*" in r for r in resources)
    if why is None and wildcard:
        raise ValueError(f"a wildcard resource needs the AWS-documented reason (why=...): {list(resources)}")
    if common and wildcard:
        raise ValueError(f"a statement with a wildcard resource is the job's own, not common: {list(resources)}")
    # The statement as its JSON (what PolicyStatement.fromJson takes): built in aws-cdk-lib only when its policy is
    # rendered, together with the policy's other statements (a PolicyStatement per call is a round trip to jsii).
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
    if conditions:
        statement["Condition"] = dict(conditions)
    principal = library_principal(grantee)
    if shared is not None and isinstance(principal, ManagedPolicyPrincipal) and principal.sharing:
        principal.share(shared, statement, why if wildcard else None)
        return
    if isinstance(principal, ManagedPolicyPrincipal):
        _add_to(principal, statement, why if wildcard else None)
        if common and principal.sharing:
            principal.commons.append(statement)
        return
    scope = grantee if isinstance(grantee, Construct) else stack_of(cast(Any, principal))
    holder = _attached_policy(principal, scope)
    if holder is None:  # a role imported as immutable: its owner manages its permissions
        return
    holder.add_statements(iam.PolicyStatement.from_json(statement))
    if why is not None and wildcard:
        _Wildcards.of(holder).add(statement, why)


def _add_to(principal: ManagedPolicyPrincipal, statement: dict[str, Any], why: str | None) -> None:
    """``statement`` (of ``allow``: lists of actions and resources) to ``principal`` 's policies, sized from its
    values; ``why``: its wildcards' reason, acknowledged on the policy it went to."""
    holder = principal.add_sized(
        statement, estimate(statement["Action"], statement["Resource"], statement.get("Condition"))
    )
    if why is not None:
        _Wildcards.of(holder).add(statement, why)


def attach_shared(principal: iam.IPrincipal) -> None:
    """Attach the job's role (``principal``: its library principal, once the job is made) to the stack's managed
    policy for its set of shared statements (``allow(shared=...)``), made by the first job with that set:
    ``CdkProcessingJobPolicy<names>``, its statements' wildcards acknowledged once, there."""
    if not isinstance(principal, ManagedPolicyPrincipal):
        return
    shared = principal.take_shared()
    if not shared:
        return
    names = sorted(shared)
    # Each name's statements once (a job may pull two images: one login token).
    statements = list({json.dumps(e[0], sort_keys=True): e for name in names for e in shared[name]}.values())
    if len(principal.policies) > SHARING_POLICIES:
        # A role near IAM's 10 managed policies: its shared statements in its own policies, no policy more.
        for statement, why in statements:
            _add_to(principal, statement, why)
        return
    stack = stack_of(principal.role)
    profile = "".join(names)
    fingerprint = json.dumps([s for s, _ in statements], sort_keys=True)
    key = (ref(stack), profile)
    if key not in _SHARED:
        id = f"CdkProcessingJobPolicy{profile}"
        policy = iam.ManagedPolicy(
            stack,
            id,
            description=f"cdk-processing: what every job of this stack with {', '.join(names)} needs alike",
            document=LibraryDocument(stack, [s for s, _ in statements]),
        )
        made(policy, stack, id)
        for statement, why in statements:
            if why is not None:
                _Wildcards.of(policy).add(statement, why)
        _SHARED[key] = (policy, fingerprint)
    policy, made_with = _SHARED[key]
    if made_with != fingerprint:  # a name stands for one set of statements: a defect of the library otherwise
        raise AssertionError(f"shared statements {profile} differ between jobs: {made_with} != {fingerprint}")
    # Attached by the role, as the common policy is (``_join``): the policy depends on no job's role, so that a job
    # made to wait for another of the same needs closes no dependency cycle through it; and whatever references the
    # role (the job, by its RoleArn) waits for it, as CloudFormation creates and updates a resource after those it
    # references: no DependsOn of its own.
    principal.role.add_managed_policy(policy)


_SHARED: dict[tuple[str, str], tuple[iam.ManagedPolicy, str]] = {}


# A job role holds its library policies, its grants policy and the shared one: shared only while that leaves room
# for two of the user's within IAM's 10 managed policies per role.
SHARING_POLICIES = 6


def library_principal(grantee: iam.IGrantable) -> iam.IPrincipal:
    """Where the library's own statements for ``grantee`` go: its ``library_principal`` if it has one (a job), else its
    grant principal."""
    own = grantee.library_principal if isinstance(grantee, LibraryGrantee) else None
    return own if own is not None else grantee.grant_principal


def allow_key(grantee: iam.IGrantable, key: kms.IKey, actions: Iterable[str]) -> None:
    """Use of one KMS key, with explicit actions (CDK's key grants use ``kms:GenerateDataKey*`` and
    ``kms:ReEncrypt*``)."""
    allow(grantee, sorted(set(actions)), [key.key_arn], common=True)


def _attached_policy(principal: iam.IPrincipal, scope: Construct) -> iam.Policy | None:
    """The library's own inline policy on a role it did not create (a role passed in), created under ``scope`` (the
    job), next to whatever else the role holds; ``None`` for a role imported as immutable (``mutable=False``), left
    as it is."""
    role: Any = principal
    key = (scope.node.addr, role.__jsii_ref__.ref)
    if key in _ATTACHED:
        return _ATTACHED[key]
    id = "RolePolicy" if not isinstance(scope, Stack) else f"CdkProcessingRolePolicy{role.node.addr[:8]}"
    created = iam.Policy(scope, id)
    role.attach_inline_policy(created)
    resource = created.node.default_child
    assert isinstance(resource, iam.CfnPolicy)
    policy: iam.Policy | None = created
    if not Stack.of(scope).resolve(resource.roles):
        scope.node.try_remove_child(id)
        policy = None
    else:
        acknowledge(
            created,
            {
                "IAMNoInlinePolicy": "The role was passed in, and aws-cdk-lib attaches no managed policy to an "
                "imported role: the library's statements for it are in this policy of their own"
            },
        )
    _ATTACHED[key] = policy
    return policy


_ATTACHED: dict[tuple[str, str], iam.Policy | None] = {}


def role_policies(role: iam.IRole) -> list[IConstruct]:
    """The policies on ``role`` that this app holds as children of the role (its default policy, the managed
    policies of ``ManagedPolicyPrincipal``) and the library's own policies attached to it."""
    ref = role.__jsii_ref__.ref  # type: ignore[attr-defined]
    own: list[IConstruct] = [p for (_, r), p in _ATTACHED.items() if r == ref and p is not None]
    node = once(role, "node", lambda: role.node)  # a construct's Node is one object for its life
    return [c for c in node.children if isinstance(c, (iam.Policy, iam.ManagedPolicy))] + own


class PoliciesOf(Dependable):
    """Depending on this is depending on every policy of ``role`` there is at synth (``role_policies``): grants made
    after the dependency was added included."""

    def __init__(self, role: iam.IRole) -> None:
        super().__init__()
        self._role = role

    @property
    def dependency_roots(self) -> list[IConstruct]:
        return role_policies(self._role)

    @staticmethod
    def for_role(role: iam.IRole) -> IDependable:
        """One per role (jobs share the handler's role): what it stands for is computed at synth; for a role the
        library created, its ``policies``, kept as they are made."""
        if isinstance(role, LibraryRole):
            return role.policies
        key = role.__jsii_ref__.ref  # type: ignore[attr-defined]
        group = _POLICIES_OF.get(key)
        if group is None:
            group = _POLICIES_OF[key] = DependencyGroup()
            Dependable.implement(group, PoliciesOf(role))
        return group


_POLICIES_OF: dict[str, DependencyGroup] = {}


def acknowledge_policies_written_by(role: iam.IRole, writer: str, why: str) -> None:
    """For a role of ours whose statements aws-cdk-lib's ``writer`` writes, to its inline default policy, which the
    library cannot configure (the Provider framework, BucketDeployment): acknowledge every wildcard in them, for
    ``why``, and the inline policy."""
    _Wildcards.of(role).add(None, why)
    acknowledge(
        role,
        {
            "IAMNoInlinePolicy": f"aws-cdk-lib's {writer} writes its grants to the role's inline default policy, "
            "which the library cannot redirect; the policy belongs to this role alone"
        },
    )


class _Wildcards:
    """The wildcard statements of one policy holder, acknowledged once the app is prepared: cdk-nag reports a
    resource as the flattened text of its resolved value (``<Bucket.Arn>/prefix/*``), which cross-stack references
    change into an export name only during preparation, so the text is computed after it (validation time, by the
    stack's ``_StackWildcards``, for all the holders of the stack at once)."""

    @staticmethod
    def of(holder: IConstruct | PolicySlot) -> _Wildcards:
        # jsii's object reference: unique in the process (proxies of one object may be different Python objects).
        key = f"slot {id(holder)}" if isinstance(holder, PolicySlot) else ref(holder)
        existing = _BY_REF.get(key)
        if existing is None:
            existing = _BY_REF[key] = _Wildcards(holder)
            stack = holder.stack if isinstance(holder, PolicySlot) else stack_of(holder)
            _StackWildcards.of(stack).holders.append(existing)
        return existing

    def __init__(self, holder: IConstruct | PolicySlot) -> None:
        self._given = holder
        self._statements: list[tuple[dict[str, Any] | None, str]] = []

    @property
    def policy(self) -> IConstruct:
        """What holds the statements: a policy, or a role (its policies)."""
        if isinstance(self._given, PolicySlot):
            assert self._given.policy is not None, "a deferred principal is flushed once its job is made"
            return self._given.policy
        return self._given

    def take(self, other: _Wildcards) -> None:
        """``other`` 's statements, held by the same policy."""
        self._statements += other._statements

    def add(self, statement: dict[str, Any] | None, why: str) -> None:
        """A statement of ours (as its JSON) and why its wildcards are needed; ``None``: every statement of the
        holder's policies."""
        self._statements.append((statement, why))

    @property
    def own_statements(self) -> list[dict[str, Any]]:
        return [s for s, _ in self._statements if s is not None]

    def acknowledge(self, stack: Stack, resolved_own: list[dict[str, Any]]) -> None:
        """Acknowledge the findings of the holder's wildcards; ``resolved_own``: ``own_statements``, resolved."""
        own = iter(resolved_own)
        reasons: dict[str, list[str]] = {}
        for statement, why in self._statements:
            if statement is not None:
                statements = [next(own)]
            else:
                statements = [
                    s
                    for policy in role_policies(cast(iam.IRole, self.policy))
                    if isinstance(policy, (iam.Policy, iam.ManagedPolicy))
                    for s in stack.resolve(policy.document).get("Statement", [])
                ]
            for resolved in statements:
                found = [f"Action::{a}" for a in as_list(resolved.get("Action")) if "*" in a]
                found += [
                    f"Resource::{t}" for t in map(flatten_reference, as_list(resolved.get("Resource"))) if "*" in t
                ]
                for finding in found:
                    # One finding may stand for statements of several reasons (Resource::* above all): keep each.
                    reasons.setdefault(f"AwsSolutions-IAM5[{finding}]", []).append(why)
        acknowledge(self.policy, {rule: " | ".join(dict.fromkeys(whys)) for rule, whys in reasons.items()})


_BY_REF: dict[str, _Wildcards] = {}


@jsii.implements(IValidation)
class _StackWildcards:
    """The ``_Wildcards`` of one stack's holders, acknowledged in one validation: the library's statements of the
    whole stack resolved in one call."""

    @staticmethod
    def of(stack: Stack) -> _StackWildcards:
        return once(stack, "wildcards", lambda: _StackWildcards(stack))

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.holders: list[_Wildcards] = []
        stack.node.add_validation(self)

    def validate(self) -> list[str]:
        # Holders of one policy (the slots of a job's policies made into one) are acknowledged together: one
        # reason per finding, naming each statement's.
        by_policy: dict[str, _Wildcards] = {}
        for holder in self.holders:
            key = ref(holder.policy)
            if key not in by_policy:
                by_policy[key] = _Wildcards(holder.policy)
            by_policy[key].take(holder)
        holders = list(by_policy.values())
        own = [h.own_statements for h in holders]
        resolved = self._stack.resolve(own) if any(own) else [[] for _ in own]
        for holder, statements in zip(holders, resolved, strict=True):
            holder.acknowledge(self._stack, statements)
        return []

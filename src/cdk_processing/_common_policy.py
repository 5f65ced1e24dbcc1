"""What alike jobs name alike, once in the stack: the statements of a job's role that name nothing of the job
(``allow(common=True)``: a key, an image's repository, a bucket's location, a content-addressed asset, subnets), in
one managed policy of the stack for every job with the very same, once that is less template than a copy each."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from aws_cdk import Reference, Stack, Tokenization
from aws_cdk import aws_iam as iam

from ._compact import minimize
from ._memo import made, path_of, ref, stack_of
from ._policy import SHARING_POLICIES
from ._principal import LibraryDocument, ManagedPolicyPrincipal


def attach_common(principal: iam.IPrincipal) -> None:
    """The job's statements that name nothing of its own (``allow(common=True)``), once its role's policies are made
    (``principal``: its library principal): in the job's policies until enough jobs of the stack have the same that
    one managed policy of the stack for them makes the template smaller (``_pays``); from then on in that policy,
    ``CdkProcessingJobCommonPolicy<digest>`` (the digest of the statements resolved: the same statements, the same
    logical id), attached to each of their roles and taken out of their own policies. A role has exactly the
    statements it would have had.

    Which statements are the same (``_same``): those that name a resource by reference, by their tokens (the same
    token, the same value: a reference resolved now is the logical id in its own stack, which a resource of another
    stack may share); the others (literals and pseudo parameters only: an asset's object in the bootstrap bucket,
    which each asset names with a token of its own), by their value. One resolution per job at most."""
    if not isinstance(principal, ManagedPolicyPrincipal):
        return
    # Room for the common policy and two of the user's, beside the role's own, grants and shared policies.
    if not principal.commons or len(principal.policies) > SHARING_POLICIES - 1:
        return
    stack = stack_of(principal.role)
    # Jobs of one stack often have the very same tokens (a key's ARN): resolved once for them all.
    written = (ref(stack), json.dumps(principal.commons, sort_keys=True, default=str))
    if written not in _RESOLVED:
        resolved = stack.resolve(principal.commons)
        _RESOLVED[written] = [
            (_same(statement, value), json.dumps(value, sort_keys=True))
            for statement, value in zip(principal.commons, resolved, strict=True)
        ]
    same = _RESOLVED[written]
    unique = {key: statement for (key, _), statement in zip(same, principal.commons, strict=True)}
    values = dict(same)
    fingerprint = "\n".join(sorted(unique))
    key = (ref(stack), fingerprint)
    group = _COMMON.setdefault(key, [])
    if isinstance(group, iam.ManagedPolicy):
        _join(principal, group)
        return
    group.append(principal)
    size = len(json.dumps(minimize([json.loads(values[k]) for k in unique]), separators=(",", ":")))
    if _pays(len(group), size):
        named = sorted(_named_by(k, values[k], unique[k]) for k in unique)
        digest = hashlib.sha256("\n".join(named).encode()).hexdigest()[:8].upper()
        _COMMON[key] = _common_policy(stack, digest, [unique[k] for k in sorted(unique)], group)


def _same(statement: dict[str, Any], value: Any) -> str:
    """What a common ``statement`` (as written) is compared by: its ``value`` (resolved) when that names no resource
    of a stack (no ``Ref`` but to a pseudo parameter of the environment, no ``Fn::GetAtt`` or ``Fn::ImportValue``, no
    ``${...}`` of ``Fn::Sub`` but such a pseudo parameter's), else its tokens."""
    if _names_no_resource(value):
        return "value " + json.dumps(value, sort_keys=True)
    return "tokens " + json.dumps(statement, sort_keys=True, default=str)


def _named_by(same: str, value: str, statement: dict[str, Any]) -> str:
    """What names a common statement in its policy's logical id: its value (resolved), and for one compared by its
    tokens (``same``), the stacks of the resources it references (another stack's resource may have the same logical
    id: the name is not left to the order in which their jobs are made). Asked once per policy."""
    if not same.startswith("tokens "):
        return value
    texts = [t for t in _strings(statement) if "${Token[" in t]
    stacks = {
        path_of(stack_of(token.target))
        for text in texts
        for token in Tokenization.reverse_string(text).tokens
        if isinstance(token, Reference)
    }
    return f"{value} of {sorted(stacks)}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [s for item in items for s in _strings(item)]


def _names_no_resource(value: Any) -> bool:
    if isinstance(value, list):
        return all(_names_no_resource(v) for v in value)
    if not isinstance(value, dict):
        return True
    if set(value) == {"Ref"}:
        return value["Ref"] in _PSEUDO
    if set(value) == {"Fn::Sub"}:
        text = value["Fn::Sub"]
        return isinstance(text, str) and all(v in _PSEUDO for v in _SUB_VARIABLE.findall(text))
    # A template's FindInMap names a mapping of its own (a mapping is no reference across stacks).
    if any(k.startswith("Fn::") for k in value) and not set(value) <= _OF_VALUES:
        return False
    return all(_names_no_resource(v) for v in value.values())


_OF_VALUES = {"Fn::Join", "Fn::Select", "Fn::Split", "Fn::FindInMap"}
# The pseudo parameters of the same value in every stack of an environment (not the stack's own name, id, topics:
# another stack's are imports once the app is prepared).
_PSEUDO = {"AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix", "AWS::NoValue"}
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]*)\}")


# A managed policy of the stack, less its statements, and what each job attached to it adds (the policy in its role's
# ManagedPolicyArns): template bytes, compact JSON, measured on test/snapshots.
COMMON_POLICY_BYTES = 370
COMMON_MEMBER_BYTES = 55


def _pays(members: int, size: int) -> bool:
    """Whether one policy of ``size`` bytes of statements for ``members`` jobs is less template than a copy each."""
    return (members - 1) * size > COMMON_POLICY_BYTES + members * COMMON_MEMBER_BYTES


def _common_policy(
    stack: Stack, digest: str, statements: list[dict[str, Any]], members: list[ManagedPolicyPrincipal]
) -> iam.ManagedPolicy:
    """The stack's policy of common ``statements`` (``digest``: theirs), joined by ``members``, the jobs that have
    them so far."""
    id = f"CdkProcessingJobCommonPolicy{digest}"
    taken = _NAMES.setdefault((ref(stack), id), 0)
    _NAMES[(ref(stack), id)] += 1
    if taken:  # the same values and stacks as another set's, by other tokens (not references: Lazy values, intrinsics)
        id += str(taken + 1)
    policy = iam.ManagedPolicy(
        stack,
        id,
        description="cdk-processing: what jobs of this stack use alike (keys, images, buckets, code, subnets)",
        document=LibraryDocument(stack, statements),
    )
    made(policy, stack, id)
    for member in members:
        _join(member, policy)
    return policy


def _join(principal: ManagedPolicyPrincipal, policy: iam.ManagedPolicy) -> None:
    """``principal`` 's role gets ``policy`` (its common statements), which its own policies no longer hold.

    Attached by the role (its ``ManagedPolicyArns``), not by the policy's ``Roles``: the policy then depends on no
    job's role, so that a job made to wait for another (``train.node.add_dependency(prep)``: every resource of one
    on every resource of the other) closes no cycle through it. CloudFormation creates and updates a resource after
    those it references, so the role attaches the policy before the job (its RoleArn) starts, and before the role's
    own policies (their Roles) lose the statements on the update that makes it: a job still running, started and not
    waited for, keeps its grants throughout. No DependsOn."""
    principal.role.add_managed_policy(policy)
    principal.remove(principal.commons)


# By stack and common statements (resolved): the principals of the jobs that have them, until their policy pays; then
# the policy.
_COMMON: dict[tuple[str, str], list[ManagedPolicyPrincipal] | iam.ManagedPolicy] = {}
# By stack and common statements as written (tokens unresolved): what each is compared by (``_same``) and its value.
_RESOLVED: dict[tuple[str, str], list[tuple[str, str]]] = {}
# By stack and common policy id: how many policies have it (the same values by other tokens: 2, 3...).
_NAMES: dict[tuple[str, str], int] = {}

"""The roles the library creates and the principals of their policies: the library's own statements and everyone
else's grants in customer managed policies of their own, each policy's document kept in Python and rendered in one
call (its statements merged where the union is exact, ``Fn::Join`` written as ``Fn::Sub``), and the policies of a role
known as they are made."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, cast

import jsii
from aws_cdk import IResolveContext, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct, DependencyGroup, IDependable, Node

from ._acknowledge import as_list
from ._compact import minimize
from ._compacted import Compacted
from ._memo import made, stack_of

# IAM limits a customer managed policy to 6,144 characters, whitespace aside; a role to 10 attached policies.
MANAGED_POLICY_CHARACTERS = 6144
# What a token of a statement is counted as: its longest value for the pseudo parameters, 100 characters for any
# other reference (an ARN or name: buckets and keys stay well below), which keeps the estimate above the real size.
_PSEUDO_LENGTHS = {"AWS.Partition": 10, "AWS.Region": 14, "AWS.AccountId": 12, "AWS.URLSuffix": 13}
_TOKEN = re.compile(r"\$\{Token\[([^\]]*?)\.\d+\]\}")
_OTHER_TOKEN_LENGTH = 100
# The characters of a managed policy left for its statements.
_ROOM = MANAGED_POLICY_CHARACTERS - len('{"Version":"2012-10-17","Statement":[]}')


class LibraryRole(iam.Role):
    """A role the library creates (a job's, the handler's) that knows its policies as they are made: the library's
    managed policies (``ManagedPolicyPrincipal``) and the inline default policy aws-cdk-lib makes for a statement added
    to the role itself (``role.add_to_policy``, ``bucket.grant_read(job.role)``). Depending on them (``policies``) is
    a dependency of aws-cdk-lib's own, which asks Python nothing at synth."""

    def __init__(self, scope: Construct, id: str, **props: Any) -> None:
        super().__init__(scope, id, **props)
        self._policies: list[IDependable] = []
        self._group: DependencyGroup | None = None
        self._dependents: list[Node] = []
        self._default_policy = False

    def policy_added(self, policy: IDependable) -> None:
        """``policy`` (a child of the role) is one of the role's."""
        self._policies.append(policy)
        if self._group is not None:
            self._group.add(policy)
        for node in self._dependents:
            node.add_dependency(policy)

    def depend(self, node: Node) -> list[IDependable]:
        """``node`` depends on every policy of the role, those made later included: the policies so far, which the
        caller adds to ``node``'s dependencies (with its others, in one call)."""
        self._dependents.append(node)
        return list(self._policies)

    @property
    def policies(self) -> DependencyGroup:
        """Depending on this is depending on every policy of the role, those made later included."""
        if self._group is None:
            self._group = DependencyGroup(*self._policies)
        return self._group

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        result = super().add_to_principal_policy(statement)
        if not self._default_policy and result.policy_dependable is not None:
            self._default_policy = True  # the role's default policy, made for its first statement
            self.policy_added(result.policy_dependable)
        return result


@jsii.implements(iam.IPrincipal)
class ManagedPolicyPrincipal:
    """A role created by the library as a grant principal whose statements go to customer managed policies attached
    to it (``<name>``, then ``<name>2``... when one would exceed IAM's size limit), created as they are needed,
    instead of the role's inline default policy. The library's own statements and everyone else's grants get
    principals of their own, so their policies never mix."""

    def __init__(self, role: iam.Role, name: str, *, deferred: bool = False, checked: bool = False) -> None:
        """:param deferred: keep the statements in Python until ``flush`` (a job's own, all known once the job is
        made), then make each policy with its whole document in one call.
        :param checked: others' statements (``PolicyStatement`` s), validated at synth as aws-cdk-lib validates an
        identity policy's; the library's own (``allow``) are right as made."""
        self._document_type = CheckedDocument if checked else LibraryDocument
        self.role = role
        self.name = name
        self.policies: list[iam.ManagedPolicy] = []
        self._documents: list[LibraryDocument] = []
        self._made_from: dict[int, PolicySlot] = {}  # a policy's index: the slot it was made from
        self._dependable: DependencyGroup | None = None
        self._room = 0
        self._slots: list[PolicySlot] | None = [] if deferred else None
        # The statements of a deferred principal that every job with them has alike (``allow(shared=...)``), by the
        # name of what they are for, until the principal is flushed.
        self._shared: dict[str, list[tuple[dict[str, Any], str | None]]] = {}
        # The statements of a deferred principal that name nothing of its job (``allow(common=True)``), as added to
        # its policies: taken out of them if the stack's policy of common statements holds them instead.
        self.commons: list[dict[str, Any]] = []

    @property
    def sharing(self) -> bool:
        """Whether statements alike for every job may go to the stack's shared policy (a job's library principal
        before its job is made)."""
        return self._slots is not None

    def share(self, name: str, statement: dict[str, Any], why: str | None) -> None:
        """``statement``, which every job that has ``name`` has alike (``why``: its wildcards' reason, if any)."""
        self._shared.setdefault(name, []).append((statement, why))

    def take_shared(self) -> dict[str, list[tuple[dict[str, Any], str | None]]]:
        """The shared statements by name, handed over once."""
        shared, self._shared = self._shared, {}
        return shared

    @property
    def dependable(self) -> DependencyGroup:
        """Depending on this is depending on every policy of this principal (made when first asked for)."""
        if self._dependable is None:
            self._dependable = DependencyGroup(*self.policies)
        return self._dependable

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self

    @property
    def assume_role_action(self) -> str:
        return self.role.assume_role_action

    @property
    def policy_fragment(self) -> iam.PrincipalPolicyFragment:
        return self.role.policy_fragment

    @property
    def principal_account(self) -> str | None:
        return self.role.principal_account

    def add_to_policy(self, statement: iam.PolicyStatement) -> bool:
        return self.add_to_principal_policy(statement).statement_added

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self.add_sized(statement, estimate(statement.actions, statement.resources, statement.conditions))
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.dependable)

    def add_sized(self, statement: iam.PolicyStatement | dict[str, Any], size: int) -> iam.ManagedPolicy | PolicySlot:
        """Add ``statement`` (a ``PolicyStatement``, or its JSON), of at most ``size`` characters once deployed; the
        policy it went to (before ``flush``: the slot of the policy it will go to)."""
        if self._slots is not None:
            if not self._slots or size > self._room:
                self._slots.append(PolicySlot(stack_of(self.role)))
                self._room = _ROOM
            self._slots[-1].statements.append(statement)
            self._room -= size + 1
            return self._slots[-1]
        if not self.policies or size > self._room:
            document = self._document_type(stack_of(self.role), [statement])
            self._policy(document)
            self._documents.append(document)
            self._room = _ROOM
        else:
            self._documents[-1].add(statement)
        self._room -= size + 1
        # A policy made from a slot is known by its slot (its wildcards are acknowledged together).
        return self._made_from.get(len(self.policies) - 1) or self.policies[-1]

    def remove(self, statements: Sequence[dict[str, Any]]) -> None:
        """Take ``statements`` (as added) out of this principal's policies, where that leaves a policy a statement
        (a policy of none is no policy: there the statement stays, granted twice)."""
        taken = {id(s) for s in statements}
        for document in self._documents:
            document.remove(taken)

    def flush(self) -> None:
        """Make the policies of the statements kept so far (``deferred``), each with its whole document; statements
        added later go to them as they come."""
        slots, self._slots = self._slots, None
        groups = [[slot] for slot in slots or []]
        # The slots were filled by each statement's size; merged, the statements may fit in one policy after all
        # (one resource less): then the slots are one policy, whose wildcards are acknowledged together.
        merged_size = _merged_size([s for slot in slots or [] for s in slot.statements]) if len(groups) > 1 else None
        if merged_size is not None and merged_size <= _ROOM:
            groups = [list(slots or [])]
            self._room = _ROOM - merged_size
        for group in groups:
            document = self._document_type(stack_of(self.role), [s for slot in group for s in slot.statements])
            policy = self._policy(document)
            for slot in group:
                slot.policy = policy
            self._made_from[len(self.policies) - 1] = group[0]
            self._documents.append(document)

    def _policy(self, document: LibraryDocument) -> iam.ManagedPolicy:
        """The next managed policy of the role, ``document`` its own."""
        name = f"{self.name}{len(self.policies) + 1 if self.policies else ''}"
        policy = iam.ManagedPolicy(self.role, name, roles=[self.role], document=document)
        made(policy, self.role, name)
        if isinstance(self.role, LibraryRole):
            self.role.policy_added(policy)
        self.policies.append(policy)
        if self._dependable is not None:
            self._dependable.add(policy)
        return policy


class PolicySlot:
    """A managed policy of a ``deferred`` principal, made (``policy``) when the principal is flushed."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.statements: list[iam.PolicyStatement | dict[str, Any]] = []
        self.policy: iam.ManagedPolicy | None = None


class LibraryDocument(iam.PolicyDocument):
    """The document of one of the library's managed policies: its statements kept in Python (as their JSON, or
    ``PolicyStatement`` s added through the policy), merged where the union is exact (``_compact.minimize``), written
    with ``Fn::Sub`` for ``Fn::Join`` once the app is prepared (``_compacted``). aws-cdk-lib's own
    ``minimizePolicies`` merging and sorting do not apply to it: its merging is always on."""

    def __init__(self, stack: Stack, statements: Sequence[iam.PolicyStatement | dict[str, Any]]) -> None:
        super().__init__()
        self._statements = list(statements)
        self._json: Any = None
        self._compacted = Compacted(stack, self.to_json)

    def add(self, statement: iam.PolicyStatement | dict[str, Any]) -> None:
        self._statements.append(statement)
        self._changed()

    def remove(self, taken: set[int]) -> None:
        """Take the statements whose ``id`` is in ``taken`` out, unless that leaves none."""
        kept = [s for s in self._statements if id(s) not in taken]
        if kept and len(kept) < len(self._statements):
            self._statements = kept
            self._changed()

    def add_statements(self, *statement: iam.PolicyStatement) -> None:
        self._statements.extend(statement)
        self._changed()

    def _changed(self) -> None:
        self._json = None
        self._compacted.changed()

    @property
    def is_empty(self) -> bool:
        return not self._statements

    @property
    def statement_count(self) -> jsii.Number:
        return len(self._statements)

    def to_json(self) -> Any:
        # Merged once for the statements there are (as Python holds them, tokens unresolved). A PolicyStatement is
        # frozen once rendered, as in aws-cdk-lib's documents: a later change of it fails instead of going unseen.
        if self._json is None:
            statements = [s if isinstance(s, dict) else s.freeze().to_statement_json() for s in self._statements]
            self._json = {"Statement": minimize(statements), "Version": "2012-10-17"}
        return self._json

    def resolve(self, context: IResolveContext) -> Any:
        return self._compacted.resolution()


class CheckedDocument(LibraryDocument):
    """A ``LibraryDocument`` of others' grants: their ``PolicyStatement`` s validated at synth as aws-cdk-lib validates
    those of an identity policy (no principal, a resource...), its own documents' statements being kept in Python."""

    def validate_for_identity_policy(self) -> list[str]:
        return [e for s in self._statements if not isinstance(s, dict) for e in s.validate_for_identity_policy()]

    def validate_for_any_policy(self) -> list[str]:
        return [e for s in self._statements if not isinstance(s, dict) for e in s.validate_for_any_policy()]


def _merged_size(statements: Sequence[iam.PolicyStatement | dict[str, Any]]) -> int | None:
    """At least the characters ``statements`` take in one policy once merged (``minimize``); ``None`` when one is a
    ``PolicyStatement`` (not estimated here)."""
    if not all(isinstance(s, dict) for s in statements):
        return None
    merged = minimize(cast(list[dict[str, Any]], list(statements)))
    return sum(estimate(as_list(s["Action"]), as_list(s["Resource"]), s.get("Condition")) + 1 for s in merged)


def estimate(actions: Sequence[str], resources: Sequence[str], conditions: Any) -> int:
    """At least the characters a statement takes in its policy once deployed (tokens at their longest)."""
    text = json.dumps(
        {"Effect": "Allow", "Action": actions, "Resource": resources, "Condition": conditions},
        separators=(",", ":"),
        default=str,  # a value of a condition jsii hands back as an object
    )
    return len(_TOKEN.sub(lambda m: "x" * _PSEUDO_LENGTHS.get(m[1], _OTHER_TOKEN_LENGTH), text))

"""Dependencies between the resources the library creates, without the redundant ones cfn-lint warns about."""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IStableListProducer, Lazy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ._policy import role_policies


def depend_on_policies_only(scope: Construct) -> None:
    """Make each function and state machine in ``scope`` depend on its role's policies only.

    aws-cdk-lib makes a resource depend on both its role and the role's default policy; the role is already
    implied by the resource's ``Fn::GetAtt`` of its ARN (cfn-lint W3005). Only the policies carry information: the
    resource must not run before its permissions exist. They are listed at synth, so that policies added later (the
    managed policies of ``ManagedPolicyPrincipal``) count.
    """
    stack = Stack.of(scope)
    for construct in scope.node.find_all():
        role: object
        if isinstance(construct, lambda_.Function):
            role, resource = construct.role, construct.node.default_child
        elif isinstance(construct, sfn.CfnStateMachine) and construct.node.scope is not None:
            # The Provider's waiter state machine: its role is its sibling "Role".
            role, resource = construct.node.scope.node.try_find_child("Role"), construct
        else:
            continue
        if isinstance(role, iam.Role) and isinstance(resource, CfnResource):
            resource.add_override("DependsOn", Lazy.list(_PolicyIds(stack, role)))


@jsii.implements(IStableListProducer)
class _PolicyIds:
    def __init__(self, stack: Stack, role: iam.Role) -> None:
        self._stack = stack
        self._role = role

    def produce(self) -> list[str] | None:
        ids = []
        for policy in role_policies(self._role):
            resource = policy.node.default_child
            assert isinstance(resource, CfnResource)
            ids.append(self._stack.get_logical_id(resource))
        return sorted(ids) or None

"""Dependencies between the resources the library creates, without the redundant ones cfn-lint warns about."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


def depend_on_policies_only(scope: Construct) -> None:
    """Drop the redundant ``DependsOn`` on each function's and state machine's own role in ``scope``.

    aws-cdk-lib makes a resource depend on both its role and the role's default policy; the role is already
    implied by the resource's ``Fn::GetAtt`` of its ARN (cfn-lint W3005). Only the policy dependency carries
    information: the resource must not run before its permissions exist.
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
        policy = role.node.try_find_child("DefaultPolicy") if isinstance(role, iam.Role) else None
        if isinstance(policy, iam.Policy) and isinstance(resource, CfnResource):
            policy_resource = policy.node.default_child
            assert isinstance(policy_resource, CfnResource)
            resource.add_override("DependsOn", [stack.get_logical_id(policy_resource)])

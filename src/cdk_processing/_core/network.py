"""The job's network: its VPC subnets and security groups, the grants SageMaker needs to place the job's network
interfaces, isolation and traffic encryption. Each kind places the parts in its request where its API wants them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .. import _model
from .._acknowledge import acknowledge
from .._policy import allow
from .._validation import ProcessingJobValidationError, check_count, check_interface, fail, is_unresolved
from ..handler.kinds import JobKind


class JobNetwork:
    """Where a job's containers run: SageMaker's network, or subnets of a VPC with security groups (``SecurityGroup``
    under the job, unless groups are given)."""

    def __init__(
        self,
        job: Construct,
        grantee: iam.IGrantable,
        kind: JobKind,
        *,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        isolation: bool,
        encryption: bool | None,
        instance_count: Any,
    ) -> None:
        self._job = job
        self._kind = kind
        distributed = is_unresolved(instance_count) or instance_count > 1
        self.flags: dict[str, Any] = {
            "EnableInterContainerTrafficEncryption": distributed if encryption is None else encryption,
            "EnableNetworkIsolation": isolation,
        }
        """Isolation and inter-container traffic encryption, as the API names them."""
        self.vpc_config: dict[str, Any] | None = None
        """``VpcConfig`` of the request; ``None`` outside a VPC."""
        self.security_groups: list[ec2.ISecurityGroup] = []
        if vpc is None:
            if vpc_subnets is not None or security_groups is not None:
                given = "vpc_subnets" if vpc_subnets is not None else "security_groups"
                raise fail(given, "set without vpc", "vpc_subnets and security_groups take effect only with a vpc")
            return
        subnet_ids = _subnet_ids(vpc, vpc_subnets)
        low, high = _model.bounds("Subnets")
        check_count("vpc_subnets", subnet_ids, high, low)
        if security_groups is None:
            group = ec2.SecurityGroup(
                job,
                "SecurityGroup",
                vpc=vpc,
                allow_all_outbound=True,
                description=f"SageMaker {kind.noun} {job.node.path}",
            )
            if distributed:
                group.connections.allow_internally(ec2.Port.all_traffic(), "between the job's instances")
                acknowledge(
                    group,
                    {
                        "EC2RestrictedCommonPorts": "The only ingress is from the group itself: SageMaker asks for "
                        "all traffic between the instances of a distributed job in a VPC (SageMaker developer "
                        "guide, Give SageMaker Processing Jobs Access to Resources in Your Amazon VPC)"
                    },
                )
            self.security_groups = [group]
        else:
            self.security_groups = list(security_groups)
        _grant_eni(job, grantee, subnet_ids, self.security_groups)
        self.vpc_config = {
            "SecurityGroupIds": [g.security_group_id for g in self.security_groups],
            "Subnets": subnet_ids,
        }

    @property
    def connections(self) -> ec2.Connections:
        """The job's security groups, to allow traffic from the job; only for a job in a VPC."""
        if not self.security_groups:
            raise ProcessingJobValidationError(
                f"connections: the {self._kind.noun} {self._job.node.path} is not in a VPC; give it a vpc to use "
                "connections"
            )
        return ec2.Connections(security_groups=self.security_groups)


def _subnet_ids(vpc: ec2.IVpc, vpc_subnets: ec2.SubnetSelection | None) -> list[str]:
    explicit = None if vpc_subnets is None else vpc_subnets.subnets
    if explicit is not None and not vpc_subnets.subnet_filters and not vpc_subnets.one_per_az:  # type: ignore[union-attr]
        # Subnets given one by one are the selection, as the VPC's selectSubnets would return them. Their ids
        # are read directly: the Python binding of SelectedSubnets reads every field, and the availability zone
        # of a subnet imported with Subnet.from_subnet_id throws (aws-cdk-lib's Lambda reads only subnetIds).
        for index, subnet in enumerate(explicit):
            check_interface(
                f"vpc_subnets.subnets[{index}]",
                subnet,
                ("subnet_id",),
                "must be an ec2.ISubnet, such as ec2.Subnet.from_subnet_id(scope, id, 'subnet-...')",
            )
            _check_subnet_in_vpc(index, subnet, vpc)
        return [subnet.subnet_id for subnet in explicit]
    # The Python binding spreads struct arguments into keywords; hand the SubnetSelection over as it is.
    selection: ec2.SelectedSubnets = jsii.invoke(vpc, "selectSubnets", [vpc_subnets])
    if vpc_subnets is None and selection.has_public:
        raise fail(
            "vpc_subnets",
            "not set",
            f"the VPC {vpc.node.path} has no private subnets to default to; pass vpc_subnets explicitly",
        )
    return list(selection.subnet_ids)


def _check_subnet_in_vpc(index: int, subnet: ec2.ISubnet, vpc: ec2.IVpc) -> None:
    """A subnet made in this app under another VPC construct than the job's ``vpc`` is refused; a subnet imported on
    its own (``Subnet.from_subnet_id``) names no VPC, and is taken as it is."""
    for scope in reversed(subnet.node.scopes[:-1]):
        # An imported VPC reaches Python as a jsii InterfaceDynamicProxy: its attributes are on the object.
        if hasattr(scope, "vpc_id") and hasattr(scope, "select_subnets"):
            if scope.node.path != vpc.node.path:
                raise fail(
                    f"vpc_subnets.subnets[{index}]",
                    subnet,
                    f"belongs to the VPC {scope.node.path}, not to the job's vpc {vpc.node.path}: SageMaker places the "
                    "job in subnets of one VPC",
                )
            return


def _grant_eni(
    job: Construct, grantee: iam.IGrantable, subnet_ids: Sequence[str], groups: Sequence[ec2.ISecurityGroup]
) -> None:
    stack = Stack.of(job)

    def ec2_arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name=name)

    interfaces = ec2_arn("network-interface", "*")
    eni_reason = (
        "SageMaker creates the job's network interfaces when it starts, so their ids are unknown before; "
        "creation is limited to the job's subnets and security groups"
    )
    # One statement once merged (``_compact.minimize``), but added in parts: IAM authorizes each resource of the
    # request by any statement, and the subnets are the same for every job in them (``common``).
    create = ["ec2:CreateNetworkInterface"]
    allow(grantee, create, [interfaces], why=eni_reason)
    if subnet_ids:
        allow(grantee, create, [ec2_arn("subnet", s) for s in subnet_ids], common=True)
    if groups:
        allow(grantee, create, [ec2_arn("security-group", g.security_group_id) for g in groups])
    allow(
        grantee,
        [
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission",
        ],
        [interfaces],
        why=eni_reason,
        shared="Vpc",
    )
    allow(
        grantee,
        [
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ],
        ["*"],
        why="EC2 Describe* actions support no resource-level permissions (Service Authorization Reference, "
        "Actions defined by Amazon EC2); SageMaker needs them to place the job's network interfaces",
        shared="Vpc",
    )

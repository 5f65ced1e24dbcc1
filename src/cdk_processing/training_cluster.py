"""A training job's instances: one instance type and count, or a heterogeneous cluster of named instance groups
(``ResourceConfig.InstanceGroups``), and what depends on them: the request's ``ResourceConfig``, the instance type the
image's build follows, whether the job is multi-instance, and the groups channels may name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from . import _model
from ._validation import (
    check_integer,
    check_list_of,
    check_model_range,
    check_model_string,
    check_type,
    check_unique,
    fail,
    is_unresolved,
)
from .instance_type import InstanceType
from .processing_attributes import render_cluster


@dataclass(frozen=True)
class InstanceGroup:
    """A named group of instances of one type in a heterogeneous training cluster (``TrainingJob``'s
    ``instance_groups``): S3 channels name the groups that read them (``instance_groups=["cpu"]``), and
    ``Distribution.mpi(instance_group="gpu")`` the group that trains distributed.

    Example: ``InstanceGroup("gpu", InstanceType.of("ml.p4d.24xlarge"), count=2)``.
    """

    name: str
    """The group's name (``InstanceGroupName``), unique in the job."""
    instance_type: InstanceType
    """The instance type of the group's instances (one of ``TrainingInstanceType``)."""
    count: int = 1
    """How many instances the group has. Default: 1."""

    def __post_init__(self) -> None:
        check_type("instance_groups[].name", self.name, str, "must be a group name, such as 'gpu'")
        check_model_string("instance_groups[].name", self.name, "InstanceGroupName")
        prop = f"instance_groups[{self.name}]"
        check_type(
            prop + ".instance_type",
            self.instance_type,
            InstanceType,
            "must be an InstanceType, such as InstanceType.C5_XLARGE",
        )
        self.instance_type.check_training(prop + ".instance_type")
        check_integer(prop + ".count", self.count)
        check_model_range(prop + ".count", self.count, "TrainingInstanceCount")


class TrainingCluster:
    """The job's instances, as the request and the job's other parts need them."""

    def __init__(
        self,
        instance_type: InstanceType | None,
        instance_count: Any,
        instance_groups: Sequence[InstanceGroup] | None,
        volume_encryption_key: kms.IKey | None,
    ) -> None:
        groups = check_list_of(
            "instance_groups",
            instance_groups,
            InstanceGroup,
            "[InstanceGroup('cpu', InstanceType.C5_XLARGE, count=2), InstanceGroup('gpu', InstanceType.P3_2XLARGE)]",
        )
        if groups is not None:
            low, high = _model.bounds("InstanceGroups")
            if not max(low, 1) <= len(groups) <= high:
                raise fail("instance_groups", f"{len(groups)} items", f"a training job takes 1 to {high} groups")
            check_unique("instance_groups[].name", [g.name for g in groups])
            if instance_type is not None:
                raise fail(
                    "instance_type",
                    instance_type.name if isinstance(instance_type, InstanceType) else instance_type,
                    "is each group's with instance_groups: drop instance_type, or instance_groups",
                )
            if instance_count != 1:
                raise fail(
                    "instance_count",
                    instance_count,
                    "is each group's count with instance_groups: drop instance_count, or instance_groups",
                )
        self.groups: list[InstanceGroup] = groups or []
        self.instance_type = instance_type or InstanceType.M5_XLARGE
        self._count = instance_count
        self._check_key(volume_encryption_key)

    @property
    def count(self) -> Any:
        """The job's instances in all: the instance count, or the groups' counts added up; a token where a count is
        one (the job is then taken as multi-instance: inter-container encryption and the group's own rule)."""
        if not self.groups:
            return self._count
        unresolved = [g.count for g in self.groups if is_unresolved(g.count)]
        return unresolved[0] if unresolved else sum(g.count for g in self.groups)

    @property
    def instance_types(self) -> list[InstanceType]:
        """Every instance type of the job, the groups' in their order."""
        return [g.instance_type for g in self.groups] or [self.instance_type]

    @property
    def image_instance_type(self) -> InstanceType:
        """The type a framework image's build follows: the job's, or the first group with GPUs, else the first
        group's (as the SageMaker Python SDK picks it for a heterogeneous cluster)."""
        if not self.groups:
            return self.instance_type
        return next((t for t in self.instance_types if t.has_gpu), self.groups[0].instance_type)

    def group(self, name: str) -> InstanceGroup | None:
        return next((g for g in self.groups if g.name == name), None)

    def _check_key(self, key: kms.IKey | None) -> None:
        """A volume key is refused for a group whose type has local instance storage, as for the job's type."""
        if key is None:
            return
        for group in self.groups:
            if group.instance_type.has_local_storage:
                raise fail(
                    "volume_encryption_key",
                    f"instance group {group.name} ({group.instance_type.name})",
                    "cannot be used with an instance type that has local instance storage (SageMaker encrypts that "
                    "storage itself); drop the key or choose types without local storage, such as ml.m5.xlarge",
                )

    def check_channel(self, channel: str, names: Sequence[str] | None) -> None:
        """A channel reads on the groups it names: each must be a group of the job."""
        if not names or is_unresolved(names):
            return
        prop = f"inputs[{channel}].instance_groups"
        if not self.groups:
            raise fail(prop, list(names), "names instance groups, but the job has none: give the job instance_groups")
        known = [g.name for g in self.groups]
        for name in names:
            if not is_unresolved(name) and name not in known:
                raise fail(prop, name, f"is not an instance group of the job: one of {known}")

    def render(self, grantee: iam.IGrantable, volume: Size, key: kms.IKey | None) -> dict[str, Any]:
        """``ResourceConfig``: the instance type and count, or the groups (then no type or count at the top), the
        volumes and their key."""
        config = render_cluster(grantee, self._count, self.instance_type, volume, key)
        if self.groups:
            del config["InstanceCount"], config["InstanceType"]
            config["InstanceGroups"] = [
                {"InstanceGroupName": g.name, "InstanceType": g.instance_type.name, "InstanceCount": g.count}
                for g in self.groups
            ]
        return config

"""The ML instance type a processing job runs on."""

from __future__ import annotations

import difflib
import re

from . import _model
from ._validation import check_pattern, fail, is_unresolved

# Instance families whose instances come with local NVMe instance storage. SageMaker rejects a
# VolumeKmsKeyId for them ("Certain Nitro-based instances include local storage ... you can't request a
# VolumeKmsKeyId when using an instance type with local storage", CreateProcessingJob / ProcessingClusterConfig).
# Families with a "d" after the generation (m5d, r5d, c5d, g4dn, p3dn, p4d, ...) have local storage; the others
# below have it although their name does not say so. Source: SageMaker developer guide, "Instance storage volumes".
_LOCAL_STORAGE_FAMILIES = frozenset({"g5", "g6", "g6e", "g7e", "p5", "p5e", "p5en", "trn1", "trn1n", "trn2", "inf2"})
_D_FAMILY = re.compile(r"[a-z]+\d+[a-z]*d[a-z]*")


class InstanceType:
    """An ML compute instance type for a processing job, such as ``ml.m5.xlarge``.

    Use a constant (``InstanceType.M5_XLARGE``) or ``InstanceType.of("ml.c7i.4xlarge")`` for any other type. A job
    accepts the types of SageMaker's ``ProcessingInstanceType`` enum, as the installed botocore's model lists them;
    ``InstanceType.of(name, allow_unlisted=True)`` takes a type newer than that model.
    """

    PATTERN = r"ml\.[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+"

    T3_MEDIUM: InstanceType
    T3_LARGE: InstanceType
    T3_XLARGE: InstanceType
    M5_LARGE: InstanceType
    M5_XLARGE: InstanceType
    M5_2XLARGE: InstanceType
    M5_4XLARGE: InstanceType
    M5_12XLARGE: InstanceType
    M5_24XLARGE: InstanceType
    C5_XLARGE: InstanceType
    C5_2XLARGE: InstanceType
    C5_4XLARGE: InstanceType
    C5_9XLARGE: InstanceType
    C5_18XLARGE: InstanceType
    R5_LARGE: InstanceType
    R5_XLARGE: InstanceType
    R5_2XLARGE: InstanceType
    R5_4XLARGE: InstanceType
    R5D_XLARGE: InstanceType
    M6I_XLARGE: InstanceType
    C6I_XLARGE: InstanceType
    M7I_XLARGE: InstanceType
    C7I_XLARGE: InstanceType
    G4DN_XLARGE: InstanceType
    G5_XLARGE: InstanceType
    P3_2XLARGE: InstanceType

    def __init__(self, name: str, allow_unlisted: bool = False) -> None:
        check_pattern("instance_type", name, self.PATTERN, "an ML instance type such as ml.m5.xlarge")
        if not isinstance(allow_unlisted, bool):
            raise fail("allow_unlisted", allow_unlisted, "must be True or False")
        self._name = name
        self._allow_unlisted = allow_unlisted

    @classmethod
    def of(cls, name: str, *, allow_unlisted: bool = False) -> InstanceType:
        """Any ML instance type by name, for example ``InstanceType.of("ml.m5.xlarge")``.

        :param allow_unlisted: accept a type that the installed botocore's SageMaker model does not list for
            processing jobs (a type newer than the model; SageMaker still checks it when the job is created).
            Default: a job refuses such a type at synth, naming the closest types it knows.
        """
        return cls(name, allow_unlisted)

    def check_processing(self, prop: str = "instance_type") -> None:
        """The type is one SageMaker Processing offers (``ProcessingInstanceType`` in botocore's model), unless it
        was allowed unlisted."""
        self._check("ProcessingInstanceType", "processing", prop)

    def check_training(self, prop: str = "instance_type") -> None:
        """The type is one SageMaker Training offers (``TrainingInstanceType`` in botocore's model), unless it was
        allowed unlisted."""
        self._check("TrainingInstanceType", "training", prop)

    def _check(self, shape: str, noun: str, prop: str) -> None:
        if self._allow_unlisted or is_unresolved(self._name):
            return
        known = _model.enum(shape)
        if self._name in known:
            return
        close = difflib.get_close_matches(self._name, known, n=3, cutoff=0.75)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise fail(
            prop,
            self._name,
            f"{hint}not a {noun} instance type in botocore's SageMaker model ({shape}, "
            f"{len(known)} types such as ml.m5.xlarge); for a type newer than the model, "
            f"use InstanceType.of({self._name!r}, allow_unlisted=True)",
        )

    @property
    def has_gpu(self) -> bool:
        """Whether the type has NVIDIA GPUs (the ml.p and ml.g families), for a framework image's CPU or GPU build."""
        if is_unresolved(self._name):
            return False
        return re.fullmatch(r"ml\.[pg]\d.*", self._name) is not None

    @property
    def name(self) -> str:
        return self._name

    @property
    def has_local_storage(self) -> bool:
        """Whether the type has local NVMe instance storage (then no volume KMS key can be given)."""
        if is_unresolved(self._name):
            return False
        family = self._name.split(".")[1].split("-")[0]
        return family in _LOCAL_STORAGE_FAMILIES or _D_FAMILY.fullmatch(family) is not None

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"InstanceType.of({self._name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstanceType) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)


for _attr in [a for a in vars(InstanceType).get("__annotations__", {}) if a.isupper()]:
    setattr(InstanceType, _attr, InstanceType("ml." + _attr.replace("_", ".", 1).lower()))

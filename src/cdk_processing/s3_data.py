"""The S3 data choices every job kind's inputs share (the values SageMaker's API takes), and the checks of a
channel's name and of an enum prop."""

from __future__ import annotations

import enum
import re
from typing import Any

from . import _model
from ._validation import check_type, fail, is_unresolved


class S3DataType(enum.Enum):
    """How ``S3Uri`` is read: every object under a prefix, or the objects a manifest file lists (training jobs also
    read augmented manifests)."""

    S3_PREFIX = "S3Prefix"
    MANIFEST_FILE = "ManifestFile"
    AUGMENTED_MANIFEST_FILE = "AugmentedManifestFile"


class InputMode(enum.Enum):
    """File copies the data to the instance before the job starts; Pipe streams it; FastFile (training jobs) streams
    it behind a file system."""

    FILE = "File"
    PIPE = "Pipe"
    FAST_FILE = "FastFile"


class DataDistribution(enum.Enum):
    """Whether every instance gets all the data, or a shard of it by S3 key."""

    FULLY_REPLICATED = "FullyReplicated"
    SHARDED_BY_S3_KEY = "ShardedByS3Key"


class S3Compression(enum.Enum):
    """Compression of S3 input data; ``GZIP`` works only with ``InputMode.PIPE``."""

    NONE = "None"
    GZIP = "Gzip"


# SageMaker's model gives InputName and OutputName no pattern (a String); the library puts the name in the default
# local path, the default S3 prefix, IAM grants on that prefix and construct ids. So: any characters but whitespace,
# control characters, '/' (a path separator in all of those), '*', '?' (IAM wildcards) and '$' (IAM policy
# variables), not '.' or '..', at most 64.
_NAME_PATTERN = r"(?!\.\.?$)[^\s\x00-\x1f\x7f/*?$]{1,64}"


def check_channel_name(prop: str, name: str) -> None:
    if is_unresolved(name):
        return
    check_type(prop, name, str, "must be a string: 1 to 64 letters, digits or other characters")
    if re.fullmatch(_NAME_PATTERN, name) is None:
        raise fail(
            prop,
            name,
            "must be 1 to 64 letters, digits or other characters without whitespace and without / * ? $ (the name "
            "is part of the default local path and S3 prefix, and of IAM grants on them); not '.' or '..'",
        )


def check_enum(prop: str, value: Any, enum_class: type[enum.Enum], shape: str | None = None) -> None:
    """``value`` is a member of ``enum_class`` (and, with ``shape``, one the model's enum of that name takes)."""
    allowed = [m for m in enum_class if shape is None or m.value in _model.enum(shape)]
    if value is not None and (not isinstance(value, enum_class) or value not in allowed):
        choices = ", ".join(f"{enum_class.__name__}.{member.name}" for member in allowed)
        raise fail(prop, value, f"must be one of {choices}")

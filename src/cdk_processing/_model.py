"""SageMaker's API model, as botocore (shipped with boto3) has it: the source of the enums, patterns, lengths and
ranges the synth-time checks use, so that they follow the API instead of a copy of it.

The model is loaded once, on the first check that needs it (about 0.3 s), and cached.
"""

from __future__ import annotations

import functools
import re
from typing import Any


@functools.cache
def _service_model() -> Any:
    import botocore.session  # type: ignore[import-untyped]  # a runtime dependency, imported on first use

    return botocore.session.get_session().get_service_model("sagemaker")


def _shape(name: str) -> Any:
    return _service_model().shape_for(name)


@functools.cache
def enum(name: str) -> tuple[str, ...]:
    """The values of an enum shape, such as ``ProcessingInstanceType``."""
    return tuple(_shape(name).enum)


@functools.cache
def bounds(name: str) -> tuple[int, int]:
    """A shape's ``min`` and ``max``: a string's length, a list's or map's size, an integer's range."""
    metadata = _shape(name).metadata
    return int(metadata.get("min", 0)), int(metadata.get("max", 2**31 - 1))


@functools.cache
def pattern(name: str) -> str | None:
    """A string shape's pattern, written for Python's ``re``."""
    raw = _shape(name).metadata.get("pattern")
    return None if raw is None else python_pattern(raw)


def python_pattern(raw: str) -> str:
    """The model's patterns are Java's: its Unicode classes and its surrogate-pair ranges, for Python's ``re``."""
    raw = raw.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")
    return (
        raw.replace(r"\p{L}", r"\w")
        .replace(r"\p{Z}", " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000")
        .replace(r"\p{N}", r"\d")
    )


def matches(name: str, value: str) -> bool:
    """Whether ``value`` fits the shape's length and pattern."""
    low, high = bounds(name)
    regex = pattern(name)
    return low <= len(value) <= high and (regex is None or re.fullmatch(regex, value) is not None)


def member_path(operation: str, path: str) -> str | None:
    """Why ``path`` (dotted member names, list indexes as numbers) names no member of ``operation``'s request, or
    ``None`` when it does."""
    shape = _service_model().operation_model(operation).input_shape
    for part in path.split("."):
        if shape.type_name == "list":
            if not part.isdigit():
                return f"{part!r} must be an index in the list {shape.name}"
            shape = shape.member
        elif shape.type_name == "structure":
            if part not in shape.members:
                return f"{part!r} is not a member of {shape.name}: one of {sorted(shape.members)}"
            shape = shape.members[part]
        elif shape.type_name == "map":
            shape = shape.value
        else:
            return f"{shape.name} is a {shape.type_name} and has no member {part!r}"
    return None

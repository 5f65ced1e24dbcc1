"""Validate a request against botocore's service model: shapes, required members, enums, lengths, ranges, patterns.

botocore's own ParamValidator checks types, required members and minimums only; SageMaker checks the rest on the
server. This checks all of it, so a request that passes here is one SageMaker's model accepts.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session

from cdk_processing._model import python_pattern  # the library's reading of the model's Java patterns

_MODEL = botocore.session.get_session().get_service_model("sagemaker")


def input_shape(operation: str = "CreateProcessingJob") -> Any:
    return _MODEL.operation_model(operation).input_shape


def validate(value: Any, shape: Any | None = None, path: str = "") -> list[str]:
    """Every way ``value`` breaks the model, as ``path: problem`` lines; empty when it conforms."""
    shape = shape if shape is not None else input_shape()
    errors: list[str] = []
    meta = shape.metadata
    kind = shape.type_name
    where = path or "request"
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {value!r}"]
        for required in shape.required_members:
            if required not in value:
                errors.append(f"{where}: missing required member {required}")
        for key, member in value.items():
            if key not in shape.members:
                errors.append(f"{where}: unknown member {key}")
                continue
            errors += validate(member, shape.members[key], f"{path}.{key}" if path else key)
    elif kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**9):
            errors.append(f"{where}: {len(value)} items, outside {meta.get('min', 0)}..{meta.get('max')}")
        for i, item in enumerate(value):
            errors += validate(item, shape.member, f"{where}[{i}]")
    elif kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**9):
            errors.append(f"{where}: {len(value)} entries, outside {meta.get('min', 0)}..{meta.get('max')}")
        for key, item in value.items():
            errors += validate(key, shape.key, f"{where} key {key!r}")
            errors += validate(item, shape.value, f"{where}[{key!r}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {value!r}"]
        if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**9):
            errors.append(f"{where}: length {len(value)} outside {meta.get('min', 0)}..{meta.get('max')}")
        if shape.enum and value not in shape.enum:
            errors.append(f"{where}: {value!r} is not one of {shape.enum}")
        pattern = meta.get("pattern")
        if pattern and re.fullmatch(python_pattern(pattern), value) is None:
            errors.append(f"{where}: {value!r} does not match {pattern}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer, got {value!r}"]
        if not meta.get("min", -(10**18)) <= value <= meta.get("max", 10**18):
            errors.append(f"{where}: {value} outside {meta.get('min')}..{meta.get('max')}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected a boolean, got {value!r}")
    return errors

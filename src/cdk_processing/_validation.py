"""Synth-time validation helpers.

Every check names the property, shows the value received and says what is allowed. A value that is an
unresolved CDK token is skipped: CloudFormation resolves it, and SageMaker validates it at deploy time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sized
from typing import Any

from aws_cdk import Token


class ProcessingJobValidationError(ValueError):
    """Raised at synth time when a ``ProcessingJob`` prop is outside what SageMaker accepts."""


def is_unresolved(value: Any) -> bool:
    """True when ``value`` (a string, number, list or mapping) holds an unresolved CDK token.

    Plain strings and integers are told apart in Python: an encoded token string always contains ``Token[`` and a
    number token is a float, so only those ask jsii (each question is a round trip to Node.js).
    """
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return "Token[" in value and bool(Token.is_unresolved(value))
    if isinstance(value, int):
        return False
    if isinstance(value, float):
        return bool(Token.is_unresolved(value))
    if isinstance(value, dict):
        return any(is_unresolved(k) or is_unresolved(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        # A list token is a list of one "#{Token[...]}" string, which is a token only as a list's element.
        if len(value) == 1 and isinstance(value[0], str) and value[0].startswith("#{Token["):
            return True
        return any(is_unresolved(v) for v in value)
    return bool(Token.is_unresolved(value))


def fail(prop: str, value: Any, allowed: str) -> ProcessingJobValidationError:
    """Build the library's error: ``<prop> is <value>: <what is allowed>``."""
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return ProcessingJobValidationError(f"{prop} is {shown}: {allowed}")


def check_range(prop: str, value: int | float | None, low: float, high: float, unit: str = "") -> None:
    if value is None or is_unresolved(value):
        return
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise fail(prop, value, f"must be between {low:g} and {high:g}{suffix}")


def check_integer(prop: str, value: Any) -> None:
    if value is None or is_unresolved(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(prop, value, "must be a whole number")


def check_length(prop: str, value: str | None, low: int, high: int) -> None:
    if value is None or is_unresolved(value):
        return
    if not low <= len(value) <= high:
        raise fail(prop, value, f"must be {low} to {high} characters long (got {len(value)})")


def check_pattern(prop: str, value: str | None, pattern: str, description: str) -> None:
    if value is None or is_unresolved(value):
        return
    if re.fullmatch(pattern, value) is None:
        raise fail(prop, value, f"must match {pattern} ({description})")


def check_count(prop: str, items: Sized | None, high: int, low: int = 0) -> None:
    if items is None or is_unresolved(items):
        return
    if not low <= len(items) <= high:
        raise fail(prop, f"{len(items)} items", f"must hold {low} to {high} items")


def check_unique(prop: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if is_unresolved(name):
            continue
        if name in seen:
            raise fail(prop, name, "names must be unique within the job")
        seen.add(name)


PROCESSING_PATH = "/opt/ml/processing/"


def check_local_path(prop: str, value: str | None) -> None:
    """A container path must lie under ``/opt/ml/processing/`` (and fit SageMaker's 256 characters)."""
    if value is None or is_unresolved(value):
        return
    check_length(prop, value, 1, 256)
    if not value.startswith(PROCESSING_PATH) or value.rstrip("/") == PROCESSING_PATH.rstrip("/"):
        raise fail(prop, value, f"must be a folder under {PROCESSING_PATH}, for example {PROCESSING_PATH}input/data")
    if "/../" in value + "/" or "//" in value:
        raise fail(prop, value, "must be a normalised absolute path without '..' or '//'")


def check_local_paths_unique(prop: str, paths: Iterable[str]) -> None:
    """Two channels (inputs or outputs) cannot be mounted at the same container path."""
    seen: set[str] = set()
    for path in paths:
        if path is None or is_unresolved(path):
            continue
        key = path.rstrip("/")
        if key in seen:
            raise fail(prop, path, "each input and output needs a local path of its own")
        seen.add(key)

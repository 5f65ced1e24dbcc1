"""A training job's hyperparameters as SageMaker takes them: a map of strings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aws_cdk import Tokenization

from . import _model
from ._validation import check_model_string, check_type, fail, is_unresolved


def render_hyperparameters(values: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``HyperParameters``: every value a string, as SageMaker takes them. Booleans as ``true``/``false`` (what the
    framework containers decode as JSON), numbers as Python writes them, strings and tokens as they are."""
    if values is None or (is_unresolved(values) and not isinstance(values, Mapping)):
        return values  # a token for the whole map
    if not isinstance(values, Mapping):
        raise fail(
            "hyperparameters", values, "must be a dict of names to str, int, float or bool, such as {'epochs': 10}"
        )
    low, high = _model.bounds("HyperParameters")
    if len(values) > high:
        raise fail("hyperparameters", f"{len(values)} entries", f"SageMaker takes at most {high}")
    rendered = {}
    for key, value in values.items():
        check_type("hyperparameters key", key, str, "must be a string")
        check_model_string("hyperparameters key", key, "HyperParameterKey")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, float) and not math.isfinite(value):
            raise fail(f"hyperparameters[{key}]", value, "must be a finite number (or a string, if the job reads one)")
        elif isinstance(value, float) and is_unresolved(value):
            text = Tokenization.stringify_number(value)  # a number token (a parameter's value): its string
        elif isinstance(value, (int, float, str)):
            text = str(value)
        else:
            raise fail(f"hyperparameters[{key}]", value, "must be a str, int, float or bool")
        check_model_string(f"hyperparameters[{key}]", text, "HyperParameterValue")
        rendered[key] = text
    return rendered

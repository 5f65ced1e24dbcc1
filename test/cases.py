"""The bad-input and valid-value cases of the construct tests: each case builds in a stack of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_processing import JobValidationError

Make = Callable[[cdk.Stack], Any]


def assert_refused(case: str, make: Make, expected: list[str]) -> None:
    """``make`` fails at synth with the library's error, whose message holds every part of ``expected``."""
    stack = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(JobValidationError) as error:
        make(stack)
    message = str(error.value)
    for part in expected:
        assert part in message, (case, message)


def synthesized_with(make: Make) -> dict[str, Any]:
    """The template of a stack ``Good`` that ``make`` filled, synthesized: the values were accepted."""
    app = cdk.App()
    make(cdk.Stack(app, "Good"))
    template = dict(app.synth().get_stack_by_name("Good").template)
    assert template["Resources"]
    return template

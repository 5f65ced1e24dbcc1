"""The library's values written with ``Fn::Sub`` for ``Fn::Join`` (``_compact.as_sub``): its policy documents and its
jobs' requests. Each stack's are resolved together, in one call, once the app is prepared (a validation of the stack:
references across stacks are exports by then), and the written form is kept until the value changes.

Before that (aws-cdk-lib's preparation, which searches the values for references; an aspect that resolves the
templates, as cdk-nag's checks run as an aspect do; a synthesis that skips validation) a value resolves as it is,
which aws-cdk-lib resolves: right in every phase, only larger. A written form is never computed in a preparation, so
a reference across stacks is never kept as anything but its export. A nested stack's values are never written (its
template's asset hash is computed in the preparation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import Stack
from constructs import IValidation

from ._compact import as_sub
from ._memo import once


class Compacted:
    """A value of the library's (``value()``: as the library holds it, tokens unresolved) whose written form its
    stack's ``CompactValues`` computes."""

    def __init__(self, stack: Stack, value: Callable[[], Any]) -> None:
        self.value = value
        self.written: Any = None  # the written form, once computed (None: the value as it is)
        CompactValues.of(stack).holders.append(self)

    def resolution(self) -> Any:
        """What the value resolves to now: its written form, or the value as it is."""
        return self.value() if self.written is None else self.written

    def changed(self) -> None:
        """The value changed: its written form is computed again at the next validation."""
        self.written = None


@jsii.implements(IValidation)
class CompactValues:
    """The ``Compacted`` values of one stack, written in one call when the stack is validated."""

    @staticmethod
    def of(stack: Stack) -> CompactValues:
        return once(stack, "compact values", lambda: CompactValues(stack))

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self.holders: list[Compacted] = []
        # A nested stack's template is hashed for its asset during the preparation, before any value is written:
        # its values stay as they are, so that the asset's hash is its file's.
        if not stack.nested:
            stack.node.add_validation(self)

    def validate(self) -> list[str]:
        pending = [h for h in self.holders if h.written is None]
        if pending:
            resolved = self._stack.resolve([h.value() for h in pending])
            for holder, value in zip(pending, resolved, strict=True):
                holder.written = as_sub(value)
        return []

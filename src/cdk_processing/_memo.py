"""Answers of the jsii kernel that never change, kept in Python: each question asked of aws-cdk-lib is a round trip
to its Node.js process (about a millisecond), and a stack of jobs asks the same ones for every job.

Keyed by jsii's object reference (unique in the process; proxies of one object may be different Python objects),
like ``_policy``'s own registries. Only immutable answers: a construct's stack and path, a stack's name, the value
of a ``Duration`` or ``Size`` (immutable objects). For a construct the library makes (``made``), its stack and path
follow from its scope's, asked once per scope.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from aws_cdk import Duration, Size, Stack
from constructs import IConstruct

T = TypeVar("T")

_ANSWERS: dict[tuple[str, str], Any] = {}


def ref(obj: Any) -> str:
    """jsii's reference of ``obj``."""
    return str(obj.__jsii_ref__.ref)


def once(obj: Any, question: str, answer: Callable[[], T]) -> T:
    """``answer()``, asked once per ``obj`` and ``question``."""
    key = (ref(obj), question)
    if key not in _ANSWERS:
        _ANSWERS[key] = answer()
    return _ANSWERS[key]  # type: ignore[no-any-return]


def stack_of(construct: IConstruct) -> Stack:
    """``Stack.of(construct)``."""
    return once(construct, "stack", lambda: Stack.of(construct))


def path_of(construct: IConstruct) -> str:
    """``construct.node.path``."""
    return once(construct, "path", lambda: _path(construct))


def _path(construct: IConstruct) -> str:
    made = _MADE.get(ref(construct))
    if made is None:
        return construct.node.path
    scope, id = made
    parent = path_of(scope)
    return f"{parent}/{id}" if parent else id


def made(construct: IConstruct, scope: IConstruct, id: str) -> None:
    """``construct`` (not a stack) was just made as ``id`` under ``scope``: its stack is its scope's, and its
    path its scope's and its id (as ``constructs`` spells the id: the separators of paths and addresses, ``/`` and a
    line break, as ``--``), found when asked for."""
    _ANSWERS[(ref(construct), "stack")] = stack_of(scope)
    _MADE[ref(construct)] = (scope, _ID_SEPARATORS.sub("--", id))


_MADE: dict[str, tuple[IConstruct, str]] = {}
_ID_SEPARATORS = re.compile("[/\n]")


def seconds(duration: Duration) -> float:
    """``duration.to_seconds()``."""
    return once(duration, "seconds", duration.to_seconds)


def duration_unresolved(duration: Duration) -> bool:
    """``duration.is_unresolved()``."""
    return once(duration, "unresolved", duration.is_unresolved)


def size_unresolved(size: Size) -> bool:
    """``size.is_unresolved()``."""
    return once(size, "unresolved", size.is_unresolved)

"""Names the library gives jobs and roles: readable, unique per stack and per job, within SageMaker's limits."""

from __future__ import annotations

from aws_cdk import Stack, Token
from constructs import Construct

from ._memo import once, path_of, stack_of
from .handler.kinds import name_part, short_digest, stack_prefix

ROLE_PATH_ROOT = "/cdk-processing/"


def stack_part(stack: Stack) -> str:
    """``<stack name>-<hash>``, at most 25 characters: the prefix of every generated job name in the stack."""
    return once(stack, "stack_part", lambda: _stack_part(stack))


def _stack_part(stack: Stack) -> str:
    name = stack.stack_name
    return stack_prefix(stack.node.id if Token.is_unresolved(name) else name)


def job_name_prefix(job: Construct) -> str:
    """``<stack part>-<construct id>-<hash of its path>``, at most 51 characters.

    The handler appends ``-`` and ten characters per run, within SageMaker's 63.
    """
    path = path_of(job)
    # The construct's id is the last part of its path (an id cannot hold the separator).
    return f"{stack_part(stack_of(job))}-{name_part(path.rsplit('/', 1)[-1], 18)}-{short_digest(path, 6)}"


def role_path(stack: Stack) -> str:
    """The IAM path of the job roles the library creates in ``stack``, so one PassRole statement covers them."""
    return f"{ROLE_PATH_ROOT}{stack_part(stack)}/"

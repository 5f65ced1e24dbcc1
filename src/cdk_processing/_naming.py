"""Names the library gives jobs and roles: readable, unique per stack and per job, within SageMaker's limits."""

from __future__ import annotations

import hashlib
import re

from aws_cdk import Stack, Token
from constructs import Construct

ROLE_PATH_ROOT = "/cdk-processing/"


def _sanitize(text: str, limit: int) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return cleaned or "job"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def stack_part(stack: Stack) -> str:
    """``<stack name>-<hash>``, at most 25 characters: the prefix of every generated job name in the stack."""
    name = stack.node.id if Token.is_unresolved(stack.stack_name) else stack.stack_name
    return f"{_sanitize(name, 20)}-{_digest(name, 4)}"


def job_name_prefix(job: Construct) -> str:
    """``<stack part>-<construct id>-<hash of its path>``, at most 51 characters.

    The handler appends ``-`` and ten characters per run, within SageMaker's 63.
    """
    return f"{stack_part(Stack.of(job))}-{_sanitize(job.node.id, 18)}-{_digest(job.node.path, 6)}"


def role_path(stack: Stack) -> str:
    """The IAM path of the job roles the library creates in ``stack``, so one PassRole statement covers them."""
    return f"{ROLE_PATH_ROOT}{stack_part(stack)}/"

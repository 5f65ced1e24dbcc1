"""A job's tags, as CDK's ``Tags.of()`` would apply them to the kind's CloudFormation resource, and their checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, Stack
from constructs import Construct, IValidation

from .._validation import is_unresolved
from ..handler import kinds

# SageMaker takes 50 tags on a job; the handler adds its own (kinds.HANDLER_TAGS) to recognise its jobs.
MAX_TAGS = kinds.MAX_JOB_TAGS - len(kinds.HANDLER_TAGS)
# SageMaker's [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, digits, spaces (no tabs or line breaks) and _.:/=+-@.
_TAG_PATTERN = r"(?:[^\W_]|[ _.:/=+\-@])*"


class JobTags:
    """The tags of ``job``: the stack's tags and every Tag aspect from the app down to the job, replayed on a probe
    of the kind's taggable L1 (``probe``: made under the job as ``TagCollector``, then removed from the tree), so
    that include/exclude resource types and priorities behave as for any resource. Computed once, at synth."""

    def __init__(self, job: Construct, probe: Callable[[Construct, str], CfnResource]) -> None:
        self._job = job
        self._probe: Any = probe(job, "TagCollector")
        job.node.try_remove_child("TagCollector")
        self._tags: dict[str, str] | None = None
        job.node.add_validation(_TagValidation(self))

    def tags(self) -> dict[str, str]:
        """The job's tags, once every aspect is in place (aspects run before rendering)."""
        if self._tags is None:
            self._tags = self._collect()
        return self._tags

    def render(self) -> list[dict[str, str]] | None:
        """The request's ``Tags``."""
        return [{"Key": k, "Value": v} for k, v in sorted(self.tags().items())] or None

    def _collect(self) -> dict[str, str]:
        probe = self._probe
        manager = probe.cdk_tag_manager  # an L1 that takes tags (ITaggableV2)
        for key, value in Stack.of(self._job).tags.tag_values().items():
            manager.set_tag(key, value, 0)
        for scope in self._job.node.scopes:  # from the app down to this job, as aspects are applied
            for aspect in Aspects.of(scope).all:
                aspect.visit(probe)
        # Keys with the aws: prefix are reserved for AWS; SageMaker rejects them in a request.
        return {k: v for k, v in manager.tag_values().items() if not k.startswith("aws:")}


@jsii.implements(IValidation)
class _TagValidation:
    """Checks the job's tags once every Tags.of() call has been made."""

    def __init__(self, tags: JobTags) -> None:
        self._tags = tags

    def validate(self) -> list[str]:
        tags = self._tags.tags()
        errors = []
        if len(tags) > MAX_TAGS:
            errors.append(
                f"tags: the job has {len(tags)} tags: at most {MAX_TAGS} are allowed "
                f"(SageMaker takes {kinds.MAX_JOB_TAGS}, {len(kinds.HANDLER_TAGS)} are the library's)"
            )
        for key, value in tags.items():
            if is_unresolved(key) or is_unresolved(value):
                continue  # resolved by CloudFormation, checked by SageMaker
            if not (1 <= len(key) <= 128 and re.fullmatch(_TAG_PATTERN, key)) or not (
                len(value) <= 256 and re.fullmatch(_TAG_PATTERN, value)
            ):
                errors.append(
                    f"tags: {key!r}={value!r}: keys of 1 to 128 and values up to 256 letters, digits, spaces "
                    "and _.:/=+-@"
                )
        return errors

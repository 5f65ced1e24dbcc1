"""A job's tags, as CDK's ``Tags.of()`` would apply them to the kind's CloudFormation resource, and their checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import Aspects, CfnResource, IAspect, Stack
from constructs import Construct, IConstruct, IValidation

from .._memo import ref, stack_of
from .._validation import is_unresolved
from ..handler import kinds

# SageMaker takes 50 tags on a job; the handler adds its own (kinds.HANDLER_TAGS) to recognise its jobs.
MAX_TAGS = kinds.MAX_JOB_TAGS - len(kinds.HANDLER_TAGS)
# SageMaker's [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, digits, spaces (no tabs or line breaks) and _.:/=+-@.
_TAG_PATTERN = r"(?:[^\W_]|[ _.:/=+\-@])*"


class JobTags:
    """The tags of ``job``: the stack's tags and every Tag aspect from the app down to the job, replayed on a probe
    of the kind's taggable L1 (``probe``: made under the job as ``TagCollector``, then removed from the tree), so
    that include/exclude resource types and priorities behave as for any resource. Computed once, at synth.

    What the jobs of a stack share is read once per synth (``_SynthPass``): the stack's tags, the aspects of the
    scopes above the jobs, and the tags of jobs under one scope with no aspect of their own. With no tag and no
    aspect at all (the common case) no probe is made. The tags of all the jobs of a stack are checked in one
    validation of the stack's, which reports a job's errors on the job."""

    def __init__(self, job: Construct, probe: Callable[[Construct, str], CfnResource], parent: Construct) -> None:
        """:param parent: the job's scope."""
        self._job = job
        self._probe_factory = probe
        self._parent = parent
        self._tags: dict[str, str] | None = None
        self._errors: _TagErrors | None = None
        _SynthPass.watch(stack_of(job)).jobs.append(self)

    def tags(self) -> dict[str, str]:
        """The job's tags, once every aspect is in place (aspects run before rendering)."""
        if self._tags is None:
            self._tags = self._collect()
        return self._tags

    def render(self) -> list[dict[str, str]] | None:
        """The request's ``Tags``."""
        return [{"Key": k, "Value": v} for k, v in sorted(self.tags().items())] or None

    def _collect(self) -> dict[str, str]:
        stack = stack_of(self._job)
        shared = _SynthPass.memo(stack)
        parent = self._parent
        # From the app down to the job's parent, as aspects are applied; the job's own aspects last.
        above = _once(shared, ("aspects above", ref(parent)), lambda: _aspects_down_to(shared, parent))
        own = list(Aspects.of(self._job).all)
        stack_tags = _once(shared, "stack tags", lambda: dict(stack.tags.tag_values()))
        if not stack_tags and not above and not own:
            return {}
        if own:
            return self._replay(stack_tags, [*above, *own])
        tags: dict[str, str] = _once(shared, ("tags under", ref(parent)), lambda: self._replay(stack_tags, above))
        return tags

    def _replay(self, stack_tags: dict[str, str], aspects: list[IAspect]) -> dict[str, str]:
        probe: Any = self._probe_factory(self._job, "TagCollector")
        self._job.node.try_remove_child("TagCollector")
        manager = probe.cdk_tag_manager  # an L1 that takes tags (ITaggableV2)
        for key, value in stack_tags.items():
            manager.set_tag(key, value, 0)
        for aspect in aspects:
            aspect.visit(probe)
        # Keys with the aws: prefix are reserved for AWS; SageMaker rejects them in a request.
        return {k: v for k, v in manager.tag_values().items() if not k.startswith("aws:")}


def _once(memo: dict[Any, Any], key: Any, answer: Callable[[], Any]) -> Any:
    if key not in memo:
        memo[key] = answer()
    return memo[key]


def _aspects_down_to(shared: dict[Any, Any], scope: IConstruct) -> list[IAspect]:
    """The aspects of every scope from the app down to ``scope``, in that order (each scope's read once a pass)."""
    aspects: list[IAspect] = []
    for each in scope.node.scopes:
        key = ("aspects of", ref(each))
        if key not in shared:
            shared[key] = list(Aspects.of(each).all)
        aspects += shared[key]
    return aspects


@jsii.implements(IValidation)
class _SynthPass:
    """Counts a stack's synth passes (its validation runs before any of its constructs'), so that what is read once
    per synth is read again by a later synth of the same app."""

    @staticmethod
    def watch(stack: Stack) -> _SynthPass:
        key = ref(stack)
        if key not in _PASSES:
            _PASSES[key] = _SynthPass()
            stack.node.add_validation(_PASSES[key])
        return _PASSES[key]

    @staticmethod
    def memo(stack: Stack) -> dict[Any, Any]:
        """What is known of ``stack`` in this synth pass."""
        return _PASSES[ref(stack)].known

    def __init__(self) -> None:
        self.known: dict[Any, Any] = {}
        self.jobs: list[JobTags] = []

    def validate(self) -> list[str]:
        """A new pass; the tags of the stack's jobs checked, a job's errors given to a validation of the job's own
        (which runs after the stack's: the tree is validated from the root down)."""
        self.known = {}
        for job in self.jobs:
            errors = _check(job.tags())
            if job._errors is None and errors:
                job._errors = _TagErrors()
                job._job.node.add_validation(job._errors)
            if job._errors is not None:
                job._errors.errors = errors
        return []


_PASSES: dict[str, _SynthPass] = {}


@jsii.implements(IValidation)
class _TagErrors:
    """The errors of a job's tags, reported on the job."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def validate(self) -> list[str]:
        return self.errors


def _check(tags: dict[str, str]) -> list[str]:
    """What is wrong with a job's tags, once every Tags.of() call has been made."""
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
                f"tags: {key!r}={value!r}: keys of 1 to 128 and values up to 256 letters, digits, spaces and _.:/=+-@"
            )
    return errors

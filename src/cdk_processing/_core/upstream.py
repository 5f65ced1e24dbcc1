"""Reading another job's output: where it is, as a token that makes the reader wait, and the key to read it."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import aws_iam as iam
from constructs import IDependable

from .._policy import KMS_READ, allow_key
from .._s3 import S3Location
from .._validation import check_type, fail
from ..assets import Staged
from .context import JobScope, UpstreamJob


class Runs(list[str]):
    """The names of the upstream runs a job reads (its custom resource's ``Upstream``), told when the first comes
    (``on_first``): a job that reads none has no such property (and no value to render at synth)."""

    def __init__(self) -> None:
        super().__init__()
        self.on_first: Callable[[], None] | None = None

    def append(self, run: str) -> None:
        first = not self
        super().append(run)
        if first and self.on_first is not None:
            hook, self.on_first = self.on_first, None
            hook()


def upstream_location(prop: str, job: UpstreamJob, output_name: str) -> S3Location:
    """Where another job's output is read from: its URI as a token that makes the reader wait for the job, and its
    bucket and prefix, for the reader's grants. ``prop``: the reading input's, for the errors."""
    if not (hasattr(job, "output_uri") and hasattr(job, "output_location")):
        raise fail(
            f"{prop}.job",
            job,
            "must be a ProcessingJob or TrainingJob of this app (the job that writes the output)",
        )
    check_type(
        f"{prop}.output_name",
        output_name,
        str,
        "must be the name of one of the job's S3 outputs (a training job's: \"model\")",
    )
    location = job.output_location(output_name)
    if not getattr(job, "deploy_run", True):
        # No deployment writes it: only a workflow's task reads it, from the run earlier in the same execution.
        return S3Location(bucket=location.bucket, key_prefix=location.key_prefix)
    return S3Location(bucket=location.bucket, key_prefix=location.key_prefix, uri_string=job.output_uri(output_name))


def grant_upstream_key(grantee: iam.IGrantable, job: UpstreamJob) -> None:
    """Let ``grantee`` decrypt what ``job`` wrote with its output key, if it has one."""
    key = job.output_encryption_key
    if key is not None:
        allow_key(grantee, key, KMS_READ)


class JobInput:
    """What any job input carries besides its request member: local files staged for it, another job it reads."""

    staged: Staged | None = None
    """For an input from local files, where they were put, once bound."""
    upstream: UpstreamJob | None = None
    """For another job's output, that job: the reader runs again whenever it does."""
    upstream_output: str | None = None
    """For another job's output, the output's name."""

    @property
    def waits_for(self) -> IDependable | None:
        """What the job must wait for before it starts (the upload of local files), once bound."""
        return self.staged.dependable if self.staged is not None else None

    def admitted(self, job: JobScope, upstream: list[str]) -> None:
        """The bound input's part in its job's order: the job starts after its files are there, and ``upstream``
        (the runs the job reads) gets the name of the upstream job's current run, so the job runs again with it."""
        if self.waits_for is not None:
            job.wait_for(self.waits_for)
        if self.upstream is None:
            return
        if getattr(self.upstream, "deploy_run", True):
            upstream.append(self.upstream.run_name)
        elif getattr(job, "deploy_run", True):
            raise fail(
                f"inputs[{getattr(self, 'channel', None) or getattr(self, 'name', '')}]",
                f"the output {self.upstream_output!r} of {self.upstream.node.path}",  # type: ignore[attr-defined]
                "no deployment runs that job (Completion.never()), so none writes it: a job reading it runs in "
                "workflows only too (completion=Completion.never(), chained after that job's task)",
            )

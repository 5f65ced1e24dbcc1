"""The protocols the parts of a job bind against, so that no input, output, image or policy knows a job class.

A job implements them structurally (mypy checks it where a job is passed as one); nothing here imports a job.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import IDependable, Node


@runtime_checkable
class LibraryGrantee(Protocol):
    """A grantee whose statements from the library go to a principal of their own (a job's role's library
    policy), apart from others' grants."""

    @property
    def library_principal(self) -> iam.IPrincipal | None: ...


@runtime_checkable
class JobScope(LibraryGrantee, Protocol):
    """What an image, input or output binds to: the job, seen only as binding needs it."""

    @property
    def node(self) -> Node: ...

    @property
    def grant_principal(self) -> iam.IPrincipal: ...

    @property
    def output_bucket(self) -> s3.IBucket:
        """Where outputs given no bucket, local input data and code go."""
        ...

    @property
    def default_prefix(self) -> str:
        """The key prefix of the job's default locations, one per job."""
        ...

    def wait_for(self, dependable: IDependable) -> None:
        """The job starts only after ``dependable`` exists."""
        ...

    def _unpacker(self, input_mode: str | None) -> Unpacker | None:
        """What unpacks an input's zip at its local path before the job's command runs, for an input read in
        ``input_mode`` (``"File"``; ``None``: the job's default mode): the job's entrypoint wrapper; ``None`` for a
        job that runs its image's own entrypoint, or an input not read as files."""
        ...


class Unpacker(Protocol):
    """The job's entrypoint wrapper, seen by local data: it unpacks zips where SageMaker downloaded them."""

    def add_archive(self, prop: str, archive: str, path_prop: str) -> None:
        """Unpack the zip at the container path ``archive`` into its folder before the command runs."""
        ...


class OutputLocation(Protocol):
    """Where a job writes an output: a bucket (``None``: the job's default bucket) and a key prefix."""

    @property
    def bucket(self) -> s3.IBucket | None: ...

    @property
    def key_prefix(self) -> str: ...


class UpstreamJob(Protocol):
    """A job whose S3 output another job reads (``ProcessingInput.from_output``)."""

    @property
    def run_name(self) -> str:
        """The name of the job's current run, as a token: when the job runs again, so does its reader."""
        ...

    @property
    def output_encryption_key(self) -> kms.IKey | None: ...

    def output_uri(self, output_name: str) -> str: ...

    def output_location(self, output_name: str) -> OutputLocation:
        """Where the output is written (bucket and prefix, for the reader's grants)."""
        ...

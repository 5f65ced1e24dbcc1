"""Local files for a job: its code (``Code.from_asset``), small data (``ProcessingInput.from_asset``), and the bucket
the library keeps them and default outputs in."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import FileSystem, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct, IDependable

from ._dependencies import depend_on_policies_only
from ._s3 import S3Location
from ._validation import fail

BUCKET_ID = "CdkProcessingBucket"
CODE_PATH = "/opt/ml/processing/input/code"


def default_bucket(scope: Construct) -> s3.IBucket:
    """The stack's bucket for job code, local input data and outputs given no destination; created on first use.

    Encrypted, private, TLS only, versioned, and retained when the stack is deleted: the library never empties it.
    """
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(BUCKET_ID)
    if isinstance(existing, s3.Bucket):
        return existing
    return s3.Bucket(
        stack,
        BUCKET_ID,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
    )


def job_defaults(scope: Construct) -> tuple[s3.IBucket, str]:
    """The bucket and key prefix of a job's default locations (``scope`` is the job an input or output binds to)."""
    bucket = getattr(scope, "output_bucket", None) or default_bucket(scope)
    prefix = getattr(scope, "default_prefix", None) or "cdk-processing/"
    return bucket, str(prefix)


@dataclass(frozen=True)
class Staged:
    """Local files put in S3 for a job: where they are, the file name a single file gets, and what to wait for."""

    location: S3Location
    file_name: str | None
    dependable: IDependable | None


def stage(
    scope: Construct,
    id: str,
    path: str,
    prop: str,
    key_prefix: str,
    exclude: Sequence[str] | None,
    keep_file_name: bool = True,
) -> Staged:
    """Put ``path`` in S3: a folder, or a file with its name kept, unpacked under ``key_prefix/<hash>/`` of the
    job's bucket; or, with ``keep_file_name=False``, a file as a plain CDK asset (uploaded by the CLI, named
    ``<hash><ext>``, no deployment function needed). The content hash is in the S3 URI, so the job's request (and so
    the job) changes exactly when the files do."""
    local = Path(path)
    if not local.exists():
        raise fail(prop, path, "must be an existing file or folder")
    if local.is_file() and not keep_file_name:
        asset = s3_assets.Asset(scope, id, path=str(local))
        location = S3Location(bucket=asset.bucket, key_prefix=asset.s3_object_key)
        return Staged(location, f"{asset.asset_hash}{local.suffix}", None)
    if local.is_file():  # the file alone, from its folder
        exclude, local = ["*", f"!{local.name}"], local.parent
    fingerprint = FileSystem.fingerprint(str(local), exclude=list(exclude or []))
    bucket, _ = job_defaults(scope)
    prefix = f"{key_prefix}{fingerprint[:16]}/"
    deployment = s3_deployment.BucketDeployment(
        scope,
        id,
        destination_bucket=bucket,
        destination_key_prefix=prefix,
        sources=[s3_deployment.Source.asset(str(local), exclude=list(exclude or []))],
        prune=False,
        retain_on_delete=True,
    )
    # BucketDeployment's handler is a stack-wide singleton function, created at the stack's root.
    for child in Stack.of(scope).node.children:
        if child.node.id.startswith("Custom::CDKBucketDeployment") and isinstance(child, Construct):
            depend_on_policies_only(child)
    return Staged(S3Location(bucket=bucket, key_prefix=prefix), None, deployment)


class Code:
    """The job's own code, from the machine that synthesizes: ``Code.from_asset("src/preprocess.py")`` or a folder
    with an ``entry_point``. It is mounted at ``/opt/ml/processing/input/code`` and run with the job's ``command``."""

    def __init__(self, path: str, entry_point: str | None, exclude: Sequence[str] | None) -> None:
        local = Path(path)
        if not local.exists():
            raise fail("code", path, "must be an existing file or folder")
        if local.is_dir():
            if not entry_point:
                raise fail("code.entry_point", entry_point, f"must name the file to run in the folder {path}")
            if not (local / entry_point).is_file():
                raise fail("code.entry_point", entry_point, f"must be a file in {path}")
        elif entry_point not in (None, local.name):
            raise fail("code.entry_point", entry_point, f"must be left out for a single file ({local.name})")
        self.path = str(local)
        self.entry_point = entry_point
        self.exclude = list(exclude or [])
        if entry_point and _excluded(entry_point, self.exclude):
            raise fail("code.entry_point", entry_point, f"is left out by exclude {self.exclude}")
        self.has_requirements = (
            local.is_dir()
            and (local / "requirements.txt").is_file()
            and not _excluded("requirements.txt", self.exclude)
        )

    @staticmethod
    def from_asset(path: str, *, entry_point: str | None = None, exclude: Sequence[str] | None = None) -> Code:
        """A script file, or a folder with ``entry_point`` (and, optionally, a ``requirements.txt`` installed with pip
        before the entry point runs: that needs network access from the job).

        :param exclude: glob patterns of files in the folder to leave out. Default: none.
        """
        return Code(path, entry_point, exclude)


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

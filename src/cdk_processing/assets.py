"""Local files for a job: its code (``Code.from_asset``), small data (``ProcessingInput.from_asset``), and the bucket
the library keeps them and default outputs in."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import Annotations, FileSystem, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_s3_deployment as s3_deployment
from constructs import Construct, IDependable

from ._acknowledge import acknowledge
from ._core.context import JobScope
from ._dependencies import depend_on_policies_only
from ._memo import once, stack_of
from ._policy import acknowledge_policies_written_by
from ._s3 import S3Location
from ._validation import check_bool, check_str_list, check_type, fail
from .provider import library_log_group

BUCKET_ID = "CdkProcessingBucket"
ACCESS_LOGS_ID = "CdkProcessingAccessLogs"
REPLICATION_REASON = (
    "Replication needs a destination bucket in a Region and account the library cannot choose; the bucket is the "
    "default for outputs given no destination: send outputs to a replicated bucket of yours with "
    "ProcessingOutput.to_bucket"
)
CODE_PATH = "/opt/ml/processing/input/code"


def default_bucket(scope: Construct) -> s3.IBucket:
    """The stack's bucket for job code, local input data and outputs given no destination; created on first use.

    Encrypted with KMS (the account's AWS managed key for S3, ``aws/s3``, with an S3 bucket key), private, TLS
    only, versioned, with server access logs, and retained when the stack is deleted: the library never empties it.
    """
    stack = stack_of(scope)
    return once(stack, "default bucket", lambda: _default_bucket(stack))  # a construct of the tree for good


def _default_bucket(stack: Stack) -> s3.IBucket:
    existing = stack.node.try_find_child(BUCKET_ID)
    if isinstance(existing, s3.Bucket):
        return existing
    logs_bucket = s3.Bucket(
        stack,
        ACCESS_LOGS_ID,
        # S3 delivers server access logs only to a bucket encrypted with S3 managed keys (SSE-S3).
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    bucket = s3.Bucket(
        stack,
        BUCKET_ID,
        encryption=s3.BucketEncryption.KMS_MANAGED,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        # A reference, so that aws-cdk-lib leaves the delivery permission to the policy below instead of an ACL
        # (which the logs bucket, owner-enforced, has none of).
        server_access_logs_bucket=s3.Bucket.from_bucket_name(
            stack, "CdkProcessingAccessLogsRef", logs_bucket.bucket_name
        ),
        server_access_logs_prefix=f"{BUCKET_ID}/",
    )
    # S3's log delivery writes with a bucket policy on the destination (S3 user guide, Enabling Amazon S3 server
    # access logging): only for the library's bucket, in this account.
    logs_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[logs_bucket.arn_for_objects(f"{BUCKET_ID}/*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": stack.account},
            },
        )
    )
    # aws-cdk-lib warns that it added no delivery permission to the (referenced) logs bucket: the policy above is it.
    Annotations.of(bucket).acknowledge_warning(
        "@aws-cdk/aws-s3:accessLogsPolicyNotAdded",
        "the library gives S3's log delivery its permission with the logs bucket's policy",
    )
    acknowledge(bucket, {"S3BucketReplicationEnabled": REPLICATION_REASON})
    acknowledge(
        logs_bucket,
        {
            "S3BucketReplicationEnabled": REPLICATION_REASON,
            "S3DefaultEncryptionKMS": "S3 delivers server access logs only to a bucket with SSE-S3 default "
            "encryption (S3 user guide, Enabling Amazon S3 server access logging)",
        },
    )
    return bucket


def job_defaults(scope: Construct) -> tuple[s3.IBucket, str]:
    """The bucket and key prefix of a job's default locations (``scope``: the job an input or output binds to)."""
    if not isinstance(scope, JobScope):
        raise TypeError(f"{scope.node.path} is not a job: inputs and outputs bind to the job that reads or writes them")
    return scope.output_bucket, scope.default_prefix


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
    zipped: bool = False,
) -> Staged:
    """Put ``path`` in S3: a folder, or a file with its name kept, unpacked under ``key_prefix/<hash>/`` of the
    job's bucket (by a BucketDeployment); or, with ``keep_file_name=False``, as the plain CDK asset (uploaded by the
    CLI to the bootstrap bucket, no deployment function needed): a file named ``<hash><ext>``, a folder as the zip
    ``<hash>.zip`` that the job unpacks itself; ``zipped`` too makes a zip of a single file (with its name inside).
    The content hash is in the S3 URI, so the job's request (and so the job) changes exactly when the files do."""
    local = Path(path)
    if not local.exists():
        raise fail(prop, path, "must be an existing file or folder")
    # A job staging local files has its default bucket (where a copy goes; made for a plain asset too, as it was
    # before assets travelled as they are, so that no stack loses its bucket).
    bucket, _ = job_defaults(scope)
    if not keep_file_name:
        # The CDK asset itself: a file as it is, a folder as the zip the CLI makes of it (which the job unpacks).
        if zipped and local.is_file():  # a folder asset of the file alone, from its folder
            exclude, local = ["*", f"!{local.name}"], local.parent
        asset = s3_assets.Asset(scope, id, path=str(local), exclude=list(exclude or []) or None)
        location = S3Location(bucket=asset.bucket, key_prefix=asset.s3_object_key, single_object=True, common=True)
        return Staged(location, f"{asset.asset_hash}{local.suffix if local.is_file() else '.zip'}", None)
    if local.is_file():  # the file alone, from its folder
        exclude, local = ["*", f"!{local.name}"], local.parent
    fingerprint = FileSystem.fingerprint(str(local), exclude=list(exclude or []))
    prefix = f"{key_prefix}{fingerprint[:16]}/"
    role, log_group = _deployment_role(scope)
    deployment = s3_deployment.BucketDeployment(
        scope,
        id,
        destination_bucket=bucket,
        destination_key_prefix=prefix,
        sources=[s3_deployment.Source.asset(str(local), exclude=list(exclude or []))],
        prune=False,
        retain_on_delete=True,
        role=role,
        log_group=log_group,
        # Not the default size: the library's copies get a singleton function of their own (BucketDeployment names
        # it by memory size), so that another BucketDeployment of the stack neither shares nor changes its role.
        memory_limit=DEPLOYMENT_MEMORY_MIB,
    )
    if deployment.handler_role.node.path != role.node.path:
        # Another BucketDeployment of the stack made the singleton first, with this memory size and a role of its
        # own: the copies run under that role; what it is granted, and what its function is, is not the library's.
        Annotations.of(scope).add_warning_v2(
            "cdk-processing:sharedDeploymentFunction",
            f"A BucketDeployment of this stack with memory_limit={DEPLOYMENT_MEMORY_MIB} made the function that copies "
            "cdk-processing's folders: they run under its role, not the library's",
        )
        return Staged(S3Location(bucket=bucket, key_prefix=prefix, common=True), None, deployment)
    # BucketDeployment's handler is a stack-wide singleton function, created at the stack's root.
    for child in Stack.of(scope).node.children:
        singleton = child.node.id.startswith("Custom::CDKBucketDeployment")
        if singleton and child.node.id.endswith(f"{DEPLOYMENT_MEMORY_MIB}MiB") and isinstance(child, Construct):
            depend_on_policies_only(child)
            acknowledge(child, DEPLOYMENT_ACKNOWLEDGEMENTS)
    return Staged(S3Location(bucket=bucket, key_prefix=prefix, common=True), None, deployment)


def stage_input(
    job: Construct,
    name: str,
    path: str,
    exclude: Sequence[str] | None,
    local_path: str | None,
    mode: str | None,
    *,
    code: bool = False,
) -> Staged:
    """Local files of the job's input ``name`` (its prop ``inputs[<name>]``, its construct ``Input<name>Files``):
    the job's ``code`` as the plain CDK asset; data that the job reads at ``local_path`` in ``mode`` (``None``: the
    job's default mode), where the library controls the job's entrypoint and the input is read as files, as the zip
    of its files (the CDK asset), which the entrypoint unpacks at ``local_path`` before the job's command runs; else
    as a copy with its file names kept, by a BucketDeployment under the job's prefix."""
    prop, id = f"inputs[{name}]", f"Input{name}Files"
    if code:
        return stage(job, id, path, f"{prop}.path", "", exclude, keep_file_name=False)
    bucket_prefix = job_defaults(job)[1]  # also: the job is a job
    unpacker = cast(JobScope, job)._unpacker(mode) if local_path is not None else None
    if unpacker is None:
        return stage(job, id, path, f"{prop}.path", f"{bucket_prefix}inputs/{name}/", exclude)
    staged = stage(job, id, path, f"{prop}.path", "", exclude, keep_file_name=False, zipped=True)
    assert staged.file_name is not None and local_path is not None
    unpacker.add_archive(f"{prop}.path", f"{local_path}/{staged.file_name}", f"{prop}.local_path")
    return staged


DEPLOYMENT_ROLE_ID = "CdkProcessingDeploymentRole"
DEPLOYMENT_MEMORY_MIB = 384
DEPLOYMENT_REASON = (
    "written by aws-cdk-lib's BucketDeployment, which the library cannot configure: read of the CDK assets bucket "
    "(s3:GetObject*, s3:GetBucket*, s3:List* on its objects) and write to the library's bucket, including "
    "s3:DeleteObject*, which the function uses only when prune is on; the library turns prune off"
)
DEPLOYMENT_ACKNOWLEDGEMENTS = {
    "AwsSolutions-L1": "BucketDeployment's function runtime is set by aws-cdk-lib and cannot be configured; it "
    "moves to the newest runtime with aws-cdk-lib",
    "LambdaConcurrency": "Reserved concurrency is taken from the account's pool and fails the deployment in accounts "
    "at the default minimum of unreserved concurrency; the function runs once per changed code or data folder",
    "LambdaDLQ": "BucketDeployment's function runs on CloudFormation events and reports every failure to "
    "CloudFormation, which fails and rolls back the deployment; a dead-letter queue would hold events that nothing "
    "replays",
    "LambdaInsideVPC": "The function copies from the CDK assets bucket to the library's bucket through the S3 API "
    "only; inside a VPC it would need NAT or an S3 endpoint the stack may not have",
}


def _deployment_role(scope: Construct) -> tuple[iam.Role, logs.LogGroup]:
    """The role and log group of the library's copies of local folders: no managed policy, logs to one group."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(DEPLOYMENT_ROLE_ID)
    if isinstance(existing, iam.Role):
        log_group = stack.node.find_child(DEPLOYMENT_ROLE_ID + "Logs")
        assert isinstance(log_group, logs.LogGroup)
        return existing, log_group
    role = iam.Role(
        stack,
        DEPLOYMENT_ROLE_ID,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="Copies cdk-processing's local code and data folders to the stack's bucket",
    )
    log_group = library_log_group(stack, DEPLOYMENT_ROLE_ID + "Logs")
    log_group.grant_write(role)
    acknowledge_policies_written_by(role, "aws_s3_deployment.BucketDeployment", DEPLOYMENT_REASON)
    return role, log_group


class Code:
    """The job's own code, from the machine that synthesizes: ``Code.from_asset("src/preprocess.py")`` or a folder
    with an ``entry_point``. It is mounted at ``/opt/ml/processing/input/code`` and run with the job's ``command``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        entry_point: str | None,
        exclude: Sequence[str] | None,
        install_requirements: bool = True,
    ) -> None:
        check_type("code", path, (str, os.PathLike), "must be the path of a file or folder (a str or a pathlib.Path)")
        path = os.fspath(path)
        check_type("code.entry_point", entry_point, str, "must be a file name in the folder, as a string")
        exclude = check_str_list("code.exclude", exclude, "['*.pyc', 'tests/*']")
        check_bool("code.install_requirements", install_requirements)
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
            install_requirements
            and local.is_dir()
            and (local / "requirements.txt").is_file()
            and not _excluded("requirements.txt", self.exclude)
        )

    @staticmethod
    def from_asset(
        path: str | os.PathLike[str],
        *,
        entry_point: str | None = None,
        exclude: Sequence[str] | None = None,
        install_requirements: bool = True,
    ) -> Code:
        """A script file, or a folder with ``entry_point`` (and, optionally, a ``requirements.txt`` installed with pip
        before the entry point runs: that needs network access from the job).

        :param exclude: glob patterns of files in the folder to leave out. Default: none.
        :param install_requirements: install the folder's ``requirements.txt`` with pip when the job starts. A job
            with ``enable_network_isolation`` cannot reach a package index: it refuses such code at synth unless this
            is ``False`` (the packages are in the image; the file is uploaded with the folder and not installed).
            Default: ``True``.
        """
        return Code(path, entry_point, exclude, install_requirements)


def _excluded(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

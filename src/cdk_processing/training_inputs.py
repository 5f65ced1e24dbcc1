"""Training job channels (``InputDataConfig``): S3 data, local files, and another job's output."""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict, cast

from aws_cdk import Fn
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_efs as efs
from aws_cdk import aws_fsx as fsx
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import _model
from ._core.context import UpstreamJob
from ._core.upstream import JobInput, grant_upstream_key, upstream_location
from ._s3 import S3Location
from ._validation import (
    ProcessingJobValidationError,
    check_bool,
    check_count,
    check_integer,
    check_interface,
    check_model_string,
    check_str_list,
    check_type,
    fail,
    is_unresolved,
    written,
)
from .assets import stage_input
from .s3_data import DataDistribution, InputMode, S3Compression, S3DataType, check_enum

if TYPE_CHECKING:  # typing's own from Python 3.11; only type checkers read it (annotations are not evaluated)
    from typing_extensions import Unpack

# Where SageMaker puts a channel's files in a training container (File and FastFile modes).
CHANNEL_ROOT = "/opt/ml/input/data/"


class RecordWrapper(enum.Enum):
    """How SageMaker hands the records of a channel to the algorithm: as they are, or each in a RecordIO record."""

    NONE = "None"
    RECORD_IO = "RecordIO"


class ChannelOptions(TypedDict, total=False):
    """A channel's options, each with its default."""

    content_type: str  # the MIME type of the data. Default: none given.
    input_mode: InputMode  # Default: the job's input_mode.
    distribution: DataDistribution  # Default: DataDistribution.FULLY_REPLICATED.
    compression: S3Compression  # Default: S3Compression.NONE; GZIP with InputMode.PIPE only.
    record_wrapper: RecordWrapper  # Default: none.
    shuffle_seed: int  # shuffles the data with this seed (Pipe mode). Default: not shuffled.
    data_type: S3DataType  # Default: S3DataType.S3_PREFIX.
    attribute_names: Sequence[str]  # the attributes of an augmented manifest to read. Default: all.
    instance_groups: Sequence[str]  # the job's instance groups that read the channel. Default: every instance.


class TrainingInput(JobInput):
    """A training job's channel: data the job reads, under a channel name (``train``, ``validation``, ...), at
    ``/opt/ml/input/data/<channel>`` in File and FastFile modes. Choose a factory:

    - ``TrainingInput.from_bucket(channel, bucket, key_prefix)`` or ``from_s3_uri(channel, "s3://...")``;
    - ``TrainingInput.from_asset(channel, path)`` for small local data;
    - ``TrainingInput.from_output(channel, job, output_name)`` for another job's S3 output (a processing job's
      prepared data): the training job runs after it, reads only that prefix, and trains again whenever it runs again.

    Every factory takes the channel's options: ``content_type``, ``input_mode`` (default: the job's), ``distribution``,
    ``compression`` (``GZIP`` with Pipe mode only), ``record_wrapper``, ``shuffle_seed`` (Pipe mode), ``data_type``,
    ``attribute_names`` (augmented manifests) and ``instance_groups`` (the groups of a heterogeneous cluster that read
    it). The job's role is granted exactly the reads the channel needs.

    ``TrainingInput.from_file_system(channel, file_system, directory_path)`` mounts a directory of an EFS or FSx for
    Lustre file system instead, through the job's VPC.
    """

    def __init__(
        self,
        channel: str,
        location: S3Location | None,
        *,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
        compression: S3Compression = S3Compression.NONE,
        record_wrapper: RecordWrapper | None = None,
        shuffle_seed: int | None = None,
        data_type: S3DataType = S3DataType.S3_PREFIX,
        attribute_names: Sequence[str] | None = None,
        instance_groups: Sequence[str] | None = None,
    ) -> None:
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        prop = f"inputs[{channel}]"
        check_type(prop + ".content_type", content_type, str, "must be a MIME type, such as 'text/csv'")
        check_model_string(prop + ".content_type", content_type, "ContentType")
        check_enum(prop + ".input_mode", input_mode, InputMode)
        check_enum(prop + ".distribution", distribution, DataDistribution)
        check_enum(prop + ".compression", compression, S3Compression)
        check_enum(prop + ".record_wrapper", record_wrapper, RecordWrapper)
        check_enum(prop + ".data_type", data_type, S3DataType)
        if shuffle_seed is not None:
            check_integer(prop + ".shuffle_seed", shuffle_seed)
        names = check_str_list(prop + ".attribute_names", attribute_names, "['source-ref', 'class']")
        if names is not None and not is_unresolved(names):
            high = _model.bounds("AttributeNames")[1]
            if len(names) > high:
                raise fail(prop + ".attribute_names", names, f"takes at most {high} names")
        groups = check_str_list(prop + ".instance_groups", instance_groups, "['cpu']")
        if groups is not None and not is_unresolved(groups):
            check_count(prop + ".instance_groups", groups, _model.bounds("InstanceGroupNames")[1], 1)
            for group in groups:
                check_model_string(prop + ".instance_groups[]", group, "InstanceGroupName")
        if names and data_type is not S3DataType.AUGMENTED_MANIFEST_FILE:
            raise fail(
                prop + ".attribute_names",
                names,
                "are read from an augmented manifest: give S3DataType.AUGMENTED_MANIFEST_FILE",
            )
        if compression is S3Compression.GZIP and input_mode not in (InputMode.PIPE, None):
            raise fail(prop + ".compression", "Gzip", f"works only with input_mode InputMode.PIPE, not {input_mode}")
        if input_mode is InputMode.FAST_FILE and data_type is S3DataType.AUGMENTED_MANIFEST_FILE:
            raise fail(prop + ".input_mode", "FastFile", "does not read augmented manifest files (SageMaker's rule)")
        self.channel = channel
        self.name = channel
        self.input_mode = input_mode
        self.compression = compression
        self._location = location
        self._options: dict[str, Any] = {
            "ContentType": content_type,
            "CompressionType": compression.value if compression is not S3Compression.NONE else None,
            "RecordWrapperType": record_wrapper.value if record_wrapper is not None else None,
            "InputMode": input_mode.value if input_mode is not None else None,
            "ShuffleConfig": {"Seed": shuffle_seed} if shuffle_seed is not None else None,
        }
        self._source: dict[str, Any] = {
            "S3DataType": data_type.value,
            "S3DataDistributionType": distribution.value,
        }
        if names:
            self._source["AttributeNames"] = list(names)
        self.instance_groups = groups
        """The instance groups that read the channel (``S3DataSource.InstanceGroupNames``); ``None``: every
        instance."""
        if groups:
            self._source["InstanceGroupNames"] = groups

    @staticmethod
    def from_bucket(
        channel: str, bucket: s3.IBucket, key_prefix: str | None = None, **options: Unpack[ChannelOptions]
    ) -> TrainingInput:
        """Objects under ``key_prefix`` of ``bucket`` (an ``s3.IBucket``), or the manifest at that key.

        :param key_prefix: the key prefix to read. Default: the whole bucket.
        :param options: the channel's options (see the class).
        """
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        return TrainingInput(channel, S3Location.from_bucket(f"inputs[{channel}]", bucket, key_prefix), **options)

    @staticmethod
    def from_s3_uri(channel: str, s3_uri: str, **options: Unpack[ChannelOptions]) -> TrainingInput:
        """Objects under an ``s3://bucket/prefix`` URI; a URI known only at deploy time (a token) is granted on the
        whole bucket it names.

        :param options: the channel's options (see the class).
        """
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        return TrainingInput(channel, S3Location.from_uri(f"inputs[{channel}].s3_uri", s3_uri), **options)

    @staticmethod
    def from_asset(
        channel: str,
        path: str | os.PathLike[str],
        *,
        exclude: Sequence[str] | None = None,
        **options: Unpack[ChannelOptions],
    ) -> TrainingInput:
        """Small local data, a file or a folder, at ``/opt/ml/input/data/<channel>`` with its file names; the job
        trains again exactly when the files change.

        For a job with ``code`` or an ``entrypoint`` and a channel read in File mode, the files travel as the CDK
        asset (a zip in the bootstrap bucket, uploaded by ``cdk deploy``), unpacked in the channel's folder by the
        job's entrypoint before its command runs (with the image's ``python3``, or ``unzip``). Otherwise (the
        image's own ENTRYPOINT, Pipe or FastFile mode) they are copied under the job's prefix in the job's
        ``output_bucket`` by a CDK ``BucketDeployment`` (a Lambda function with its role, layer and log group, once
        per stack).

        :param exclude: glob patterns of files in a folder to leave out. Default: none.
        :param options: the channel's options (see the class).
        """
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        check_type(f"inputs[{channel}].path", path, (str, os.PathLike), "must be the path of a local file or folder")
        exclude = check_str_list(f"inputs[{channel}].exclude", exclude, "['*.tmp']")
        return _AssetChannel(channel, os.fspath(path), exclude, False, **options)

    @staticmethod
    def from_output(
        channel: str, job: UpstreamJob, output_name: str, **options: Unpack[ChannelOptions]
    ) -> TrainingInput:
        """Another job's S3 output (a ``ProcessingJob``'s, by its output name): this job runs after that one
        completed, with read access to exactly that prefix, and trains again whenever that job runs again.

        :param options: the channel's options (see the class).
        """
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        made = TrainingInput(channel, upstream_location(f"inputs[{channel}]", job, output_name), **options)
        made.upstream = job
        made.upstream_output = output_name
        return made

    @staticmethod
    def from_file_system(
        channel: str,
        file_system: efs.IFileSystem | fsx.IFileSystem,
        directory_path: str,
        *,
        read_only: bool = True,
        content_type: str | None = None,
        mount_name: str | None = None,
    ) -> TrainingInput:
        """A directory of an EFS file system (``efs.IFileSystem``) or an FSx for Lustre one (``fsx.LustreFileSystem``
        or an import), mounted in the channel's folder through the job's VPC: the job must have a ``vpc`` from which
        the file system is reached, and its security groups are allowed in on the file system's port (EFS: 2049,
        FSx for Lustre: 988-1023, aws-cdk-lib's default ports).

        :param directory_path: the directory in the file system, from its root: ``/datasets/train``. For FSx for
            Lustre, the request's path starts with the file system's mount name, which the library puts in front.
        :param read_only: mount the directory read-only (``ro``), or read-write (``rw``). Default: read-only.
        :param content_type: the MIME type of the data. Default: none given.
        :param mount_name: FSx for Lustre only: the file system's mount name (``LustreConfiguration.MountName``),
            for a file system imported with ``from_lustre_file_system_attributes``. Default: the
            ``LustreFileSystem``'s own ``mount_name``.
        """
        check_model_string("inputs[].channel", channel, "ChannelName", "letters, digits, '.', '-' and '_'")
        return _FileSystemChannel(channel, file_system, directory_path, read_only, content_type, mount_name)

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        """Grant ``grantee`` the reads this channel needs and return its ``Channel`` request member."""
        assert self._location is not None
        location = self._location.bind(scope, f"Channel{self.channel}Bucket")
        location.grant_read(grantee)
        if self.upstream is not None:
            grant_upstream_key(grantee, self.upstream)
        member: dict[str, Any] = {
            "ChannelName": self.channel,
            "DataSource": {"S3DataSource": {"S3Uri": location.uri, **self._source}},
        }
        member.update({k: v for k, v in self._options.items() if v is not None})
        return member


class _AssetChannel(TrainingInput):
    """Local files: the job's data (``code=False``), or its code as the plain CDK asset (``code=True``)."""

    def __init__(
        self,
        channel: str,
        path: str,
        exclude: Sequence[str] | None,
        code: bool,
        **options: Unpack[ChannelOptions],
    ) -> None:
        super().__init__(channel, None, **options)
        self._path = path
        self._exclude = exclude
        self._code = code

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        mode = self.input_mode.value if self.input_mode is not None else None
        local_path = CHANNEL_ROOT + self.channel
        self.staged = stage_input(scope, self.channel, self._path, self._exclude, local_path, mode, code=self._code)
        self._location = self.staged.location
        return super().bind(scope, grantee)


class _FileSystemChannel(TrainingInput):
    """A directory of an EFS or FSx for Lustre file system (``DataSource.FileSystemDataSource``)."""

    def __init__(
        self,
        channel: str,
        file_system: Any,
        directory_path: str,
        read_only: bool,
        content_type: str | None,
        mount_name: str | None,
    ) -> None:
        super().__init__(channel, None, content_type=content_type)
        prop = f"inputs[{channel}]"
        check_interface(
            prop + ".file_system",
            file_system,
            ("file_system_id", "connections"),
            "must be an EFS or FSx for Lustre file system: efs.FileSystem, fsx.LustreFileSystem or an import of one",
        )
        check_bool(prop + ".read_only", read_only)
        check_type(prop + ".directory_path", directory_path, str, "must be a path in the file system, such as '/data'")
        check_model_string(prop + ".directory_path", directory_path, "DirectoryPath")
        if not is_unresolved(directory_path) and not directory_path.startswith("/"):
            raise fail(
                prop + ".directory_path", directory_path, "must start with '/': the path from the file system's root"
            )
        check_model_string(prop + ".file_system", file_system.file_system_id, "FileSystemId", "fs- and its id")
        self._efs = hasattr(file_system, "file_system_arn")  # aws_efs.IFileSystem has an ARN, aws_fsx's none
        check_type(prop + ".mount_name", mount_name, str, "must be the FSx for Lustre file system's mount name")
        if self._efs and mount_name is not None:
            raise fail(prop + ".mount_name", mount_name, "is FSx for Lustre's: an EFS path starts at its root")
        mount_name = mount_name or getattr(file_system, "mount_name", None)
        if not self._efs and mount_name is None:
            raise fail(
                prop + ".mount_name",
                None,
                f"is needed for the imported FSx for Lustre file system {written(file_system)}: give its mount name "
                "(LustreConfiguration.MountName of DescribeFileSystems), which starts the path SageMaker mounts",
            )
        self._file_system = file_system
        self._path = directory_path if self._efs else Fn.join("", ["/", mount_name or "", directory_path])
        self._mode = "ro" if read_only else "rw"

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        try:
            connections = cast(ec2.IConnectable, scope).connections
        except ProcessingJobValidationError:
            raise fail(
                f"inputs[{self.channel}]",
                f"a directory of {written(self._file_system)}",
                "is mounted through the job's VPC: give the job a vpc (with subnets that reach the file system)",
            ) from None
        kind = "EFS" if self._efs else "FSxLustre"
        self._file_system.connections.allow_default_port_from(
            connections, f"SageMaker training job {scope.node.path} mounts this file system"
        )
        member: dict[str, Any] = {
            "ChannelName": self.channel,
            "DataSource": {
                "FileSystemDataSource": {
                    "FileSystemId": self._file_system.file_system_id,
                    "FileSystemType": kind,
                    "DirectoryPath": self._path,
                    "FileSystemAccessMode": self._mode,
                }
            },
        }
        member.update({k: v for k, v in self._options.items() if v is not None})
        return member


def code_channel(path: str, exclude: Sequence[str] | None, job_mode: InputMode) -> TrainingInput:
    """The channel ``code`` of a job's ``Code``: the plain CDK asset, at ``/opt/ml/input/data/code``, read as a file
    whatever the job's mode (``job_mode``) is."""
    if job_mode is InputMode.FILE:
        return _AssetChannel("code", path, exclude, True)
    return _AssetChannel("code", path, exclude, True, input_mode=InputMode.FILE)

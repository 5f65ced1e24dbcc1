"""Processing job inputs: S3 data, Athena and Redshift dataset definitions."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ._core.context import UpstreamJob
from ._core.upstream import JobInput, grant_upstream_key, upstream_location
from ._s3 import S3Location
from ._validation import (
    check_bool,
    check_local_path,
    check_str_list,
    check_type,
    fail,
    is_unresolved,
)
from .assets import stage_input
from .datasets import (
    AthenaDefinition,
    AthenaOutputCompression,
    AthenaOutputFormat,
    DatasetDefinition,
    RedshiftDefinition,
    RedshiftOutputCompression,
    RedshiftOutputFormat,
)
from .s3_data import DataDistribution, InputMode, S3Compression, S3DataType, check_channel_name, check_enum

DEFAULT_INPUT_ROOT = "/opt/ml/processing/input/"


class ProcessingInput(JobInput, ABC):
    """Data a processing job reads: choose a factory.

    - ``ProcessingInput.from_bucket(name, bucket, key_prefix)`` or ``from_s3_uri(name, "s3://...")`` for S3 data,
      downloaded to ``local_path`` (default: ``/opt/ml/processing/input/<name>``);
    - ``ProcessingInput.from_athena(...)`` and ``from_redshift(...)`` for a query whose results SageMaker unloads to
      S3 before the job starts.

    Every factory grants the job's role exactly the reads it needs when the job binds it.
    """

    def __init__(self, name: str, local_path: str | None, app_managed: bool) -> None:
        check_channel_name("inputs[].name", name)
        check_bool(f"inputs[{name}].app_managed", app_managed)
        self.name = name
        self.local_path = (
            local_path if local_path is not None else (None if is_unresolved(name) else DEFAULT_INPUT_ROOT + name)
        )
        if local_path is not None:
            check_local_path(f"inputs[{name}].local_path", local_path)
        self.app_managed = app_managed

    @staticmethod
    def from_bucket(
        name: str,
        bucket: s3.IBucket,
        key_prefix: str | None = None,
        *,
        local_path: str | None = None,
        data_type: S3DataType = S3DataType.S3_PREFIX,
        input_mode: InputMode = InputMode.FILE,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
        compression: S3Compression = S3Compression.NONE,
        app_managed: bool = False,
    ) -> ProcessingInput:
        """Objects under ``key_prefix`` of ``bucket`` (or the manifest file at that key).

        :param key_prefix: the key prefix to read. Default: the whole bucket.
        :param local_path: where the data appears in the container. Default: ``/opt/ml/processing/input/<name>``.
        :param data_type: Default: ``S3DataType.S3_PREFIX``.
        :param input_mode: Default: ``InputMode.FILE``.
        :param distribution: Default: ``DataDistribution.FULLY_REPLICATED``.
        :param compression: Default: ``S3Compression.NONE``; ``GZIP`` requires ``InputMode.PIPE``.
        :param app_managed: the job's application downloads the data itself. Default: SageMaker downloads it.
        """
        check_channel_name("inputs[].name", name)
        location = S3Location.from_bucket(f"inputs[{name}]", bucket, key_prefix)
        return _S3Input(name, location, local_path, data_type, input_mode, distribution, compression, app_managed)

    @staticmethod
    def from_s3_uri(
        name: str,
        s3_uri: str,
        *,
        local_path: str | None = None,
        data_type: S3DataType = S3DataType.S3_PREFIX,
        input_mode: InputMode = InputMode.FILE,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
        compression: S3Compression = S3Compression.NONE,
        app_managed: bool = False,
    ) -> ProcessingInput:
        """Objects under an ``s3://bucket/prefix`` URI; same options as ``from_bucket``.

        A URI known only at deploy time (a token) is granted on the whole bucket it names.
        """
        check_channel_name("inputs[].name", name)
        location = S3Location.from_uri(f"inputs[{name}].s3_uri", s3_uri)
        return _S3Input(name, location, local_path, data_type, input_mode, distribution, compression, app_managed)

    @staticmethod
    def from_asset(
        name: str,
        path: str | os.PathLike[str],
        *,
        local_path: str | None = None,
        exclude: Sequence[str] | None = None,
    ) -> ProcessingInput:
        """Small local data, a file or a folder, at ``local_path`` with its file names.

        For a job with ``code`` or an ``entrypoint``, the files travel as the CDK asset (a zip in the bootstrap
        bucket, uploaded by ``cdk deploy``), downloaded to ``local_path`` and unpacked there by the job's entrypoint
        before its command runs (with the image's ``python3``, or ``unzip``). A job that runs its image's own
        ENTRYPOINT cannot be wrapped: its files are copied under the job's prefix in the job's ``output_bucket`` by
        a CDK ``BucketDeployment`` (a Lambda function with its role, layer and log group, once per stack).

        The job runs again exactly when the files change.

        :param exclude: glob patterns of files in a folder to leave out. Default: none.
        """
        check_channel_name("inputs[].name", name)
        check_type(
            f"inputs[{name}].path",
            path,
            (str, os.PathLike),
            "must be the path of a local file or folder (a str or a pathlib.Path)",
        )
        path = os.fspath(path)
        exclude = check_str_list(f"inputs[{name}].exclude", exclude, "['*.tmp']")
        return _AssetInput(name, path, local_path, exclude)

    @staticmethod
    def from_output(
        name: str,
        job: UpstreamJob,
        output_name: str,
        *,
        local_path: str | None = None,
        input_mode: InputMode = InputMode.FILE,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
    ) -> ProcessingInput:
        """Another job's S3 output: this job runs after that one completed, with read access to exactly that prefix.

        :param job: the job that writes the output.
        :param output_name: the name of one of its S3 outputs.
        """
        check_channel_name("inputs[].name", name)
        chained = upstream_location(f"inputs[{name}]", job, output_name)
        made = _ChainedInput(name, chained, local_path, input_mode, distribution, job)
        made.upstream_output = output_name
        return made

    @staticmethod
    def from_model(
        name: str,
        training_job: UpstreamJob,
        *,
        local_path: str | None = None,
    ) -> ProcessingInput:
        """A training job's model artifact (``model.tar.gz``, at ``local_path``): this job runs after the training job
        completed, with read access to its model location only, and runs again whenever the model is trained again.

        :param training_job: a ``TrainingJob`` of this app.
        """
        return ProcessingInput.from_output(name, training_job, "model", local_path=local_path)

    @staticmethod
    def from_athena(
        name: str,
        *,
        database: str,
        query_string: str,
        output_s3_uri: str,
        output_format: AthenaOutputFormat,
        catalog: str = "AwsDataCatalog",
        work_group: str | None = None,
        output_compression: AthenaOutputCompression | None = None,
        kms_key: kms.IKey | None = None,
        local_path: str | None = None,
        input_mode: InputMode = InputMode.FILE,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
        app_managed: bool = False,
    ) -> ProcessingInput:
        """The results of an Athena query, unloaded to ``output_s3_uri`` and given to the job.

        The role is granted the query on the work group, Glue reads on ``database`` and read/write on the output
        location. Reads on the tables' own S3 data are not known here: add them with ``job.add_to_role_policy``.

        :param work_group: Default: Athena's ``primary`` work group.
        :param output_compression: Default: uncompressed.
        :param kms_key: a key to encrypt the query results with. Default: the output bucket's encryption.
        """
        check_channel_name("inputs[].name", name)
        return _DatasetInput(
            name,
            local_path,
            app_managed,
            input_mode,
            distribution,
            AthenaDefinition(
                database,
                query_string,
                S3Location.from_uri(f"inputs[{name}].output_s3_uri", output_s3_uri),
                output_format,
                catalog,
                work_group,
                output_compression,
                kms_key,
            ),
        )

    @staticmethod
    def from_redshift(
        name: str,
        *,
        cluster_id: str,
        cluster_role: iam.IRole,
        database: str,
        db_user: str,
        query_string: str,
        output_s3_uri: str,
        output_format: RedshiftOutputFormat,
        output_compression: RedshiftOutputCompression | None = None,
        kms_key: kms.IKey | None = None,
        local_path: str | None = None,
        input_mode: InputMode = InputMode.FILE,
        distribution: DataDistribution = DataDistribution.FULLY_REPLICATED,
        app_managed: bool = False,
    ) -> ProcessingInput:
        """The results of a Redshift query, unloaded by the cluster (as ``cluster_role``) to ``output_s3_uri``.

        The job's role is granted temporary credentials for ``db_user`` on ``database``, the Data API on the cluster
        and read on the output location; ``cluster_role`` is granted write on the output location.

        :param output_compression: Default: uncompressed.
        :param kms_key: a key to encrypt the unloaded data with. Default: the output bucket's encryption.
        """
        check_channel_name("inputs[].name", name)
        return _DatasetInput(
            name,
            local_path,
            app_managed,
            input_mode,
            distribution,
            RedshiftDefinition(
                cluster_id,
                cluster_role,
                database,
                db_user,
                query_string,
                S3Location.from_uri(f"inputs[{name}].output_s3_uri", output_s3_uri),
                output_format,
                output_compression,
                kms_key,
            ),
        )

    @abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        """Grant ``grantee`` the reads this input needs and return its ``ProcessingInput`` request member."""


class _S3Input(ProcessingInput):
    def __init__(
        self,
        name: str,
        location: S3Location,
        local_path: str | None,
        data_type: S3DataType,
        input_mode: InputMode,
        distribution: DataDistribution,
        compression: S3Compression,
        app_managed: bool,
    ) -> None:
        super().__init__(name, local_path, app_managed)
        prefix = f"inputs[{name}]"
        check_enum(prefix + ".data_type", data_type, S3DataType, "ProcessingS3DataType")
        check_enum(prefix + ".input_mode", input_mode, InputMode, "ProcessingS3InputMode")
        check_enum(prefix + ".distribution", distribution, DataDistribution)
        check_enum(prefix + ".compression", compression, S3Compression)
        if compression is S3Compression.GZIP and input_mode is not InputMode.PIPE:
            raise fail(prefix + ".compression", "Gzip", f"works only with input_mode InputMode.PIPE, not {input_mode}")
        self._location = location
        self._data_type = data_type
        self._input_mode = input_mode
        self._distribution = distribution
        self._compression = compression

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        location = self._location.bind(scope, f"Input{self.name}Bucket")
        location.grant_read(grantee)
        s3_input: dict[str, Any] = {
            "S3Uri": location.uri,
            "LocalPath": self.local_path,
            "S3DataType": self._data_type.value,
            "S3InputMode": self._input_mode.value,
            "S3DataDistributionType": self._distribution.value,
            "S3CompressionType": self._compression.value,
        }
        member: dict[str, Any] = {"InputName": self.name, "S3Input": s3_input}
        if self.app_managed:
            member["AppManaged"] = True
        return member


class _ChainedInput(_S3Input):
    """Another job's output: read access to its prefix (and its output key), and a re-run whenever that job re-runs."""

    def __init__(
        self,
        name: str,
        location: S3Location,
        local_path: str | None,
        input_mode: InputMode,
        distribution: DataDistribution,
        upstream: UpstreamJob,
    ) -> None:
        super().__init__(
            name, location, local_path, S3DataType.S3_PREFIX, input_mode, distribution, S3Compression.NONE, False
        )
        self.upstream = upstream

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        assert self.upstream is not None
        grant_upstream_key(grantee, self.upstream)
        return super().bind(scope, grantee)


class _AssetInput(_S3Input):
    """Local files: the job's data (``code=False``), or its code as the plain CDK asset (``code=True``)."""

    def __init__(
        self, name: str, path: str, local_path: str | None, exclude: Sequence[str] | None, code: bool = False
    ) -> None:
        super().__init__(
            name,
            S3Location(bucket=None, key_prefix=""),
            local_path,
            S3DataType.S3_PREFIX,
            InputMode.FILE,
            DataDistribution.FULLY_REPLICATED,
            S3Compression.NONE,
            False,
        )
        self._path = path
        self._exclude = exclude
        self._code = code

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        self.staged = stage_input(scope, self.name, self._path, self._exclude, self.local_path, "File", code=self._code)
        self._location = self.staged.location
        return super().bind(scope, grantee)


class _DatasetInput(ProcessingInput):
    def __init__(
        self,
        name: str,
        local_path: str | None,
        app_managed: bool,
        input_mode: InputMode,
        distribution: DataDistribution,
        definition: DatasetDefinition,
    ) -> None:
        super().__init__(name, local_path, app_managed)
        check_enum(f"inputs[{name}].input_mode", input_mode, InputMode, "ProcessingS3InputMode")
        check_enum(f"inputs[{name}].distribution", distribution, DataDistribution)
        self._input_mode = input_mode
        self._distribution = distribution
        self._definition = definition

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        definition = {
            **self._definition.bind(scope, self.name, grantee),
            "LocalPath": self.local_path,
            "InputMode": self._input_mode.value,
            "DataDistributionType": self._distribution.value,
        }
        member: dict[str, Any] = {"InputName": self.name, "DatasetDefinition": definition}
        if self.app_managed:
            member["AppManaged"] = True
        return member

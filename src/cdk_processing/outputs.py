"""Processing job outputs: S3 locations and SageMaker Feature Store feature groups."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ._policy import allow
from ._s3 import S3Location
from ._validation import check_bool, check_local_path, check_model_string, fail, is_unresolved
from .assets import job_defaults
from .s3_data import check_channel_name, check_enum

DEFAULT_OUTPUT_ROOT = "/opt/ml/processing/output/"


class S3UploadMode(enum.Enum):
    """When SageMaker uploads what the job writes to its local path."""

    END_OF_JOB = "EndOfJob"
    CONTINUOUS = "Continuous"


class ProcessingOutput(ABC):
    """Data a processing job writes: choose a factory.

    - ``ProcessingOutput.to_bucket(name, bucket, key_prefix)`` or ``to_s3_uri(name, "s3://...")``: what the job
      writes under ``local_path`` (default: ``/opt/ml/processing/output/<name>``) is uploaded there;
    - ``ProcessingOutput.to_feature_store(name, feature_group_name)``: the job's application ingests records.

    Every factory grants the job's role exactly the writes it needs when the job binds it. Nothing is ever deleted
    from an output location by this library.
    """

    def __init__(self, name: str, app_managed: bool) -> None:
        check_channel_name("outputs[].name", name)
        check_bool(f"outputs[{name}].app_managed", app_managed)
        self.name = name
        self.app_managed = app_managed

    @property
    def local_path(self) -> str | None:
        """The container path the output is uploaded from, if any."""
        return None

    @property
    def is_s3(self) -> bool:
        """Whether the output goes to S3 (so that the job offers its URI with ``output_uri``)."""
        return False

    @property
    def s3_uri(self) -> str | None:
        """The S3 URI the output is uploaded to, once known (a default location is known once bound)."""
        return None

    @property
    def s3_location(self) -> S3Location | None:
        """Where in S3 the output goes, once bound, for the grants of a job that reads it."""
        return None

    @staticmethod
    def to_bucket(
        name: str,
        bucket: s3.IBucket | None = None,
        key_prefix: str | None = None,
        *,
        local_path: str | None = None,
        upload_mode: S3UploadMode = S3UploadMode.END_OF_JOB,
        app_managed: bool = False,
    ) -> ProcessingOutput:
        """Upload what the job writes under ``local_path`` to ``key_prefix`` of ``bucket``.

        :param bucket: Default: the job's ``output_bucket`` (by default, one bucket per stack created by the library).
        :param key_prefix: Default: ``cdk-processing/<job's name prefix>/outputs/<name>/``, one per job and output.
        :param local_path: Default: ``/opt/ml/processing/output/<name>``.
        :param upload_mode: Default: ``S3UploadMode.END_OF_JOB``.
        :param app_managed: the application uploads the data itself. Default: SageMaker uploads it.
        """
        check_channel_name("outputs[].name", name)
        location = None if bucket is None and key_prefix is None else _location(name, bucket, key_prefix)
        return _S3Output(name, location, local_path, upload_mode, app_managed)

    @staticmethod
    def to_s3_uri(
        name: str,
        s3_uri: str,
        *,
        local_path: str | None = None,
        upload_mode: S3UploadMode = S3UploadMode.END_OF_JOB,
        app_managed: bool = False,
    ) -> ProcessingOutput:
        """Upload what the job writes under ``local_path`` to an ``s3://bucket/prefix`` URI.

        A URI known only at deploy time (a token) is granted on the whole bucket it names.
        """
        check_channel_name("outputs[].name", name)
        location = S3Location.from_uri(f"outputs[{name}].s3_uri", s3_uri)
        return _S3Output(name, location, local_path, upload_mode, app_managed)

    @staticmethod
    def to_feature_store(name: str, feature_group_name: str, *, app_managed: bool = True) -> ProcessingOutput:
        """Records the job's application puts into a Feature Store feature group.

        SageMaker accepts a Feature Store output only when the application manages it (``app_managed``). The role
        is granted ``sagemaker:PutRecord`` on that feature group.
        """
        return _FeatureStoreOutput(name, feature_group_name, app_managed)

    @abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        """Grant ``grantee`` the writes this output needs and return its ``ProcessingOutput`` request member."""


def _location(name: str, bucket: s3.IBucket | None, key_prefix: str | None) -> S3Location | None:
    if bucket is None:
        raise fail(f"outputs[{name}].bucket", None, "must be given with key_prefix (or leave both out for the default)")
    return S3Location.from_bucket(f"outputs[{name}]", bucket, key_prefix)


class _S3Output(ProcessingOutput):
    def __init__(
        self,
        name: str,
        location: S3Location | None,
        local_path: str | None,
        upload_mode: S3UploadMode,
        app_managed: bool,
    ) -> None:
        super().__init__(name, app_managed)
        check_enum(f"outputs[{name}].upload_mode", upload_mode, S3UploadMode)
        if local_path is not None:
            check_local_path(f"outputs[{name}].local_path", local_path)
        self._local_path = (
            local_path if local_path is not None else (None if is_unresolved(name) else DEFAULT_OUTPUT_ROOT + name)
        )
        self._location = location
        self._bound: S3Location | None = None
        self._upload_mode = upload_mode

    @property
    def local_path(self) -> str | None:
        return self._local_path

    @property
    def is_s3(self) -> bool:
        return True

    @property
    def s3_uri(self) -> str | None:
        location = self._bound or self._location
        return location.uri if location is not None else None

    @property
    def s3_location(self) -> S3Location | None:
        return self._bound

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        location = self._location
        if location is None:  # no destination given: the job's bucket, under a prefix of its own
            bucket, prefix = job_defaults(scope)
            location = S3Location(bucket=bucket, key_prefix=f"{prefix}outputs/{self.name}/")
        self._bound = location.bind(scope, f"Output{self.name}Bucket")
        self._bound.grant_write(grantee)
        member: dict[str, Any] = {
            "OutputName": self.name,
            "S3Output": {
                "S3Uri": self._bound.uri,
                "LocalPath": self._local_path,
                "S3UploadMode": self._upload_mode.value,
            },
        }
        if self.app_managed:
            member["AppManaged"] = True
        return member


class _FeatureStoreOutput(ProcessingOutput):
    def __init__(self, name: str, feature_group_name: str, app_managed: bool) -> None:
        super().__init__(name, app_managed)
        check_model_string(
            f"outputs[{name}].feature_group_name",
            feature_group_name,
            "FeatureGroupName",
            "1 to 64 letters or digits, with '_' or '-' between them",
        )
        if not app_managed:
            raise fail(f"outputs[{name}].app_managed", app_managed, "a Feature Store output must be app_managed=True")
        self._feature_group_name = feature_group_name

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> dict[str, Any]:
        name = self._feature_group_name
        arn = Stack.of(scope).format_arn(
            service="sagemaker",
            resource="feature-group",
            # SageMaker ARNs carry the resource name in lowercase.
            resource_name=name if is_unresolved(name) else name.lower(),
        )
        allow(grantee, ["sagemaker:PutRecord"], [arn])
        return {
            "OutputName": self.name,
            "FeatureStoreOutput": {"FeatureGroupName": self._feature_group_name},
            "AppManaged": True,
        }

"""A processing job as others see it: its attributes (CloudFormation ``GetAtt`` tokens), the import of a job made
elsewhere, and the blocks of its request that name its container and its instances."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._core.job import CreatedJob
from ._core.resource import grant_create_grant
from ._job_checks import gibibytes
from ._policy import KMS_VOLUME, allow_key
from ._validation import ProcessingJobValidationError, check_model_string
from .handler.kinds import PROCESSING
from .instance_type import InstanceType
from .job_base import ImportedProcessingJob, ProcessingJobBase, name_of_arn


class ProcessingJobAttributes(CreatedJob):
    """What DescribeProcessingJob says of the job, once the deployment got past it (``GetAtt`` tokens)."""

    @property
    def processing_job_status(self) -> str:
        """``Completed`` once the deployment got past this resource."""
        return self._att("ProcessingJobStatus")

    @property
    def exit_message(self) -> str:
        """The job's exit message, if its container wrote one."""
        return self._att("ExitMessage")

    @property
    def processing_start_time(self) -> str:
        """When the job started running, ISO 8601."""
        return self._att("ProcessingStartTime")

    @property
    def processing_end_time(self) -> str:
        """When the job ended, ISO 8601."""
        return self._att("ProcessingEndTime")

    @staticmethod
    def from_processing_job_name(scope: Construct, id: str, processing_job_name: str) -> ProcessingJobBase:
        """A processing job created elsewhere, for its ARN, events (``on_state_change``) and metrics."""
        try:
            check_model_string(
                "processing_job_name",
                processing_job_name,
                "ProcessingJobName",
                "letters and digits with hyphens between them",
            )
        except ProcessingJobValidationError as error:
            raise error.at(f"{scope.node.path}/{id}") from None
        return ImportedProcessingJob(scope, id, processing_job_name)

    @staticmethod
    def from_processing_job_arn(scope: Construct, id: str, processing_job_arn: str) -> ProcessingJobBase:
        """A processing job created elsewhere, by its ARN (``arn:<partition>:sagemaker:<region>:<account>:
        processing-job/<name>``), for events and metrics."""
        try:
            name = name_of_arn(PROCESSING, processing_job_arn, "processing_job_arn")
        except ProcessingJobValidationError as error:
            raise error.at(f"{scope.node.path}/{id}") from None
        return ImportedProcessingJob(scope, id, name, processing_job_arn)


def render_app_specification(image_uri: str, entrypoint: Any, arguments: Sequence[str] | None) -> dict[str, Any]:
    """``AppSpecification``: the image, and the entrypoint (rendered at synth: ``Launch.token()``) and arguments
    where given."""
    app_specification: dict[str, Any] = {"ImageUri": image_uri}
    if entrypoint is not None:
        app_specification["ContainerEntrypoint"] = entrypoint
    if arguments is not None:
        app_specification["ContainerArguments"] = list(arguments)
    return app_specification


def render_cluster(
    grantee: iam.IGrantable, count: Any, instance_type: InstanceType, volume: Size, key: kms.IKey | None
) -> dict[str, Any]:
    """``ClusterConfig``: the instances and their volumes, and the volume key, which ``grantee`` (the job) and the
    handler may use."""
    cluster_config: dict[str, Any] = {
        "InstanceCount": count,
        "InstanceType": instance_type.name,
        "VolumeSizeInGB": gibibytes(volume),
    }
    if key is not None:
        allow_key(grantee, key, KMS_VOLUME)
        grant_create_grant(key, grantee)
        cluster_config["VolumeKmsKeyId"] = key.key_arn
    return cluster_config


def tag_probe(scope: Construct, id: str) -> sagemaker.CfnProcessingJob:
    """A processing job's L1, on which the Tag aspects of the app are replayed (``JobTags``)."""
    return sagemaker.CfnProcessingJob(
        scope,
        id,
        app_specification={"imageUri": "unused"},
        processing_resources={"clusterConfig": {"instanceCount": 1, "instanceType": "unused", "volumeSizeInGb": 1}},
        role_arn="unused",
    )

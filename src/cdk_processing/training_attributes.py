"""A training job as others see it: its attributes (CloudFormation ``GetAtt`` tokens), the import of a job made
elsewhere, its tag probe, and the small types of its request (metric definitions, checkpoints, hyperparameters)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import jsii
from aws_cdk import Fn, ITaggableV2, TagManager, TagType, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ._core.context import JobScope
from ._core.job import CreatedJob
from ._s3 import S3Location
from ._validation import (
    ProcessingJobValidationError,
    check_model_string,
    check_type,
    fail,
    in_construct,
    is_unresolved,
)
from .completion import Completion
from .handler import kinds
from .handler.kinds import TRAINING
from .job_base import ImportedTrainingJob, TrainingJobBase, name_of_arn

# The name of a training job's one output, its model, for ``from_output`` and ``output_uri``.
MODEL_OUTPUT = "model"


@dataclass(frozen=True)
class MetricDefinition:
    """A metric the training job's logs carry: SageMaker reads it with ``regex`` (its first group is the value)
    and publishes it to CloudWatch and to the job's final metrics.

    Example: ``MetricDefinition("validation:auc", r"validation-auc=([0-9\\.]+)")``.
    """

    name: str
    regex: str

    def __post_init__(self) -> None:
        check_type("metric_definitions[].name", self.name, str, "must be a metric name, such as 'validation:auc'")
        check_model_string("metric_definitions[].name", self.name, "MetricName")
        check_type("metric_definitions[].regex", self.regex, str, "must be a regular expression with one group")
        check_model_string(f"metric_definitions[{self.name}].regex", self.regex, "MetricRegex")


class Checkpoints:
    """Where a training job keeps its checkpoints, which SageMaker syncs from ``local_path`` to S3 while the job
    runs and downloads back when it starts (a spot job resumes from them after an interruption).

    - ``Checkpoints.per_run()``: each run of the job has a prefix of its own (``<prefix><job name>/``): a run with
      changed hyperparameters never resumes from the checkpoints of another.
    - ``Checkpoints.shared(bucket, key_prefix)``: every run reads and writes the same prefix, to resume on purpose.
    """

    def __init__(self, location: S3Location | None, local_path: str | None, per_run: bool) -> None:
        check_type("checkpoints.local_path", local_path, str, "must be a path in the container, such as '/opt/ml/ckpt'")
        check_model_string("checkpoints.local_path", local_path, "DirectoryPath")
        if local_path is not None and not is_unresolved(local_path) and not local_path.startswith("/"):
            raise fail("checkpoints.local_path", local_path, "must be an absolute path in the container")
        self.location = location
        self.local_path = local_path
        self.own_prefix_per_run = per_run

    @staticmethod
    def per_run(
        bucket: s3.IBucket | None = None, key_prefix: str | None = None, *, local_path: str | None = None
    ) -> Checkpoints:
        """A prefix for each run of the job.

        :param bucket: Default: the job's ``output_bucket``.
        :param key_prefix: Default: ``<the job's prefix>checkpoints/``.
        :param local_path: Default: SageMaker's, ``/opt/ml/checkpoints/``.
        """
        location = None if bucket is None else S3Location.from_bucket("checkpoints", bucket, key_prefix)
        if bucket is None and key_prefix is not None:
            raise fail("checkpoints.key_prefix", key_prefix, "is a prefix in a bucket: give the bucket too")
        return Checkpoints(location, local_path, True)

    @staticmethod
    def shared(bucket: s3.IBucket, key_prefix: str, *, local_path: str | None = None) -> Checkpoints:
        """One prefix for every run: a run downloads what the runs before wrote there, and resumes from it.

        :param local_path: Default: SageMaker's, ``/opt/ml/checkpoints/``.
        """
        return Checkpoints(S3Location.from_bucket("checkpoints", bucket, key_prefix), local_path, False)

    def bind(self, job: JobScope) -> dict[str, Any]:
        """Grant ``job`` reads and writes of the checkpoints' prefix and return the ``CheckpointConfig``."""
        location = self.location or S3Location.from_bucket(
            "checkpoints", job.output_bucket, job.default_prefix + "checkpoints/"
        )
        location = location.bind(job, "CheckpointsBucket")  # type: ignore[arg-type]
        grantee = cast(iam.IGrantable, job)  # the job: its library's statements go to its role's policy of them
        location.grant_read(grantee)
        location.grant_write(grantee)
        config = {"S3Uri": location.uri}
        if self.local_path is not None:
            config["LocalPath"] = self.local_path
        return config


@jsii.implements(ITaggableV2)
class _TagProbe(Construct):
    """What ``Tags.of()`` sees of a training job: the type ``AWS::SageMaker::TrainingJob`` (no L1 exists for it), so
    that include and exclude resource types behave as for any resource."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._tags = TagManager(TagType.KEY_VALUE, "AWS::SageMaker::TrainingJob")

    @property
    def cdk_tag_manager(self) -> TagManager:
        return self._tags


def tag_probe(scope: Construct, id: str) -> Any:
    return _TagProbe(scope, id)


class TrainingJobAttributes(CreatedJob):
    """What DescribeTrainingJob says of the job, once the deployment got past it (``GetAtt`` tokens), and where its
    model is."""

    # Set by the job's constructor.
    completion: Completion
    _metric_names: list[str]
    _final_metrics: list[str]
    _model_location: S3Location

    @property
    def training_job_status(self) -> str:
        """``Completed`` once the deployment got past this resource (``InProgress`` for a job only started)."""
        return self._att("TrainingJobStatus")

    @property
    def secondary_status(self) -> str:
        """SageMaker's finer status (``Completed``, ``Training``, ...)."""
        return self._att("SecondaryStatus")

    @property
    def training_start_time(self) -> str:
        """When the job started training (instances ready, billing started), ISO 8601."""
        return self._att("TrainingStartTime")

    @property
    def training_end_time(self) -> str:
        """When the job ended, ISO 8601."""
        return self._att("TrainingEndTime")

    @property
    def billable_time_in_seconds(self) -> str:
        """The seconds billed per instance (less than the training time for a spot job); known once the job
        ended (``Completion.wait()``)."""
        return self._att(TRAINING.billed_seconds or "")

    @property
    def training_time_in_seconds(self) -> str:
        """The seconds the job trained, per instance; known once the job ended (``Completion.wait()``)."""
        return self._att(TRAINING.run_seconds or "")

    @property
    def spot_savings_percent(self) -> str:
        """The share of the training time not billed, in percent with one decimal (``"63.2"``): managed spot's
        savings (``"0.0"`` on demand); known once the job ended (``Completion.wait()``). The handler's log line of
        the job's completion carries it too, with both times."""
        return self._att(kinds.SAVINGS_ATTRIBUTE)

    @in_construct
    def metric_value(self, metric_name: str) -> str:
        """The job's final value of the metric ``metric_name`` (one of its ``metric_definitions``), as a token: text
        such as ``"0.85"`` (at most 9 significant digits, as SageMaker keeps it), empty when the job reported none.
        Known once the job completed, so whatever reads it is deployed after the job (``Completion.wait()`` or
        ``wait_long()``)."""
        if metric_name not in self._metric_names:
            raise fail(
                "metric_name",
                metric_name,
                "must name one of the job's metric_definitions: "
                + (", ".join(repr(n) for n in self._metric_names) or "the job has none"),
            )
        if self.completion.kind in (Completion.START, Completion.NEVER):
            raise fail(
                "metric_value",
                metric_name,
                "is known once the deployment saw the job end, with Completion.wait() or wait_long(); with "
                "start_only() or never() no deployment waits for it",
            )
        assert self._resource is not None
        if self._resource.wait_condition is not None:
            # The long wait: the condition's data holds every definition's value, after the job's name.
            data = Fn.split(kinds.FINAL_METRIC_SEPARATOR, Token.as_string(self._resource.wait_condition.attr_data))
            return Fn.select(self._metric_names.index(metric_name) + 1, data)
        if metric_name not in self._final_metrics:
            self._final_metrics.append(metric_name)
            self._resource.set_property(kinds.PROP_FINAL_METRICS, list(self._final_metrics))
        values = Fn.split(kinds.FINAL_METRIC_SEPARATOR, self._att(kinds.FINAL_METRIC_VALUES))
        return Fn.select(self._final_metrics.index(metric_name), values)

    @property
    def model_data(self) -> str:
        """The S3 URI of the model artifact, ``<output path>/<job name>/output/model.tar.gz``, as a token that
        resolves once the job completed: whatever consumes it (an ``aws_sagemaker.CfnModel``, an evaluation job's
        ``ProcessingInput.from_model``) is deployed after the job. For a job only started, the artifact is there once
        the job completed."""
        return self.output_uri(MODEL_OUTPUT)

    @in_construct
    def output_uri(self, output_name: str) -> str:
        """The S3 URI of the job's output ``"model"`` (``model_data``)."""
        self._check_output(output_name)
        assert self._resource is not None
        path = self._resource.output_uri(self._model_location.uri.rstrip("/") + "/")
        return Fn.join("", [path, self._name, "/output/model.tar.gz"])

    @in_construct
    def output_location(self, output_name: str) -> S3Location:
        """Where the job's output ``"model"`` is written: its bucket and key prefix (every run's folder)."""
        self._check_output(output_name)
        return self._model_location

    def _check_output(self, output_name: str) -> None:
        if output_name != MODEL_OUTPUT:
            raise fail(
                "output_name", output_name, f"must be {MODEL_OUTPUT!r}: a training job's one output is its model"
            )

    @staticmethod
    def from_training_job_name(scope: Construct, id: str, training_job_name: str) -> TrainingJobBase:
        """A training job created elsewhere, for its ARN, events (``on_state_change``) and metrics."""
        try:
            check_model_string(
                "training_job_name",
                training_job_name,
                "TrainingJobName",
                "letters and digits with hyphens between them",
            )
        except ProcessingJobValidationError as error:
            raise error.at(f"{scope.node.path}/{id}") from None
        return ImportedTrainingJob(scope, id, training_job_name)

    @staticmethod
    def from_training_job_arn(scope: Construct, id: str, training_job_arn: str) -> TrainingJobBase:
        """A training job created elsewhere, by its ARN (``arn:<partition>:sagemaker:<region>:<account>:
        training-job/<name>``), for events and metrics."""
        try:
            name = name_of_arn(TRAINING, training_job_arn, "training_job_arn")
        except ProcessingJobValidationError as error:
            raise error.at(f"{scope.node.path}/{id}") from None
        return ImportedTrainingJob(scope, id, name, training_job_arn)

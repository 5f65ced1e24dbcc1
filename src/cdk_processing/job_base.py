"""What every processing job offers, created here or imported: its name and ARN, events and metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from aws_cdk import Duration, Fn, Resource, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from constructs import Construct

from . import _model
from ._validation import check_interface, check_str_list, fail, in_construct, is_unresolved
from .handler.kinds import PROCESSING, TRAINING, JobKind


@runtime_checkable
class IJob(Protocol):
    """What any job of the library offers, of any kind: its state change events."""

    def on_state_change(
        self,
        id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        statuses: list[str] | None = None,
    ) -> events.Rule: ...


@runtime_checkable
class IProcessingJob(IJob, Protocol):
    """What any processing job offers, made in this app or imported: its name and ARN, its state change events and
    its metrics (``ProcessingJob``, ``ProcessingJob.from_processing_job_name`` / ``from_processing_job_arn``)."""

    @property
    def processing_job_name(self) -> str: ...

    @property
    def processing_job_arn(self) -> str: ...

    def metric(self, metric_name: str, *, host: str = "algo-1", statistic: str = "Average") -> cloudwatch.Metric: ...


class JobBase(Resource):
    """What every SageMaker job of the library offers, of any kind (``_kind``): events and instance metrics."""

    _kind: ClassVar[JobKind]
    _given_name: str
    _given_arn: str

    @property
    def _name(self) -> str:
        """The job's name (a job of this app: its deployment's run's, as a token)."""
        return self._given_name

    @property
    def _arn(self) -> str:
        return self._given_arn

    def _name_pattern(self) -> list[Any]:
        """How EventBridge matches this job's name in an event: exactly, or by the prefix of its generated names."""
        return [self._name]

    def _rule_added(self, rule: events.Rule) -> None:
        """What a job does with a rule on its state changes once it is made: nothing, unless a subclass says so."""

    @in_construct
    def on_state_change(
        self,
        id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        statuses: list[str] | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this job's state change events ("SageMaker Processing Job State Change", "SageMaker
        Training Job State Change").

        The rule is in place before the job starts, and matches every run of the job (each run has its own name).

        :param target: Default: no target; add one with ``rule.add_target()``.
        :param statuses: only these job statuses (``ProcessingJobStatus``, ``TrainingJobStatus``), e.g.
            ``["Failed", "Stopped"]``. Default: all.
        """
        kind = self._kind
        statuses = check_str_list("statuses", statuses, "['Failed', 'Stopped']")
        for status in statuses or []:
            if status not in _model.enum(kind.status_field):
                raise fail("statuses[]", status, f"must be one of {list(_model.enum(kind.status_field))}")
        check_interface("target", target, ("bind",), "must be an events.IRuleTarget, such as targets.SnsTopic(topic)")
        detail: dict[str, Any] = {kind.name_field: self._name_pattern()}
        if statuses:
            detail[kind.status_field] = list(statuses)
        rule = events.Rule(
            self,
            id,
            description=description or f"State changes of the SageMaker {kind.noun} {self.node.path}",
            rule_name=rule_name,
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[kind.event_detail_type],
                detail=detail,
            ),
        )
        if target is not None:
            rule.add_target(target)
        self._rule_added(rule)
        return rule

    def _instance_metric(
        self,
        metric_name: str,
        *,
        host: str = "algo-1",
        statistic: str = "Average",
        period: Duration | None = None,
        dimensions_map: Mapping[str, str] | None = None,
        label: str | None = None,
        unit: cloudwatch.Unit | None = None,
        color: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> cloudwatch.Metric:
        """A metric SageMaker publishes for the job's instances in its kind's namespace
        (``/aws/sagemaker/ProcessingJobs``, ``/aws/sagemaker/TrainingJobs``); the options are those of
        ``cloudwatch.MetricOptions``.

        :param host: the instance, ``algo-1`` to ``algo-<instance_count>``. Default: ``algo-1``.
        :param statistic: Default: ``Average``.
        :param period: Default: 5 minutes.
        :param dimensions_map: Default: ``Host`` = ``<job name>/<host>``.
        :param label: Default: CloudWatch's, the metric name.
        :param unit: Default: all the units the metric has.
        :param color: Default: chosen by the dashboard.
        :param account: Default: the stack's account.
        :param region: Default: the stack's Region.
        """
        return cloudwatch.Metric(
            namespace=self._kind.metrics_namespace,
            metric_name=metric_name,
            dimensions_map=dict(dimensions_map or {"Host": f"{self._name}/{host}"}),
            statistic=statistic,
            period=period or Duration.minutes(5),
            label=label,
            unit=unit,
            color=color,
            account=account,
            region=region or Stack.of(self).region,
        )

    def metric_cpu_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """CPU utilization of one instance of the job, in percent of one core (up to 100 x cores)."""
        return self._instance_metric("CPUUtilization", host=host, period=period, statistic=statistic)

    def metric_memory_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """Memory utilization of one instance of the job, in percent."""
        return self._instance_metric("MemoryUtilization", host=host, period=period, statistic=statistic)

    def metric_disk_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """Disk utilization of one instance of the job's storage volume, in percent."""
        return self._instance_metric("DiskUtilization", host=host, period=period, statistic=statistic)


class ProcessingJobBase(JobBase):
    """A processing job: ``ProcessingJob`` (created and awaited by the stack) or one made elsewhere
    (``ProcessingJob.from_processing_job_name`` / ``from_processing_job_arn``). A ``cdk.Resource`` (its ``stack``,
    ``env``, ``apply_removal_policy``), and an ``IProcessingJob``."""

    _kind = PROCESSING

    @property
    def processing_job_name(self) -> str:
        """The job's name (for a job of this stack, a token that resolves once the job completed)."""
        return self._name

    @property
    def processing_job_arn(self) -> str:
        """The job's ARN."""
        return self._arn

    metric = JobBase._instance_metric


def job_arn(scope: Construct, kind: JobKind, name: str) -> str:
    """The ARN of the ``kind`` job ``name`` in ``scope``'s stack (SageMaker ARNs carry the name in lowercase)."""
    return Stack.of(scope).format_arn(
        service="sagemaker",
        resource=kind.arn_resource,
        resource_name=name if Token.is_unresolved(name) else name.lower(),
    )


def name_of_arn(kind: JobKind, arn: str, prop: str) -> str:
    """The job name in a ``kind`` job's ARN (``arn:<partition>:sagemaker:<region>:<account>:<kind>/<name>``), a
    token for an unresolved ARN."""
    if is_unresolved(arn):
        return Fn.select(1, Fn.split(f"{kind.arn_resource}/", arn))
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if len(parts) != 6 or parts[2] != "sagemaker" or not parts[5].startswith(f"{kind.arn_resource}/"):
        raise fail(
            prop,
            arn,
            f"must be a {kind.noun}'s ARN: arn:<partition>:sagemaker:<region>:<account>:{kind.arn_resource}/<name>",
        )
    return parts[5].split("/", 1)[1]


class ImportedProcessingJob(ProcessingJobBase):
    """A processing job created elsewhere, known by its name (and ARN)."""

    def __init__(self, scope: Construct, id: str, processing_job_name: str, arn: str | None = None) -> None:
        super().__init__(scope, id)
        self._given_name = processing_job_name
        self._given_arn = arn if arn is not None else job_arn(self, PROCESSING, processing_job_name)


@runtime_checkable
class ITrainingJob(IJob, Protocol):
    """What any training job offers, made in this app or imported: its name and ARN, its state change events and
    its metrics (``TrainingJob``, ``TrainingJob.from_training_job_name`` / ``from_training_job_arn``)."""

    @property
    def training_job_name(self) -> str: ...

    @property
    def training_job_arn(self) -> str: ...

    def metric(self, metric_name: str, *, statistic: str = "Average") -> cloudwatch.Metric: ...


class TrainingJobBase(JobBase):
    """A training job: ``TrainingJob`` (created and awaited by the stack) or one made elsewhere
    (``TrainingJob.from_training_job_name`` / ``from_training_job_arn``). A ``cdk.Resource`` and an
    ``ITrainingJob``."""

    _kind = TRAINING

    @property
    def training_job_name(self) -> str:
        """The job's name (for a job of this stack, a token that resolves once the job completed)."""
        return self._name

    @property
    def training_job_arn(self) -> str:
        """The job's ARN."""
        return self._arn

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration | None = None,
        label: str | None = None,
        unit: cloudwatch.Unit | None = None,
        color: str | None = None,
        account: str | None = None,
        region: str | None = None,
    ) -> cloudwatch.Metric:
        """A metric of one of the job's metric definitions (``MetricDefinition``), which SageMaker publishes in
        ``/aws/sagemaker/TrainingJobs`` by ``TrainingJobName``; the options are those of ``cloudwatch.MetricOptions``.
        The instances' own metrics: ``metric_cpu_utilization()`` and the others, by ``Host``.

        :param statistic: Default: ``Average``.
        :param period: Default: 5 minutes.
        :param label: Default: CloudWatch's, the metric name.
        :param unit: Default: all the units the metric has.
        :param color: Default: chosen by the dashboard.
        :param account: Default: the stack's account.
        :param region: Default: the stack's Region.
        """
        return self._instance_metric(
            metric_name,
            statistic=statistic,
            period=period,
            dimensions_map={"TrainingJobName": self._name},
            label=label,
            unit=unit,
            color=color,
            account=account,
            region=region,
        )

    def metric_gpu_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """GPU utilization of one instance of the job, in percent of one GPU (up to 100 x GPUs)."""
        return self._instance_metric("GPUUtilization", host=host, period=period, statistic=statistic)

    def metric_gpu_memory_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """GPU memory utilization of one instance of the job, in percent."""
        return self._instance_metric("GPUMemoryUtilization", host=host, period=period, statistic=statistic)


class ImportedTrainingJob(TrainingJobBase):
    """A training job created elsewhere, known by its name (and ARN)."""

    def __init__(self, scope: Construct, id: str, training_job_name: str, arn: str | None = None) -> None:
        super().__init__(scope, id)
        self._given_name = training_job_name
        self._given_arn = arn if arn is not None else job_arn(self, TRAINING, training_job_name)

"""What every processing job offers, created here or imported: its name and ARN, events and metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from aws_cdk import Duration, Resource, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from constructs import Construct

from . import _model
from ._validation import check_interface, check_str_list, fail, in_construct
from .handler.kinds import PROCESSING

METRICS_NAMESPACE = PROCESSING.metrics_namespace
STATE_CHANGE = PROCESSING.event_detail_type


@runtime_checkable
class IProcessingJob(Protocol):
    """What any processing job offers, made in this app or imported: its name and ARN, its state change events and
    its metrics (``ProcessingJob``, ``ProcessingJob.from_processing_job_name`` / ``from_processing_job_arn``)."""

    @property
    def processing_job_name(self) -> str: ...

    @property
    def processing_job_arn(self) -> str: ...

    def on_state_change(
        self,
        id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
        rule_name: str | None = None,
        statuses: list[str] | None = None,
    ) -> events.Rule: ...

    def metric(self, metric_name: str, *, host: str = "algo-1", statistic: str = "Average") -> cloudwatch.Metric: ...


class ProcessingJobBase(Resource):
    """A processing job: ``ProcessingJob`` (created and awaited by the stack) or one made elsewhere
    (``ProcessingJob.from_processing_job_name`` / ``from_processing_job_arn``). A ``cdk.Resource`` (its ``stack``,
    ``env``, ``apply_removal_policy``), and an ``IProcessingJob``."""

    _name: str
    _arn: str

    @property
    def processing_job_name(self) -> str:
        """The job's name (for a job of this stack, a token that resolves once the job completed)."""
        return self._name

    @property
    def processing_job_arn(self) -> str:
        """The job's ARN."""
        return self._arn

    def _name_pattern(self) -> list[Any]:
        """How EventBridge matches this job's name in an event: exactly, or by the prefix of its generated names."""
        return [self.processing_job_name]

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
        """An EventBridge rule for this job's "SageMaker Processing Job State Change" events.

        The rule is in place before the job starts, and matches every run of the job (each run has its own name).

        :param target: Default: no target; add one with ``rule.add_target()``.
        :param statuses: only these ``ProcessingJobStatus`` values, e.g. ``["Failed", "Stopped"]``. Default: all.
        """
        statuses = check_str_list("statuses", statuses, "['Failed', 'Stopped']")
        for status in statuses or []:
            if status not in _model.enum("ProcessingJobStatus"):
                raise fail("statuses[]", status, f"must be one of {list(_model.enum('ProcessingJobStatus'))}")
        check_interface("target", target, ("bind",), "must be an events.IRuleTarget, such as targets.SnsTopic(topic)")
        detail: dict[str, Any] = {PROCESSING.name_field: self._name_pattern()}
        if statuses:
            detail[PROCESSING.status_field] = list(statuses)
        rule = events.Rule(
            self,
            id,
            description=description or f"State changes of the SageMaker processing job {self.node.path}",
            rule_name=rule_name,
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[STATE_CHANGE],
                detail=detail,
            ),
        )
        if target is not None:
            rule.add_target(target)
        self._rule_added(rule)
        return rule

    def metric(
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
        """A metric SageMaker publishes for the job's instances in ``/aws/sagemaker/ProcessingJobs``; the options
        are those of ``cloudwatch.MetricOptions``.

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
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map=dict(dimensions_map or {"Host": f"{self.processing_job_name}/{host}"}),
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
        return self.metric("CPUUtilization", host=host, period=period, statistic=statistic)

    def metric_memory_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """Memory utilization of one instance of the job, in percent."""
        return self.metric("MemoryUtilization", host=host, period=period, statistic=statistic)

    def metric_disk_utilization(
        self, *, host: str = "algo-1", period: Duration | None = None, statistic: str = "Average"
    ) -> cloudwatch.Metric:
        """Disk utilization of one instance of the job's storage volume, in percent."""
        return self.metric("DiskUtilization", host=host, period=period, statistic=statistic)


class ImportedProcessingJob(ProcessingJobBase):
    """A processing job created elsewhere, known by its name (and ARN)."""

    def __init__(self, scope: Construct, id: str, processing_job_name: str, arn: str | None = None) -> None:
        super().__init__(scope, id)
        self._name = processing_job_name
        if arn is not None:
            self._arn = arn
            return
        stack = Stack.of(self)
        self._arn = stack.format_arn(
            service="sagemaker",
            resource=PROCESSING.arn_resource,
            # SageMaker ARNs carry the name in lowercase.
            resource_name=processing_job_name
            if Token.is_unresolved(processing_job_name)
            else processing_job_name.lower(),
        )

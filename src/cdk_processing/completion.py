"""How a deployment waits for a job: in the custom resource, on a wait condition, not at all, or (never) not at all
because the job runs only in workflows."""

from __future__ import annotations

from aws_cdk import Duration

from . import _memo, _model
from ._validation import check_type, fail, seconds_text
from .handler.kinds import COMPLETION_LONG
from .provider import MAX_RUNTIME_LIMIT

# CloudFormation's WaitCondition waits at most 12 hours; the long wait keeps 15 minutes of it for SageMaker to start
# the job (instances, image) and for the state change event to arrive.
WAIT_CONDITION_LIMIT = Duration.hours(12)
LONG_WAIT_MARGIN = Duration.minutes(15)
LONG_MAX_RUNTIME = Duration.seconds(WAIT_CONDITION_LIMIT.to_seconds() - LONG_WAIT_MARGIN.to_seconds())
SAGEMAKER_DEFAULT_RUNTIME = Duration.days(1)
SAGEMAKER_MAX_RUNTIME = Duration.seconds(_model.bounds("ProcessingMaxRuntimeInSeconds")[1])


class Completion:
    """How the deployment waits for the job. Default: chosen from ``max_runtime`` (see ``for_max_runtime``).

    - ``Completion.wait()``: the custom resource waits (``max_runtime`` up to 45 minutes);
    - ``Completion.wait_long(timeout)``: the custom resource starts the job, a CloudFormation WaitCondition holds the
      deployment until the job's state change event signals it (``max_runtime`` up to 11 h 45 min);
    - ``Completion.start_only()``: the job starts and the deployment goes on (``max_runtime`` up to 9 days);
    - ``Completion.never()``: no deployment runs the job; it runs in workflows and schedules only (``job.as_task``,
      ``job.schedule``, ``JobWorkflow``).
    """

    WAIT = "wait"
    LONG = COMPLETION_LONG  # the custom resource's Completion property says so to the handler
    START = "start"
    NEVER = "never"

    def __init__(self, kind: str, timeout: Duration | None = None) -> None:
        self.kind = kind
        self.timeout = timeout

    @staticmethod
    def wait() -> Completion:
        """The custom resource waits for the job: up to 45 minutes of ``max_runtime``."""
        return Completion(Completion.WAIT)

    @staticmethod
    def wait_long(timeout: Duration | None = None) -> Completion:
        """A WaitCondition holds the deployment until the job ends, up to 12 hours.

        :param timeout: how long the deployment waits. Default: ``max_runtime`` plus 15 minutes.
        """
        check_type("completion timeout", timeout, Duration, "must be a Duration, such as Duration.hours(2)")
        if timeout is not None and not timeout.is_unresolved():
            seconds = timeout.to_seconds()
            if not 60 <= seconds <= WAIT_CONDITION_LIMIT.to_seconds():
                raise fail(
                    "completion timeout",
                    seconds_text(seconds),
                    "must be between 60 s and 43200 s (12 hours)",
                    as_written=timeout,
                )
        return Completion(Completion.LONG, timeout)

    @staticmethod
    def start_only() -> Completion:
        """The job is started and the deployment does not wait for it."""
        return Completion(Completion.START)

    @staticmethod
    def never() -> Completion:
        """No deployment runs the job: it exists to run in workflows and on schedules (``job.as_task``,
        ``job.schedule``, ``JobWorkflow``). The stack creates its role and grants and no custom resource; its
        ``max_runtime`` goes up to SageMaker's limit (default 1 day), as with ``start_only()``."""
        return Completion(Completion.NEVER)

    @property
    def deploy_run(self) -> bool:
        """Whether a deployment runs the job (every mode but ``never()``)."""
        return self.kind != Completion.NEVER

    @staticmethod
    def for_max_runtime(max_runtime: Duration | None, prop: str = "max_runtime") -> Completion:
        """The default: wait in the custom resource when the job fits its budget, else the long wait.

        :param prop: the prop that bounds the job's time (a spot training job's ``max_wait``).
        """
        check_type(prop, max_runtime, Duration, "must be a Duration, such as Duration.minutes(30)")
        if max_runtime is None or max_runtime.is_unresolved():
            return Completion.wait()
        seconds = max_runtime.to_seconds()
        if seconds <= MAX_RUNTIME_LIMIT.to_seconds():
            return Completion.wait()
        if seconds <= LONG_MAX_RUNTIME.to_seconds():
            return Completion.wait_long()
        raise fail(
            prop,
            seconds_text(seconds),
            f"no deployment can wait that long (a WaitCondition waits 12 hours at most): give at most "
            f"{int(LONG_MAX_RUNTIME.to_seconds())} s, or completion=Completion.start_only() so that the deployment "
            "starts the job and does not wait for it",
            as_written=max_runtime,
        )

    def max_runtime_limit(self, start_limit: Duration | None = None) -> Duration:
        """The longest the job may run in this mode; ``start_limit``: the kind's own limit (default: processing's)."""
        return {
            Completion.WAIT: MAX_RUNTIME_LIMIT,
            Completion.LONG: LONG_MAX_RUNTIME,
            Completion.START: start_limit or SAGEMAKER_MAX_RUNTIME,
            Completion.NEVER: start_limit or SAGEMAKER_MAX_RUNTIME,
        }[self.kind]

    @property
    def default_max_runtime(self) -> Duration:
        return {
            Completion.WAIT: MAX_RUNTIME_LIMIT,
            Completion.LONG: LONG_MAX_RUNTIME,
            Completion.START: SAGEMAKER_DEFAULT_RUNTIME,
            Completion.NEVER: SAGEMAKER_DEFAULT_RUNTIME,
        }[self.kind]

    def check(
        self,
        max_runtime: Duration,
        prop: str = "max_runtime",
        start_limit: Duration | None = None,
        start_source: str = "ProcessingMaxRuntimeInSeconds",
    ) -> None:
        """``max_runtime`` fits this mode, or a clear error naming the modes.

        :param prop: the prop that bounds the job's time (a spot training job's ``max_wait``).
        :param start_limit: the kind's longest job, for ``start_only()``. Default: processing's.
        :param start_source: where that limit is written, for the message.
        """
        check_type(prop, max_runtime, Duration, "must be a Duration, such as Duration.minutes(30)")
        if _memo.duration_unresolved(max_runtime):
            return
        seconds = _memo.seconds(max_runtime)
        limit = int(_memo.seconds(self.max_runtime_limit(start_limit)))
        if 1 <= seconds <= limit:
            if (
                self.timeout is not None
                and not _memo.duration_unresolved(self.timeout)
                and _memo.seconds(self.timeout) < seconds
            ):
                raise fail(
                    "completion timeout",
                    seconds_text(self.timeout.to_seconds()),
                    f"must be at least {prop} ({seconds_text(seconds)})",
                    as_written=self.timeout,
                )
            return
        hints = {
            Completion.WAIT: "a deployment waits at most one hour for a custom resource, less the time SageMaker "
            "takes to start the job: use Completion.wait_long() (up to 12 hours) or Completion.start_only()",
            Completion.LONG: "a WaitCondition waits 12 hours at most: use Completion.start_only() for longer jobs",
            Completion.START: f"SageMaker allows {limit} s ({start_source}) at most",
            Completion.NEVER: f"SageMaker allows {limit} s ({start_source}) at most",
        }
        raise fail(
            prop,
            seconds_text(seconds),
            f"must be between 1 s and {limit} s with {self}: {hints[self.kind]}",
            as_written=max_runtime,
        )

    def __str__(self) -> str:
        return {
            Completion.WAIT: "Completion.wait()",
            Completion.LONG: "Completion.wait_long()",
            Completion.NEVER: "Completion.never()",
        }.get(self.kind, "Completion.start_only()")

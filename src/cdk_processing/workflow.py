"""A job run outside the deployment, from the same definition: a Step Functions task state (``JobTask``, made by
``job.as_task``) and a state machine of such tasks, on an EventBridge Scheduler schedule if given (``JobWorkflow``,
``job.schedule``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Aws, Duration, Fn, Lazy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IValidation

from ._acknowledge import acknowledge
from ._core.jsonata import Jsonata
from ._core.resource import Produce
from ._core.role import grant_log_streams
from ._core.task import (
    LAYOUTS,
    TaskJob,
    assignment,
    chaining_errors,
    input_name,
    output_names,
    statements,
    variable,
)
from ._core.task import (
    arguments as task_arguments,
)
from ._dependencies import depend_on_policies_only
from ._hyperparameters import render_hyperparameters
from ._job_checks import PROCESSING_SHAPES, TRAINING_SHAPES, check_container
from ._memo import path_of, stack_of
from ._naming import stack_part
from ._policy import PoliciesOf
from ._validation import check_interface, check_mapping, check_str_list, check_type, fail, in_construct, is_unresolved
from .handler.kinds import PROCESSING, name_part, short_digest
from .provider import library_log_group

__all__ = ["JobTask", "JobWorkflow"]

_SHAPES = {PROCESSING.create: PROCESSING_SHAPES}
_FAILED = ["FAILED", "TIMED_OUT", "ABORTED"]


# A CustomState rather than a TaskStateBase subclass: TaskStateBase's ``_renderTask`` is internal to jsii (its leading
# underscore keeps it out of the Python binding), so a Python subclass cannot render its task; CustomState renders the
# state JSON given, with aws-cdk-lib's Next/End, Retry and Catch, and ``whenBoundToGraph`` is where aws-cdk-lib's
# tasks register their role's statements with the state machine that holds them, which this task does too.
class JobTask(sfn.CustomState):
    """A Task state that runs a job of this app (``ProcessingJob``, ``TrainingJob``) through SageMaker's ``.sync``
    integration: it creates the job, waits for its end, and fails with the job's description (its FailureReason) as
    the cause when the job failed or was stopped. Make it with ``job.as_task(scope, id, ...)``.

    The request is the one the deployment's run has (the same source, rendered at synth), less what only the
    library's custom resource adds (its tags); each run gets a name of its own, ``<the job's name prefix>-<10 hex>``,
    the hex a SHA-256 digest of the execution's ARN, the state's name, the time it was entered and the attempt
    (retry and redrive counts), so that no two runs share a name. Each run writes its outputs under a folder of its
    name (``<output location><job name>/``; a training job's model goes to ``<output path><job name>/`` as always,
    per-run checkpoints to ``<prefix><job name>/``). A job reading another's output (``from_output``,
    ``from_model``) reads the run of that job earlier in the same execution when a task of it comes before this one
    (the run's name and outputs are in the workflow variable its task assigns), else the deployment's run's.

    The state is a JSONata state (``QueryLanguage: JSONata``), in any state machine; values of the state's input are
    given as ``sfn.JsonPath`` references (``sfn.JsonPath.string_at("$.day")``, ``sfn.JsonPath.execution_name``),
    alone or inside a Python f-string. Its output is its input, so that the execution's input reaches every task of a
    chain; the run's name and output locations are in a workflow variable (``job_name``, ``output_uri()``).

    The state machine's role gets what the task needs, in any state machine that holds it: create, describe, stop and
    tag the job's runs, pass the job's role to SageMaker only, and the managed rule
    ``StepFunctionsGetEventsForSageMaker<Kind>JobsRule`` the ``.sync`` integration needs. The job's own role is the
    one its deployment's run has.
    """

    @in_construct
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        job: Any,
        arguments: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
        input_paths: Mapping[str, str] | None = None,
        output_paths: Mapping[str, str] | None = None,
        comment: str | None = None,
        task_timeout: Duration | None = None,
    ) -> None:
        """
        :param job: the ``ProcessingJob`` or ``TrainingJob`` the task runs.
        :param arguments: the container's arguments for these runs, in place of the job's. Default: the job's.
        :param environment: environment variables for these runs, over the job's. Default: the job's.
        :param hyperparameters: a training job's hyperparameters for these runs, over the job's (values str, int,
            float or bool, or ``sfn.JsonPath.string_at(...)``). Default: the job's.
        :param input_paths: by input (channel) name, a path under the input's location that the runs read
            (``{"raw": f"{sfn.JsonPath.string_at('$.day')}/"}`` reads ``<location>/<day>/``): within the job role's
            grants. Default: the input's location.
        :param output_paths: a processing job's, by output name: a path under the output's location that the runs
            write, in place of their own folder. Default: ``<location><job name>/``, one folder per run.
        :param comment: Default: none.
        :param task_timeout: fail the state after this long. Default: none (the job's ``max_runtime`` bounds it).
        """
        if not (hasattr(job, "_resource") and hasattr(job, "_tasks")):
            raise fail("job", job, "must be a ProcessingJob or TrainingJob of this app")
        self.job: TaskJob = job
        kind = job._kind
        layout = LAYOUTS[kind.create]
        self.arguments = _arguments(arguments)
        self.environment = dict(check_mapping("environment", environment, "{'DAY': '2024-06-01'}") or {})
        check_container(
            None, self.arguments, self.environment or None, None, None, _SHAPES.get(kind.create, TRAINING_SHAPES)
        )
        self.hyperparameters = _hyperparameters(kind.create, hyperparameters)
        self.input_paths = _paths("input_paths", input_paths, [input_name(i) for i in job.inputs])
        outputs = output_names(job) if layout.outputs else []
        if output_paths and not layout.outputs:
            raise fail("output_paths", dict(output_paths), f"a {kind.noun} writes its model under a folder per run")
        self.output_paths = _paths("output_paths", output_paths, outputs)
        for given in (self.arguments, self.environment, self.hyperparameters, self.input_paths, self.output_paths):
            Jsonata(stack_of(scope)).finish(given)  # a JsonPath value a JSONata state cannot take fails here
        check_type("comment", comment, str, "must be a string")
        check_type("task_timeout", task_timeout, Duration, "must be a Duration, such as Duration.hours(2)")
        stack = stack_of(scope)
        state: dict[str, Any] = {
            "Type": "Task",
            "QueryLanguage": "JSONata",
            "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:{kind.create[0].lower()}{kind.create[1:]}.sync",
            "Arguments": Lazy.any(Produce(lambda: task_arguments(self, stack))),
            "Assign": Lazy.any(Produce(lambda: assignment(job))),
            # The state's input goes on to the next state (a pipeline's parameters reach every task); the run's name
            # and outputs are in the workflow variable (job_name, output_uri).
            "Output": "{% $states.input %}",
        }
        if comment is not None:
            state["Comment"] = comment
        if task_timeout is not None:
            state["TimeoutSeconds"] = int(task_timeout.to_seconds())
        super().__init__(scope, id, state_json=state)
        job._tasks.append(self)
        if job._fixed_name and len(job._tasks) == 1:  # its deployment's run has a fixed name; its workflow runs not
            grant_log_streams(job, job, kind, f"{job._resource.name_prefix}-*")
        self.node.add_validation(_Chaining(self))

    def _when_bound_to_graph(self, graph: sfn.StateGraph) -> None:
        # As aws-cdk-lib's tasks do: the state machine holding the task gets its statements.
        super()._when_bound_to_graph(graph)
        for statement in statements(self, self):
            graph.register_policy_statement(statement)

    @property
    def job_name(self) -> str:
        """The name of the job's latest run in the execution, for a JSONata state after this one
        (``{% $<variable>.name %}``)."""
        return "{% $" + variable(self.job) + ".name %}"

    def output_uri(self, output_name: str) -> str:
        """Where the job's latest run in the execution wrote an output (a training job's: ``"model"``, the
        artifact), for a JSONata state after this one."""
        names = output_names(self.job)
        if output_name not in names:
            raise fail("output_name", output_name, f"must name one of the job's outputs: {names}")
        return "{% $" + variable(self.job) + ".outputs.`" + output_name + "` %}"


def _arguments(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 1 and is_unresolved(value):
        return value  # sfn.JsonPath.list_at(...): the whole list from the state's input
    return check_str_list("arguments", value, "['--day', sfn.JsonPath.string_at('$.day')]")


def _hyperparameters(create: str, values: Any) -> dict[str, str] | None:
    if values is None:
        return None
    if create == PROCESSING.create:
        raise fail("hyperparameters", values, "a processing job has none: give arguments or environment")
    for key, value in values.items() if isinstance(values, Mapping) else []:
        if isinstance(value, float) and is_unresolved(value):
            raise fail(
                f"hyperparameters[{key}]",
                "a number token",
                "hyperparameters are strings: give sfn.JsonPath.string_at(...), not .number_at(...)",
            )
    return render_hyperparameters(values)


def _paths(prop: str, values: Any, names: list[str]) -> dict[str, str]:
    paths = dict(check_mapping(prop, values, "{'raw': '2024-06-01/'}") or {})
    for name, path in paths.items():
        if name not in names:
            raise fail(f"{prop} key", name, f"must name one of the job's S3 {prop.split('_')[0]}s: {names}")
        check_type(f"{prop}[{name}]", path, str, "must be a path under the location, such as '2024-06-01/'")
        if not is_unresolved(path) and (path.startswith("/") or "://" in path or not path):
            raise fail(
                f"{prop}[{name}]",
                path,
                "must be a path under the location, such as '2024-06-01/' (no leading '/', no URI): the job's role "
                "is granted that location only",
            )
    return paths


@jsii.implements(IValidation)
class _Chaining:
    def __init__(self, task: JobTask) -> None:
        self._task = task

    def validate(self) -> list[str]:
        return chaining_errors(self._task)


class JobWorkflow(Construct):
    """A state machine of job tasks (``job.as_task``), started by an EventBridge Scheduler schedule if one is given:
    the nightly feature job, the weekly retraining.

    The state machine logs every state (without execution data) to a log group of its own and is traced with X-Ray.
    The schedule's first start comes once its jobs' roles hold their policies and their local files are in S3. A
    failed run is a failed execution: alarm on ``metric_failed()`` or route ``on_failure()``'s events.

    Example::

        JobWorkflow(self, "Nightly",
            definition=prepare.as_task(self, "Prepare").next(train.as_task(self, "Train")),
            schedule=scheduler.ScheduleExpression.cron(hour="2", minute="0", time_zone=TimeZone.EUROPE_BERLIN))
    """

    @in_construct
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        definition: sfn.IChainable,
        schedule: scheduler.ScheduleExpression | None = None,
        input: Mapping[str, Any] | None = None,
        time_window: scheduler.TimeWindow | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        enabled: bool = True,
        timeout: Duration | None = None,
        state_machine_name: str | None = None,
        description: str | None = None,
    ) -> None:
        """
        :param definition: the states: a job task, or a chain of them and any other states.
        :param schedule: when to start an execution: ``scheduler.ScheduleExpression.cron(..., time_zone=...)``,
            ``.rate(...)`` or ``.at(...)``. Default: no schedule (start executions yourself).
        :param input: the execution's input, for the tasks' ``sfn.JsonPath`` values; values may be
            ``scheduler.ContextAttribute.scheduled_time`` and the like. Default: ``{}``.
        :param time_window: Scheduler's flexible window (``scheduler.TimeWindow.flexible(Duration.minutes(30))``).
            Default: off, at the exact time.
        :param retry_attempts: Scheduler's retries of a start that failed, 0 to 185. Default: Scheduler's (185).
        :param max_event_age: how long Scheduler keeps retrying, 60 s to 24 h. Default: Scheduler's (24 h).
        :param dead_letter_queue: where Scheduler sends a start it gave up. Default: none.
        :param enabled: Default: true.
        :param timeout: the longest an execution may take. Default: Step Functions' (one year).
        :param state_machine_name: Default: CloudFormation's.
        :param description: of the schedule and the state machine. Default: none.
        """
        super().__init__(scope, id)
        check_interface("definition", definition, ("start_state",), "must be an sfn.IChainable, such as job.as_task()")
        check_type("schedule", schedule, scheduler.ScheduleExpression, "must be a scheduler.ScheduleExpression")
        stack = Stack.of(self)
        logs = library_log_group(
            self,
            "Logs",
            log_group_name=Fn.join(
                "",
                [
                    f"/aws/vendedlogs/states/cdk-processing-{stack_part(stack)}-{name_part(id, 20)}-"
                    f"{short_digest(path_of(self), 6)}-",
                    Fn.select(2, Fn.split("/", Aws.STACK_ID)),
                ],
            ),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            logs=sfn.LogOptions(destination=logs, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            timeout=timeout,
            state_machine_name=state_machine_name,
            comment=description,
        )
        acknowledge(
            self.state_machine.role,
            {
                "IAMNoInlinePolicy": "aws-cdk-lib's StateMachine writes its states' grants to the role's inline "
                "default policy, which the library cannot redirect; the policy belongs to this role alone",
                "AwsSolutions-IAM5[Resource::*]": "the log delivery and X-Ray actions of a state machine's role "
                "support no resource-level permissions (Service Authorization Reference)",
            },
        )
        depend_on_policies_only(self)
        self.schedule: scheduler.Schedule | None = None
        if schedule is not None:
            role = iam.Role(
                self,
                "ScheduleRole",
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
                ),
            )
            acknowledge(
                role,
                {
                    "IAMNoInlinePolicy": "aws-cdk-lib's Scheduler target writes its grant (states:StartExecution on "
                    "this state machine) to the role's inline default policy; the policy belongs to this role alone"
                },
            )
            self.schedule = scheduler.Schedule(
                self,
                "Schedule",
                schedule=schedule,
                target=scheduler_targets.StepFunctionsStartExecution(
                    self.state_machine,
                    input=scheduler.ScheduleTargetInput.from_object(dict(input or {})),
                    role=role,
                    retry_attempts=retry_attempts,
                    max_event_age=max_event_age,
                    dead_letter_queue=dead_letter_queue,
                ),
                time_window=time_window,
                enabled=enabled,
                description=description,
            )
            # The first run starts once what the deployment puts in place for each job is there: its role's policies,
            # its local files in S3 (a state machine started by hand starts after the deployment anyway).
            self.schedule.node.add_dependency(PoliciesOf.for_role(role))
            for job in _jobs(definition):
                self.schedule.node.add_dependency(PoliciesOf.for_role(job.role), *job._resource.waits_for)

    def metric_failed(self, *, period: Duration | None = None, statistic: str = "Sum") -> cloudwatch.Metric:
        """The executions that failed (``ExecutionsFailed``), to alarm on: a job that failed or was stopped fails
        its execution.

        :param period: Default: 5 minutes.
        :param statistic: Default: ``Sum``.
        """
        return self.state_machine.metric_failed(period=period, statistic=statistic)

    @in_construct
    def on_failure(
        self, id: str, *, target: events.IRuleTarget | None = None, description: str | None = None
    ) -> events.Rule:
        """An EventBridge rule on the executions that failed, timed out or were aborted ("Step Functions Execution
        Status Change").

        :param target: Default: none; add one with ``rule.add_target()``.
        :param description: Default: names the workflow.
        """
        check_interface("target", target, ("bind",), "must be an events.IRuleTarget, such as targets.SnsTopic(topic)")
        rule = events.Rule(
            self,
            id,
            description=description or f"Failed executions of {self.node.path}",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": _FAILED, "stateMachineArn": [self.state_machine.state_machine_arn]},
            ),
        )
        if target is not None:
            rule.add_target(target)
        return rule


def _jobs(definition: sfn.IChainable) -> list[Any]:
    """The jobs of the tasks reachable in ``definition``, once each."""
    found: dict[str, Any] = {}
    for state in sfn.State.find_reachable_states(definition.start_state, include_error_handlers=True):
        if isinstance(state, JobTask):
            found.setdefault(state.job.node.path, state.job)
    return list(found.values())

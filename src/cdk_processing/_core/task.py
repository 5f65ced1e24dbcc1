"""A job's request as a workflow's task runs it (``job.as_task``): the very request the deployment's resource holds,
rendered as the task's JSONata ``Arguments`` with a job name of each run's own, each run's own output folders, the
parts given from the state's input, and the outputs of upstream jobs' runs earlier in the same execution; and the
statements the state machine's role needs to run it.

The state is JSONata (``{% ... %}``) rather than JSONPath: a job name needs a digest cut to SageMaker's 63 characters
(``$substring($hash(...))``), and a folder or an argument joins literal text with values of the state's input anywhere
in the request, which JSONPath's intrinsic functions cannot do. Values of the input are given as ``sfn.JsonPath``
tokens (typed, as in aws-cdk-lib's tasks) and translated here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._acknowledge import acknowledge, flatten_reference
from .._memo import once, stack_of
from ..handler.kinds import PROCESSING, TRAINING, JobKind, name_part, short_digest
from .jsonata import Expr, Jsonata, quote
from .resource import JobResource, produced


@dataclass(frozen=True)
class Layout:
    """Where a kind's request keeps what a task changes, and where the ``.sync`` result says where a run wrote."""

    container: str  # the member with ContainerArguments
    inputs: str  # the list of inputs, each named by ``input_name``, its S3 URI at ``input_uri``
    input_name: str
    input_uri: tuple[str, ...]
    outputs: tuple[str, ...]  # the list of outputs (none: the kind writes one model of its own)
    output_name: str
    output_uri: tuple[str, ...]
    result_output: str  # a JSONata path in the Describe result to an output's URI, ``{name}`` quoted
    events_rule: str  # the managed rule the .sync integration watches the jobs with


LAYOUTS = {
    PROCESSING.create: Layout(
        "AppSpecification",
        "ProcessingInputs",
        "InputName",
        ("S3Input", "S3Uri"),
        ("ProcessingOutputConfig", "Outputs"),
        "OutputName",
        ("S3Output", "S3Uri"),
        "ProcessingOutputConfig.Outputs[OutputName={name}].S3Output.S3Uri",
        "StepFunctionsGetEventsForSageMakerProcessingJobsRule",
    ),
    TRAINING.create: Layout(
        "AlgorithmSpecification",
        "InputDataConfig",
        "ChannelName",
        ("DataSource", "S3DataSource", "S3Uri"),
        (),
        "",
        (),
        "ModelArtifacts.S3ModelArtifacts",
        "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    ),
}

# The context values a run's name is a digest of: unique to the execution (its ARN), the state, the time the state
# was entered, and the attempt (a Retry, a redrive), so that no two runs share a name (job names are unique forever).
NAME_SEED = (
    "Execution.Id",
    "State.Name",
    "State.EnteredTime",
    "State.RetryCount",
    "Execution.RedriveCount",
)
NAME_DIGEST_LENGTH = 10  # as the handler's runs: <prefix (at most 51)>-<10 hex>, within SageMaker's 63
JOB_NAMES_REASON = (
    "each run of the job in a workflow is named <the job's name prefix>-<10 hex of a digest of the execution, state "
    "and attempt> (job names are unique forever), so the state machine may act on the jobs of that prefix only"
)


class TaskJob(Protocol):
    """What a task needs of its job (``ProcessingJob``, ``TrainingJob``)."""

    _kind: JobKind
    _resource: JobResource | None
    _tasks: list[Any]

    @property
    def node(self) -> Any: ...

    @property
    def role(self) -> iam.IRole: ...


class TaskSpec(Protocol):
    """What a task adds to its job's request (``JobTask``)."""

    @property
    def job(self) -> TaskJob: ...

    @property
    def arguments(self) -> Any: ...

    @property
    def environment(self) -> Mapping[str, str] | None: ...

    @property
    def hyperparameters(self) -> Mapping[str, str] | None: ...

    @property
    def input_paths(self) -> Mapping[str, str]: ...

    @property
    def output_paths(self) -> Mapping[str, str]: ...

    @property
    def node(self) -> Any: ...


def resource_of(job: TaskJob) -> JobResource:
    assert job._resource is not None
    return job._resource


def run_name(prefix: str) -> Expr:
    """The name of a run: ``<prefix>-<10 hex>``, the hex a SHA-256 digest of the run's ``NAME_SEED``."""
    seed = " & '/' & ".join(f"$states.context.{part}" for part in NAME_SEED)
    return Expr(f"{quote(prefix + '-')} & $substring($hash({seed}, 'SHA-256'), 0, {NAME_DIGEST_LENGTH})")


def variable(job: TaskJob) -> str:
    """The workflow variable the task's runs of ``job`` assign: ``{"name": ..., "outputs": {name: uri}}``."""
    path = job.node.path
    return f"cdkProcessing_{name_part(path.rsplit('/', 1)[-1], 40).replace('-', '_')}_{short_digest(path, 6)}"


def assignment(job: TaskJob) -> dict[str, Any]:
    """What a run assigns once it completed: its name and where it wrote each output, from the ``.sync`` result."""
    layout = LAYOUTS[job._kind.create]
    outputs = {
        name: "{% $states.result." + layout.result_output.format(name=quote(name)) + " %}" for name in output_names(job)
    }
    value = {"name": "{% $states.result." + job._kind.name_field + " %}", "outputs": outputs}
    return {variable(job): value}


def output_names(job: TaskJob) -> list[str]:
    """The job's outputs a reader can name: its S3 outputs (a training job's one: its model)."""
    layout = LAYOUTS[job._kind.create]
    if not layout.outputs:
        return ["model"]
    items = member(plain(resource_of(job).request), ".".join(layout.outputs)) or []
    return [item[layout.output_name] for item in items if isinstance(member(item, layout.output_uri[0]), dict)]


def arguments(task: TaskSpec, stack: Stack) -> dict[str, Any]:
    """The task's ``Arguments``: the job's request as its resource has it, with what each run has of its own."""
    job = task.job
    resource = resource_of(job)
    kind = job._kind
    layout = LAYOUTS[kind.create]
    request = plain(resource.request)
    text = Jsonata(stack)
    name = run_name(resource.name_prefix)
    request[kind.name_field] = name
    for path in resource.per_run:  # each run's checkpoints, as the handler extends them
        _replace(request, path.split("."), lambda uri: text.folder(uri, name, "/"))
    outputs = (member(request, ".".join(layout.outputs)) if layout.outputs else None) or []
    for item in outputs:  # each run's own folder, or the one the task gives
        given = task.output_paths.get(item[layout.output_name])
        parts = (given,) if given is not None else (name, "/")
        _replace(item, list(layout.output_uri), lambda uri, parts=parts: text.folder(uri, *parts))
    for item in member(request, layout.inputs) or []:
        reading = item[layout.input_name]
        source = _upstream(task, reading)
        given = task.input_paths.get(reading)

        def read(uri: Any, source: Any = source, given: str | None = given) -> Any:
            uri = source if source is not None else uri
            return text.folder(uri, given) if given is not None else uri

        _replace(item, list(layout.input_uri), read)
    if task.arguments is not None:
        request.setdefault(layout.container, {})["ContainerArguments"] = task.arguments
    if task.environment:
        request["Environment"] = {**request.get("Environment", {}), **task.environment}
    if task.hyperparameters:
        request["HyperParameters"] = {**request.get("HyperParameters", {}), **task.hyperparameters}
    return text.finish(request)  # type: ignore[no-any-return]


def _upstream(task: TaskSpec, reading: str) -> Expr | None:
    """For an input reading another job's output: that output of the latest run of the job earlier in the same
    execution, if a task of this state machine runs it before this one (``None``: the deployment's run's)."""
    source = next((i for i in reading_inputs(task.job) if input_name(i) == reading), None)
    if source is None:
        return None
    earlier = preceding(task, source.upstream)
    if earlier is None:
        return None
    return Expr(f"${variable(source.upstream)}.outputs.`{source.upstream_output}`")


def reading_inputs(job: TaskJob) -> list[Any]:
    """The job's inputs that read another job's output (``from_output``, ``from_model``)."""
    inputs = getattr(job, "inputs", [])
    return [i for i in inputs if getattr(i, "upstream", None) is not None]


def input_name(job_input: Any) -> str:
    return str(getattr(job_input, "channel", None) or job_input.name)


def preceding(task: TaskSpec, upstream: Any) -> Any:
    """A task of ``upstream`` from which ``task`` is reachable in its state machine, if any."""
    this: Any = task
    for candidate in getattr(upstream, "_tasks", []):
        if candidate is not this and any(s is this for s in sfn.State.find_reachable_states(candidate)):
            return candidate
    return None


def chaining_errors(task: TaskSpec) -> list[str]:
    """What a task's upstream reads lack: a job no deployment runs must run earlier in the same execution."""
    errors = []
    for source in reading_inputs(task.job):
        upstream = source.upstream
        if getattr(upstream, "deploy_run", True) or preceding(task, upstream) is not None:
            continue
        errors.append(
            f"inputs[{input_name(source)}] reads the output {source.upstream_output!r} of {upstream.node.path}, "
            "which no deployment runs (Completion.never()) and no earlier state of this state machine runs: chain "
            "a task of that job (job.as_task(...)) before this one"
        )
    return errors


def statements(task: TaskSpec, scope: Construct) -> list[iam.PolicyStatement]:
    """What the state machine's role needs to run the task's job through the ``.sync`` integration (Step Functions
    developer guide, IAM policies for Amazon SageMaker): create, describe, stop and tag the job's runs (ListTags
    too, on the runs only), pass the job's role to SageMaker alone, the managed rule ``.sync`` watches the jobs with,
    and a grant on the volume key for SageMaker's volumes."""
    job = task.job
    kind = job._kind
    resource = resource_of(job)
    stack = stack_of(scope)
    runs = stack.format_arn(service="sagemaker", resource=kind.arn_resource, resource_name=f"{resource.name_prefix}-*")
    _acknowledge_runs(stack, runs)
    made = [
        iam.PolicyStatement(
            actions=[
                f"sagemaker:{kind.create}",
                f"sagemaker:{kind.describe}",
                f"sagemaker:{kind.stop}",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=[runs],
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[job.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[
                stack.format_arn(service="events", resource="rule", resource_name=LAYOUTS[kind.create].events_rule)
            ],
        ),
    ]
    if resource.volume_key is not None:
        made.append(
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[resource.volume_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": True}},
            )
        )
    return made


def _acknowledge_runs(stack: Stack, runs: str) -> None:
    """The runs' ARN pattern is a wildcard by need: acknowledge that finding (its exact text) in the stack."""
    text = once(stack, f"runs {runs}", lambda: flatten_reference(stack.resolve(runs)))
    acknowledge(stack, {f"AwsSolutions-IAM5[Resource::{text}]": JOB_NAMES_REASON})


# -- the request as plain values --------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """``value`` with every ``lazy`` member produced, copied (dicts and lists are new), members of ``None`` left out."""
    fn = produced(value)
    if fn is not None:
        return plain(fn())
    if isinstance(value, Mapping):
        copied = {k: plain(v) for k, v in value.items()}
        return {k: v for k, v in copied.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def member(value: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _replace(node: Any, path: list[str], change: Any) -> None:
    """Replace the string at ``path`` in ``node`` by ``change(it)``, if there is one."""
    parent = member(node, ".".join(path[:-1]))
    if isinstance(parent, dict) and isinstance(parent.get(path[-1]), (str, Expr)):
        parent[path[-1]] = change(parent[path[-1]])

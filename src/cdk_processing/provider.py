"""The custom resource provider shared by every processing job of a stack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, Fn, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from ._acknowledge import acknowledge
from ._dependencies import depend_on_policies_only
from ._memo import ref, stack_of
from ._naming import role_path, stack_part
from ._policy import LOG_GROUP_REASON, acknowledge_policies_written_by, allow
from ._principal import LibraryRole, ManagedPolicyPrincipal
from ._validation import fail
from .handler import budgets, kinds
from .handler.kinds import PROCESSING, JobKind

HANDLER_DIR = Path(__file__).parent / "handler"

# CloudFormation waits at most one hour (3600 s) for a custom resource. The Provider's waiter gives up at
# TOTAL_TIMEOUT with a bare "Operation timed out" and leaves the job running, so the handler acts first: at
# WAIT_BUDGET after the job's creation it stops the job and fails with a reason of its own.
SERVICE_TIMEOUT = Duration.minutes(60)
TOTAL_TIMEOUT = Duration.minutes(55)
WAIT_BUDGET = Duration.minutes(50)
# Time SageMaker takes before a job's clock starts (instance provisioning, image pull), kept free in the budget.
STARTUP_ALLOWANCE = Duration.minutes(5)
MAX_RUNTIME_LIMIT = Duration.seconds(WAIT_BUDGET.to_seconds() - STARTUP_ALLOWANCE.to_seconds())
# One DescribeProcessingJob per job every 30 s: 120 calls per job-hour, 1.7 calls/s for 50 concurrent jobs, well
# under SageMaker's Describe* request rate; a completion is noticed 15 s after the job ends on average.
QUERY_INTERVAL = Duration.seconds(30)

PROVIDER_ID = "CdkProcessingJobProvider"
# Each stack's provider, by the stack's jsii reference.
_PROVIDERS: dict[str, ProcessingJobProvider] = {}
# The newest Python runtime aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 asks for it).
RUNTIME = lambda_.Runtime.PYTHON_3_14

JOB_NAMES_REASON = (
    "a job's name ends in the deployment's request id (a retried event must find its job, a replacement must not "
    "collide), so the handler's jobs are named by this stack's prefix"
)
PROVIDER_WRITER = "custom_resources.Provider"
FRAMEWORK_INVOKE_REASON = (
    "written by aws-cdk-lib's custom_resources.Provider, which the library cannot configure: lambda:InvokeFunction "
    "on the handler functions and their versions and aliases ('<function ARN>:*'), and, for the waiter state "
    "machine, log delivery and X-Ray, which support no resource-level permissions (Service Authorization Reference)"
)
# Rules the library's own functions, roles and log groups are acknowledged for, each with the reason. A bare
# rule name stands for it in each compliance pack.
PROVIDER_ACKNOWLEDGEMENTS = {
    "LambdaConcurrency": "Reserved concurrency is taken from the account's pool and fails the deployment in "
    "accounts at the default minimum of unreserved concurrency; the provider's invocations are bounded by the "
    "custom resources of the deployment (one event and one poll every 30 s per job)",
    "LambdaDLQ": "The functions run on CloudFormation events: the Provider framework invokes the handlers "
    "synchronously and reports every failure to CloudFormation, which fails and rolls back the resource; a "
    "dead-letter queue would hold events that nothing replays",
    "LambdaInsideVPC": "The functions call only AWS APIs (SageMaker, Step Functions, Lambda, CloudWatch Logs) and "
    "carry no job data; inside a VPC they would need NAT or interface endpoints the stack may not have",
}
# What a function needs to write to its own log group (the group's ARN ends in ':*').
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")


SETTINGS_ID = "CdkProcessingSettings"


class _Settings(Construct):
    """What ``ProcessingJobProvider.configure`` set for the stack's library resources."""

    def __init__(self, scope: Construct, id: str, log_encryption_key: kms.IKey | None) -> None:
        super().__init__(scope, id)
        self.log_encryption_key = log_encryption_key


def library_log_group(scope: Construct, id: str, log_group_name: str | None = None) -> logs.LogGroup:
    """A log group of the library's functions: one month's retention, the stack's log key if one was configured."""
    settings = Stack.of(scope).node.try_find_child(SETTINGS_ID)
    key = settings.log_encryption_key if isinstance(settings, _Settings) else None
    group = logs.LogGroup(
        scope, id, log_group_name=log_group_name, retention=logs.RetentionDays.ONE_MONTH, encryption_key=key
    )
    if key is None:
        acknowledge(group, {"CloudWatchLogGroupEncrypted": LOG_GROUP_REASON})
    return group


class ProcessingJobProvider(Construct):
    """The Lambda functions and Provider that run processing jobs during a deployment; one per stack.

    Get it with ``ProcessingJobProvider.of(scope)``. The handler's role may act on the processing jobs whose names
    start with this stack's prefix and pass the job roles the library created in this stack (under the IAM path
    ``/cdk-processing/<stack prefix>/``); a job with a fixed name or a role passed in adds exactly that name or role.
    """

    @staticmethod
    def configure(scope: Construct, *, log_encryption_key: kms.IKey | None = None) -> None:
        """Settings of the library's resources in ``scope``'s stack; call it before the stack's first job.

        :param log_encryption_key: a customer managed key for the log groups of the library's functions. For a key
            of this app, its key policy is given the statement CloudWatch Logs needs (the service principal of the
            stack's Region, for this account's log groups); an imported key's policy must already allow it.
            Default: CloudWatch Logs' own encryption.
        """
        stack = Stack.of(scope)
        made = [c for c in (PROVIDER_ID, SETTINGS_ID, "CdkProcessingDeploymentRole") if stack.node.try_find_child(c)]
        if made:
            raise fail(
                "ProcessingJobProvider.configure",
                f"called after {made[0]} was made",
                "call it before the stack's first processing job",
            )
        _Settings(stack, SETTINGS_ID, log_encryption_key)
        if log_encryption_key is not None:
            # CloudWatch Logs encrypts with the key as its service principal (CloudWatch Logs user guide, Encrypt
            # log data using AWS KMS); in a key policy the resource "*" is the key itself.
            log_encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                    actions=[
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:DescribeKey",
                    ],
                    resources=["*"],
                    conditions={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name="*",
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            )
                        }
                    },
                )
            )

    @staticmethod
    def of(scope: Construct, kind: JobKind = PROCESSING) -> ProcessingJobProvider:
        """The stack's provider, created on first use, allowed to manage this stack's jobs of ``kind``."""
        stack = stack_of(scope)
        existing = _PROVIDERS.get(ref(stack))
        if existing is None:
            found = stack.node.try_find_child(PROVIDER_ID)
            existing = (
                found if isinstance(found, ProcessingJobProvider) else ProcessingJobProvider(stack, PROVIDER_ID, kind)
            )
            _PROVIDERS[ref(stack)] = existing
        existing.allow_kind(kind)
        return existing

    def __init__(self, scope: Construct, id: str, kind: JobKind = PROCESSING) -> None:
        """:param kind: the kind of the stack's first job, whose jobs the handler may manage from the start (others
        are added by ``allow_kind``)."""
        super().__init__(scope, id)
        stack = Stack.of(self)
        self._kinds: list[JobKind] = []
        self._signal_function: lambda_.Function | None = None
        self.handler_role: iam.Role = LibraryRole(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Starts, watches and stops this stack's SageMaker processing jobs during deployments",
        )
        # Its statements are all the library's, in customer managed policies.
        self.handler_principal = ManagedPolicyPrincipal(self.handler_role, "ManagedPolicy")
        self.allow_kind(kind)
        self._pass_role(
            [stack.format_arn(service="iam", region="", resource="role", resource_name=role_path(stack)[1:] + "*")],
            why="the job roles of this stack, one per job, are all under the IAM path of this stack's prefix: naming "
            "each would grow the policy with every job (IAM limits a role's inline policies to 10,240 characters)",
        )
        code = lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"])
        self._code = code
        functions = {}
        for name, handler, budget in (
            # Each invocation works within its budget (OnEvent retries a role IAM is still propagating within it);
            # the timeout is twice the longest invocation, so that no timeout cuts a flow short.
            ("OnEvent", "index.on_event", budgets.ON_EVENT_BUDGET_SECONDS),
            ("IsComplete", "index.is_complete", budgets.IS_COMPLETE_BUDGET_SECONDS),
        ):
            log_group = library_log_group(self, f"{name}Logs")
            allow(self.handler_principal, LOG_WRITE, [log_group.log_group_arn])
            functions[name] = lambda_.Function(
                self,
                name,
                runtime=RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler=handler,
                code=code,
                role=self.handler_role,
                timeout=Duration.seconds(budgets.lambda_timeout_seconds(budget)),
                memory_size=256,
                log_group=log_group,
                environment={kinds.ENV_WAIT_BUDGET: str(int(WAIT_BUDGET.to_seconds()))},
                description=f"cdk-processing: {handler} of the SageMaker processing job custom resource",
            )
        # The framework's own functions get roles of ours, so that they write only to their log group rather than
        # carry the AWSLambdaBasicExecutionRole managed policy (logs on every log group); the Provider grants them
        # the invocations and the state machine start they need.
        provider_logs = library_log_group(self, "ProviderLogs")
        framework_roles = {}
        for name in ("FrameworkOnEventRole", "FrameworkCompleteAndTimeoutRole"):
            framework_roles[name] = iam.Role(self, name, assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
            provider_logs.grant_write(framework_roles[name])
            acknowledge_policies_written_by(framework_roles[name], PROVIDER_WRITER, FRAMEWORK_INVOKE_REASON)
        # Every state of the waiter is logged, without the execution data: that holds the event's pre-signed
        # response URL.
        # Named under /aws/vendedlogs/: Step Functions adds any other log group to the account's CloudWatch Logs
        # resource policy, limited to 5,120 characters (Step Functions developer guide, Logging using CloudWatch
        # Logs). The stack's id makes the name unique to this stack's life, so a redeployment after a delete (which
        # retains the group) does not collide with it.
        waiter_logs = library_log_group(
            self,
            "WaiterLogs",
            log_group_name=Fn.join(
                "",
                [
                    f"/aws/vendedlogs/states/cdk-processing-{stack_part(stack)}-",
                    Fn.select(2, Fn.split("/", Aws.STACK_ID)),
                ],
            ),
        )
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=functions["OnEvent"],
            is_complete_handler=functions["IsComplete"],
            query_interval=QUERY_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            log_group=provider_logs,
            framework_on_event_role=framework_roles["FrameworkOnEventRole"],
            framework_complete_and_timeout_role=framework_roles["FrameworkCompleteAndTimeoutRole"],
            disable_waiter_state_machine_logging=False,  # aws-cdk-lib's default: disabled
            waiter_state_machine_log_options=cr.LogOptions(
                destination=waiter_logs, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self._trace_waiter()
        self.service_token = self.provider.service_token
        acknowledge(self, PROVIDER_ACKNOWLEDGEMENTS)
        depend_on_policies_only(self)

    def _trace_waiter(self) -> None:
        """X-Ray tracing for the waiter state machine, which the Provider does not offer as a property."""
        waiter = self.provider.node.find_child("waiter-state-machine")
        machine = waiter.node.default_child
        assert isinstance(machine, sfn.CfnStateMachine)
        machine.tracing_configuration = sfn.CfnStateMachine.TracingConfigurationProperty(enabled=True)
        role = waiter.node.find_child("Role")
        assert isinstance(role, iam.Role)
        # In the role's default policy, next to the framework's statements (acknowledged as a whole below): X-Ray's
        # trace and sampling actions support no resource-level permissions (Service Authorization Reference, Actions
        # defined by AWS X-Ray).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            )
        )
        acknowledge_policies_written_by(role, PROVIDER_WRITER, FRAMEWORK_INVOKE_REASON)

    def allow_kind(self, kind: JobKind) -> None:
        """Let the handler manage this stack's jobs of ``kind`` (those named with the stack's prefix), and the signal
        function read them; once per kind."""
        if kind in self._kinds:
            return
        self._kinds.append(kind)
        allow(
            self.handler_principal,
            [f"sagemaker:{kind.list_jobs}"],
            ["*"],
            why=f"{kind.list_jobs} supports no resource-level permissions (Service Authorization Reference, "
            "Actions defined by Amazon SageMaker AI); the handler lists only by the name prefix of the job it manages, "
            "to find a job whose name CloudFormation never received",
        )
        self.allow_job_name(None, kind)
        if self._signal_function is not None:
            self._allow_signal(kind)

    def _allow_signal(self, kind: JobKind) -> None:
        allow(
            self._signal_principal,
            ["sagemaker:ListTags", f"sagemaker:{kind.describe}"],
            [_job_arn(Stack.of(self), None, kind)],
            why=JOB_NAMES_REASON,
        )

    @property
    def signal_function(self) -> lambda_.Function:
        """The function that signals long waits from jobs' state change events; created on first use."""
        if self._signal_function is None:
            role = iam.Role(self, "SignalRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
            principal = ManagedPolicyPrincipal(role, "ManagedPolicy")
            self._signal_principal = principal
            for kind in self._kinds:
                self._allow_signal(kind)
            log_group = library_log_group(self, "SignalLogs")
            allow(principal, LOG_WRITE, [log_group.log_group_arn])
            self._signal_function = lambda_.Function(
                self,
                "Signal",
                runtime=RUNTIME,
                architecture=lambda_.Architecture.ARM_64,
                handler="index.on_state_change",
                code=self._code,
                role=role,
                timeout=Duration.seconds(budgets.lambda_timeout_seconds(budgets.SIGNAL_BUDGET_SECONDS)),
                memory_size=256,
                log_group=log_group,
                description="cdk-processing: signals the WaitCondition of a long processing job when it ends",
            )
            depend_on_policies_only(self)
        return self._signal_function

    def allow_job_name(self, name: str | None, kind: JobKind = PROCESSING) -> None:
        """Let the handler start, describe, tag and stop the ``kind`` job named ``name`` (``None``: every job named
        with this stack's prefix)."""
        allow(
            self.handler_principal,
            [
                f"sagemaker:{kind.create}",
                f"sagemaker:{kind.describe}",
                f"sagemaker:{kind.stop}",
                "sagemaker:AddTags",
                "sagemaker:DeleteTags",
                "sagemaker:ListTags",
            ],
            [_job_arn(Stack.of(self), name, kind)],
            why=JOB_NAMES_REASON,
        )

    def allow_update(self, name: str | None, kind: JobKind) -> None:
        """Let the handler change the ``kind`` job ``name`` (``None``: every job named with this stack's prefix) in
        place (``kind.update``: a warm pool's stay, and its release on delete)."""
        assert kind.update is not None
        allow(
            self.handler_principal,
            [f"sagemaker:{kind.update}"],
            [_job_arn(Stack.of(self), name, kind)],
            why=JOB_NAMES_REASON,
        )

    def allow_pass_role(self, role: iam.IRole) -> None:
        """Let the handler pass ``role`` (a role given to a job) to SageMaker, and to nothing else."""
        self._pass_role([role.role_arn])

    def _pass_role(self, role_arns: list[str], why: str | None = None) -> None:
        allow(
            self.handler_principal,
            ["iam:PassRole"],
            role_arns,
            {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            why=why,
        )


def _job_arn(stack: Stack, name: str | None, kind: JobKind = PROCESSING) -> str:
    """The ARN of the ``kind`` job ``name``, or (``None``) of every job named with this stack's prefix."""
    if name is None:
        resource_name = stack_part(stack) + "-*"
    else:
        # SageMaker ARNs carry the job name in lowercase.
        resource_name = name if Token.is_unresolved(name) else name.lower()
    return stack.format_arn(service="sagemaker", resource=kind.arn_resource, resource_name=resource_name)

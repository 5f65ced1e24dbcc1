"""The CLI's AWS calls (boto3, imported here on first use): a stack's jobs, one job, its tags, its logs, its stop."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore import xform_name  # type: ignore[import-untyped]  # a library dependency; boto3 is not
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError, ProfileNotFound  # type: ignore[import-untyped]

from .kinds import KINDS, RESOURCE_TAG, Kind, job_name_of, kind_of_arn, kind_of_type, resource_digest, stack_prefix


class CliError(Exception):
    """A failure the user can act on (no such stack or job, no credentials): printed as is, exit status 1."""


@dataclass
class Job:
    """A job as the CLI shows it: SageMaker's description and, when found through a stack, its place there."""

    kind: Kind
    name: str
    description: dict[str, Any] | None
    """The kind's describe answer; ``None`` when SageMaker has no such job (a failed create, say)."""
    stack: str | None = None
    resource: str | None = None
    """The stack resource (logical id) that started the job."""
    current: bool = True
    """Whether the resource's physical id names this job (else an earlier run, replaced by an update)."""
    tags: dict[str, str] = field(default_factory=dict)

    def field(self, name: str) -> Any:
        return (self.description or {}).get(name)

    @property
    def status(self) -> str:
        return str(self.field(self.kind.status_field) or "(not found)")

    @property
    def arn(self) -> str | None:
        value = self.field(self.kind.arn_field)
        return str(value) if value else None

    def duration(self, now: datetime | None = None) -> timedelta | None:
        """From its start (or creation) to its end, or to ``now`` while it runs."""
        begin = self.field(self.kind.started_field) or self.field(self.kind.created_field)
        end = self.field(self.kind.ended_field)
        if not isinstance(begin, datetime):
            return None
        if not isinstance(end, datetime):
            end = now or datetime.now(timezone.utc)
        return max(end - begin, timedelta(0))


def _not_found(error: Exception) -> bool:
    response = getattr(error, "response", None) or {}
    code = response.get("Error", {}).get("Code", "")
    message = str(response.get("Error", {}).get("Message", "")).lower()
    if code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    return code in ("ValidationException", "ValidationError") and any(
        text in message for text in ("could not find", "not found", "does not exist")
    )


class Aws:
    """One session's clients, by service, made on first use with the standard retry mode."""

    def __init__(self, region: str | None = None, profile: str | None = None, endpoint_url: str | None = None):
        try:
            import boto3  # type: ignore[import-untyped]
        except ImportError as e:  # pragma: no cover - boto3 is installed with the dev extra
            raise CliError("the cdk-processing CLI needs boto3: pip install boto3") from e

        try:
            self._session = boto3.Session(profile_name=profile, region_name=region)
        except ProfileNotFound as e:
            raise CliError(str(e)) from e
        if not self._session.region_name:
            raise CliError("no region: give --region, or set AWS_REGION or a profile's region")
        self.region: str = self._session.region_name
        self._endpoint_url = endpoint_url
        self._config = Config(retries={"mode": "standard", "max_attempts": 5})
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, region_name=self.region, endpoint_url=self._endpoint_url, config=self._config
            )
        return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """``operation`` as the API names it (``DescribeProcessingJob``), without the response's metadata."""
        answer = dict(getattr(self.client(service), xform_name(operation))(**kwargs))
        answer.pop("ResponseMetadata", None)
        return answer

    def pages(self, service: str, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self.client(service).get_paginator(xform_name(operation)).paginate(**kwargs)

    # -- stacks -----------------------------------------------------------------------------------------------

    def stack(self, name: str) -> dict[str, Any]:
        """The stack ``name`` (a name or a stack id), or a ``CliError`` saying it is not in this region."""
        try:
            stacks = self.call("cloudformation", "DescribeStacks", StackName=name)["Stacks"]
        except ClientError as e:
            if _not_found(e):
                raise CliError(f"no stack {name} in {self.region}") from e
            raise
        return dict(stacks[0])

    def stack_names(self) -> list[str]:
        """The region's stacks that exist (not deleted)."""
        names = []
        for page in self.pages("cloudformation", "ListStacks"):
            for summary in page.get("StackSummaries", []):
                if summary.get("StackStatus") != "DELETE_COMPLETE":
                    names.append(str(summary["StackName"]))
        return names

    def job_resources(self, stack_id: str) -> list[tuple[str, str, Kind]]:
        """The stack's resources that are jobs of a known kind: logical id, physical id and kind."""
        found = []
        for page in self.pages("cloudformation", "ListStackResources", StackName=stack_id):
            for summary in page.get("StackResourceSummaries", []):
                kind = kind_of_type(summary.get("ResourceType") or "")
                if kind is not None:
                    found.append(
                        (str(summary["LogicalResourceId"]), str(summary.get("PhysicalResourceId") or ""), kind)
                    )
        return found

    def stack_jobs(self, stack_name: str, earlier: bool = False) -> list[Job]:
        """The jobs of the stack's job resources; with ``earlier``, also the runs those resources made before.

        The current job of a resource is its physical id. An earlier run (replaced by an update) is no longer in
        the stack: it is found by the library's name prefix for the stack and kept only if its
        ``cdk-processing:resource`` tag names a resource of this stack (by stack id, so a job of a deleted
        namesake stack is not one).
        """
        stack = self.stack(stack_name)
        name, stack_id = str(stack["StackName"]), str(stack["StackId"])
        jobs = []
        for logical_id, physical_id, kind in self.job_resources(stack_id):
            if physical_id:
                job = self.describe(kind, job_name_of(physical_id))
                job.stack, job.resource = name, logical_id
                jobs.append(job)
        if earlier:
            owners = {resource_digest(stack_id, lid): lid for lid, _, _ in self.job_resources(stack_id)}
            current = {job.name for job in jobs}
            prefix = stack_prefix(name)
            for kind in KINDS:
                for page in self.pages("sagemaker", kind.list_operation, NameContains=prefix):
                    for summary in page.get(kind.summaries_field, []):
                        job_name = str(summary[kind.name_field])
                        if not job_name.startswith(prefix + "-") or job_name in current:
                            continue
                        tags = self.tags(str(summary[kind.arn_field]))
                        owner = owners.get(tags.get(RESOURCE_TAG, ""))
                        if owner is not None:
                            job = self.describe(kind, job_name)
                            job.stack, job.resource, job.current, job.tags = name, owner, False, tags
                            jobs.append(job)
        return jobs

    # -- jobs -------------------------------------------------------------------------------------------------

    def describe(self, kind: Kind, name: str) -> Job:
        """The job ``name`` of ``kind``; its description is ``None`` when SageMaker has none."""
        try:
            description = self.call("sagemaker", kind.describe_operation, **{kind.name_field: name})
        except ClientError as e:
            if _not_found(e):
                return Job(kind, name, None)
            raise
        return Job(kind, name, description)

    def find(self, ref: str, stack_name: str | None = None) -> Job:
        """The job ``ref`` names: a job name, a job ARN, or (with ``stack_name``) a job resource's logical id."""
        if stack_name is not None:
            stack = self.stack(stack_name)
            for logical_id, physical_id, kind in self.job_resources(str(stack["StackId"])):
                if ref in (logical_id, physical_id, job_name_of(physical_id)):
                    job = self.describe(kind, job_name_of(physical_id))
                    job.stack, job.resource = str(stack["StackName"]), logical_id
                    if job.description is not None:
                        return job
        arn_kind = kind_of_arn(ref)
        for kind in (arn_kind,) if arn_kind else KINDS:
            job = self.describe(kind, job_name_of(ref))
            if job.description is not None:
                return job
        where = f" (nor a job resource of stack {stack_name})" if stack_name else ""
        raise CliError(f"no job {ref} in {self.region}{where}")

    def tags(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self.pages("sagemaker", "ListTags", ResourceArn=arn):
            tags.update({str(t["Key"]): str(t["Value"]) for t in page.get("Tags", [])})
        return tags

    def stop(self, job: Job) -> None:
        self.call("sagemaker", job.kind.stop_operation, **{job.kind.name_field: job.name})

    def log_streams(self, job: Job) -> list[str]:
        """The job's log streams (``<job name>/algo-<n>-<epoch>``, one per instance); none before it logged."""
        streams: list[str] = []
        try:
            for page in self.pages(
                "logs", "DescribeLogStreams", logGroupName=job.kind.log_group, logStreamNamePrefix=job.name + "/"
            ):
                streams.extend(str(stream["logStreamName"]) for stream in page.get("logStreams", []))
        except ClientError as e:
            if _not_found(e):  # no log group yet: the Region ran no job of this kind
                return []
            raise
        return streams

    def log_events(self, job: Job, start_time: int = 0) -> list[dict[str, Any]]:
        """The job's log events from ``start_time`` (ms since the epoch) on, across its streams, oldest first.

        The streams are named (``FilterLogEvents`` takes up to 100 names) rather than given by prefix, which
        moto's FilterLogEvents ignores.
        """
        streams = self.log_streams(job)
        events: list[dict[str, Any]] = []
        for at in range(0, len(streams), 100):
            names = streams[at : at + 100]
            for page in self.pages(
                "logs", "FilterLogEvents", logGroupName=job.kind.log_group, logStreamNames=names, startTime=start_time
            ):
                events.extend(page.get("events", []))
        return sorted(events, key=lambda event: (int(event["timestamp"]), str(event.get("eventId", ""))))

"""One job kind's SageMaker calls, as the flows of ``index.py`` need them.

``Jobs(kind)`` names every operation and field from the kind (``kinds.JobKind``), so the flows never do. Each call
goes through ``calls`` (retried while it gets no answer, within the invocation's budget). Tests of the flows can
hand ``index`` a fake with the same methods for states the emulator cannot produce.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import budgets
import calls
import logic
from botocore import xform_name
from botocore.exceptions import ClientError
from kinds import JobKind


class Jobs:
    """The SageMaker API for jobs of one kind."""

    def __init__(self, kind: JobKind) -> None:
        self.kind = kind

    def request_shape(self) -> Any:
        """The botocore shape of the create request (to give CloudFormation's strings back their types)."""
        return calls.client().meta.service_model.operation_model(self.kind.create).input_shape

    def create_once(self, name: str, request: dict[str, Any], tags: list[dict[str, str]]) -> None:
        """One attempt of the create: ``calls.Unanswered`` when it got no answer, a ``ClientError`` when refused."""
        calls.attempt(xform_name(self.kind.create), **{self.kind.name_field: name}, **request, Tags=tags)

    def describe(self, name: str) -> dict[str, Any] | None:
        """The job's description, or None when there is no such job (or it is not visible yet)."""
        try:
            return calls.call(xform_name(self.kind.describe), **{self.kind.name_field: name})
        except ClientError as error:
            if logic.is_not_found(calls.code_of(error), calls.message_of(error)):
                return None
            raise

    def job(self, name: str) -> logic.Job | None:
        """A job's description and tags, or None."""
        description = self.describe(name)
        if description is None:
            return None
        return description, self.tags(description[self.kind.arn_field])

    def visible_job(self, name: str) -> logic.Job | None:
        """``job``, looked for again while the budget lasts: a job just created may not be visible yet."""
        delay = 2.0
        while True:
            found = self.job(name)
            if found is not None or not calls.pause(delay):
                return found
            delay = min(delay * 2, budgets.BACKOFF_CAP_SECONDS)

    def tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in calls.pages("list_tags", "Tags", ResourceArn=arn)}

    def add_tags(self, arn: str, tags: list[dict[str, str]]) -> None:
        calls.call("add_tags", ResourceArn=arn, Tags=tags)

    def delete_tags(self, arn: str, keys: list[str]) -> None:
        calls.call("delete_tags", ResourceArn=arn, TagKeys=keys)

    def stop(self, description: dict[str, Any]) -> bool:
        """Stop the job if it is in progress; whether it is stopping now (stopped by this call or before)."""
        name, status = description[self.kind.name_field], description[self.kind.status_field]
        if status != "InProgress":
            calls.log("not_running", job=name, status=status)
            return bool(status == "Stopping")
        try:
            calls.call(xform_name(self.kind.stop), **{self.kind.name_field: name})
            calls.log("stopped", job=name)
            return True
        except ClientError as error:
            if calls.code_of(error) != "ValidationException":  # it ended between Describe and Stop
                raise
            return False

    def update(self, name: str, changes: dict[str, Any]) -> bool:
        """Change the job in place (``kind.update``); False when SageMaker refused it in the job's state (a warm
        pool that ended or was reused meanwhile)."""
        assert self.kind.update is not None
        try:
            calls.call(xform_name(self.kind.update), **{self.kind.name_field: name}, **changes)
            calls.log("updated", job=name, changes=changes)
            return True
        except ClientError as error:
            if calls.code_of(error) != "ValidationException":
                raise
            calls.log("not_updated", level="WARNING", job=name, changes=changes, error=calls.message_of(error))
            return False

    def summaries(self, name_contains: str, status: str, **filters: str) -> Iterator[dict[str, Any]]:
        """The jobs whose names contain ``name_contains``, in ``status`` (and matching the list operation's
        ``filters``), as summaries (name, ARN, status)."""
        yield from calls.pages(
            xform_name(self.kind.list_jobs),
            self.kind.summaries,
            NameContains=name_contains,
            StatusEquals=status,
            **filters,
        )

    def name(self, job: dict[str, Any]) -> str:
        return str(job[self.kind.name_field])

    def status(self, job: dict[str, Any]) -> str:
        return str(job[self.kind.status_field])

    def arn(self, job: dict[str, Any]) -> str:
        return str(job[self.kind.arn_field])

"""The resource of a CloudFormation event of the job custom resource: its properties, its jobs' kind and API, and
what makes a job its own (name prefix or fixed name, and the resource tag). Kind-neutral, like the flows of
``index.py``."""

from __future__ import annotations

from typing import Any

import kinds
import logic
from jobs import Jobs


class Resource:
    """The event's resource: its properties, its jobs' kind and API, and what makes a job its own."""

    def __init__(self, event: dict[str, Any], jobs: Jobs) -> None:
        self.event = event
        self.jobs = jobs
        self.kind = jobs.kind
        self.props: dict[str, Any] = event.get("ResourceProperties") or {}
        self.request: dict[str, Any] = self.props.get(kinds.PROP_REQUEST) or {}
        self.prefix: str | None = self.props.get(kinds.PROP_NAME_PREFIX)
        self.fixed_name: str | None = self.request.get(self.kind.name_field)
        self.physical_id: str = event.get("PhysicalResourceId") or ""
        self.digest = logic.request_digest(self.kind, self.request, self.props.get(kinds.PROP_UPSTREAM))
        self.tag = kinds.resource_digest(event["StackId"], event["LogicalResourceId"])
        self.data: dict[str, str] = event.get("Data") or {}

    def new_name(self) -> str:
        return self.fixed_name or logic.job_name(self.prefix or "", self.event["RequestId"])

    def names_a_job(self, name: str) -> bool:
        return logic.owns_name(name, self.prefix, self.fixed_name)

    def owns(self, name: str, tags: dict[str, str], named_by_cloudformation: bool) -> bool:
        check = logic.owned_legacy if named_by_cloudformation else logic.owned
        return check(name, tags, self.tag, self.prefix, self.fixed_name)

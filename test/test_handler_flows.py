"""The handler's flows over a fake ``Jobs`` (``handler/jobs.py``), for answers the emulator cannot give: a job that
ends between Describe and Stop, SageMaker's other wording of a name in use, a job that never leaves Stopping.

Every method of the fake fails unless the test gives it an answer (fakes over mocks: nothing answers by accident).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError

from cfn import FakeClock, delivered_properties, event, job_resources

ROLE = "arn:aws:iam::123456789012:role/r"


def refusal(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X")


class FakeJobs:
    """``Jobs`` with given answers: ``descriptions`` by name, ``tag_sets`` by ARN, ``create_errors`` in order."""

    def __init__(self, kind: Any, jobs_class: type) -> None:
        self._real = jobs_class(kind)
        self.kind = kind
        self.descriptions: dict[str, dict[str, Any]] = {}
        self.tag_sets: dict[str, dict[str, str]] = {}
        self.create_errors: list[Exception] = []
        self.ended_before_stop = False
        self.created: list[str] = []
        self.stopped: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in ("name", "status", "arn", "request_shape", "job", "visible_job"):
            return getattr(self._real, name).__func__.__get__(self)
        raise AssertionError(f"the flow called {name}, which this test gave no answer")

    def create_once(self, name: str, request: dict[str, Any], tags: list[dict[str, str]]) -> None:
        if self.create_errors:
            raise self.create_errors.pop(0)
        self.created.append(name)

    def describe(self, name: str) -> dict[str, Any] | None:
        return self.descriptions.get(name)

    def tags(self, arn: str) -> dict[str, str]:
        return self.tag_sets[arn]

    def stop(self, description: dict[str, Any]) -> bool:
        """As ``Jobs.stop``: whether the job is stopping now; ``ended_before_stop``: it ended after Describe."""
        self.stopped.append(self.name(description))
        if self.ended_before_stop:
            return False  # Jobs.stop's answer to StopJob's ValidationException
        return self.status(description) in ("InProgress", "Stopping")

    def summaries(self, name_contains: str, status: str) -> list[dict[str, Any]]:
        return [d for n, d in self.descriptions.items() if name_contains in n and self.status(d) == status]


@pytest.fixture
def fake(packaged_handler, kind) -> FakeJobs:
    return FakeJobs(kind, sys.modules["jobs"].Jobs)


@pytest.fixture
def prep(synthesized) -> tuple[str, dict[str, Any]]:
    template = synthesized.templates["minimal"]
    (logical_id,) = job_resources(template)
    return logical_id, delivered_properties(template, logical_id)


@pytest.fixture
def fake_clock(packaged_handler) -> FakeClock:
    clock = FakeClock()
    calls = sys.modules["calls"]
    saved = calls.clock, calls.sleep
    calls.clock, calls.sleep = clock, clock.sleep
    yield clock
    calls.clock, calls.sleep = saved


def job(fake: FakeJobs, name: str, status: str) -> dict[str, Any]:
    kind = fake.kind
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:{kind.arn_resource}/{name}"
    fake.descriptions[name] = {kind.name_field: name, kind.arn_field: arn, kind.status_field: status}
    return fake.descriptions[name]


def test_a_job_that_ends_between_describe_and_stop_is_a_delete_with_nothing_to_wait_for(
    packaged_handler, fake, prep, fake_clock
) -> None:
    logical_id, props = prep
    name = props["JobNamePrefix"] + "-0123456789"
    described = job(fake, name, "InProgress")
    fake.tag_sets[described[fake.kind.arn_field]] = {"cdk-processing:request-id": "earlier"}
    fake.ended_before_stop = True
    request = event("Delete", logical_id, props, physical_resource_id=name)

    answer = packaged_handler.module.on_event(request, None, fake)

    assert fake.stopped == [name]
    assert answer["Data"]["Stopped"] == "0" and answer["Data"]["Sweep"] == "false"
    assert packaged_handler.module.is_complete({**request, **answer}, None, fake) == {"IsComplete": True}


def test_sagemakers_validation_wording_of_a_name_in_use_adopts_the_requests_own_job(
    packaged_handler, fake, prep, fake_clock
) -> None:
    logical_id, props = prep
    request = event("Create", logical_id, props)
    name = props["JobNamePrefix"] + "-" + sys.modules["logic"].job_name("", request["RequestId"])[1:]
    described = job(fake, name, "InProgress")
    fake.tag_sets[described[fake.kind.arn_field]] = {"cdk-processing:request-id": request["RequestId"]}
    fake.create_errors = [
        refusal("ValidationException", "Job name must be unique: a job with this name already exists")
    ]

    answer = packaged_handler.module.on_event(request, None, fake)

    assert answer["PhysicalResourceId"] == name and "Unconfirmed" not in answer["Data"]
    assert fake.created == []


def test_a_job_that_never_leaves_stopping_ends_the_delete_after_its_wait(
    packaged_handler, fake, prep, fake_clock
) -> None:
    logical_id, props = prep
    name = props["JobNamePrefix"] + "-0123456789"
    job(fake, name, "Stopping")
    request = event("Delete", logical_id, props, physical_resource_id=name)
    answer = packaged_handler.module.on_event(request, None, fake)
    polled = {**request, **answer}
    assert packaged_handler.module.is_complete(polled, None, fake) == {"IsComplete": False}
    fake_clock.advance(packaged_handler.module.DELETE_WAIT_SECONDS + 1)
    assert packaged_handler.module.is_complete(polled, None, fake) == {"IsComplete": True}  # never fails the stack

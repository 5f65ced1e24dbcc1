"""The lifecycle harness: CloudFormation deploying, updating, rolling back and deleting a synthesized stack's
processing-job custom resources, through the Provider framework, into the SageMaker emulator.

It follows CloudFormation's rules for custom resources:
- resources are created in dependency order (``DependsOn``, ``Ref`` and ``Fn::GetAtt`` between them); those with no
  dependency between them at the same time;
- properties are delivered resolved, with every scalar a string, and ``Fn::GetAtt`` of an earlier custom resource
  resolved from the ``Data`` it returned;
- the first failure stops the operation and rolls it back: a failed create deletes what was created (the failed
  resource included, with the physical id it has), a failed update sends each updated resource an Update back to
  its previous properties;
- an update that returns a new physical id replaces the resource: the old id is deleted once the whole update
  succeeded (the cleanup phase);
- a delete runs in reverse dependency order.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name

from cdk_processing.handler import kinds
from cfn import Provider, Response, delivered_properties, job_resources, needs, run_concurrently
from cfn import event as cfn_event


@dataclass(frozen=True)
class Scenario:
    """What the lifecycle scenarios need of one job kind: the shared test stacks that hold a chain of two jobs (a
    producer and a consumer of its output) and a job with a fixed name, and where its request names the container's
    arguments and the producer's output location."""

    chain: str
    fixed: str
    arguments: tuple[str | int, ...]
    output_location: tuple[str | int, ...]
    someone_elses: dict[str, Any]  # a create request of another team's job of the kind, less its name and tags
    produced: tuple[str | int, ...]  # in the producer's description: what the consumer reads
    consumed: tuple[str | int, ...]  # in the consumer's description: the location it was given
    delivered: tuple[str, ...]  # texts the producer's delivered properties hold (scalars as strings)
    detail: dict[str, Any]  # how an emulated job ends with the text a failure carries besides FailureReason (Outcome)
    detail_text: str  # ... and how the failure reason shows it


SCENARIOS = {
    "Custom::SageMakerProcessingJob": Scenario(
        chain="pipeline",
        fixed="full",
        arguments=("AppSpecification", "ContainerArguments"),
        output_location=("ProcessingOutputConfig", "Outputs", 0, "S3Output", "S3Uri"),
        someone_elses={
            "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/theirs:1"},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            "RoleArn": "arn:aws:iam::123456789012:role/theirs",
        },
        produced=("ProcessingOutputConfig", "Outputs", 0, "S3Output", "S3Uri"),
        consumed=("ProcessingInputs", 0, "S3Input", "S3Uri"),
        delivered=('"InstanceCount": "3"', '"EnableNetworkIsolation": "false"'),
        detail={"exit_message": "exit code 1"},
        detail_text="ExitMessage: exit code 1",
    ),
    "Custom::SageMakerTrainingJob": Scenario(
        chain="training",
        fixed="training_full",
        arguments=("AlgorithmSpecification", "ContainerArguments"),
        # What a training job writes that a run after it may write over: checkpoints shared between runs.
        output_location=("CheckpointConfig", "S3Uri"),
        someone_elses={
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/theirs:1",
                "TrainingInputMode": "File",
            },
            "OutputDataConfig": {"S3OutputPath": "s3://their-models/"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "RoleArn": "arn:aws:iam::123456789012:role/theirs",
        },
        produced=("ModelArtifacts", "S3ModelArtifacts"),
        consumed=("InputDataConfig", 0, "DataSource", "S3DataSource", "S3Uri"),
        delivered=('"InstanceCount": "1"', '"EnableNetworkIsolation": "false"', '"early_stopping": "true"'),
        detail={
            "progress": (("Starting", "Insufficient capacity error from EC2 while launching instances, retrying!"),)
        },
        detail_text="last status: Starting: Insufficient capacity error from EC2 while launching instances, retrying!",
    ),
}


def describe(kind: kinds.JobKind, name: str) -> dict[str, Any]:
    """The job's description, as the kind's Describe operation gives it over HTTP."""
    client = boto3.client("sagemaker")
    return dict(getattr(client, xform_name(kind.describe))(**{kind.name_field: name}))


_REQUIRED = object()


def member(description: Any, path: tuple[str | int, ...], default: Any = _REQUIRED) -> Any:
    """The member at ``path`` (names and list indexes); ``default`` where there is none, if given."""
    try:
        for part in path:
            description = description[part]
    except (KeyError, IndexError):
        if default is _REQUIRED:
            raise
        return default
    return description


def producer(template: dict[str, Any]) -> str:
    """The logical id of the job of a two-job chain that the other reads from."""
    first, _ = waves(template)[:2]
    return first[0]


def consumer(template: dict[str, Any]) -> str:
    """The logical id of the job of a two-job chain that reads the other's output."""
    _, second = waves(template)[:2]
    return second[0]


def fixed_name_job(template: dict[str, Any]) -> str:
    """The logical id of the template's job with a fixed name."""
    return next(
        k
        for k, r in job_resources(template).items()
        if kinds.BY_RESOURCE_TYPE[r["Type"]].name_field in r["Properties"]["Request"]
    )


def prefix_of(template: dict[str, Any], logical_id: str) -> str:
    return str(template["Resources"][logical_id]["Properties"]["JobNamePrefix"])


def _request(template: dict[str, Any], logical_id: str) -> tuple[dict[str, Any], Scenario]:
    resource = template["Resources"][logical_id]
    return resource["Properties"]["Request"], SCENARIOS[resource["Type"]]


def _set(node: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def with_arguments(template: dict[str, Any], logical_id: str, arguments: list[str]) -> dict[str, Any]:
    """The template with the job's container arguments changed (a change of the request: the job runs again)."""
    changed = copy.deepcopy(template)
    request, scenario = _request(changed, logical_id)
    _set(request, scenario.arguments, arguments)
    return changed


def with_output_suffix(template: dict[str, Any], logical_id: str, suffix: str) -> dict[str, Any]:
    """The template with the job's (first) output written elsewhere: ``suffix`` in place of the text after its
    bucket."""
    changed = copy.deepcopy(template)
    request, scenario = _request(changed, logical_id)
    location = member(request, scenario.output_location)
    # s3://${Bucket}<text>: the text after the last reference replaced by ``suffix``
    assert list(location) == ["Fn::Sub"], location
    head = location["Fn::Sub"][: location["Fn::Sub"].rindex("}") + 1]
    _set(request, scenario.output_location, {"Fn::Sub": head + suffix})
    return changed


@dataclass
class Outcome:
    """What a stack operation ended as, and the responses CloudFormation received, by logical id."""

    status: str
    reason: str = ""
    responses: dict[str, list[Response]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status.endswith("_COMPLETE") and "ROLLBACK" not in self.status


def waves(template: dict[str, Any]) -> list[list[str]]:
    """The stack's processing-job resources in creation order: each wave depends only on earlier waves."""
    jobs = job_resources(template)
    needed: dict[str, set[str]] = {}
    for logical_id, resource in jobs.items():
        needed[logical_id] = needs(resource, template["Resources"]) & set(jobs) - {logical_id}
    ordered: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(jobs):
        wave = sorted(k for k in jobs if k not in done and needed[k] <= done)
        assert wave, f"dependency cycle among {set(jobs) - done}"
        ordered.append(wave)
        done |= set(wave)
    return ordered


class DeployedStack:
    """A stack as CloudFormation holds it: each resource's physical id, delivered properties and attributes."""

    def __init__(self, provider: Provider, template: dict[str, Any]) -> None:
        self.provider = provider
        self.template = template
        self.physical: dict[str, str] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        self.attributes: dict[str, dict[str, str]] = {}
        # The resources an update removed, as the template before it had them (until deleted in its cleanup).
        self.removed_from: dict[str, dict[str, Any]] = {}

    def event(self, request_type: str, logical_id: str, properties: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """A request for the resource ``logical_id``, of the type the template gives it."""
        resource = self.template["Resources"].get(logical_id) or self.removed_from[logical_id]
        resource_type = resource["Type"]
        return cfn_event(request_type, logical_id, properties, resource_type=resource_type, **kwargs)

    # -- operations -------------------------------------------------------------------------------------------

    def deploy(self) -> Outcome:
        """CREATE the stack; on a failure, roll back (delete what was created)."""
        outcome = Outcome("CREATE_COMPLETE")
        for wave in waves(self.template):
            requests = {}
            for logical_id in wave:
                props = delivered_properties(self.template, logical_id, self.attributes)
                self.properties[logical_id] = props
                requests[logical_id] = self.event("Create", logical_id, props)
            failed = self._send(requests, outcome)
            if failed:
                self._rollback_create(outcome)
                return outcome
        return outcome

    def update(self, new_template: dict[str, Any]) -> Outcome:
        """UPDATE to ``new_template``; on a failure, send the updated resources back their old properties. A
        resource only the new template has is created, and deleted by the rollback of a failed update; one only the
        old template had is deleted in the cleanup of an update that succeeded."""
        outcome = Outcome("UPDATE_COMPLETE")
        previous = dict(self.properties)
        previous_physical = dict(self.physical)
        updated: list[str] = []
        created: list[str] = []
        old_template = self.template
        self.removed_from = {
            k: r for k, r in old_template["Resources"].items() if k in previous and k not in new_template["Resources"]
        }
        self.template = new_template
        for wave in waves(new_template):
            requests = {}
            for logical_id in wave:
                props = delivered_properties(new_template, logical_id, self.attributes)
                if logical_id not in previous:
                    self.properties[logical_id] = props
                    created.append(logical_id)
                    requests[logical_id] = self.event("Create", logical_id, props)
                    continue
                if props == previous.get(logical_id):
                    continue
                self.properties[logical_id] = props
                updated.append(logical_id)
                requests[logical_id] = self.event(
                    "Update",
                    logical_id,
                    props,
                    physical_resource_id=self.physical[logical_id],
                    old_properties=previous[logical_id],
                )
            if self._send(requests, outcome):
                self._rollback_update(updated, previous, outcome)
                self._delete([[k] for k in reversed(created)], outcome)
                # The stack is back to its old template: what the update would have removed is still there.
                self.template, self.removed_from = old_template, {}
                return outcome
        # Cleanup: the resources an update replaced or removed are deleted once the whole update succeeded.
        replaced = {
            k: self.event("Delete", k, previous[k], physical_resource_id=previous_physical[k])
            for k in updated
            if previous_physical[k] != self.physical[k]
        }
        self._send(replaced, Outcome("CLEANUP"), record_into=outcome, track=False)
        removed = [[k for k in wave if k in self.removed_from] for wave in reversed(waves(old_template))]
        self._delete(removed, outcome)
        self.removed_from = {}
        return outcome

    def _delete(self, waves_of: list[list[str]], outcome: Outcome) -> None:
        """Delete resources (created by a failed update, or removed by one) wave by wave, and forget them."""
        for wave in waves_of:
            requests = {
                k: self.event("Delete", k, self.properties[k], physical_resource_id=self.physical[k])
                for k in wave
                if k in self.physical
            }
            self._send(requests, Outcome("CLEANUP"), record_into=outcome, track=False)
            for k in wave:
                for known in (self.physical, self.properties, self.attributes):
                    known.pop(k, None)

    def destroy(self) -> Outcome:
        outcome = Outcome("DELETE_COMPLETE")
        for wave in reversed(waves(self.template)):
            requests = {
                k: self.event("Delete", k, self.properties[k], physical_resource_id=self.physical[k])
                for k in wave
                if k in self.physical
            }
            if self._send(requests, outcome, track=False):
                outcome.status = "DELETE_FAILED"
                return outcome
        self.physical.clear()
        self.attributes.clear()
        return outcome

    # -- mechanics ----------------------------------------------------------------------------------------------

    def _send(
        self,
        requests: dict[str, dict[str, Any]],
        outcome: Outcome,
        record_into: Outcome | None = None,
        track: bool = True,
    ) -> bool:
        """Send requests at once; record responses; True when one failed (the operation's first failure wins)."""
        if not requests:
            return False
        responses = run_concurrently(self.provider, list(requests.values()))
        failed = False
        for (logical_id, request), response in zip(requests.items(), responses, strict=True):
            (record_into or outcome).responses.setdefault(logical_id, []).append(response)
            if response.status == "FAILED":
                if not failed and not outcome.reason:
                    outcome.reason = response.reason
                    outcome.status = {"Create": "ROLLBACK_COMPLETE", "Update": "UPDATE_ROLLBACK_COMPLETE"}.get(
                        request["RequestType"], outcome.status
                    )
                failed = True
                if request["RequestType"] == "Create":
                    # CloudFormation keeps the physical id of a failed create, to delete it on rollback.
                    self.physical[logical_id] = response.physical_resource_id
                continue
            if track:
                self.physical[logical_id] = response.physical_resource_id
                self.attributes[logical_id] = response.data or {}
        return failed

    def _rollback_update(self, updated: list[str], previous: dict[str, dict[str, Any]], outcome: Outcome) -> None:
        """Send each updated resource an Update back to its previous properties, under the physical id it has now
        (the new one for an update that succeeded, the old one for the update that failed); then delete the
        physical ids the rollback moved away from."""
        outcome.status = "UPDATE_ROLLBACK_COMPLETE"
        current = {k: self.physical[k] for k in updated}
        rollback = {
            k: self.event("Update", k, previous[k], physical_resource_id=current[k], old_properties=self.properties[k])
            for k in updated
        }
        self._send(rollback, Outcome("ROLLBACK"), record_into=outcome)
        self.properties.update({k: previous[k] for k in updated})
        abandoned = {
            k: self.event("Delete", k, previous[k], physical_resource_id=current[k])
            for k in updated
            if self.physical[k] != current[k]
        }
        self._send(abandoned, Outcome("CLEANUP"), record_into=outcome, track=False)

    def _rollback_create(self, outcome: Outcome) -> None:
        for wave in reversed(waves(self.template)):
            requests = {
                k: self.event("Delete", k, self.properties[k], physical_resource_id=self.physical[k])
                for k in wave
                if k in self.physical
            }
            self._send(requests, Outcome("ROLLBACK"), record_into=outcome, track=False)
        self.physical.clear()
        self.attributes.clear()

"""A training job's quality gate, final metrics and warm pool through the whole lifecycle, offline.

The TrainingGate test stack (stacks.py: Train, gated and with a 10-minute warm pool, and Evaluate, which reads its
model and its final validation:auc) is deployed through the lifecycle harness (CloudFormation's rules, the Provider
framework's waiter, the packaged handler) into moto over HTTP, with the emulator reporting the final metrics.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cdk_processing.handler import kinds
from cfn import Provider, job_resources
from emulator import Outcome, SageMakerEmulator
from harness import DeployedStack, describe

PASSING = {"validation:auc": 0.9100000262260437, "validation:loss": 0.25}  # 0.91 in single precision


@pytest.fixture
def template(synthesized) -> dict[str, Any]:
    """The gated job and its reader (the stack's long-wait job left out: test_long_wait covers the signal)."""
    full = copy.deepcopy(synthesized.templates["training_gate"])
    for logical_id in [k for k in full["Resources"] if k.startswith("TrainLong")]:
        del full["Resources"][logical_id]
    return full


def ids(template: dict[str, Any]) -> tuple[str, str]:
    jobs = job_resources(template)
    return next(k for k in jobs if k.startswith("Train")), next(k for k in jobs if k.startswith("Evaluate"))


def finishing(emulator: SageMakerEmulator, metrics: dict[str, float], **outcome: Any) -> None:
    """Every job completes at its first Describe; training jobs report ``metrics``."""
    emulator.plan(Outcome("Completed", after_describes=1, final_metrics=metrics, **outcome))


def deployed(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> tuple[DeployedStack, str, str]:
    """The stack created, its training job passing the gate: the stack, and the logical ids of Train, Evaluate."""
    finishing(emulator, PASSING)
    stack = DeployedStack(provider, template)
    assert stack.deploy().ok
    return (stack, *ids(template))


def with_request(template: dict[str, Any], logical_id: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    node = changed["Resources"][logical_id]["Properties"]["Request"]
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return changed


KEEP_ALIVE = ("ResourceConfig", "KeepAlivePeriodInSeconds")


def test_a_job_that_meets_its_gate_deploys_and_its_reader_gets_the_final_metric(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> None:
    finishing(emulator, PASSING)
    stack = DeployedStack(provider, template)
    outcome = stack.deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    train, evaluate = ids(template)
    assert stack.attributes[train][kinds.FINAL_METRIC_VALUES] == "0.91"
    assert stack.properties[evaluate]["Request"]["Environment"] == {"TRAINED_AUC": "0.91"}
    assert stack.properties[train][kinds.PROP_FINAL_METRICS] == ["validation:auc"]
    assert stack.attributes[train][kinds.SAVINGS_ATTRIBUTE] == "0.0"
    # The completed job keeps its pool, billed, for the next run.
    assert emulator.pool(stack.physical[train]) == {"Status": "Available"}


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        pytest.param(
            {"validation:auc": 0.8125, "validation:loss": 0.25},
            "validation:auc is 0.8125, the gate validation:auc >= 0.85",
            id="a metric below its threshold",
        ),
        pytest.param(
            {"validation:auc": 0.875, "validation:loss": 0.5},
            "validation:loss is 0.5, the gate validation:loss < 0.5",
            id="a metric at a strict threshold",
        ),
        pytest.param(
            {"validation:loss": 0.25},
            "no final value for validation:auc >= 0.85: the job reported validation:loss=0.25; its metric "
            r"definitions are validation:auc (regex validation-auc=([0-9\.]+)), validation:loss",
            id="a metric without a final value",
        ),
    ],
)
def test_a_job_that_misses_its_gate_fails_the_create_its_reader_never_runs_and_its_pool_is_released(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any], metrics: dict[str, float], expected: str
) -> None:
    finishing(emulator, metrics)
    stack = DeployedStack(provider, template)
    outcome = stack.deploy()

    train, evaluate = ids(template)
    assert outcome.status == "ROLLBACK_COMPLETE"
    (name,) = emulator.jobs  # the evaluation never started
    assert outcome.reason.startswith(f"Error: training job {name} completed but failed its quality gate: ")
    assert expected in outcome.reason
    assert evaluate not in outcome.responses
    # The rollback deleted the job's resource, which released the pool it held (it bills until released).
    assert [r.status for r in outcome.responses[train]] == ["FAILED", "SUCCESS"]
    assert emulator.pool(name) == {"Status": "Terminated"}
    assert emulator.calls["UpdateTrainingJob"] == 1


def test_an_update_whose_job_misses_the_gate_rolls_back_and_leaves_its_reader_untouched(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> None:
    stack, train, evaluate = deployed(provider, emulator, template)
    before = dict(stack.physical)
    evaluated = describe(kinds.PROCESSING, before[evaluate])
    evaluated.pop("ResponseMetadata")
    finishing(emulator, {"validation:auc": 0.5, "validation:loss": 0.25})
    retrained = with_request(template, train, ("HyperParameters", "num_round"), "200")

    outcome = stack.update(retrained)

    assert outcome.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "validation:auc is 0.5, the gate validation:auc >= 0.85" in outcome.reason
    # The reader was neither updated nor run again: it still reads the model that passed.
    assert evaluate not in outcome.responses
    assert stack.physical == before
    assert {k: v for k, v in describe(kinds.PROCESSING, before[evaluate]).items() if k in evaluated} == evaluated
    assert stack.attributes[train][kinds.FINAL_METRIC_VALUES] == "0.91"
    # The retrained job took over the first one's pool; the rollback's cleanup released the pool it left with.
    (new,) = set(emulator.jobs) - set(before.values())
    assert emulator.pool(before[train]) == {"Status": "Reused", "ReusedByJob": new}
    assert emulator.pool(new) == {"Status": "Terminated"}


def test_a_change_of_keep_alive_alone_updates_the_job_in_place_without_training_again(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> None:
    stack, train, _ = deployed(provider, emulator, template)
    job = stack.physical[train]
    creates = emulator.calls["CreateTrainingJob"]

    outcome = stack.update(with_request(template, train, KEEP_ALIVE, 1800))

    assert outcome.status == "UPDATE_COMPLETE", outcome.reason
    assert stack.physical[train] == job
    assert emulator.calls["CreateTrainingJob"] == creates
    assert describe(kinds.TRAINING, job)["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 1800
    assert emulator.pool(job) == {"Status": "Available"}
    # Leaving keep_alive out releases the pool, still without a new job.
    unpooled = copy.deepcopy(template)
    del unpooled["Resources"][train]["Properties"]["Request"]["ResourceConfig"]["KeepAlivePeriodInSeconds"]
    assert stack.update(unpooled).ok
    assert stack.physical[train] == job and emulator.calls["CreateTrainingJob"] == creates
    assert emulator.pool(job) == {"Status": "Terminated"}


def test_a_new_run_takes_over_the_pool_and_the_replaced_job_s_delete_leaves_it_alone(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> None:
    stack, train, evaluate = deployed(provider, emulator, template)
    first = stack.physical[train]

    outcome = stack.update(with_request(template, train, ("HyperParameters", "num_round"), "200"))

    assert outcome.status == "UPDATE_COMPLETE", outcome.reason
    second = stack.physical[train]
    assert second != first
    # Same role, instances, volume and network: the run started on the first one's pool, which the cleanup's
    # delete of the first job left to it; the new job holds it now.
    assert emulator.pool(first) == {"Status": "Reused", "ReusedByJob": second}
    assert emulator.pool(second) == {"Status": "Available"}
    assert emulator.calls["UpdateTrainingJob"] == 0
    # The reader ran again on the new model.
    assert evaluate in outcome.responses


def test_a_delete_releases_the_pool_and_a_job_of_someone_else_is_never_touched(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any]
) -> None:
    stack, train, _ = deployed(provider, emulator, template)
    job = stack.physical[train]

    assert stack.destroy().status == "DELETE_COMPLETE"

    assert emulator.pool(job) == {"Status": "Terminated"}
    assert emulator.calls["UpdateTrainingJob"] == 1
    assert emulator.status(job) == "Completed"


def test_a_spot_job_s_savings_are_an_attribute_and_in_the_completion_log(
    provider: Provider, emulator: SageMakerEmulator, template: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    finishing(emulator, PASSING, runs_for=None)
    emulator.plan(Outcome(runs_for=1000, final_metrics=PASSING, billed_share=0.368), name_contains="-train-")
    stack = DeployedStack(provider, template)
    outcome = stack.deploy()

    assert outcome.status == "CREATE_COMPLETE", outcome.reason
    train, _ = ids(template)
    data = stack.attributes[train]
    run, billed = int(data["TrainingTimeInSeconds"]), int(data["BillableTimeInSeconds"])
    assert run >= 1000 and billed == round(run * 0.368)  # the job ended at the first poll after 1000 s
    assert data["SavingsPercent"] == f"{(1 - billed / run) * 100:.1f}" == "63.2"
    completed = [line for line in capsys.readouterr().out.splitlines() if '"completed"' in line]
    assert any('"savings_percent": "63.2"' in line and f'"billed_seconds": {billed}' in line for line in completed)

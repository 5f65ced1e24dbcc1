"""``ExperimentConfig``: a job's place in SageMaker Experiments."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExperimentConfig:
    """Associates the job, as a trial component, with a SageMaker experiment, trial and run.

    Each name is 1 to 120 letters or digits with hyphens between them. Default for each: not set.
    """

    experiment_name: str | None = None
    trial_name: str | None = None
    trial_component_display_name: str | None = None
    run_name: str | None = None


def render_experiment(config: ExperimentConfig) -> dict[str, str]:
    fields = {
        "ExperimentName": config.experiment_name,
        "TrialName": config.trial_name,
        "TrialComponentDisplayName": config.trial_component_display_name,
        "RunName": config.run_name,
    }
    return {k: v for k, v in fields.items() if v is not None}

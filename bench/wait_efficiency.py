"""Wait efficiency: how soon a deploy learns that its job ended, and how many DescribeProcessingJob calls it made.

Offline, in the lifecycle harness of ``test/``: the handler as the synthesized Lambda asset ships it (imported from
the cloud assembly, as ``test/conftest.py`` does), SageMaker emulated by moto over HTTP (``emulator.py``), the
Provider framework's waiter (``cfn.Provider``) and CloudFormation's create (``harness.DeployedStack``), on a fake
clock (``cfn.FakeClock``) so an hour of waiting takes a second.

- The library: the query interval and total timeout of the synthesized waiter state machine (30 s, 55 min).
- The hand-rolled Provider baseline's schedule: the Provider's default 5-second query interval, one-hour total
  timeout, simulated with this library's handler (the baseline's own inline handler makes one Describe per poll
  too, and no Describe before its create).

A job runs for T plus a phase: the emulator ends it at the first Describe at or after ``CreationTime + runtime``
(and stamps ProcessingEndTime there, so the delay is measured from ``CreationTime + runtime``, the job's real end).
Since the waiter polls at a fixed interval from the job's creation, the delay depends only on where the end falls
between two polls: each T runs with PHASES ends evenly spread over one query interval, which gives the delay's
distribution over a uniformly random end. Not modelled: Lambda and Step Functions latency (about a second per
poll), CloudFormation's handling of the response.

Run: ``.venv/bin/python bench/wait_efficiency.py``
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from common import LIBRARY, PROVIDER, STACK_NAME, library_add_jobs, median, synth, table, use_test_harness

use_test_harness()

from cfn import FakeClock, Provider, job_resources, resolve  # noqa: E402
from emulator import Outcome, SageMakerEmulator, environment  # noqa: E402
from harness import DeployedStack  # noqa: E402

MINUTE = 60.0
RUNTIMES = (10 * MINUTE, 40 * MINUTE)  # within the library's 45-minute max_runtime and 50-minute wait budget
PHASES = 4  # job ends spread over one query interval: T + (k + 0.5) * interval / PHASES
# Job runtimes of the issue that no deploy can wait for today: CloudFormation waits at most one hour for a custom
# resource (the library's wait budget is 50 minutes, its max_runtime 45).
UNSUPPORTED_RUNTIMES = ("1 h", "6 h")
LIBRARY_UNSUPPORTED = "not supported in wait mode (one-hour CloudFormation limit; long mode is issue 5)"
BASELINE_UNSUPPORTED = "not possible (CloudFormation waits at most one hour for a custom resource)"
BASELINE_INTERVAL = 5.0  # custom_resources.Provider's default query_interval
BASELINE_TIMEOUT = 3600.0  # the baseline's total_timeout: CloudFormation's one hour


class PackagedHandler:
    """The handler from a synthesized one-job stack's Lambda asset, with its waiter's schedule."""

    def __init__(self, workdir: Path) -> None:
        self.template = synth(library_add_jobs, 1, str(workdir))
        functions = {
            r["Properties"]["Handler"]: r
            for r in self.template["Resources"].values()
            if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("Handler", "").startswith("index.")
        }
        on_event = functions["index.on_event"]
        asset_hash = on_event["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        manifest = json.loads((workdir / f"{STACK_NAME}.assets.json").read_text())
        self.asset_dir = workdir / manifest["files"][asset_hash]["source"]["path"]
        # The handler reads its environment (the wait budget) when imported.
        os.environ.update(on_event["Properties"]["Environment"]["Variables"])
        state_machine = next(
            r for r in self.template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
        )
        definition = json.loads(resolve(state_machine["Properties"]["DefinitionString"], self.template))
        retry = definition["States"]["framework-isComplete-task"]["Retry"][0]
        self.query_interval = float(retry["IntervalSeconds"])
        self.total_timeout = float(retry["IntervalSeconds"] * retry["MaxAttempts"])
        sys.path.insert(0, str(self.asset_dir))
        for name in (p.stem for p in self.asset_dir.glob("*.py")):  # the asset's modules, fresh
            sys.modules.pop(name, None)
        self.module: ModuleType = importlib.import_module("index")
        assert Path(self.module.__file__ or "").parent == self.asset_dir


def _deploy_once(
    emulator: SageMakerEmulator, handler: PackagedHandler, interval: float, timeout: float, runtime: float
) -> dict[str, float]:
    """Deploy the one-job stack with a job that runs ``runtime`` seconds; when the deploy learned of its end."""
    clock = FakeClock()
    emulator.reset()
    emulator.clock = clock
    calls = sys.modules["calls"]  # the handler's call layer: its waits are on the fake clock
    calls.clock = clock
    calls.sleep = clock.sleep
    emulator.plan(Outcome("Completed", runs_for=runtime))
    stack = DeployedStack(Provider(handler.module, clock, interval, timeout), handler.template)
    with contextlib.redirect_stdout(io.StringIO()):  # the handler's JSON log lines
        outcome = stack.deploy()
    assert outcome.ok, outcome.reason
    (logical_id,) = job_resources(handler.template)
    job = emulator.jobs[stack.physical[logical_id]]
    created = job.creation_time.timestamp()
    learned = clock()  # the SUCCESS response: the waiter's last poll
    (response,) = outcome.responses[logical_id]
    return {
        "delay": learned - (created + runtime),
        "describes": emulator.calls["DescribeProcessingJob"],
        "polls": response.polls,
        "waited": learned - created,
    }


def measure() -> dict[str, Any]:
    schedules: dict[str, Any] = {}
    emulator = SageMakerEmulator()
    # The moto server answers from a thread of this process: a 1 ms GIL switch interval (5 ms by default) halves
    # the wall time of each Describe round trip. Only the run's duration changes, not what is measured.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        with environment(emulator.environment()), tempfile.TemporaryDirectory(prefix="bench-asset-") as workdir:
            handler = PackagedHandler(Path(workdir))
            for name, interval, timeout in (
                (LIBRARY, handler.query_interval, handler.total_timeout),
                (f"{PROVIDER}, simulated", BASELINE_INTERVAL, BASELINE_TIMEOUT),
            ):
                rows = {}
                for runtime in RUNTIMES:
                    runs = [
                        _deploy_once(emulator, handler, interval, timeout, runtime + (k + 0.5) * interval / PHASES)
                        for k in range(PHASES)
                    ]
                    rows[runtime] = {
                        "delays": [r["delay"] for r in runs],
                        "describes": [r["describes"] for r in runs],
                        "polls": [r["polls"] for r in runs],
                        "per_hour": [r["describes"] * 3600.0 / r["waited"] for r in runs],
                    }
                unsupported = LIBRARY_UNSUPPORTED if name == LIBRARY else BASELINE_UNSUPPORTED
                schedules[name] = {
                    "interval": interval,
                    "timeout": timeout,
                    "runtimes": rows,
                    "unsupported": unsupported,
                }
    finally:
        sys.setswitchinterval(switch_interval)
        emulator.stop()
    return {"schedules": schedules, "phases": PHASES}


def _minutes(seconds: float) -> str:
    return f"{seconds / MINUTE:g} min"


def render(results: dict[str, Any]) -> str:
    rows = []
    for name, schedule in results["schedules"].items():
        for runtime, r in schedule["runtimes"].items():
            rows.append(
                [
                    name,
                    f"{schedule['interval']:g} s / {_minutes(schedule['timeout'])}",
                    _minutes(runtime),
                    f"{median(r['delays']):.1f}",
                    f"{min(r['delays']):.1f} – {max(r['delays']):.1f}",
                    f"{median(r['describes']):g}",
                    f"{median(r['polls']):g}",
                    f"{median(r['per_hour']):.0f}",
                    f"{min(r['per_hour']):.0f} – {max(r['per_hour']):.0f}",
                ]
            )
        for runtime in UNSUPPORTED_RUNTIMES:
            rows.append([name, "", runtime, schedule["unsupported"], "", "", "", "", ""])
    headers = [
        "subject",
        "query interval / total timeout",
        "job runs T",
        "delay median s",
        "delay min – max s",
        "Describe calls",
        "isComplete polls",
        "Describe per job-hour median",
        "per job-hour min – max",
    ]
    return "\n\n".join(
        [
            "## Wait efficiency",
            f"Lifecycle harness, fake clock: one job created by a CloudFormation create, running T plus "
            f"{results['phases']} end phases spread evenly over one query interval. Delay = the deploy's SUCCESS (the "
            "waiter's last poll) minus the job's end. Describe calls = every DescribeProcessingJob of the deploy "
            "(one per isComplete poll; the waiter's first poll, at once, is answered without one, as the job was "
            "submitted less than 20 s before); per job-hour "
            "= Describe calls per hour from the job's creation to SUCCESS. **The Provider baseline's row simulates the "
            "baseline's schedule (5 s, one hour) with this library's handler.** Lambda, Step Functions and "
            "CloudFormation latency are not modelled.",
            table(headers, rows),
            "Steady state: "
            + "; ".join(
                f"{name}: {3600 / schedule['interval']:g} isComplete polls per hour"
                for name, schedule in results["schedules"].items()
            )
            + ". onEvent makes no Describe call: CreateProcessingJob's refusal of a name in use is how a redelivered "
            "event finds its job.",
        ]
    )


def main() -> None:
    print(render(measure()))


if __name__ == "__main__":
    main()

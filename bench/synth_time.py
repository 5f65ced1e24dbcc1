"""Synth time of N = 100 jobs: this library against ``CfnProcessingJob`` and the hand-rolled Provider baseline.

How it is measured, and why:
- In process, with a fresh ``App`` for every synth (construct tree built, then ``app.synth()`` writing the cloud
  assembly to a fresh directory), timed from ``App()`` to the written template. A fresh subprocess per synth would
  add jsii's start-up (a Node.js process loading aws-cdk-lib, seconds) to every figure alike and cost that many
  start-ups: too slow for the whole run's five-minute budget and noise on the comparison. The start-up, which a
  user's ``cdk synth`` pays once whatever the stack holds, is measured once in a fresh subprocess and shown beside.
- First a warm-up synth of each subject (N = 10, discarded): the first use of a module pays jsii's loading of its
  classes.
- Then the subjects alternate within each repetition, the order rotated each time, so that drift over the run
  (the jsii kernel's heap grows with every App, the machine's load changes) falls on every subject alike; the
  ratio is also given per repetition, from synths that ran side by side.

Run: ``.venv/bin/python bench/synth_time.py [repetitions]``
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from typing import Any

from common import CFN, LIBRARY, PROVIDER, ROOT, SUBJECTS, median, synth, table

N = 100
REPETITIONS = 5
COMPARED = (LIBRARY, CFN, PROVIDER)

_STARTUP = """
import time
t = time.perf_counter()
import aws_cdk
import cdk_processing
aws_cdk.App()
print(time.perf_counter() - t)
"""


def startup_seconds() -> float:
    """jsii's per-process start-up: importing aws-cdk-lib and this library and creating an App, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _STARTUP], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def _timed_synth(name: str, n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    synth(SUBJECTS[name], n)
    return time.perf_counter() - start


def measure(repetitions: int = REPETITIONS) -> dict[str, Any]:
    for name in COMPARED:  # warm-up, discarded
        _timed_synth(name, 10)
    times: dict[str, list[float]] = {name: [] for name in COMPARED}
    for rep in range(repetitions):
        order = COMPARED[rep % len(COMPARED) :] + COMPARED[: rep % len(COMPARED)]
        for name in order:
            times[name].append(_timed_synth(name, N))
    ratios = {
        other: {
            "of_medians": median(times[LIBRARY]) / median(times[other]),
            "per_repetition": [lib / o for lib, o in zip(times[LIBRARY], times[other], strict=True)],
        }
        for other in (CFN, PROVIDER)
    }
    return {"n": N, "repetitions": repetitions, "times": times, "ratios": ratios, "startup": startup_seconds()}


def render(results: dict[str, Any]) -> str:
    rows = [
        [name, f"{median(t):.2f}", f"{min(t):.2f} – {max(t):.2f}", " ".join(f"{x:.2f}" for x in t)]
        for name, t in results["times"].items()
    ]
    ratio_rows = [
        [
            f"{LIBRARY} / {other}",
            f"{r['of_medians']:.2f}x",
            f"{min(r['per_repetition']):.2f}x – {max(r['per_repetition']):.2f}x",
        ]
        for other, r in results["ratios"].items()
    ]
    return "\n\n".join(
        [
            "## Synth time",
            f"N = {results['n']} jobs in one stack, {results['repetitions']} repetitions, subjects alternated within "
            "each repetition (order rotated), in one process with a fresh `App` each time after a discarded warm-up; "
            "from `App()` to the written cloud assembly.",
            table(["subject", "median s", "min – max s", "each repetition s"], rows),
            table(["ratio", "of medians", "per repetition min – max"], ratio_rows),
            f"Not included above, paid once per `cdk synth` whatever the stack holds: jsii start-up (Node.js, "
            f"importing aws-cdk-lib and cdk_processing, one `App`) {results['startup']:.2f} s in a fresh process.",
        ]
    )


def main() -> None:
    repetitions = int(sys.argv[1]) if len(sys.argv) > 1 else REPETITIONS
    print(render(measure(repetitions)))


if __name__ == "__main__":
    main()

"""Issue 18's figures, each against its target and against the committed baseline (``baseline.json``):

- jsii round trips per default job (``round_trips.py``; build and synth, the provider amortized over N = 50): ≤ 30;
- synth of 100 bench jobs against 100 ``CfnProcessingJob`` with their roles, in process (``synth_time.py``'s
  ratio of medians, taken from the caller or measured here): ≤ 2x;
- the same as whole processes (``subject.py`` in a fresh Python each, jsii's start-up included, A/B alternated,
  ratio of the medians of wall time);
- the same for a default training job, and template bytes per default and realistic training job (code asset,
  two channels, per-run checkpoints, VPC, KMS);
- template bytes per extra job, default and realistic job (code asset, input, output, VPC, KMS): ≤ 4 KB (4,096)
  for the realistic job. Two sizes: as the CLI writes it to ``cdk.out`` (JSON indented by one space, with the CLI's
  default context: each resource's construct path in its Metadata), which is what the CLI uploads (a stack of the
  default synthesizer publishes that file as an asset and deploys it by TemplateURL; only without a template asset
  does the CLI send YAML itself), and compact JSON without that Metadata (what a minified template synthesized with
  ``--no-path-metadata`` would take).

``--check`` exits non-zero when a figure is worse than the baseline by more than its tolerance (round trips and
bytes are deterministic: 2% and 1%; timing ratios 25%), or past its target when the baseline met it. ``--quick``
leaves out the timings (round trips and bytes take about a minute). ``--write-baseline`` records this run's figures (a
``--quick`` run keeps the baseline's timings).

Run: ``.venv/bin/python bench/perf.py [--quick] [--check] [--write-baseline]``
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import round_trips
from common import (
    BENCH_DIR,
    CFN_REALISTIC,
    LIBRARY_REALISTIC,
    STACK_NAME,
    library_default,
    realistic_subjects,
    synth,
    table,
    template_bytes,
    training_default,
    training_realistic,
    without_cli_metadata,
    written_bytes,
)
from template_cost import RESOURCE_LIMIT, TEMPLATE_LIMIT, largest_n

BASELINE = BENCH_DIR / "baseline.json"
WHOLE_N = 100
WHOLE_REPETITIONS = 3

# figure: (target, unit, tolerance as a share of the baseline)
TARGETS: dict[str, tuple[float, str, float]] = {
    "round trips per default job": (30, "", 0.02),
    "synth ratio in process (100 bench jobs / L1)": (2, "x", 0.25),
    "synth ratio whole process (100 bench jobs / L1)": (2, "x", 0.25),
    "template bytes per default job (as written)": (4096, " B", 0.01),
    "template bytes per realistic job (as written)": (4096, " B", 0.01),
    "template bytes per realistic job (compact)": (4096, " B", 0.01),
    "round trips per default training job": (30, "", 0.02),
    "template bytes per default training job (as written)": (4096, " B", 0.01),
    "template bytes per realistic training job (as written)": (4096, " B", 0.01),
    "template bytes per realistic training job (compact)": (4096, " B", 0.01),
}


# Two stacks past the first jobs: from the third job or so of alike jobs, what they use alike is in one policy of the
# stack (``_policy.attach_common``), made once; N = 1 would count it in every job.
BYTES_N = (10, 19)


def _per_job_bytes(add_jobs: Any) -> dict[str, float]:
    """Bytes per extra job from N = 10 and N = 19 (``BYTES_N``): as the cdk CLI writes them to cdk.out (its default
    context: every resource's construct path in its Metadata), and compact without that Metadata (the least:
    minified, synthesized with ``--no-path-metadata``); and which of CloudFormation's limits a stack of such jobs
    meets first (the line through them: the most jobs within 500 resources and within 1 MB as written)."""
    written, compact, resources = {}, {}, {}
    low, high = BYTES_N
    for n in BYTES_N:
        with tempfile.TemporaryDirectory(prefix="bench-bytes-") as outdir:
            template = synth(add_jobs, n, outdir, as_cli=True)
            written[n] = (Path(outdir) / f"{STACK_NAME}.template.json").stat().st_size
            assert written[n] == written_bytes(template), "written_bytes() no longer matches the file cdk writes"
            compact[n] = template_bytes(without_cli_metadata(template))
            resources[n] = len(template["Resources"])
    span = high - low
    per_job = {"written": (written[high] - written[low]) / span, "compact": (compact[high] - compact[low]) / span}
    per_job_resources = (resources[high] - resources[low]) / span
    return {
        **per_job,
        "resources": per_job_resources,
        "max_jobs_resources": largest_n(resources[low], per_job_resources, RESOURCE_LIMIT),
        "max_jobs_bytes": largest_n(written[low], per_job["written"], TEMPLATE_LIMIT),
    }


def whole_process(repetitions: int = WHOLE_REPETITIONS, n: int = WHOLE_N) -> dict[str, Any]:
    """Wall seconds of ``subject.py`` for the library and the L1 in fresh processes, alternated, after a warm-up."""
    times: dict[str, list[float]] = {"library": [], "cfn": []}
    for rep in range(repetitions + 1):
        order = ["library", "cfn"] if rep % 2 == 0 else ["cfn", "library"]
        for name in order:
            with tempfile.TemporaryDirectory(prefix="bench-whole-") as outdir:
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, str(BENCH_DIR / "subject.py"), name, str(n), outdir],
                    check=True,
                    capture_output=True,
                    env={
                        **os.environ,
                        "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), os.environ.get("PYTHONPATH", "")]),
                    },
                )
                if rep > 0:  # the first of each is a warm-up (disk caches)
                    times[name].append(time.perf_counter() - start)
    return {"times": times, "ratio": statistics.median(times["library"]) / statistics.median(times["cfn"])}


def measure(quick: bool = False, in_process_ratio: float | None = None) -> dict[str, Any]:
    figures: dict[str, float] = {}
    rt = round_trips.per_job(library_default, round_trips.N)
    figures["round trips per default job"] = rt["per_job"]
    details: dict[str, Any] = {"round_trips": rt}
    default = _per_job_bytes(library_default)
    realistic = _per_job_bytes(realistic_subjects()[LIBRARY_REALISTIC])
    l1_realistic = _per_job_bytes(realistic_subjects()[CFN_REALISTIC])
    figures["template bytes per default job (as written)"] = default["written"]
    figures["template bytes per realistic job (as written)"] = realistic["written"]
    figures["template bytes per realistic job (compact)"] = realistic["compact"]
    training_rt = round_trips.per_job(training_default, round_trips.N)
    figures["round trips per default training job"] = training_rt["per_job"]
    details["training_round_trips"] = training_rt
    training = _per_job_bytes(training_default)
    training_real = _per_job_bytes(training_realistic)
    figures["template bytes per default training job (as written)"] = training["written"]
    figures["template bytes per realistic training job (as written)"] = training_real["written"]
    figures["template bytes per realistic training job (compact)"] = training_real["compact"]
    details["bytes"] = {
        "default": default,
        "realistic": realistic,
        "L1 realistic": l1_realistic,
        "training default": training,
        "training realistic": training_real,
    }
    if not quick:
        if in_process_ratio is None:
            import synth_time

            in_process_ratio = synth_time.measure(3)["ratios"][synth_time.CFN]["of_medians"]
        figures["synth ratio in process (100 bench jobs / L1)"] = in_process_ratio
        whole = whole_process()
        figures["synth ratio whole process (100 bench jobs / L1)"] = whole["ratio"]
        details["whole_process"] = whole
    return {"figures": figures, "details": details}


def _baseline() -> dict[str, float]:
    return dict(json.loads(BASELINE.read_text())) if BASELINE.exists() else {}


def verdicts(figures: dict[str, float]) -> list[tuple[str, float, float, float | None, str, bool]]:
    """Per figure: name, value, target, baseline, verdict, whether ``--check`` fails on it."""
    baseline = _baseline()
    rows = []
    for name, value in figures.items():
        target, unit, tolerance = TARGETS[name]
        base = baseline.get(name)
        meets = value <= target
        regressed = base is not None and value > base * (1 + tolerance)
        lost_target = not meets and (base is None or base <= target)
        verdict = "PASS" if meets else f"MISS by {value - target:.3g}{unit} ({(value - target) / target:.0%})"
        if regressed:
            verdict += f"; REGRESSION against the baseline ({base:.4g}{unit})"
        rows.append((name, value, target, base, verdict, regressed or lost_target))
    return rows


def render(results: dict[str, Any]) -> str:
    rows = [
        [name, f"≤ {target:g}", f"{value:,.1f}", "" if base is None else f"{base:,.1f}", verdict]
        for name, value, target, base, verdict, _ in verdicts(results["figures"])
    ]
    details = results["details"]
    rt = details["round_trips"]
    byte_rows = [
        [
            name,
            f"{b['written']:,.0f}",
            f"{b['compact']:,.0f}",
            f"{b['resources']:.2f}",
            b["max_jobs_resources"],
            b["max_jobs_bytes"],
            "500 resources" if b["max_jobs_resources"] <= b["max_jobs_bytes"] else "1 MB",
        ]
        for name, b in details["bytes"].items()
    ]
    parts = [
        "## Issue 18: round trips, synth ratios, template bytes",
        table(["figure", "target", "measured", "baseline", "result"], rows),
        f"Round trips: N = {rt['n']} default jobs, {rt['per_job']:.1f} per job ({rt['build']:.1f} build, "
        f"{rt['synth']:.1f} synth), marginal {rt['marginal']:.1f}. `bench/round_trips.py --sites` lists them by "
        "call site.",
        f"Training: {details['training_round_trips']['per_job']:.1f} round trips per default training job "
        f"(N = {details['training_round_trips']['n']}).",
        f"Template bytes and resources per extra job (N = {BYTES_N[1]} less N = {BYTES_N[0]}, over "
        f"{BYTES_N[1] - BYTES_N[0]}), bytes as written to cdk.out (what the CLI uploads) and as compact JSON; the most "
        "jobs a stack holds within each of CloudFormation's limits (the line through them):",
        table(
            [
                "subject",
                "as written",
                "compact",
                "resources",
                "max N in 500 resources",
                "max N in 1 MB (as written)",
                "bound by",
            ],
            byte_rows,
        ),
    ]
    whole = details.get("whole_process")
    if whole is not None:
        parts.append(
            f"Whole process ({WHOLE_N} bench jobs, wall s, fresh Python per run): library "
            + " ".join(f"{t:.1f}" for t in whole["times"]["library"])
            + ", L1 "
            + " ".join(f"{t:.1f}" for t in whole["times"]["cfn"])
        )
    return "\n\n".join(parts)


def main() -> None:
    quick = "--quick" in sys.argv
    results = measure(quick)
    print(render(results))
    if "--write-baseline" in sys.argv:
        # A --quick run records its figures and keeps the baseline's timings.
        figures = {**_baseline(), **{k: round(v, 2) for k, v in results["figures"].items()}}
        BASELINE.write_text(json.dumps(figures, indent=1) + "\n")
    if "--check" in sys.argv:
        failed = [name for name, *_, fails in verdicts(results["figures"]) if fails]
        if failed:
            print(f"\nperf check FAILED: {', '.join(failed)}", file=sys.stderr)
            sys.exit(1)
        print("\nperf check passed", file=sys.stderr)


if __name__ == "__main__":
    main()

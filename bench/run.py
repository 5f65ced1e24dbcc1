"""All the benchmarks of issue 7 in one run: one markdown document with the machine, the tables and the targets.

Runs template_cost, synth_time, wait_efficiency, handler_size and local_data in this process (one jsii start-up
for all) and checks the issue's targets for this library. About three minutes on two cores.

Also issue 18's figures (``perf.py``: round trips per job, in-process and whole-process ratios, template bytes per
job); ``--check`` exits non-zero on a regression of those against ``baseline.json`` (see ``perf.py``).

Run: ``.venv/bin/python bench/run.py [--check]``
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import handler_size
import local_data
import perf
import synth_time
import template_cost
import wait_efficiency
from common import CFN, LIBRARY, median, table


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    rows = [
        ["date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")],
        ["platform", platform.platform()],
        ["CPU", f"{os.cpu_count()} x {_cpu_model()}"],
        ["Python", platform.python_version()],
        ["Node.js (jsii)", _node_version()],
        ["aws-cdk-lib", metadata.version("aws-cdk-lib")],
        ["moto", metadata.version("moto")],
    ]
    return table(["machine", ""], rows)


def _verdict(ok: bool, measured: float, target: float, unit: str = "") -> str:
    """PASS, or MISS and by how much (as a share of the target)."""
    if ok:
        return "PASS"
    return f"MISS: off by {abs(measured - target):.3g}{unit}, {abs(measured - target) / target:.0%} beyond the target"


def targets(results: dict[str, Any]) -> str:
    cost = results["template_cost"][LIBRARY]
    ratio = results["synth_time"]["ratios"][CFN]["of_medians"]
    waits = results["wait_efficiency"]["schedules"][LIBRARY]["runtimes"]
    worst_delay = max(median(r["delays"]) for r in waits.values())
    worst_rate = max(median(r["per_hour"]) for r in waits.values())
    runtimes = ", ".join(f"T = {t / 60:g} min" for t in waits)
    asset = results["handler_size"]["zipped"]
    limit = results["handler_size"]["limit"]
    rows = [
        [
            "resources per extra job (default mode)",
            "≤ 3",
            f"{cost['per_job']:.2f}",
            _verdict(cost["per_job"] <= 3, cost["per_job"], 3),
        ],
        [
            "jobs that fit in one stack (500 resources)",
            "≥ 150",
            str(cost["max_jobs"]),
            _verdict(cost["max_jobs"] >= 150, cost["max_jobs"], 150, " jobs"),
        ],
        [
            f"synth of 100 jobs / 100 bare `{CFN}` (median)",
            "≤ 2x",
            f"{ratio:.2f}x",
            _verdict(ratio <= 2, ratio, 2, "x"),
        ],
        [
            f"completion noticed after the job's end, median (worst of {runtimes})",
            "≤ 30 s",
            f"{worst_delay:.1f} s",
            _verdict(worst_delay <= 30, worst_delay, 30, " s"),
        ],
        [
            f"Describe calls per job-hour of waiting (worst of {runtimes})",
            "≤ 120",
            f"{worst_rate:.0f}",
            _verdict(worst_rate <= 120, worst_rate, 120, " calls/h"),
        ],
        [
            "handler asset, zipped",
            f"< {limit / 1024:g} KiB",
            f"{asset / 1024:.1f} KiB",
            _verdict(asset < limit, asset, limit, " bytes"),
        ],
    ]
    return "\n\n".join(["## Targets (issue 7, this library)", table(["target", "goal", "measured", "result"], rows)])


def main() -> None:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    sections = []
    for name, module in (
        ("template_cost", template_cost),
        ("synth_time", synth_time),
        ("wait_efficiency", wait_efficiency),
        ("handler_size", handler_size),
        ("local_data", local_data),
    ):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = module.measure()
        sections.append(module.render(results[name]))
    print("running perf (issue 18) ...", file=sys.stderr, flush=True)
    # The in-process ratio is synth_time's; round trips, bytes and the whole-process ratio are measured here.
    results["perf"] = perf.measure(in_process_ratio=results["synth_time"]["ratios"][CFN]["of_medians"])
    sections.insert(0, perf.render(results["perf"]))
    document = [
        "# cdk-processing benchmarks",
        machine(),
        targets(results),
        *sections,
        f"_Whole run: {time.perf_counter() - started:.0f} s (`.venv/bin/python bench/run.py`)._",
    ]
    print("\n\n".join(document))
    if "--check" in sys.argv:
        failed = [name for name, *_, fails in perf.verdicts(results["perf"]["figures"]) if fails]
        if failed:
            print(f"\nperf check FAILED: {', '.join(failed)}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()

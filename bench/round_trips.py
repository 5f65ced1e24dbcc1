"""jsii round trips: the requests Python writes to the jsii kernel (Node.js) to build and synthesize jobs.

Every kernel request (create, get, set, invoke, static invoke, and the completion of each callback from Node into
Python) goes through ``jsii._kernel.providers.process._NodeProcess.send``, one write and one read on the kernel's
pipe: the time the library spends waiting on Node grows with their count. This module wraps that method while a
subject is built (``App()`` and the jobs) and synthesized (``app.synth()``), and attributes each request to the
innermost frame of ``cdk_processing`` on the Python stack (``--sites``).

Per job: ``count(N) / N``, the stack's fixed part (the provider) amortized over N jobs as in a stack of N jobs: the
figure the target is defined on; marginal: ``(count(N) - count(1)) / (N - 1)``, what one more job costs.

Run: ``.venv/bin/python bench/round_trips.py [--sites] [N]``
"""

from __future__ import annotations

import collections
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aws_cdk as cdk
from jsii._kernel.providers import process

from common import (
    CFN,
    LIBRARY,
    LIBRARY_DEFAULT,
    STACK_NAME,
    SUBJECTS,
    AddJobs,
    library_default,
    realistic_subjects,
    table,
)

N = 50
SRC_MARKER = "cdk_processing"


class Counter:
    """Counts kernel requests by phase, by kind and (optionally) by the library's call site."""

    def __init__(self, sites: bool = False) -> None:
        self.phase = "idle"
        self.sites = sites
        self.by_phase: collections.Counter[str] = collections.Counter()
        self.by_kind: collections.Counter[tuple[str, str]] = collections.Counter()
        self.by_site: collections.Counter[tuple[str, str]] = collections.Counter()

    def record(self, request: Any) -> None:
        if self.phase == "idle":
            return
        kind = type(request).__name__.replace("Request", "").lstrip("_").lower()
        self.by_phase[self.phase] += 1
        self.by_kind[(self.phase, kind)] += 1
        if self.sites:
            site = "(outside cdk_processing)"
            for frame in reversed(traceback.extract_stack()[:-3]):
                if SRC_MARKER in frame.filename and "/bench/" not in frame.filename:
                    path = frame.filename.split(f"{SRC_MARKER}/", 1)[-1]
                    site = f"{path}:{frame.lineno} {frame.name}"
                    break
            self.by_site[(self.phase, site)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_phase.values())


@contextmanager
def counting(counter: Counter) -> Iterator[Counter]:
    original = process._NodeProcess.send

    def send(self: Any, request: Any, response_type: Any) -> Any:
        counter.record(request)
        return original(self, request, response_type)

    process._NodeProcess.send = send  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        process._NodeProcess.send = original  # type: ignore[method-assign]


def count(add_jobs: AddJobs, n: int, sites: bool = False) -> Counter:
    """The kernel requests of building (``App()`` and ``n`` jobs) and synthesizing one stack."""
    counter = Counter(sites)
    with counting(counter), tempfile.TemporaryDirectory(prefix="bench-rt-") as outdir:
        counter.phase = "build"
        app = cdk.App(outdir=outdir, context={"@aws-cdk/core:stackResourceLimit": 0})
        stack = cdk.Stack(app, STACK_NAME)
        add_jobs(stack, n)
        counter.phase = "synth"
        app.synth()
        counter.phase = "idle"
    return counter


def per_job(add_jobs: AddJobs, n: int = N) -> dict[str, Any]:
    """Round trips of ``n`` jobs, per job: with the stack's fixed part amortized (the target's figure) and marginal."""
    count(add_jobs, 2)  # warm-up: the first use of a class loads it
    one = count(add_jobs, 1)
    full = count(add_jobs, n)
    return {
        "n": n,
        "total": full.total,
        "per_job": full.total / n,
        "marginal": (full.total - one.total) / (n - 1),
        "build": full.by_phase["build"] / n,
        "synth": full.by_phase["synth"] / n,
    }


def measure(n: int = N, others: int = 10) -> dict[str, Any]:
    """The default job at ``n`` (the target's subject), the others at ``others``."""
    subjects = {LIBRARY: SUBJECTS[LIBRARY], CFN: SUBJECTS[CFN], **realistic_subjects()}
    results = {LIBRARY_DEFAULT: per_job(library_default, n)}
    results.update({name: per_job(add_jobs, others) for name, add_jobs in subjects.items()})
    return results


def render(results: dict[str, Any]) -> str:
    rows = [
        [
            name,
            r["n"],
            f"{r['per_job']:.1f}",
            f"{r['marginal']:.1f}",
            f"{r['build']:.1f}",
            f"{r['synth']:.1f}",
        ]
        for name, r in results.items()
    ]
    return "\n\n".join(
        [
            "## jsii round trips",
            "Kernel requests (create, get, set, invoke, callback completions) from `App()` to the written assembly, "
            "counted by wrapping jsii's `_NodeProcess.send`; per job = total / N (the stack's fixed part amortized), "
            "marginal = (total(N) - total(1)) / (N - 1).",
            table(["subject", "N", "per job", "marginal", "build per job", "synth per job"], rows),
        ]
    )


def sites(add_jobs: AddJobs, n: int) -> str:
    count(add_jobs, 2)
    counter = count(add_jobs, n, sites=True)
    rows = [[phase, site, f"{c / n:.2f}"] for (phase, site), c in counter.by_site.most_common() if c / n >= 0.05]
    kinds = [[phase, kind, f"{c / n:.2f}"] for (phase, kind), c in counter.by_kind.most_common()]
    return "\n\n".join(
        [
            f"{counter.total / n:.1f} round trips per job (N = {n})",
            table(["phase", "innermost cdk_processing frame", "per job"], rows),
            table(["phase", "kind", "per job"], kinds),
        ]
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else N
    if "--sites" in sys.argv:
        print(sites(library_default, n))
    else:
        print(render(measure(n, min(n, 10))))


if __name__ == "__main__":
    main()

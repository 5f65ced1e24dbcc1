"""Template cost: resources and template bytes for N = 1, 10 and 100 jobs in one stack, for each subject.

Resources added per extra job are ``(R100 - R10) / 90``; the largest N within CloudFormation's 500 resources per
stack comes from the line through N = 10 and N = 100 (``R(N) = R10 + (N - 10) * per_job``), and the same for the
template's 1 MB limit. Templates are synthesized in process (no CLI): the CLI's version reporting would add one
``AWS::CDK::Metadata`` resource to every stack alike.

Run: ``.venv/bin/python bench/template_cost.py``
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from common import SUBJECTS, synth, table, written_bytes

SIZES = (1, 10, 100)
RESOURCE_LIMIT = 500
TEMPLATE_LIMIT = 1024 * 1024  # 1 MB: a template body uploaded to S3, which cdk deploy does for any larger than 50 KB


def largest_n(at_10: float, per_job: float, limit: float) -> int:
    """The largest N with ``at_10 + (N - 10) * per_job <= limit``."""
    return 10 + math.floor((limit - at_10) / per_job)


def measure() -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, add_jobs in SUBJECTS.items():
        templates = {n: synth(add_jobs, n, as_cli=True) for n in SIZES}
        resources = {n: len(t["Resources"]) for n, t in templates.items()}
        size = {n: written_bytes(t) for n, t in templates.items()}
        types = {n: Counter(r["Type"] for r in t["Resources"].values()) for n, t in templates.items()}
        per_job = (resources[100] - resources[10]) / 90
        bytes_per_job = (size[100] - size[10]) / 90
        results[name] = {
            "resources": resources,
            "bytes": size,
            "per_job": per_job,
            "per_job_types": {
                k: (types[100][k] - types[10][k]) / 90 for k in types[100] if types[100][k] != types[10][k]
            },
            "fixed": resources[10] - 10 * per_job,
            "max_jobs": largest_n(resources[10], per_job, RESOURCE_LIMIT),
            "bytes_per_job": bytes_per_job,
            "max_jobs_bytes": largest_n(size[10], bytes_per_job, TEMPLATE_LIMIT),
        }
    return results


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def render(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, r in results.items():
        rows.append(
            [
                name,
                *(r["resources"][n] for n in SIZES),
                f"{r['per_job']:.2f}",
                f"{r['fixed']:.1f}",
                r["max_jobs"],
                *(_kib(r["bytes"][n]) for n in SIZES),
                f"{r['bytes_per_job']:,.0f}",
                r["max_jobs_bytes"],
            ]
        )
    headers = [
        "subject",
        "resources N=1",
        "N=10",
        "N=100",
        "per extra job",
        "fixed",
        "max N in 500 resources",
        "KiB N=1",
        "KiB N=10",
        "KiB N=100",
        "bytes per extra job",
        "max N in 1 MB",
    ]
    kinds = [
        [name, ", ".join(f"{v:.2f} `{k}`" for k, v in sorted(r["per_job_types"].items()))]
        for name, r in results.items()
    ]
    return "\n\n".join(
        [
            "## Template cost",
            "Jobs in one stack, each with one S3 input and one S3 output on a shared bucket. Template bytes are as "
            "the cdk CLI writes them (JSON indented by one space, construct paths in Metadata). The maxima "
            "extrapolate the line through N = 10 and N = 100; fixed = resources at N = 0 on that line.",
            table(headers, rows),
            "Resources added per extra job, by type:",
            table(["subject", "per extra job"], kinds),
        ]
    )


def main() -> None:
    print(render(measure()))


if __name__ == "__main__":
    main()

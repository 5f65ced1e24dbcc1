"""Local data folders (issue 16): what a job with a local data folder (``ProcessingInput.from_asset``) adds to its
stack, when the library controls the job's entrypoint (``entrypoint=`` or ``code=``: the folder is the CDK asset
zip, unpacked by the library's entrypoint wrapper) and when the image's own ENTRYPOINT runs (the folder is copied by
aws-cdk-lib's ``BucketDeployment``). Before issue 16's second part, both rows were the second: every local data
folder went through the copy.

Resources and compact template bytes at N = 1 and N = 10 jobs in one stack, each job with one data folder and one
S3 output on a shared bucket; per extra job = (N10 - N1) / 9, fixed = N1 - per extra job. Templates are synthesized
in process (no CLI).

Run: ``.venv/bin/python bench/local_data.py``
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from common import DATA_FOLDER_SUBJECTS as SUBJECTS
from common import synth, table, template_bytes

SIZES = (1, 10)


def measure() -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, add_jobs in SUBJECTS.items():
        templates = {n: synth(add_jobs, n) for n in SIZES}
        resources = {n: len(t["Resources"]) for n, t in templates.items()}
        size = {n: template_bytes(t) for n, t in templates.items()}
        types = {n: Counter(r["Type"] for r in t["Resources"].values()) for n, t in templates.items()}
        per_job = (resources[10] - resources[1]) / 9
        results[name] = {
            "resources": resources,
            "bytes": size,
            "per_job": per_job,
            "fixed": resources[1] - per_job,
            "bytes_per_job": (size[10] - size[1]) / 9,
            "types_n1": dict(types[1]),
            "fixed_types": sorted(k for k in types[1] if types[1][k] == types[10][k]),
            "per_job_types": {k: (types[10][k] - types[1][k]) / 9 for k in types[10] if types[10][k] != types[1][k]},
        }
    return results


def render(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            name,
            r["resources"][1],
            r["resources"][10],
            f"{r['per_job']:.2f}",
            f"{r['fixed']:.0f}",
            f"{r['bytes'][1]:,}",
            f"{r['bytes'][10]:,}",
            f"{r['bytes_per_job']:,.0f}",
        ]
        for name, r in results.items()
    ]
    headers = ["job with a local data folder", "resources N=1", "N=10", "per extra job", "fixed", "bytes N=1", "N=10"]
    kinds = [
        [name, ", ".join(f"{v:.2f} `{k}`" for k, v in sorted(r["per_job_types"].items()))]
        for name, r in results.items()
    ]
    return "\n\n".join(
        [
            "## Local data folders (issue 16)",
            "Each job reads one local data folder (`ProcessingInput.from_asset`) and writes one S3 output; compact "
            "template bytes. Before issue 16 both rows were the second one.",
            table([*headers, "bytes per extra job"], rows),
            "Resources added per extra job, by type:",
            table(["job with a local data folder", "per extra job"], kinds),
        ]
    )


def main() -> None:
    print(render(measure()))


if __name__ == "__main__":
    main()

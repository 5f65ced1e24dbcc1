"""Handler size: the bytes of the Lambda asset, and the handler module's import time on this machine.

The asset is what ``lambda_.Code.from_asset`` ships: the ``*.py`` files of ``src/cdk_processing/handler/``, zipped
here deterministically in memory (sorted names, fixed timestamps, deflate level 9). The import time is that of
``import index`` in a fresh interpreter with the asset's directory on ``sys.path`` and no bytecode cache written
(``-B``; the Lambda's code directory is read-only, so index.py and logic.py are compiled at each cold start), beside
``import boto3`` alone (what every Python Lambda using boto3 pays; index imports it), median of RUNS each, the two
alternated.

Run: ``.venv/bin/python bench/handler_size.py``
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from common import HANDLER_DIR, median, table

RUNS = 10
LIMIT = 50 * 1024  # the target: under 50 KB

_TIMED_IMPORT = """
import sys, time
sys.path.insert(0, sys.argv[1])
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


def asset_files() -> list[Path]:
    return sorted(HANDLER_DIR.glob("*.py"))


def zipped(files: list[Path]) -> bytes:
    """The files in a deterministic zip archive: sorted, fixed timestamps and permissions, deflate level 9."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def import_seconds(module: str, path: Path) -> float:
    """``import module`` in a fresh interpreter with ``path`` first on sys.path; its seconds."""
    done = subprocess.run(
        [sys.executable, "-B", "-c", _TIMED_IMPORT.format(module=module), str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure() -> dict[str, Any]:
    files = asset_files()
    with tempfile.TemporaryDirectory(prefix="bench-handler-") as scratch:
        # A copy of the asset, so that nothing is written beside the sources.
        asset = Path(scratch)
        for path in files:
            shutil.copy(path, asset / path.name)
        index, boto3 = [], []
        for _ in range(RUNS):  # alternated, so that the machine's load falls on both alike
            index.append(import_seconds("index", asset))
            boto3.append(import_seconds("boto3", asset))
    return {
        "files": {p.name: p.stat().st_size for p in files},
        "raw": sum(p.stat().st_size for p in files),
        "zipped": len(zipped(files)),
        "limit": LIMIT,
        "import_index": index,
        "import_boto3": boto3,
    }


def render(results: dict[str, Any]) -> str:
    size_rows = [
        ["files", ", ".join(f"{name} ({size:,} B)" for name, size in results["files"].items())],
        ["raw bytes", f"{results['raw']:,}"],
        ["zipped bytes (the Lambda asset)", f"{results['zipped']:,}"],
    ]
    index, boto3 = results["import_index"], results["import_boto3"]
    import_rows = [
        [
            "`import index` (the handler)",
            f"{median(index) * 1000:.0f}",
            f"{min(index) * 1000:.0f} – {max(index) * 1000:.0f}",
        ],
        [
            "`import boto3` (baseline)",
            f"{median(boto3) * 1000:.0f}",
            f"{min(boto3) * 1000:.0f} – {max(boto3) * 1000:.0f}",
        ],
    ]
    return "\n\n".join(
        [
            "## Handler size",
            table(["Lambda asset", ""], size_rows),
            f"Import time in a fresh interpreter (`python -B`, {RUNS} runs each), on this machine's Python:",
            table(["import", "median ms", "min – max ms"], import_rows),
            f"Ratio handler / boto3 alone: {median(index) / median(boto3):.2f}x.",
        ]
    )


def main() -> None:
    print(render(measure()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerate src/cdk_processing/data/framework_images.json from the SageMaker Python SDK's image URI config.

The facts (which AWS account hosts each framework image in each region, the repository names, the versions and
their Python versions) are the SDK's own: `sagemaker/image_uri_config/<framework>.json` in the `sagemaker` wheel
from PyPI. Run:

    .venv/bin/pip download --no-deps -d /tmp/sdk "sagemaker<3"
    .venv/bin/python tools/update_framework_images.py /tmp/sdk/sagemaker-*.whl
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "cdk_processing" / "data" / "framework_images.json"
# framework -> (SDK config file, image scope the SDK's processors use, how many of the newest versions to keep)
FRAMEWORKS = {
    "sklearn": ("sklearn.json", "training", None),
    "xgboost": ("xgboost.json", "training", 6),
    "pytorch": ("pytorch.json", "training", 6),
    "spark": ("spark.json", "processing", None),
}


def main(wheel: str) -> None:
    name = Path(wheel).name
    with zipfile.ZipFile(wheel) as archive:
        data: dict[str, object] = {
            "source": f"{name}: sagemaker/image_uri_config/<framework>.json",
            "frameworks": {},
        }
        for framework, (file, scope, keep) in FRAMEWORKS.items():
            config = json.loads(archive.read(f"sagemaker/image_uri_config/{file}"))[scope]
            versions = list(config["versions"])
            versions = [v for v in versions if re.fullmatch(r"[0-9][0-9.\-]*", v)]
            if keep:
                versions = versions[-keep:]
            data["frameworks"][framework] = {  # type: ignore[index]
                "scope": scope,
                "processors": config.get("processors", ["cpu"]),
                "versions": {
                    v: {
                        "repository": config["versions"][v]["repository"],
                        "py_versions": config["versions"][v].get("py_versions", []),
                        "registries": config["versions"][v]["registries"],
                    }
                    for v in versions
                },
            }
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} from {name}")


if __name__ == "__main__":
    main(sys.argv[1])

"""Report basic statistics of the test split the preprocessing job wrote (runs inside the processing job)."""

import csv
import glob
import json
import os

INPUT = "/opt/ml/processing/input/test"
OUTPUT = "/opt/ml/processing/output/report"


def main() -> None:
    rows = 0
    churned = 0
    for path in glob.glob(os.path.join(INPUT, "**", "*.csv"), recursive=True):
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows += 1
                churned += row.get("churn", "0") in ("1", "true", "True")
    os.makedirs(OUTPUT, exist_ok=True)
    report = {"rows": rows, "churn_rate": churned / rows if rows else None}
    with open(os.path.join(OUTPUT, "report.json"), "w") as handle:
        json.dump(report, handle)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

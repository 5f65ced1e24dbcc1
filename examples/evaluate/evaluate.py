"""Report basic statistics of the test split the preprocessing job wrote, and the trained model it evaluates (runs
inside the processing job)."""

import csv
import glob
import json
import os

INPUT = "/opt/ml/processing/input/test"
MODEL = "/opt/ml/processing/input/model"
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
    models = glob.glob(os.path.join(MODEL, "*.tar.gz"))
    report = {"rows": rows, "churn_rate": churned / rows if rows else None, "model": models[0] if models else None}
    with open(os.path.join(OUTPUT, "report.json"), "w") as handle:
        json.dump(report, handle)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

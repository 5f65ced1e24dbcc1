"""Train a churn classifier on the prepared training split (runs inside the SageMaker training job).

SageMaker puts the channel ``train`` at /opt/ml/input/data/train, the hyperparameters in
/opt/ml/input/config/hyperparameters.json, and uploads /opt/ml/model as the model artifact (model.tar.gz).
"""

import csv
import glob
import json
import os
import pickle

TRAIN = "/opt/ml/input/data/train"
HYPERPARAMETERS = "/opt/ml/input/config/hyperparameters.json"
MODEL = "/opt/ml/model"


def main() -> None:
    with open(HYPERPARAMETERS) as handle:
        hyperparameters = json.load(handle)
    rows = [
        row
        for path in glob.glob(os.path.join(TRAIN, "**", "*.csv"), recursive=True)
        for row in csv.DictReader(open(path, newline=""))
    ]
    features = [c for c in (rows[0] if rows else {}) if c != "churn"]
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(
        C=float(hyperparameters.get("C", "1.0")), max_iter=int(hyperparameters.get("max_iter", "100"))
    )
    model.fit([[float(r[c]) for c in features] for r in rows], [r["churn"] in ("1", "true", "True") for r in rows])
    accuracy = model.score(
        [[float(r[c]) for c in features] for r in rows], [r["churn"] in ("1", "true", "True") for r in rows]
    )
    print(f"train:accuracy={accuracy:.4f}")  # read by the job's metric definition
    os.makedirs(MODEL, exist_ok=True)
    with open(os.path.join(MODEL, "model.pkl"), "wb") as handle:
        pickle.dump({"features": features, "model": model}, handle)


if __name__ == "__main__":
    main()

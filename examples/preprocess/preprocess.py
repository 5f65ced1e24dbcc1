"""Split the raw churn data into train and test sets (runs inside the processing job)."""

import argparse
import glob
import os

import pandas as pd

INPUT = "/opt/ml/processing/input/raw"
OUTPUT = "/opt/ml/processing/output"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-ratio", type=float, default=0.8)
    args = parser.parse_args()

    frames = [pd.read_csv(path) for path in sorted(glob.glob(os.path.join(INPUT, "**", "*.csv"), recursive=True))]
    data = pd.concat(frames, ignore_index=True).dropna().sample(frac=1.0, random_state=42)
    cut = int(len(data) * args.train_ratio)
    for name, part in (("train", data.iloc[:cut]), ("test", data.iloc[cut:])):
        os.makedirs(os.path.join(OUTPUT, name), exist_ok=True)
        part.to_csv(os.path.join(OUTPUT, name, f"{name}.csv"), index=False)
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The team's trainer, as Vigil's `retrain` step runs it (executor: command).

It reads only what Vigil handed it: the labelled rows in $VIGIL_TRAINING_DATA (CSV) described by
$VIGIL_TRAINING_MANIFEST. It trains on the newer half of the window (the traffic as it is now),
and writes the model and a manifest into $VIGIL_OUTPUT_DIR. No SQL, no database credentials.
"""

import csv
import json
import os
import pickle

from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split


def main() -> None:
    manifest = json.load(open(os.environ["VIGIL_TRAINING_MANIFEST"]))
    features = manifest["features"]
    with open(os.environ["VIGIL_TRAINING_DATA"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == manifest["rows"], "the file and its manifest disagree"
    rows = rows[len(rows) // 2:]  # in time order: the newer half
    x = [[float(row[name]) for name in features] for row in rows]
    y = [int(row["label"]) for row in rows]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=7, stratify=y)
    model = GradientBoostingClassifier(random_state=7).fit(x_train, y_train)
    out = os.environ["VIGIL_OUTPUT_DIR"]
    with open(os.path.join(out, "model.pkl"), "wb") as handle:
        pickle.dump({"features": features, "model": model}, handle)
    json.dump({
        "artifact": "model.pkl", "framework": "sklearn", "rows": len(rows),
        "metrics": {"f1_holdout": float(f1_score(y_test, model.predict(x_test)))},
        "parameters": {"estimator": "GradientBoostingClassifier", "training_data_sha256": manifest["data_sha256"]},
    }, open(os.path.join(out, "manifest.json"), "w"))
    print(f"trained on {len(rows)} of {manifest['rows']} rows handed over")


if __name__ == "__main__":
    main()

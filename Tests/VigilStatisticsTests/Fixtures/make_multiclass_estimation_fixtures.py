#!/usr/bin/env python3
"""Writes estimation_multiclass_cases.json: a multiclass classifier's performance estimated
before labels by NannyML's CBPE, to compare Vigil's MulticlassPerformanceEstimator with.

Each case is a three-class classifier (scikit-learn's multinomial LogisticRegression, trained on
its own sample, blind to one feature that matters, so its probabilities are not calibrated),
scored on a labelled reference period and on an analysis period of equal chunks whose inputs
drift (covariate shift; the concept P(y | x) never changes). Per chunk the file holds the realised
metrics and NannyML's estimates; the Swift test computes Vigil's on the same rows.

Run from this folder, in a virtual environment with NannyML (see make_estimation_fixtures.py):
    /tmp/nml/bin/python make_multiclass_estimation_fixtures.py
"""
import json
import os

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML reports usage over the network otherwise

import nannyml as nml  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

METRICS = ["accuracy", "precision", "recall", "f1", "specificity", "roc_auc"]
CHUNK = 600
CLASSES = ["a", "b", "c"]
WEIGHTS = np.array([[1.1, -0.4, 0.2, 0.7], [-0.6, 1.0, -0.3, -0.5], [0.0, 0.0, 0.0, 0.0]])


def sample(rng, n, shift):
    """n rows whose inputs are moved by `shift`; classes drawn from a fixed softmax concept."""
    x = rng.normal(0, 1, (n, 4)) + shift
    logits = x @ WEIGHTS.T + np.array([0.2, 0.0, -0.1]) + 0.8 * np.outer(x[:, 2] * x[:, 3], [1, -1, 0])
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    return x, y


def case(name, seed, shifts, reference_rows=6000):
    rng = np.random.default_rng(seed)
    train_x, train_y = sample(rng, 8000, np.zeros(4))
    model = LogisticRegression(max_iter=1000).fit(train_x[:, :3], train_y)  # misses x3

    def scored(x, y):
        proba = np.round(model.predict_proba(x[:, :3]), 6)
        frame = pd.DataFrame({f"p_{c}": proba[:, i] for i, c in enumerate(CLASSES)})
        frame["y_pred"] = [CLASSES[i] for i in proba.argmax(axis=1)]
        frame["y_true"] = [CLASSES[i] for i in y]
        return frame

    reference = scored(*sample(rng, reference_rows, np.zeros(4)))
    analysis = pd.concat([scored(*sample(rng, CHUNK, np.array(shift))) for shift in shifts], ignore_index=True)
    estimator = nml.CBPE(y_pred_proba={c: f"p_{c}" for c in CLASSES}, y_pred="y_pred", y_true="y_true", metrics=METRICS,
                         chunk_size=CHUNK, problem_type="classification_multiclass")
    estimator.fit(reference)
    results = estimator.estimate(analysis).filter(period="analysis").to_df()

    def rows(frame):
        return {
            "probabilities": frame[[f"p_{c}" for c in CLASSES]].values.tolist(),
            "y_pred": [CLASSES.index(v) for v in frame["y_pred"]],
            "y_true": [CLASSES.index(v) for v in frame["y_true"]],
        }

    return {
        "name": name, "chunk_size": CHUNK, "reference": rows(reference), "analysis": rows(analysis),
        "nannyml": {m: [float(v) for v in results[(m, "value")]] for m in METRICS},
        "realised": {m: [float(v) for v in results[(m, "realized")]] for m in METRICS},
    }


def main():
    ramp = [[0.15 * i, -0.1 * i, 0.1 * i, 0.05 * i] for i in range(10)]
    swing = [[0.0, 0.0, 0.0, 0.0]] * 3 + [[0.9, 0.4, -0.6, 0.5]] * 4 + [[-0.6, 0.9, 0.4, -0.8]] * 3
    cases = [case("multiclass-ramp", 20261207, ramp), case("multiclass-swing", 20261208, swing)]
    out = {"nannyml": nml.__version__, "sklearn": sklearn.__version__, "cases": cases}
    with open("estimation_multiclass_cases.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes estimation_cases.json: performance estimated before labels, by NannyML's CBPE, to
compare Vigil's estimator with (and scikit-learn's isotonic regression, to check its calibration).

Each case is a binary classifier (scikit-learn's LogisticRegression, trained on its own sample)
scored on a labelled reference period and on an analysis period of equal chunks. The concept
P(y | x) never changes; the analysis drifts in its inputs (covariate shift), so performance moves
and a calibrated estimate can follow it. The model leaves out one feature that matters, so its
raw scores are not calibrated. Per chunk the file holds the realised metrics and NannyML's
estimates; the Swift test (EstimationReferenceTests) computes Vigil's on the same rows.

Run from this folder, in a virtual environment with NannyML:
    python3 -m venv /tmp/nml && /tmp/nml/bin/pip install "nannyml==0.13.*"
    /tmp/nml/bin/python make_estimation_fixtures.py
"""
import json
import os

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML reports usage over the network otherwise

import nannyml as nml  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

METRICS = ["accuracy", "precision", "recall", "f1", "specificity", "roc_auc"]
CHUNK = 500


def sample(rng, n, shift):
    """n rows whose inputs are moved by `shift` (a vector of mean offsets); labels from a fixed concept."""
    x = rng.normal(0, 1, (n, 4)) + shift
    logit = 1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.9 * x[:, 2] * x[:, 3] + 0.6 * x[:, 3] - 0.3
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def case(name, seed, shifts, reference_rows=4000):
    rng = np.random.default_rng(seed)
    train_x, train_y = sample(rng, 6000, np.zeros(4))
    model = LogisticRegression().fit(train_x[:, :3], train_y)  # misses x3: scores are not calibrated

    def scored(x, y):
        score = np.round(model.predict_proba(x[:, :3])[:, 1], 6)
        return pd.DataFrame({"y_pred_proba": score, "y_pred": (score >= 0.5).astype(int), "y_true": y})

    reference = scored(*sample(rng, reference_rows, np.zeros(4)))
    analysis = pd.concat([scored(*sample(rng, CHUNK, np.array(shift))) for shift in shifts], ignore_index=True)

    estimator = nml.CBPE(y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", metrics=METRICS,
                         chunk_size=CHUNK, problem_type="classification_binary")
    estimator.fit(reference)
    results = estimator.estimate(analysis).filter(period="analysis").to_df()
    nannyml = {metric: [float(v) for v in results[(metric, "value")]] for metric in METRICS}
    realised = {metric: [float(v) for v in results[(metric, "realized")]] for metric in METRICS}

    iso = IsotonicRegression(out_of_bounds="clip").fit(reference["y_pred_proba"], reference["y_true"])
    probe = np.round(np.linspace(-0.05, 1.05, 221), 6)
    return {
        "name": name, "chunk_size": CHUNK,
        "reference": {k: reference[k].tolist() for k in ("y_pred_proba", "y_pred", "y_true")},
        "analysis": {k: analysis[k].tolist() for k in ("y_pred_proba", "y_pred", "y_true")},
        "nannyml": nannyml, "realised": realised,
        "isotonic": {"x": probe.tolist(), "predicted": [float(v) for v in iso.predict(probe)]},
    }


def main():
    ramp = [[0.15 * i, -0.1 * i, 0.1 * i, 0.0] for i in range(12)]
    swing = [[0.0, 0.0, 0.0, 0.0]] * 4 + [[0.8, 0.5, -0.6, 0.4]] * 4 + [[-0.5, 0.9, 0.3, -0.7]] * 4
    cases = [case("covariate-ramp", 20261205, ramp), case("covariate-swing", 20261206, swing)]
    out = {"nannyml": nml.__version__, "sklearn": sklearn.__version__, "cases": cases}
    with open("estimation_cases.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

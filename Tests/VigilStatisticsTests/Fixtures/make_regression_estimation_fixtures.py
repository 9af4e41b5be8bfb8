#!/usr/bin/env python3
"""Writes estimation_regression_cases.json: a regression model's error estimated before labels
by NannyML's direct loss estimation (DLE), to compare Vigil's DirectLossEstimator with.

Each case is a linear model (scikit-learn's LinearRegression, trained on its own sample) of a
target that is not linear in its inputs and whose noise grows with one input and with a
category, so how wrong the model is depends on where a row lies. It is scored on a labelled
reference period and on an analysis period of equal chunks whose inputs drift (covariate shift;
the relation of target to inputs never changes). Per chunk the file holds the realised MAE and
RMSE and NannyML's estimates; the Swift test computes Vigil's on the same rows.

Run from this folder, in a virtual environment with NannyML (see make_estimation_fixtures.py):
    /tmp/nml/bin/python make_regression_estimation_fixtures.py
"""
import json
import os

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML reports usage over the network otherwise

import nannyml as nml  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

pd.set_option("future.infer_string", False)  # NannyML reshapes category columns; pandas 3 Arrow strings cannot be
import sklearn  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

METRICS = ["mae", "rmse"]
CHUNK = 600
REGIONS = ["north", "south", "west"]
NOISE = {"north": 0.4, "south": 1.0, "west": 2.0}


def sample(rng, n, shift, region_weights, kind="scale"):
    """n rows whose inputs are moved by `shift` and whose regions follow `region_weights`. In a
    `scale` case the noise grows with x1 and differs by region; in a `bias` case the noise is the
    same everywhere and the model's error comes from what it cannot fit (an interaction and a
    regional offset), so its errors are not centred on zero."""
    x = rng.normal(0, 1, (n, 3)) + shift
    region = rng.choice(REGIONS, size=n, p=region_weights)
    if kind == "bias":
        offset = np.array([{"north": -1.0, "south": 0.0, "west": 1.5}[r] for r in region])
        return x, region, 1.5 * x[:, 0] + 1.2 * x[:, 1] * x[:, 2] + offset + rng.normal(0, 0.7, n)
    signal = 2.0 * x[:, 0] + np.sin(2 * x[:, 1]) + 0.6 * x[:, 2] ** 2
    scale = np.array([NOISE[r] for r in region]) * (0.5 + np.abs(x[:, 1]))
    return x, region, signal + rng.normal(0, 1, n) * scale


def case(name, seed, drifts, kind="scale", reference_rows=5000):
    rng = np.random.default_rng(seed)
    train_x, train_region, train_y = sample(rng, 6000, np.zeros(3), [1 / 3] * 3, kind)
    model = LinearRegression().fit(train_x, train_y)

    def scored(x, region, y):
        frame = pd.DataFrame({f"x{i}": np.round(x[:, i], 4) for i in range(3)})
        frame["region"] = pd.Series(region, dtype=object)
        frame["y_pred"] = np.round(model.predict(x), 4)
        frame["y_true"] = np.round(y, 4)
        return frame

    reference = scored(*sample(rng, reference_rows, np.zeros(3), [1 / 3] * 3, kind))
    analysis = pd.concat([scored(*sample(rng, CHUNK, np.array(shift), weights, kind)) for shift, weights in drifts], ignore_index=True)
    estimator = nml.DLE(feature_column_names=["x0", "x1", "x2", "region"], y_pred="y_pred", y_true="y_true",
                        metrics=METRICS, chunk_size=CHUNK)
    estimator.fit(reference)
    results = estimator.estimate(analysis).filter(period="analysis").to_df()

    def rows(frame):
        return {
            "x": frame[["x0", "x1", "x2"]].values.T.tolist(),
            "region": [str(v) for v in frame["region"]],
            "y_pred": frame["y_pred"].tolist(),
            "y_true": frame["y_true"].tolist(),
        }

    return {
        "name": name, "chunk_size": CHUNK, "reference": rows(reference), "analysis": rows(analysis),
        "nannyml": {m: [float(v) for v in results[(m, "value")]] for m in METRICS},
        "realised": {m: [float(v) for v in results[(m, "realized")]] for m in METRICS},
    }


def main():
    even = [1 / 3] * 3
    ramp = [([0.1 * i, 0.15 * i, -0.1 * i], even) for i in range(10)]
    mix = [([0.0, 0.0, 0.0], even)] * 3 + [([0.0, 0.8, 0.0], [0.1, 0.2, 0.7])] * 4 + [([0.5, -0.6, 0.9], [0.6, 0.3, 0.1])] * 3
    cases = [case("regression-ramp", 20261210, ramp), case("regression-mix", 20261211, mix),
             case("regression-bias", 20261212, mix, kind="bias")]
    out = {"nannyml": nml.__version__, "sklearn": sklearn.__version__, "cases": cases}
    with open("estimation_regression_cases.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

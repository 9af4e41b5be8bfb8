#!/usr/bin/env python3
"""Writes platt_cases.json: scikit-learn's sigmoid (Platt) calibration of the reference scores
in estimation_cases.json, to check Vigil's PlattCalibration.

For each case, the fitted slope and intercept (`_sigmoid_calibration`, Platt's targets
(N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2)) and the calibrated probability at 101 scores from 0 to 1.

Run from this folder, with scikit-learn (the virtual environment of make_estimation_fixtures.py):
    /tmp/nml/bin/python make_platt_fixtures.py
"""
import json

import numpy as np
import sklearn
from sklearn.calibration import _SigmoidCalibration


def main():
    with open("estimation_cases.json") as f:
        source = json.load(f)
    cases = []
    for case in source["cases"]:
        scores = np.array(case["reference"]["y_pred_proba"])
        labels = np.array(case["reference"]["y_true"])
        calibration = _SigmoidCalibration().fit(scores, labels)
        x = np.linspace(0, 1, 101)
        cases.append({
            "name": case["name"], "a": float(calibration.a_), "b": float(calibration.b_),
            "x": x.tolist(), "predicted": calibration.predict(x).tolist(),
        })
    with open("platt_cases.json", "w") as f:
        json.dump({"sklearn": sklearn.__version__, "cases": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main()

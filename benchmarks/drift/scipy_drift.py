"""The peer of `vigil drift` in NumPy/SciPy: read two CSV files and compare every shared column
with the tests Vigil's default drift policy runs, as a data scientist would write it.

Numeric columns: normed Wasserstein distance (divided by the reference's standard deviation),
confirmed by the two-sample KS test (scipy.stats.ks_2samp). Categorical columns: Jensen-Shannon
distance of the category frequencies (base 2), confirmed by a chi-square test of the counts.

    python3 scipy_drift.py REFERENCE.csv CURRENT.csv
"""

import json
import sys

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon


def read(path: str) -> dict[str, np.ndarray]:
    """Numeric columns through NumPy's C parser as float64, the others as strings."""
    with open(path) as handle:
        header = handle.readline().strip().split(",")
        first = handle.readline().strip().split(",")
    numeric = []
    for index, value in enumerate(first):
        try:
            float(value)
            numeric.append(index)
        except ValueError:
            pass
    text = [index for index in range(len(header)) if index not in numeric]
    columns = {}
    if numeric:
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=numeric, dtype=np.float64, ndmin=2)
        for position, index in enumerate(numeric):
            columns[header[index]] = values[:, position]
    if text:
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=text, dtype=str, ndmin=2)
        for position, index in enumerate(text):
            columns[header[index]] = values[:, position]
    return {name: columns[name] for name in header}


def numeric(reference: np.ndarray, current: np.ndarray) -> dict:
    deviation = reference.std()
    distance = stats.wasserstein_distance(reference, current) / (deviation if deviation > 0 else 1)
    p_value = stats.ks_2samp(reference, current).pvalue
    return {"method": "wasserstein", "score": distance, "p_value": p_value, "drifted": bool(distance > 0.1 and p_value < 0.001)}


def categorical(reference: np.ndarray, current: np.ndarray) -> dict:
    categories = np.union1d(np.unique(reference), np.unique(current))
    expected = np.array([np.count_nonzero(reference == c) for c in categories], dtype=float)
    observed = np.array([np.count_nonzero(current == c) for c in categories], dtype=float)
    distance = jensenshannon(expected / expected.sum(), observed / observed.sum(), base=2)
    p_value = stats.chi2_contingency(np.vstack([expected, observed]))[1]
    return {"method": "jensenshannon", "score": float(distance), "p_value": float(p_value), "drifted": bool(distance > 0.1 and p_value < 0.001)}


def main() -> None:
    reference, current = read(sys.argv[1]), read(sys.argv[2])
    results = {}
    for name in reference:
        if name not in current:
            continue
        left, right = reference[name], current[name]
        results[name] = numeric(left, right) if left.dtype.kind == "f" and right.dtype.kind == "f" else categorical(left, right)
    print(json.dumps({"drifted": [name for name, result in results.items() if result["drifted"]], "columns": results}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes learning_cases.json: reference numbers for the built-in models and the paired tests.

Logistic and ridge regression from scikit-learn on inputs standardised (population deviation) and
one-hot encoded (sorted categories) as Vigil's FeatureEncoding does; McNemar's exact test from
scipy.stats.binomtest; the paired t-test from scipy.stats.ttest_rel.

Run from this folder: python3 make_learning_fixtures.py  (needs scikit-learn and SciPy)
"""
import json
import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression, Ridge

rng = np.random.default_rng(20261125)
PLANS = ["basic", "pro", "team"]


def rows(n):
    a = rng.normal(50, 20, n)
    b = rng.integers(0, 30, n).astype(float)
    c = rng.exponential(2.0, n)
    plan = rng.choice(PLANS, n, p=[0.5, 0.3, 0.2])
    return a, b, c, plan


def design(a, b, c, plan):
    numeric = np.column_stack([a, b, c])
    mean, dev = numeric.mean(axis=0), numeric.std(axis=0)
    standard = (numeric - mean) / dev
    onehot = np.column_stack([(plan == p).astype(float) for p in PLANS])
    return np.column_stack([standard, onehot])


def as_rows(a, b, c, plan):
    return [{"a": float(x), "b": float(y), "c": float(z), "plan": str(p)} for x, y, z, p in zip(a, b, c, plan)]


cases = {"logistic": [], "linear": [], "mcnemar": [], "paired_t": []}
for i, (n, l2) in enumerate([(200, 1.0), (400, 0.1), (600, 10.0), (800, 1.0)]):
    a, b, c, plan = rows(n)
    x = design(a, b, c, plan)
    z = 0.04 * (a - 50) - 0.1 * (b - 15) + 0.5 * c + np.where(plan == "team", 1.0, 0.0) - 1.0 + rng.normal(0, 1, n)
    y = (z > 0).astype(float)
    model = LogisticRegression(C=1 / l2, tol=1e-12, max_iter=100000).fit(x, y)
    cases["logistic"].append({"rows": as_rows(a, b, c, plan), "labels": y.tolist(), "l2": l2,
                              "probabilities": model.predict_proba(x)[:, 1].tolist()[:50]})
    target = 3.0 * (a - 50) / 20 + 0.2 * b - c + np.where(plan == "pro", 2.0, 0.0) + rng.normal(0, 0.5, n)
    ridge = Ridge(alpha=l2).fit(x, target)
    cases["linear"].append({"rows": as_rows(a, b, c, plan), "targets": target.tolist(), "l2": l2,
                            "predictions": ridge.predict(x).tolist()[:50]})
for b, c in [(0, 0), (3, 0), (5, 7), (12, 30), (40, 22), (300, 260), (1000, 1100)]:
    p = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
    cases["mcnemar"].append({"b": b, "c": c, "pvalue": float(p)})
for n, shift in [(5, 0.3), (30, 0.0), (200, 0.1), (1000, -0.05)]:
    first = rng.normal(1, 1, n)
    second = first + shift + rng.normal(0, 0.5, n)
    result = stats.ttest_rel(first, second)
    cases["paired_t"].append({"differences": (first - second).tolist(), "t": float(result.statistic), "pvalue": float(result.pvalue)})

with open("learning_cases.json", "w") as out:
    json.dump(cases, out)

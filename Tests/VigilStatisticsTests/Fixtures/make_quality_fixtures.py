#!/usr/bin/env python3
"""Writes quality_cases.json: reference model-quality numbers from scikit-learn and NumPy.

Run from this folder: python3 make_quality_fixtures.py  (needs scikit-learn: pip install scikit-learn)
"""
import json
import numpy as np
import sklearn
from sklearn import metrics

rng = np.random.default_rng(20261124)


def binary_cases():
    cases = []
    sizes = [2, 3, 5, 8, 10, 20, 37, 50, 100, 250, 500, 1000, 2000, 5000]
    for i in range(36):
        n = sizes[i % len(sizes)]
        y = rng.integers(0, 2, n)
        if i % 9 == 0:
            y[0], y[-1] = 0, 1  # both classes present
        noise = rng.normal(0, 0.8 + (i % 4) * 0.3, n)
        score = 1 / (1 + np.exp(-(2 * y - 1) * (0.5 + i % 3) - noise))
        if i % 5 == 0:
            score = np.round(score, 1)  # ties
        if i % 7 == 0:
            score = np.clip(np.round(score * 4) / 4, 0, 1)  # heavy ties, exact 0 and 1
        cases.append((y, score))
    return cases


def binary_case(y, score):
    pred = (score >= 0.5).astype(int)
    case = {"labels": y.tolist(), "scores": score.tolist(), "predictions": pred.tolist(),
            "accuracy": metrics.accuracy_score(y, pred),
            "precision": metrics.precision_score(y, pred, zero_division=0),
            "recall": metrics.recall_score(y, pred, zero_division=0),
            "f1": metrics.f1_score(y, pred, zero_division=0),
            "confusion": metrics.confusion_matrix(y, pred, labels=[0, 1]).tolist(),
            "brier": metrics.brier_score_loss(y, score),
            "log_loss": metrics.log_loss(y, score, labels=[0, 1])}
    if len(set(y.tolist())) == 2:
        case["roc_auc"] = metrics.roc_auc_score(y, score)
        case["average_precision"] = metrics.average_precision_score(y, score)
    return case


def multiclass_case(n, k):
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += rng.uniform(0.2, 2.0)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    pred = proba.argmax(axis=1)
    labels = list(range(k))
    case = {"labels": y.tolist(), "predictions": pred.tolist(), "probabilities": proba.tolist(), "classes": k,
            "accuracy": metrics.accuracy_score(y, pred),
            "confusion": metrics.confusion_matrix(y, pred, labels=labels).tolist(),
            "log_loss": metrics.log_loss(y, proba, labels=labels)}
    for avg in ["macro", "micro", "weighted"]:
        case[f"precision_{avg}"] = metrics.precision_score(y, pred, average=avg, labels=labels, zero_division=0)
        case[f"recall_{avg}"] = metrics.recall_score(y, pred, average=avg, labels=labels, zero_division=0)
        case[f"f1_{avg}"] = metrics.f1_score(y, pred, average=avg, labels=labels, zero_division=0)
    return case


def regression_case(n):
    y = rng.normal(10, 3, n)
    if n > 3:
        y[rng.integers(0, n)] = 0.0  # a zero target: MAPE divides by max(|y|, eps)
    pred = y + rng.normal(0, 1.5, n)
    return {"targets": y.tolist(), "predictions": pred.tolist(),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
            "mae": metrics.mean_absolute_error(y, pred),
            "mape": metrics.mean_absolute_percentage_error(y, pred),
            "r2": metrics.r2_score(y, pred) if n > 1 else None}


def percentile_case(n):
    x = rng.lognormal(3, 0.7, n)
    if n > 4:
        x[:3] = x[3]  # ties
    return {"values": x.tolist(), "p50": float(np.percentile(x, 50)), "p95": float(np.percentile(x, 95)),
            "p99": float(np.percentile(x, 99))}


if __name__ == "__main__":
    out = {
        "sklearn": sklearn.__version__,
        "binary": [binary_case(y, s) for y, s in binary_cases()],
        "multiclass": [multiclass_case(n, k) for n, k in
                       [(5, 3), (10, 3), (20, 4), (30, 3), (50, 5), (100, 3), (200, 4), (300, 6), (500, 3), (1000, 5)] * 3],
        "regression": [regression_case(n) for n in [1, 2, 3, 5, 8, 13, 20, 50, 100, 200, 500, 1000, 5000] * 3],
        "percentiles": [percentile_case(n) for n in [1, 2, 3, 5, 10, 11, 99, 100, 101, 1000, 12345] * 3],
    }
    with open("quality_cases.json", "w") as f:
        json.dump(out, f)
    print({k: len(v) for k, v in out.items() if isinstance(v, list)})

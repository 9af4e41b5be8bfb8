#!/usr/bin/env python3
"""Writes detector_cases.json: seeded error and score streams and the indices at which river's
Page-Hinkley, DDM and ADWIN detect drift, with their default (and a few other) parameters.

Run from this folder: python3 make_detector_fixtures.py  (needs river: pip install river)
"""
import json
import numpy as np
import river
from river import drift
from river.drift import binary

rng = np.random.default_rng(20261124)


def error_stream(n, onset, before, after):
    """Bernoulli errors whose rate steps from `before` to `after` at `onset`."""
    p = np.where(np.arange(n) < onset, before, after)
    return (rng.uniform(size=n) < p).astype(int).tolist()


def score_stream(n, onset, shift):
    x = rng.normal(0, 1, n)
    x[onset:] += shift
    return x.tolist()


def detections(detector, stream):
    found = []
    for i, x in enumerate(stream):
        detector.update(x)
        if detector.drift_detected:
            found.append(i)
    return found


if __name__ == "__main__":
    cases = []
    streams = [("errors", error_stream(4000, 2000, 0.1, 0.35)),
               ("errors", error_stream(6000, 3000, 0.2, 0.3)),
               ("errors", error_stream(3000, 1500, 0.05, 0.5)),
               ("errors", error_stream(5000, 5000, 0.15, 0.15)),
               ("scores", score_stream(3000, 1500, 1.0)),
               ("scores", score_stream(4000, 2500, -0.7)),
               ("scores", score_stream(2000, 2000, 0.0))]
    for kind, stream in streams:
        case = {"kind": kind, "stream": stream, "detectors": []}
        for params in [{}, {"threshold": 20.0, "min_instances": 50}, {"delta": 0.01, "alpha": 0.999, "mode": "up"}]:
            case["detectors"].append({"name": "page_hinkley", "params": params,
                                      "detections": detections(drift.PageHinkley(**params), stream)})
        for params in [{}, {"delta": 0.01}, {"delta": 0.0005, "clock": 16, "grace_period": 30}]:
            case["detectors"].append({"name": "adwin", "params": params,
                                      "detections": detections(drift.ADWIN(**params), stream)})
        if kind == "errors":
            for params in [{}, {"warm_start": 100, "drift_threshold": 2.5}]:
                case["detectors"].append({"name": "ddm", "params": params,
                                          "detections": detections(binary.DDM(**params), stream)})
        cases.append(case)
    with open("detector_cases.json", "w") as f:
        json.dump({"river": river.__version__, "cases": cases}, f)
    for c in cases:
        print(c["kind"], [(d["name"], len(d["detections"]), d["detections"][:4]) for d in c["detectors"]])

#!/usr/bin/env python3
"""A small serving process for the `cancer` model, as a team would run it beside Vigil.

Each request: follow Vigil's routing (champion, or the canary for its share of traffic), answer
with that version's model, answer in shadow with the challenger when there is one, and log all of
it with vigil-client; the diagnosis (the label) is known at once here. Models are the pickles
whose paths Vigil's registry holds. With --drifted, the size measurements arrive 25% larger (a
new scanner's calibration): the inputs drift, the old model's answers get worse.
"""

import argparse
import pickle
import random
import signal
import time
import urllib.parse
import uuid

from sklearn.datasets import load_breast_cancer

from vigil_client import Vigil

FEATURES = ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness", "worst radius", "worst area", "worst concavity"]
#: the measurements a recalibrated scanner reports larger
SIZES = {"mean radius", "mean perimeter", "mean area", "worst radius", "worst area"}


def column(name: str) -> str:
    return name.replace(" ", "_")


class Patients:
    """Requests drawn from scikit-learn's breast-cancer data set (bundled with it, offline)."""

    def __init__(self, seed: int) -> None:
        data = load_breast_cancer()
        index = [list(data.feature_names).index(name) for name in FEATURES]
        self.rows = [[float(row[i]) for i in index] for row in data.data]
        self.labels = [int(y) for y in data.target]
        self.random = random.Random(seed)

    def draw(self, drifted: bool):
        i = self.random.randrange(len(self.rows))
        values = {}
        for name, value in zip(FEATURES, self.rows[i]):
            value *= 1 + self.random.gauss(0, 0.02)
            if drifted and name in SIZES:
                value *= 1.25
            values[column(name)] = round(value, 5)
        return values, self.labels[i]


class Models:
    """Each version's model, loaded once from the artifact the registry names."""

    def __init__(self, vigil: Vigil, model: str) -> None:
        self.vigil, self.model, self.loaded = vigil, model, {}

    def get(self, version):
        if version not in self.loaded:
            uri = next(v["artifact_uri"] for v in self.vigil.versions(self.model) if v["version"] == version)
            with open(urllib.parse.urlparse(uri).path, "rb") as handle:
                self.loaded[version] = pickle.load(handle)
        return self.loaded[version]

    def answer(self, version, features):
        bundle = self.get(version)
        x = [[features[column(name)] for name in bundle["features"]]]
        score = float(bundle["model"].predict_proba(x)[0][1])
        return ("1" if score >= 0.5 else "0"), round(score, 6)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--model", default="cancer")
    parser.add_argument("--rate", type=float, default=60)
    parser.add_argument("--drifted", action="store_true")
    args = parser.parse_args()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    # A parent may have SIGTERM blocked (and we inherit its mask): take it.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
    vigil = Vigil(args.url, args.token, flush_interval=0.5, routing_ttl=1.0)
    models, patients = Models(vigil, args.model), Patients(seed=11)
    served = 0
    while not stop:
        route = vigil.routing(args.model)
        features, label = patients.draw(args.drifted)
        canary = route.get("canary_version") is not None and random.random() < route.get("canary_weight", 0)
        version = route["canary_version"] if canary else route["champion_version"]
        request = uuid.uuid4().hex
        prediction, score = models.answer(version, features)
        vigil.log_predictions(args.model, [dict(features, request_id=request, prediction=prediction, score=score, latency_ms=5.0)],
                              version=version, role="canary" if canary else "champion")
        shadow = route.get("shadow_version")
        if shadow is not None and shadow != version:
            prediction, score = models.answer(shadow, features)
            vigil.log_shadow(args.model, shadow, [dict(features, request_id=request, prediction=prediction, score=score, latency_ms=6.0)])
        vigil.log_labels(args.model, [{"request_id": request, "label": str(label)}])
        served += 1
        time.sleep(1 / args.rate)
    stats = vigil.close()
    print(f"served {served} requests; {stats}", flush=True)


if __name__ == "__main__":
    main()

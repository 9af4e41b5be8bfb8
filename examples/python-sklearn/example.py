#!/usr/bin/env python3
"""Bring your own model, end to end: a scikit-learn model trained and served in Python, watched
and retrained by Vigil. Prints one JSON line: the promoted version, the alerts, the run.

1. Start an embedded Vigil (`vigil serve`, its own PostgreSQL under a temporary folder).
2. Train version 1 on an hour of reference traffic and register it as champion.
3. Log that hour, then an hour of drifted traffic (a recalibrated scanner), with vigil-client.
4. Start serving.py on live drifted traffic, and run the `cancer-retrain` workflow: Vigil sees
   the drift, alerts, hands trainer.py the labelled rows, registers version 2 as challenger,
   waits for the serving process's shadow answers, judges them, and promotes version 2 by canary.
"""

import datetime as dt
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from serve import FEATURES, Patients, column
from sklearn.ensemble import GradientBoostingClassifier

from vigil_client import Vigil

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "cancer"


def vigil_cli(vigil: str, folder: str, *arguments: str) -> str:
    done = subprocess.run([vigil, *arguments], cwd=folder, env=clean_environment(), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"vigil {' '.join(arguments)} failed: {done.stderr.strip()}")
    return done.stdout


def clean_environment() -> dict:
    """No database settings: Vigil starts its own embedded cluster in the working folder."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG") and k not in ("VIGIL_DATABASE_URL", "VIGIL_CHANNELS_FILE")}


def rows(patients: Patients, start: dt.datetime, count: int, drifted: bool, prefix: str):
    predictions, labels = [], []
    for i in range(count):
        features, label = patients.draw(drifted)
        request = f"{prefix}-{i}"
        predictions.append(dict(features, request_id=request, ts=start + dt.timedelta(seconds=i * 3600 / count)))
        labels.append({"request_id": request, "label": str(label)})
    return predictions, labels


def main() -> None:
    vigil_binary = os.environ.get("VIGIL", os.path.join(HERE, "../../.build/debug/vigil"))
    folder = tempfile.mkdtemp(prefix="vigil-example-")
    # Readable by the embedded cluster's server user (PostgreSQL runs unprivileged under root), so
    # its data stays in `folder` and goes with it.
    os.chmod(folder, 0o755)
    server = serving = None
    try:
        server = subprocess.Popen([vigil_binary, "serve", "--port", "0"], cwd=folder, env=clean_environment(),
                                  stdout=subprocess.PIPE, stderr=open(os.path.join(folder, "serve.log"), "w"), text=True)
        url = server.stdout.readline().strip().removeprefix("listening on ")
        if not url.startswith("http"):
            raise SystemExit(f"vigil serve did not start: see {folder}/serve.log")
        token = vigil_cli(vigil_binary, folder, "tokens", "create", "--principal", "notebook", "--role", "operator").strip().splitlines()[-1]
        serving_token = vigil_cli(vigil_binary, folder, "tokens", "create", "--principal", "serving", "--role", "ingest", "--role", "viewer").strip().splitlines()[-1]

        # The reference hour and the drifted hour, in whole hours before now.
        hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        reference_start, drifted_start = hour - dt.timedelta(hours=5), hour - dt.timedelta(hours=3)
        template = open(os.path.join(HERE, "workflow.yaml.in")).read()
        workflow = (template.replace("@BASELINE_START@", reference_start.isoformat().replace("+00:00", "Z"))
                    .replace("@BASELINE_END@", (reference_start + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"))
                    .replace("@FEATURES@", "\n".join(f"    {column(name)}: {{ type: number, min: 0 }}" for name in FEATURES))
                    .replace("@PYTHON@", sys.executable).replace("@HERE@", HERE))
        with open(os.path.join(folder, "cancer-retrain.yaml"), "w") as handle:
            handle.write(workflow)
        vigil_cli(vigil_binary, folder, "apply", os.path.join(folder, "cancer-retrain.yaml"))

        # Version 1: trained by the team on reference traffic, registered as champion.
        patients = Patients(seed=3)
        reference, reference_labels = rows(patients, reference_start, 600, drifted=False, prefix="reference")
        model = GradientBoostingClassifier(random_state=7).fit(
            [[row[column(name)] for name in FEATURES] for row in reference], [int(label["label"]) for label in reference_labels])
        artifact = os.path.join(folder, "cancer-v1.pkl")
        with open(artifact, "wb") as handle:
            pickle.dump({"features": FEATURES, "model": model}, handle)
        vigil_cli(vigil_binary, folder, "models", "register", MODEL, "--artifact", artifact, "--framework", "sklearn", "--alias", "champion",
                  "--reason", "trained offline on the reference hour")

        # What serving logged before: the reference hour, and an hour after the scanner changed.
        drifted, drifted_labels = rows(patients, drifted_start, 600, drifted=True, prefix="drifted")
        with Vigil(url, serving_token) as client:
            for batch, version in ((reference, "1"), (drifted, "1")):
                answers = model.predict_proba([[row[column(name)] for name in FEATURES] for row in batch])[:, 1]
                client.log_predictions(MODEL, [dict(row, score=round(float(p), 6), prediction="1" if p >= 0.5 else "0") for row, p in zip(batch, answers)],
                                       version=version)
            client.log_labels(MODEL, reference_labels + drifted_labels)
            client.flush(60)
            history = client.stats

        # Live drifted traffic from the serving process, then the workflow.
        serving = subprocess.Popen([sys.executable, os.path.join(HERE, "serve.py"), "--url", url, "--token", serving_token, "--drifted"],
                                   cwd=HERE, stdout=subprocess.PIPE, text=True)
        with Vigil(url, token) as client:
            run_id = client.start_run("cancer-retrain")
            run = client.wait_for_run(run_id, timeout=600, poll=1)
            steps = {step["name"]: step for step in run.get("steps", [])}
            routing = client.routing(MODEL)
            alerts = client.alerts(model=MODEL)
            shadow = steps.get("shadow", {}).get("outputs") or {}
        serving.send_signal(signal.SIGTERM)
        served = serving.communicate(timeout=30)[0].strip()
        print(json.dumps({
            "promoted_version": routing["champion_version"],
            "alerts": [{"alert": a["alert"], "severity": a["severity"], "state": a["state"]} for a in alerts],
            "runs": [{"id": run_id, "workflow": "cancer-retrain", "state": run["state"],
                      "steps": {name: step["state"] for name, step in steps.items()}}],
            "shadow": {k: shadow.get(k) for k in ("decision", "samples", "champion_value", "challenger_value", "lift", "p_value")},
            "history_rows_loaded": history.loaded, "serving": served,
        }))
        if run["state"] != "succeeded" or routing["champion_version"] < 2:
            raise SystemExit(1)
    finally:
        for process in (serving, server):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
        # `vigil serve` started the embedded cluster; it runs until stopped.
        subprocess.run([vigil_binary, "db", "stop"], cwd=folder, env=clean_environment(), capture_output=True, timeout=120)
        if os.environ.get("VIGIL_EXAMPLE_KEEP"):
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Ingest through the HTTP API with the Python client, beside `vigil ingest` of the same rows.

Issue 24 asks for 300,000 rows/s through `vigil ingest` and through the HTTP API with the Python
client. This measures the second path end to end, in one sitting with the first:

* a throwaway zero-config `vigil serve --no-workers` (its own embedded PostgreSQL under a temporary
  directory, durable commits) with `workflows/churn-monitor.yaml` applied, so every row is checked
  against the churn model's declared features exactly as `vigil ingest` checks them;
* ``--rows`` seeded inferences made up front as Python dicts (what a serving process holds), then
  ``Vigil.log_predictions`` in slices of ``--batch-size`` and ``flush()``: the client's own work
  (making each row JSON-ready, serialising, HTTP) and the server's (parse, check, claim, COPY) on
  this machine's two cores together;
* the same rows written as a CSV file and loaded with `vigil ingest` into a fresh model name of the
  same server's database, timed as a whole process.

Prints one JSON line: rows/s through the client, through `vigil ingest`, their ratio, and the
client process's CPU seconds (its share of the time).

Usage (from the repository root, after ``swift build -c release``)::

    python3 benchmarks/ingest/python_client.py --vigil .build/release/vigil --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

from vigil_client import Vigil  # noqa: E402  (the client from this checkout)

WORKFLOW = ROOT / "workflows" / "churn-monitor.yaml"
PLANS = ["basic", "pro", "team"]
REGIONS = ["EU", "US", "APAC", "LATAM"]


def inferences(count: int, seed: int, start: dt.datetime) -> List[Dict[str, Any]]:
    """Seeded rows shaped like `vigil bench ingest`'s: the churn model's seven features."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        score = rng.random()
        stamp = start + dt.timedelta(seconds=86_400 * n // count)
        rows.append({
            "request_id": f"r{seed}-{n}",
            "ts": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "prediction": "1" if score > 0.5 else "0",
            "score": round(score, 4),
            "latency_ms": round(5 + rng.random() * 40, 4),
            "error": False,
            "order_amount": round(rng.lognormvariate(4, 0.8), 4),
            "order_count": int(rng.random() * 40),
            "tenure_months": int(rng.random() * 120),
            "support_tickets": int(rng.random() * 6),
            "discount_rate": round(rng.random() * 0.5, 4),
            "plan": PLANS[int(rng.random() * 3) % 3],
            "region": REGIONS[int(rng.random() * 4) % 4],
        })
    return rows


def vigil(binary: str, folder: str, *args: str) -> str:
    """Runs a `vigil` command in `folder` (so it uses that folder's embedded cluster); its output."""
    done = subprocess.run([binary, *args], cwd=folder, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"vigil {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def serve(binary: str, folder: str) -> "tuple[subprocess.Popen[str], str]":
    """Starts `vigil serve --no-workers` on a free port; the process and its URL."""
    process = subprocess.Popen(
        [binary, "serve", "--no-workers", "--port", "0", "--log-level", "warning"], cwd=folder,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"vigil serve did not start: {line!r}")
    return process, line.split("listening on ", 1)[1].strip()


def through_client(url: str, token: str, rows: List[Dict[str, Any]], batch_size: int) -> Dict[str, float]:
    """Logs `rows` for the churn model and waits until all are stored; rows/s and client CPU."""
    cpu, started = time.process_time(), time.perf_counter()
    with Vigil(url, token, batch_size=batch_size, max_queue=len(rows), timeout=600, close_timeout=600) as client:
        for first in range(0, len(rows), batch_size):
            client.log_predictions("churn", rows[first:first + batch_size], version="1")
        if not client.flush(timeout=1800):
            raise SystemExit("the client did not finish sending within 30 minutes")
        stats = client.stats
    seconds = time.perf_counter() - started
    if stats.loaded != len(rows) or stats.dropped or stats.rejected or stats.quarantined:
        raise SystemExit(f"expected {len(rows)} rows stored, the client reports {stats}")
    return {"client_rows_per_s": len(rows) / seconds, "client_s": seconds, "client_cpu_s": time.process_time() - cpu}


def through_cli(binary: str, folder: str, rows: List[Dict[str, Any]]) -> Dict[str, float]:
    """Writes `rows` as CSV and loads them with `vigil ingest` as model `churn-cli`, checked against
    the same workflow's features; rows/s of the whole process."""
    path = os.path.join(folder, "rows.csv")
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows({**row, "error": "true" if row["error"] else "false"} for row in rows)
    started = time.perf_counter()
    vigil(binary, folder, "ingest", path, "--model", "churn-cli", "--workflow", "churn-monitor", "--model-version", "1")
    seconds = time.perf_counter() - started
    return {"cli_rows_per_s": len(rows) / seconds, "cli_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vigil", default=str(ROOT / ".build" / "release" / "vigil"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000, help="rows per HTTP request (the client's batch_size)")
    arguments = parser.parse_args()
    binary = os.path.abspath(arguments.vigil)
    start = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-http-") as folder:
        os.chmod(folder, 0o755)  # the embedded cluster's unprivileged server user reads it as root's child
        vigil(binary, folder, "apply", str(WORKFLOW))
        token = vigil(binary, folder, "tokens", "create", "--principal", "bench", "--role", "ingest").strip().splitlines()[-1]
        process, url = serve(binary, folder)
        try:
            rows = inferences(arguments.rows, 1, start)
            figures: Dict[str, Any] = {"benchmark": "ingest_http_python_client", "rows": arguments.rows, "batch_size": arguments.batch_size}
            figures.update(through_client(url, token, rows, arguments.batch_size))
            figures.update(through_cli(binary, folder, rows))
        finally:
            process.terminate()
            process.wait(timeout=60)
            vigil(binary, folder, "db", "stop")
    figures["client_to_cli"] = figures["client_rows_per_s"] / figures["cli_rows_per_s"]
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
